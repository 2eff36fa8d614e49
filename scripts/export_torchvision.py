#!/usr/bin/python3
"""Export randomly initialised torchvision models (and a small LSTM) to ONNX.

For the ONNX importer's shape tests and for comparing codesim's C++ reference
executor with torch. Nothing here is committed: tests call this script to
generate the files into a temporary folder.

Per model NAME it writes into --out:
  NAME.onnx         the model with its (random, seeded) weights
  NAME.input.f32    one input, raw little-endian float32, C order, no header
  NAME.output.f32   torch's eval-mode output for that input, same format
  NAME.json         input/output names and shapes, opset, parameters, ONNX op
                    types and counts, file size, export time

Models: resnet18, resnet50, mobilenet_v2 (input [1, 3, 224, 224]); vit (a small
torchvision VisionTransformer: image 32, patch 8, 2 layers, 2 heads, hidden 64,
MLP 128, input [1, 3, 32, 32]); vit_b_16 (the full torchvision ViT-B/16, input
[1, 3, 224, 224], ~330 MB, only when asked for); lstm (nn.LSTM 32 -> 64,
2 layers, sequence 10, input [10, 1, 32] as [seq, batch, feature]).

Weights: torchvision's random init with --seed, made informative (see
make_informative: zero weight matrices re-drawn, BatchNorm running statistics
set from random batches) unless --no-calibrate; eval mode, then exported with
training=EVAL and constant folding, so BatchNorm is folded into the convs.

Uses only Debian packages (torch 1.13, torchvision 0.14, onnx, numpy).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

DEFAULT_MODELS = ("resnet18", "resnet50", "mobilenet_v2", "vit", "lstm")
ALL_MODELS = DEFAULT_MODELS + ("vit_b_16",)


class LSTMModel(nn.Module):
    """nn.LSTM(32, 64, 2 layers); input [seq, batch, 32], output Y [seq, batch, 64]."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=32, hidden_size=64, num_layers=2)

    def forward(self, x):
        y, _ = self.lstm(x)
        return y


def build(name):
    """Returns (model, input shape, description)."""
    import torchvision.models as tvm
    if name == "resnet18":
        return tvm.resnet18(weights=None), [1, 3, 224, 224], "torchvision resnet18, random init"
    if name == "resnet50":
        return tvm.resnet50(weights=None), [1, 3, 224, 224], "torchvision resnet50, random init"
    if name == "mobilenet_v2":
        return (tvm.mobilenet_v2(weights=None), [1, 3, 224, 224],
                "torchvision mobilenet_v2, random init")
    if name == "vit":
        from torchvision.models.vision_transformer import VisionTransformer
        model = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                  hidden_dim=64, mlp_dim=128, num_classes=10)
        return (model, [1, 3, 32, 32],
                "torchvision VisionTransformer(image_size=32, patch_size=8, num_layers=2, "
                "num_heads=2, hidden_dim=64, mlp_dim=128, num_classes=10), random init")
    if name == "vit_b_16":
        return tvm.vit_b_16(weights=None), [1, 3, 224, 224], "torchvision vit_b_16, random init"
    if name == "lstm":
        return (LSTMModel(), [10, 1, 32],
                "nn.LSTM(input_size=32, hidden_size=64, num_layers=2), input [seq, batch, feature]")
    raise ValueError(name)


def make_informative(model, shape, seed):
    """Random init alone gives degenerate references: torchvision zero-initialises the
    ViT head (output exactly 0) and mobilenet_v2's output is ~1e-9. So (1) every weight
    matrix or kernel that is all zeros gets normal(0, 1/sqrt(fan_in)) values, and (2) the
    BatchNorm running statistics are set from two random batches (cumulative average,
    in train mode), so activations keep unit scale and the folded Conv biases differ."""
    gen = torch.Generator().manual_seed(seed + 2)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2 and not p.any():
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return False
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn([4] + shape[1:], generator=gen))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()
    return True


def write_f32(path, t):
    a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
    a.tofile(path)
    return list(a.shape)


