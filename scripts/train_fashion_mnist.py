#!/usr/bin/python3
"""Train four small Fashion-MNIST models and export them to ONNX for codesim.

Models (all take input "input" of shape [N, 1, 28, 28], float32, already
normalized as (x / 255 - MEAN) / STD; all return "logits" of shape [N, 10]):

  mlp   Flatten, 784-256-128-10 with ReLU                          (opset 17)
  cnn   conv3x3 16 + BN + ReLU + maxpool2, conv3x3 32 + BN + ReLU +
        maxpool2, Flatten, fc 1568->10; BatchNormalization nodes are kept
        in the ONNX graph (not folded into the convs)               (opset 17)
  vit   7x7 patches -> 16 tokens of dim 64, learned position embedding,
        2 pre-norm encoder layers (4-head softmax attention, MLP 64-128-64
        with GELU), final LayerNorm, mean over tokens, fc 10        (opset 17,
        plus vit_opset13.onnx with LayerNormalization decomposed)
  lstm  rows as 28 time steps of 28 features, nn.LSTM(28, 128), last hidden
        state -> fc 10; exported as one ONNX LSTM node              (opset 17)

Writes into --out: <model>.onnx, vit_opset13.onnx, models.json,
ref_inputs_16.f32, ref_<model>_logits_16.f32 and README.md.

Uses only Debian packages (torch, onnx, numpy) and the Debian package
dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
"""

import argparse
import datetime
import gzip
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = 0.2860
STD = 0.3530
DATA_DIR = "/usr/share/datasets/fashion-mnist"
MODELS = ("mlp", "cnn", "vit", "lstm")
DEFAULT_EPOCHS = {"mlp": 6, "cnn": 4, "vit": 8, "lstm": 4}
DEFAULT_LR = {"mlp": 1e-3, "cnn": 2e-3, "vit": 2e-3, "lstm": 2e-3}
BATCH = 128
N_REF = 16
MAX_ONNX_BYTES = 2 * 1024 * 1024
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


# ----------------------------------------------------------------------------- data

def read_idx(path):
    """Read an IDX file (optionally gzipped) into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtype_code, ndim = data[2], data[3]
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4",
              0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError(f"{path}: unknown IDX type 0x{dtype_code:02x}")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size {arr.size} does not match dims {dims}")
    return arr.reshape(dims)


def load_split(data_dir, split):
    images = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    x = (x - MEAN) / STD
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


# ----------------------------------------------------------------------------- models
#
# Debian's torch 1.13 links the reference (netlib) BLAS: every Linear/LSTM matrix
# product runs at ~2 GFLOP/s on one core, while oneDNN (mkldnn) convolutions run
# ~10x faster. To keep training within a few minutes, the training forward pass
# computes each matrix product as a 1x1 convolution (same weights, same maths,
# differences ~1e-7). Evaluation of the final accuracy, the reference logits and
# the ONNX export use the ordinary torch ops (F.linear, nn.LSTM), so the exported
# graphs are exactly what nn.Linear / nn.LSTM produce.

_FAST = [False]   # True: matrix products as mkldnn 1x1 convolutions


class fast_gemm:
    """Context manager switching the 1x1-convolution path on or off."""

    def __init__(self, on=True):
        self.on = on

    def __enter__(self):
        self.prev, _FAST[0] = _FAST[0], self.on

    def __exit__(self, *exc):
        _FAST[0] = self.prev


def conv_linear(x, weight, bias=None):
    """y = x @ weight.T + bias over the last axis, as a 1x1 convolution."""
    shape = x.shape
    y = F.conv2d(x.reshape(-1, shape[-1], 1, 1),
                 weight.reshape(weight.shape[0], weight.shape[1], 1, 1), bias)
    return y.reshape(*shape[:-1], weight.shape[0])


class Linear(nn.Linear):
    """nn.Linear (exports as Gemm / MatMul+Add) with the fast training path."""

    def forward(self, x):
        if _FAST[0]:
            return conv_linear(x, self.weight, self.bias)
        return F.linear(x, self.weight, self.bias)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            Linear(784, 256), nn.ReLU(),
            Linear(256, 128), nn.ReLU(),
            Linear(128, 10))

    def forward(self, x):
        return self.net(x)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            Linear(32 * 7 * 7, 10))

    def forward(self, x):
        return self.net(x)


class Attention(nn.Module):
    """Multi-head softmax attention written with plain MatMul/Softmax."""

    def __init__(self, dim, heads, tokens):
        super().__init__()
        self.heads, self.tokens, self.head_dim = heads, tokens, dim // heads
        self.scale = self.head_dim ** -0.5
        self.q = Linear(dim, dim)
        self.k = Linear(dim, dim)
        self.v = Linear(dim, dim)
        self.proj = Linear(dim, dim)

    def split(self, t):
        # [N, T, D] -> [N, H, T, Dh]; -1 for the batch keeps the Reshape shape constant.
        return t.reshape(-1, self.tokens, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x):
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        att = torch.matmul(q, k.transpose(-2, -1)) * self.scale   # [N, H, T, T]
        att = torch.softmax(att, dim=-1)
        out = torch.matmul(att, v)                                 # [N, H, T, Dh]
        out = out.transpose(1, 2).reshape(-1, self.tokens, self.heads * self.head_dim)
        return self.proj(out)


class EncoderLayer(nn.Module):
    def __init__(self, dim, heads, mlp_dim, tokens):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, tokens)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = Linear(dim, mlp_dim)
        self.fc2 = Linear(mlp_dim, dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        x = x + self.fc2(F.gelu(self.fc1(self.norm2(x))))
        return x


class TinyViT(nn.Module):
    def __init__(self, patch=7, dim=64, depth=2, heads=4, mlp_dim=128, classes=10):
        super().__init__()
        self.dim = dim
        self.tokens = (28 // patch) ** 2
        self.patch_embed = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.tokens, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.layers = nn.ModuleList(
            [EncoderLayer(dim, heads, mlp_dim, self.tokens) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x)                                     # [N, D, 4, 4]
        x = x.reshape(-1, self.dim, self.tokens).transpose(1, 2)    # [N, 16, D]
        x = x + self.pos_embed
        for layer in self.layers:
            x = layer(x)
        x = self.norm(x).mean(dim=1)                                # [N, D]
        return self.head(x)


class LSTMClassifier(nn.Module):
    def __init__(self, hidden=128):
        super().__init__()
        self.lstm = nn.LSTM(input_size=28, hidden_size=hidden, num_layers=1, batch_first=True)
        self.fc = Linear(hidden, 10)

    def forward(self, x):
        x = x.reshape(-1, 28, 28)        # [N, 1, 28, 28] -> [N, T=28 rows, 28 features]
        if _FAST[0]:
            return self.fc(self.unrolled(x))
        _, (h, _) = self.lstm(x)         # h: [1, N, hidden]
        return self.fc(h[-1])

    def unrolled(self, x):
        """nn.LSTM's maths (gate order i, f, g, o) with 1x1-convolution products."""
        lstm = self.lstm
        hidden = lstm.hidden_size
        xs = conv_linear(x.transpose(0, 1), lstm.weight_ih_l0,
                         lstm.bias_ih_l0 + lstm.bias_hh_l0).unbind(0)   # T x [N, 4H]
        h = x.new_zeros(x.shape[0], hidden)
        c = x.new_zeros(x.shape[0], hidden)
        for xt in xs:
            i, f, g, o = (xt + conv_linear(h, lstm.weight_hh_l0)).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        return h


BUILDERS = {"mlp": MLP, "cnn": CNN, "vit": TinyViT, "lstm": LSTMClassifier}


# ----------------------------------------------------------------------------- training

def set_determinism(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return 100.0 * correct / len(x)


def train(name, model, xtr, ytr, xte, yte, epochs, lr, seed):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(xtr) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.15)
    t0 = time.time()
    with fast_gemm(True):
        _train_epochs(name, model, xtr, ytr, xte, yte, epochs, opt, sched, gen)
    model.eval()
    return time.time() - t0