def export_one(name, out, seed, opset, dynamic_batch, calibrate=True):
    import onnx
    torch.manual_seed(seed)
    model, shape, desc = build(name)
    if calibrate:
        if make_informative(model, shape, seed):
            desc += "; BatchNorm running stats set from 2 random batches of 4"
    model.eval()
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(*shape, generator=gen)
    with torch.no_grad():
        y = model(x)

    path = os.path.join(out, f"{name}.onnx")
    batch_axis = 1 if name == "lstm" else 0
    dyn = ({"input": {batch_axis: "N"}, "output": {batch_axis: "N"}}
           if dynamic_batch else None)
    t0 = time.time()
    torch.onnx.export(model, x, path, export_params=True, opset_version=opset,
                      do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL,
                      input_names=["input"], output_names=["output"], dynamic_axes=dyn)
    export_s = time.time() - t0

    m = onnx.load(path)
    onnx.checker.check_model(path if os.path.getsize(path) > 2**31 - 1 else m)
    counts = {}
    for n in m.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1

    in_shape = write_f32(os.path.join(out, f"{name}.input.f32"), x)
    out_shape = write_f32(os.path.join(out, f"{name}.output.f32"), y)
    meta = {
        "name": name,
        "description": desc,
        "file": f"{name}.onnx",
        "bytes": os.path.getsize(path),
        "opset": opset,
        "seed": seed,
        "parameters": sum(p.numel() for p in model.parameters()),
        "input": {"name": "input", "shape": in_shape, "dtype": "float32",
                  "file": f"{name}.input.f32"},
        "output": {"name": "output", "shape": out_shape, "dtype": "float32",
                   "file": f"{name}.output.f32"},
        "dynamic_batch": bool(dynamic_batch),
        "calibrated": bool(calibrate),
        "f32_format": "raw little-endian float32, C order, no header",
        "op_types": sorted(counts),
        "op_counts": dict(sorted(counts.items())),
        "nodes": len(m.graph.node),
        "initializers": len(m.graph.initializer),
        "export_seconds": round(export_s, 2),
        "torch": torch.__version__,
    }
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return meta


def main():
    ap = argparse.ArgumentParser(
        description="Export random-init torchvision models and a small LSTM to ONNX "
                    "(opset 17, with weights), with one input and torch's output as .f32 files.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS),
                    help="comma- or space-separated list from: " + ", ".join(ALL_MODELS))
    ap.add_argument("--seed", type=int, default=0, help="seed for the weights and the input")
    ap.add_argument("--opset", type=int, default=17, help="ONNX opset")
    ap.add_argument("--dynamic-batch", action="store_true",
                    help="mark the batch axis dynamic (default: static shapes)")
    ap.add_argument("--no-calibrate", action="store_true",
                    help="keep the pure random init (zero ViT head, default BatchNorm "
                         "statistics): outputs can be all zeros or ~1e-9")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = ap.parse_args()

    names = [n for n in args.models.replace(",", " ").split() if n]
    for n in names:
        if n not in ALL_MODELS:
            ap.error(f"unknown model {n!r}; choose from {', '.join(ALL_MODELS)}")
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    t_all = time.time()
    for n in names:
        t0 = time.time()
        meta = export_one(n, args.out, args.seed, args.opset, args.dynamic_batch,
                          calibrate=not args.no_calibrate)
        y = np.fromfile(os.path.join(args.out, meta["output"]["file"]), "<f4")
        print(f"{n}: {meta['file']} {meta['bytes'] / 1e6:.1f} MB, {meta['parameters']:,} params, "
              f"input {meta['input']['shape']} -> output {meta['output']['shape']} "
              f"(max |y| {np.abs(y).max():.3g}), "
              f"{meta['nodes']} nodes, ops {', '.join(meta['op_types'])} "
              f"(export {meta['export_seconds']:.1f}s, total {time.time() - t0:.1f}s)",
              flush=True)
    print(f"wrote {len(names)} models to {args.out} in {time.time() - t_all:.1f}s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