def _train_epochs(name, model, xtr, ytr, xte, yte, epochs, opt, sched, gen):
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total_loss, n = 0.0, 0
        te = time.time()
        for i in range(0, len(xtr), BATCH):
            idx = perm[i:i + BATCH]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * len(idx)
            n += len(idx)
        acc = evaluate(model, xte, yte)
        print(f"[{name}] epoch {epoch}/{epochs}  loss {total_loss / n:.4f}  "
              f"test acc {acc:.2f}%  ({time.time() - te:.1f}s)", flush=True)


# ----------------------------------------------------------------------------- export

def stamp_normalization(path):
    """Record the input normalization in the model's metadata_props, so that tools that read
    the ONNX file (codesim eval) apply the same (x / 255 - mean) / std as training did."""
    import onnx
    m = onnx.load(path)
    del m.metadata_props[:]
    for key, value in (("codesim.input_scale", repr(1.0 / 255.0)),
                       ("codesim.input_mean", repr(MEAN)), ("codesim.input_std", repr(STD))):
        entry = m.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(m, path)


def export_onnx(model, path, opset, keep_bn=False):
    """Export with weights, dynamic batch axis and the normalization in the metadata.
    Returns the torch TrainingMode used."""
    mode = export_graph(model, path, opset, keep_bn)
    stamp_normalization(path)
    return mode


def export_graph(model, path, opset, keep_bn):
    import onnx
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    kwargs = dict(export_params=True, opset_version=opset,
                  input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    if not keep_bn:
        torch.onnx.export(model, dummy, path, do_constant_folding=True,
                          training=torch.onnx.TrainingMode.EVAL, **kwargs)
        return "EVAL"
    # With training=EVAL torch 1.13 runs _jit_pass_onnx_eval_peephole, which fuses
    # Conv+BatchNorm regardless of do_constant_folding. Try it, and if no
    # BatchNormalization survives, export with PRESERVE on the eval-mode model,
    # which skips that pass and still emits inference-mode BatchNormalization.
    torch.onnx.export(model, dummy, path, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.EVAL, **kwargs)
    if any(n.op_type == "BatchNormalization" for n in onnx.load(path).graph.node):
        return "EVAL"
    torch.onnx.export(model, dummy, path, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, **kwargs)
    return "PRESERVE (model in eval mode)"


def check_onnx(path):
    """onnx.checker (full check), the 2 MB size limit, op types and counts."""
    import onnx
    size = os.path.getsize(path)
    if size > MAX_ONNX_BYTES:
        sys.exit(f"error: {path} is {size} bytes (> {MAX_ONNX_BYTES})")
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    ops = sorted({n.op_type for n in m.graph.node})
    counts = {}
    for n in m.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    inp = m.graph.input[0]
    shape = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    return {"bytes": size, "op_types": ops, "op_counts": dict(sorted(counts.items())),
            "nodes": len(m.graph.node), "initializers": len(m.graph.initializer),
            "input_shape_onnx": shape}


def describe_gelu(path):
    import onnx
    ops = [n.op_type for n in onnx.load(path).graph.node]
    if "Gelu" in ops:
        return "Gelu node"
    if "Erf" in ops:
        return ("Erf pattern: y = x * 0.5 * (1 + Erf(x / sqrt(2))) as "
                "Div(x, 1.4142135) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5)")
    if "Tanh" in ops:
        return "Tanh approximation pattern"
    return "not recognised"


def write_f32(path, t):
    a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
    a.tofile(path)
    return list(a.shape)


# ----------------------------------------------------------------------------- main

def parse_epochs(text):
    """'5' (all models) or 'mlp=8,cnn=5,...' (others keep defaults)."""
    epochs = dict(DEFAULT_EPOCHS)
    if text is None:
        return epochs
    if "=" not in text:
        return {k: int(text) for k in epochs}
    for item in text.split(","):
        k, v = item.split("=")
        if k not in epochs:
            raise argparse.ArgumentTypeError(f"unknown model {k!r}")
        epochs[k] = int(v)
    return epochs


def main():
    ap = argparse.ArgumentParser(
        description="Train mlp/cnn/vit/lstm on Fashion-MNIST and export them to ONNX "
                    "(with weights), reference inputs/logits and models.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", default="workloads/models/fashion_mnist",
                    help="output folder")
    ap.add_argument("--epochs", default=None, type=str,
                    help="epochs: one number for every model, or e.g. 'mlp=8,vit=10' "
                         f"(defaults {DEFAULT_EPOCHS})")
    ap.add_argument("--seed", type=int, default=0, help="random seed (each model seeded with it)")
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated subset of " + ",".join(MODELS))
    ap.add_argument("--data", default=DATA_DIR, help="folder with the Fashion-MNIST IDX .gz files")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = ap.parse_args()

    epochs = parse_epochs(args.epochs)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    for n in names:
        if n not in BUILDERS:
            ap.error(f"unknown model {n!r}")

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    os.makedirs(args.out, exist_ok=True)

    xtr, ytr = load_split(args.data, "train")
    xte, yte = load_split(args.data, "t10k")
    print(f"data: train {tuple(xtr.shape)}, test {tuple(xte.shape)}, "
          f"normalized with mean {MEAN}, std {STD}", flush=True)

    x_ref = xte[:N_REF].clone()
    ref_in_shape = write_f32(os.path.join(args.out, "ref_inputs_16.f32"), x_ref)

    meta_path = os.path.join(args.out, "models.json")
    meta = {}
    if os.path.exists(meta_path) and set(names) != set(MODELS):
        with open(meta_path) as f:
            meta = json.load(f)     # keep entries of models not retrained this time
    meta.setdefault("models", {})
    cmd = " ".join(["scripts/train_fashion_mnist.py"] + sys.argv[1:])
    meta.update({
        "dataset": "Fashion-MNIST (Debian dataset-fashion-mnist, " + args.data + ")",
        "classes": CLASSES,
        "normalization": {"scale": 1.0 / 255.0, "mean": MEAN, "std": STD,
                          "formula": "x = (pixel / 255 - mean) / std",
                          "applied_inside_model": False},
        "input": {"name": "input", "shape": ["N", 1, 28, 28], "dtype": "float32",
                  "layout": "NCHW"},
        "output": {"name": "logits", "shape": ["N", 10], "dtype": "float32"},
        "reference": {"inputs_file": "ref_inputs_16.f32", "inputs_shape": ref_in_shape,
                      "test_image_indices": [0, N_REF - 1],
                      "labels": yte[:N_REF].tolist(),
                      "format": "raw little-endian float32, C order, no header"},
        "generator": {"command": cmd, "torch": torch.__version__,
                      "python": platform.python_version()},
    })

    t_all = time.time()
    for name in names:
        set_determinism(args.seed)
        model = BUILDERS[name]()
        n_params = sum(p.numel() for p in model.parameters())
        print(f"[{name}] {n_params} parameters, {epochs[name]} epochs, "
              f"Adam lr {DEFAULT_LR[name]}", flush=True)
        secs = train(name, model, xtr, ytr, xte, yte, epochs[name], DEFAULT_LR[name], args.seed)
        acc = evaluate(model, xte, yte)
        with torch.no_grad():
            logits = model(x_ref)
        logits_file = f"ref_{name}_logits_16.f32"
        logits_shape = write_f32(os.path.join(args.out, logits_file), logits)

        onnx_file = f"{name}.onnx"
        onnx_path = os.path.join(args.out, onnx_file)
        mode = export_onnx(model, onnx_path, 17, keep_bn=(name == "cnn"))
        info = check_onnx(onnx_path)
        entry = {
            "file": onnx_file,
            "test_top1_percent": round(acc, 2),
            "test_images": len(xte),
            "parameters": n_params,
            "buffers": sum(b.numel() for b in model.buffers()),
            "opset": 17,
            "input": {"name": "input", "shape": ["N", 1, 28, 28]},
            "output": {"name": "logits", "shape": ["N", 10]},
            "normalization": {"mean": MEAN, "std": STD},
            "training": {"epochs": epochs[name], "seed": args.seed, "optimizer": "Adam",
                         "lr": DEFAULT_LR[name], "lr_schedule": "OneCycle (cosine), pct_start 0.15",
                         "batch_size": BATCH, "loss": "cross_entropy",
                         "seconds": round(secs, 1)},
            "export": {"training_mode": mode,
                       "do_constant_folding": name != "cnn"},
            "onnx": info,
            "reference_logits": {"file": logits_file, "shape": logits_shape},
            "date": datetime.date.today().isoformat(),
        }
        if name == "cnn":
            entry["export"]["note"] = (
                "BatchNormalization kept (inference form: scale, bias, running mean/var "
                "as initializers, epsilon 1e-5); the importer has to fold or execute it")
            entry["export"]["has_batchnorm_node"] = "BatchNormalization" in info["op_types"]
        if name == "vit":
            entry["export"]["gelu"] = describe_gelu(onnx_path)
            entry["export"]["layernorm"] = "LayerNormalization node (axis -1, epsilon 1e-5)"
            p13 = os.path.join(args.out, "vit_opset13.onnx")
            export_onnx(model, p13, 13)
            info13 = check_onnx(p13)
            entry["variants"] = {"opset13": {
                "file": "vit_opset13.onnx", "opset": 13, "onnx": info13,
                "gelu": describe_gelu(p13),
                "layernorm": ("decomposed: ReduceMean, Sub, Pow(2), ReduceMean, Add(eps), "
                              "Sqrt, Div, Mul(gamma), Add(beta)"),
                "reference_logits": {"file": logits_file, "shape": logits_shape}}}
        if name == "lstm":
            entry["export"]["lstm"] = ("one ONNX LSTM node (gates iofc, weights W/R/B "
                                       "as initializers, reordered from torch's ifgo)")
        meta["models"][name] = entry
        print(f"[{name}] test top-1 {acc:.2f}%, {info['bytes']} bytes, ops {info['op_types']}",
              flush=True)

    meta["models"] = {k: meta["models"][k] for k in MODELS if k in meta["models"]}
    meta["generator"]["total_seconds"] = round(time.time() - t_all, 1)
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    write_readme(args.out, meta)
    print(f"total training+export time {time.time() - t_all:.1f}s; wrote {args.out}", flush=True)


def write_readme(out, meta):
    rows = []
    for name, e in meta["models"].items():
        rows.append(f"| {name} | `{e['file']}` | {e['test_top1_percent']:.2f} | "
                    f"{e['parameters']:,} | {e['opset']} | {e['onnx']['bytes']:,} | "
                    f"{e['training']['epochs']} | {e['training']['lr']} | "
                    f"{', '.join(e['onnx']['op_types'])} |")
        if "variants" in e:
            v = e["variants"]["opset13"]
            rows.append(f"| {name} (opset 13) | `{v['file']}` | same weights | "
                        f"{e['parameters']:,} | 13 | {v['onnx']['bytes']:,} | | | "
                        f"{', '.join(v['onnx']['op_types'])} |")
    text = f"""# Fashion-MNIST models

Small networks trained on Fashion-MNIST (Debian package `dataset-fashion-mnist`) and exported to
ONNX with their weights, for codesim's ONNX importer and reference executor.

Made with (from the repository root, CPU, one thread):

```sh
{meta['generator']['command']}
```

(torch {meta['generator']['torch']}, {meta['generator'].get('total_seconds', '?')} s in all for
training and export; training is deterministic for a given seed, torch version, BLAS and CPU;
`models.json` records the date, the settings and every number below.) Adam with a one-cycle
cosine learning-rate schedule, batch 128. Because Debian's torch uses the reference BLAS, the
training forward pass computes each Linear/LSTM matrix product as a oneDNN 1x1 convolution
(same weights and maths, about 10x faster); accuracies, reference logits and the ONNX export use
the ordinary `nn.Linear` / `nn.LSTM` path.

## Models

| model | file | torch top-1 on the 10,000 test images (%) | parameters | opset | bytes | epochs | Adam lr | ONNX op types |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

All models: input `input` float32 `[N, 1, 28, 28]` (NCHW, dynamic batch `N`), output `logits`
float32 `[N, 10]` (no softmax). Classes: {', '.join(f'{i} {c}' for i, c in enumerate(meta['classes']))}.

* `mlp`: Flatten, Linear 784-256, ReLU, Linear 256-128, ReLU, Linear 128-10.
* `cnn`: Conv 3x3 1->16 pad 1, BatchNorm, ReLU, MaxPool 2; Conv 3x3 16->32 pad 1, BatchNorm, ReLU,
  MaxPool 2; Flatten; Linear 1568-10. The graph keeps its two `BatchNormalization` nodes
  (inference form, `training_mode` 0, epsilon 1e-5, scale/bias/running mean/var as
  initializers): the importer must fold or execute them. torch 1.13 folds BatchNorm into the
  preceding Conv whenever `training=TrainingMode.EVAL` (its eval peephole pass runs even with
  `do_constant_folding=False`), so the script exports this model with
  `training=TrainingMode.PRESERVE` on the model in eval mode and without constant folding.
* `vit`: Conv 7x7 stride 7 1->64 (16 patch tokens), + learned position embedding [1, 16, 64];
  2 pre-norm encoder layers (LayerNorm, 4-head attention with separate q/k/v Linear, MatMul,
  Mul by 1/4, Softmax, MatMul, output Linear; residual; LayerNorm, Linear 64-128, GELU,
  Linear 128-64; residual); LayerNorm; mean over tokens; Linear 64-10. Linear layers on the
  3-D token tensors export as `MatMul` with a pre-transposed `[in, out]` weight initializer
  followed by `Add(bias, x)` (bias first); only the 2-D head is a `Gemm` (transB 1). Reshape
  shapes are `Constant` nodes with -1 for the batch. GELU exports as the exact
  Erf pattern `x * 0.5 * (1 + erf(x / sqrt(2)))` (Div, Erf, Add, Mul, Mul). At opset 17
  LayerNorm is one `LayerNormalization` node; `vit_opset13.onnx` (same weights) has it decomposed
  into ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add.
* `lstm`: the 28 image rows are 28 time steps of 28 features; one ONNX `LSTM` node (hidden 128,
  forward, weights `W`, `R`, `B` as initializers, gate order iofc as ONNX requires, no
  `sequence_lens`). Around it: Reshape to [N, 28, 28], Transpose to [28, N, 28] (batch_first),
  and the zero initial states `initial_h` = `initial_c` built for the dynamic batch by
  Shape, Gather, Unsqueeze, Concat, ConstantOfShape; the last hidden state `Y_h` [1, N, 128]
  goes through Gather(index 0, axis 0) to the Gemm 128-10.

## Normalization (not inside the models)

The evaluator applies it: `x = (pixel / 255 - {meta['normalization']['mean']}) / {meta['normalization']['std']}`
with `pixel` the uint8 IDX value.

## Files

* `<model>.onnx`, `vit_opset13.onnx`: ONNX models with weights (checked with `onnx.checker`,
  each under 2 MB).
* `models.json`: per model the file, torch top-1 accuracy on all 10,000 test images (percent,
  2 decimals), parameter count, opset, input name/shape, normalization, training settings
  (epochs, seed, optimizer, lr, schedule, batch size), export settings, the ONNX op types and
  counts, reference-file shapes and the date.
* `ref_inputs_16.f32`: the first 16 test images, normalized, shape `[16, 1, 28, 28]`.
* `ref_<model>_logits_16.f32`: torch's eval-mode logits for those 16 images, shape `[16, 10]`
  (`vit_opset13.onnx` has the same weights, so `ref_vit_logits_16.f32` applies to it too).

The `.f32` files are raw little-endian float32 in C (row-major) order with no header; shapes are
in `models.json` (`reference.inputs_shape`, `models.<model>.reference_logits.shape`). Labels of
the 16 images: {meta['reference']['labels']}.
"""
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
