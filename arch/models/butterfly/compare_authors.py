#!/usr/bin/python3
"""Attributes the difference between codesim's butterfly model and the FABNet authors' cycle model.

The authors' model (SamsungLabs/Butterfly_Acc @ 1bb951f) is re-implemented here from the rules
in shared/reference/fabnet_model_notes.md (no code of theirs). Each step of the ladder changes one
thing, so each column-to-column difference has one named cause:

  authors   the model as published (its departures from the hardware included)
  +slots    every row group charged: the FFT pipeline counts n-1 later groups (not n-2), the
            butterfly pipeline n-1 steady slots (not n-3), and the final write-back is charged
  +2-D FFT  the second FFT pass runs along the sequence at length pow2(L) over the hidden columns
            (the model charges a second length-H' pass over the L rows)
  +shapes   the workload's real widths: hidden 768 is padded to 1024 only inside the engines (DRAM
            moves 768), FFN1 is 3 stacks of 1024 (not 4), FFN2 writes 768 (not 4096)
  +PostP    the post-processor the model leaves out: the shortcut rows of the FFT block and of the
            FFN come over the input port with the last pass's input (the FFN's only when it has
            more than one row group; else FFN1's load left them in the shortcut FIFOs), and the
            LayerNorm's two statistics passes (2 ceil(H / 2U) cycles) precede each write-back
  codesim   codesim's fast fidelity; the rest is how codesim overlaps the stages (README.md)

For a config without butterfly engines (the dense baseline) the workload is BERT and the columns
are the authors' baseline model (att_accelerator, head_dim 64, its CLI default) and codesim.

With --stages it compares one row group's stage costs instead: for each pass of a FABNet layer,
the authors' per-call stage times (load, coefficients, compute, write-back; how many runs their
recurrence charges) beside codesim's, read from the second layer of a `--trace` run: the most
common duration of each stage over the pass's runs (loads that wait for a store are longer), and
for the coefficients how many of the runs stream their set and the port cycles of one set
("kept": the set stays in the weight buffer and is fetched once per pass or not at all).

Usage: compare_authors.py [--codesim PATH] [--markdown] [--stages] CONFIG VARIANT L [L ...]
  CONFIG is a file in configs/ (its engines and port widths are read from it).
"""

import argparse
import collections
import json
import math
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
U, B = 4, 16  # units per engine and word bits in the authors' model


def lg(x):
    return x.bit_length() - 1


def pow2ceil(x):
    return 1 << (x - 1).bit_length()


def cdiv(a, b):
    return -(-a // b)


def shape(variant):
    return (768, 3072, 12) if variant == "base" else (1024, 4096, 24)


def fft_run(n, in_elems, out_elems, e_in, e_out, p, ports, extra_bits=0, ln=0):
    """One FFT row group: stage 1 = load then compute, stage 2 = write-back."""
    b_in, b_w, b_out = ports
    t_in = max(cdiv(in_elems * p * e_in + extra_bits * p, b_in), n)
    t_coef = max(cdiv(lg(n) * n, b_w // 32), lg(n) * n * 32 / (4 * U * 2 * B))
    t_fft = n * lg(n) / (2 * U)
    return t_fft + max(t_in, t_coef), ln + max(cdiv(out_elems * p, b_out // e_out), out_elems)


def bfly_run(w, in_elems, out_elems, p, ports, extra_bits=0, ln=0):
    """One butterfly run: load (data and weights), compute, write-back."""
    b_in, b_w, b_out = ports
    s1 = max(max(cdiv(in_elems * p * 16 + extra_bits * p, b_in), w),
             max(cdiv(lg(w) * 2 * w, b_w // 16), lg(w) * 2 * w * 16 / (4 * U * 2 * B)))
    s2 = w * lg(w) / (2 * U)
    s3 = ln + max(cdiv(out_elems * p, b_out // 16), out_elems)
    return s1, s2, s3


def fft_total(s1, s2, n, fixed):
    if fixed:
        return s1 + (n - 1) * max(s1, s2) + s2
    return s1 + max(0, n - 2) * max(s1, s2)


def bfly_total(s, n, fixed):
    s1, s2, s3 = s
    if fixed:
        return s1 + s2 + s3 + (n - 1) * max(s)
    if n <= 2:
        return s1 + s2
    return s1 + s2 + (n - 3) * max(s) + max(s2, s3)


def ladder(variant, seq, p, ports):
    """Total cycles for each step of the ladder (before codesim)."""
    h, f, layers = shape(variant)
    hp, fp = pow2ceil(h), pow2ceil(f)
    groups = cdiv(seq, p)
    out = {}
    for step in ("authors", "+slots", "+2-D FFT", "+shapes", "+PostP"):
        fixed = step != "authors"
        real = step in ("+shapes", "+PostP")
        post = step == "+PostP"
        width, ffn = (h, f) if real else (hp, fp)
        sc = width * 16 if post else 0  # shortcut bits per row
        ln = 2 * cdiv(width, 2 * U) if post else 0
        # FFT pass 1: real in, complex out.
        if step in ("+2-D FFT", "+shapes", "+PostP"):
            n = pow2ceil(seq)  # along the sequence, one hidden column per engine
            s1, s2 = fft_run(n, seq, seq, 16, 32, p, ports)
            fft1 = fft_total(s1, s2, cdiv(width, p), fixed)
        else:
            s1, s2 = fft_run(hp, hp, hp, 16, 32, p, ports)
            fft1 = fft_total(s1, s2, groups, fixed)
        # FFT pass 2: complex in, real out, along the hidden axis over the rows.
        s1, s2 = fft_run(hp, width, width, 32, 16, p, ports, sc, ln)
        fft2 = fft_total(s1, s2, groups, fixed)
        # FFN1: width -> ffn as square butterflies of hp (the model: fp / hp; really ceil(f / hp)).
        stacks = cdiv(f, hp) if real else fp // hp
        ffn1 = bfly_total(bfly_run(hp, width, hp, p, ports), groups * stacks, fixed)
        # FFN2: ffn -> width as one butterfly of fp, writing fp (the model) or width outputs.
        ffn_sc = sc if groups > 1 else 0
        ffn2 = bfly_total(bfly_run(fp, ffn, width if real else fp, p, ports, ffn_sc, ln), groups,
                          fixed)
        out[step] = layers * (fft1 + fft2 + ffn1 + ffn2)
    return out


def dense_baseline(variant, seq, d=64, v=64, heads=8):
    """The authors' dense baseline (notes section 2), total cycles."""
    h, f, layers = shape(variant)
    groups = math.ceil(h / d / heads)
    a1 = max(cdiv(seq * h, 128), seq * h / 64) + max(cdiv(heads * d * h, 128),
                                                      heads * d * h / 2048)
    a2 = max(seq * h / 64, d * h * seq / 256, seq * h * d / v, seq * d / 32)
    r = seq * d / 32
    a3_first = 2 * r + 40 + max(r, seq + 72) + (seq - 1) * max(r, seq)
    a3_steady = seq * max(r, seq)
    mha = (a1 + max(a1 if groups >= 2 else 0, a2 + 21) +
           max(a1 if groups >= 3 else 0, a2 if groups >= 2 else 0, a3_first))
    for i in range(1, groups):
        mha += max(a1 if i + 2 < groups else 0, a2 if i + 1 < groups else 0, a3_steady)
    ln_init = (math.log(8) + (h // 8) * (h // 64) + 2) + (2 + 3 + math.log(8) + h // 8 + 16 + 68)
    ln_row, out_row = (h // 8) * (h // 64), h // 8
    p1 = max(cdiv(seq * h, 128), seq * h / 64) + max(cdiv(h * h, 128), h * h / 2048)
    q = max(h / 64, h * h / 2048)
    lp = p1 + 21 + q + max(q, ln_init) + (seq - 1) * max(q, ln_row, out_row)
    fc1 = (max(cdiv(seq * h, 128), seq * h / 64) + max(cdiv(f * h, 128), f * h / 2048) +
           seq * max(h / 64, f * h / 2048))
    q2 = max(f / 64, h * f / 2048)
    fc2 = 21 + q2 + max(q2, ln_init) + (seq - 1) * max(q2, ln_row, out_row)
    return layers * (mha + lp + fc1 + fc2)


def read_config(path):
    text = open(path).read()
    def key(k):
        m = re.search(r"^\s*%s:\s*(\d+)" % k, text, re.M)
        if not m:
            sys.exit("compare_authors: %s has no %s" % (path, k))
        return int(m.group(1))
    return key("engines"), (key("input_port_bits"), key("coef_port_bits"), key("output_port_bits"))


def codesim_cycles(binary, config, zoo, variant, seq):
    with tempfile.TemporaryDirectory() as d:
        wl = os.path.join(d, "w.yaml")
        with open(wl, "w") as f:
            f.write("workload: {zoo: %s, variant: %s, seq_len: %d}\n" % (zoo, variant, seq))
        subprocess.run([binary, "run", "-q", "--arch", config, "--workload", wl, "--out",
                        os.path.join(d, "o")], check=True)
        lines = open(os.path.join(d, "o", "report.csv")).read().splitlines()
        col = lines[0].split(",").index("cycles")
        return sum(int(l.split(",")[col]) for l in lines[1:])


def authors_stages(variant, seq, p, ports):
    """The authors' per-call stage times: {pass: (length, groups, charged, load, coef, compute,
    write-back)}; the FFT's load and coefficient terms overlap each other, then the compute."""
    h, f, _ = shape(variant)
    hp, fp = pow2ceil(h), pow2ceil(f)
    b_in, b_w, b_out = ports
    groups = cdiv(seq, p)
    out = {}
    for name, e_in, e_out in (("FFT pass 1 (hidden axis, real in)", 16, 32),
                              ("FFT pass 2 (hidden axis, complex in)", 32, 16)):
        t_in = max(cdiv(hp * p, b_in // e_in), hp)
        t_coef = max(cdiv(lg(hp) * hp, b_w // 32), lg(hp) * hp * 32 / (4 * U * 2 * B))
        wb = max(cdiv(hp * p, b_out // e_out), hp)
        out[name] = (hp, groups, max(1, groups - 1), t_in, t_coef, hp * lg(hp) / (2 * U), wb)
    for name, w, runs in (("FFN1", hp, groups * (fp // hp)), ("FFN2", fp, groups)):
        t_in = max(cdiv(w * p, b_in // 16), w)
        t_coef = max(cdiv(lg(w) * 2 * w, b_w // 16), lg(w) * 2 * w * 16 / (4 * U * 2 * B))
        wb = max(cdiv(w * p, b_out // 16), w)
        out[name] = (w, runs, 1 if runs <= 2 else runs - 1, t_in, t_coef, w * lg(w) / (2 * U), wb)
    return out


def codesim_stages(binary, config, variant, seq):
    """codesim's runs of the second layer: {pass: (runs, {stage: most common duration})}."""
    with tempfile.TemporaryDirectory() as d:
        wl = os.path.join(d, "w.yaml")
        with open(wl, "w") as f:
            f.write("workload: {zoo: fabnet, variant: %s, seq_len: %d}\n" % (variant, seq))
        out = os.path.join(d, "o")
        subprocess.run([binary, "run", "-q", "--trace", "--arch", config, "--workload", wl,
                        "--out", out], check=True)
        trace = json.load(open(os.path.join(out, "trace.json")))
        mhz = json.load(open(os.path.join(out, "report.json")))["clock_mhz"]
    stages = collections.defaultdict(lambda: collections.defaultdict(list))
    for e in trace["traceEvents"]:
        if e.get("ph") != "X" or e["tid"] < 2 or not e["name"].startswith("layer1."):
            continue
        run, stage = e["name"].rsplit(" ", 1)
        stages[run.split(" run ")[0]][stage].append(round(e["dur"] * mhz))
    return {name: (len(st["compute"]),
                   {k: collections.Counter(v).most_common(1)[0][0] for k, v in st.items()},
                   len(st.get("coefficients", [])))
            for name, st in stages.items()}


def print_stages(binary, config, variant, seq, p, ports, markdown):
    authors = authors_stages(variant, seq, p, ports)
    ours = codesim_stages(binary, config, variant, seq)
    pairs = (("FFT pass 1 (hidden axis, real in)", None),
             (None, "layer1.mix.fft.axis0"),
             ("FFT pass 2 (hidden axis, complex in)", "layer1.mix.fft.axis1"),
             ("FFN1", "layer1.ffn.up"), ("FFN2", "layer1.ffn.down"))
    h, f, _ = shape(variant)
    lengths = {"layer1.mix.fft.axis0": pow2ceil(seq), "layer1.mix.fft.axis1": pow2ceil(h),
               "layer1.ffn.up": pow2ceil(h), "layer1.ffn.down": pow2ceil(f)}
    cols = ("pass", "length", "runs (charged)", "load", "coefficients", "compute", "write-back")
    fmt = (lambda r: "| " + " | ".join(r) + " |") if markdown else \
        (lambda r: "%-40s %6s %14s %7s %12s %8s %10s" % tuple(r))
    print("%s, %s, L = %d (one layer; codesim: layer 1 of the trace)" %
          (os.path.basename(config)[:-5], variant, seq))
    print(fmt(cols))
    if markdown:
        print("|" + "---|" * len(cols))
    for a, c in pairs:
        if a:
            n, runs, charged, t_in, t_coef, comp, wb = authors[a]
            print(fmt(["authors: " + a, str(n), "%d (%d)" % (runs, charged), "%.0f" % t_in,
                       "%.0f" % t_coef, "%.0f" % comp, "%.0f" % wb]))
        if c:
            runs, st, streamed = ours[c]
            n = lengths[c]
            # One 4U x 16-bit entry per issue cycle over the coefficient port (README, run stages).
            coef = "%d x %d" % (streamed, cdiv(lg(n) * n // 2 * 64, ports[1])) if streamed \
                else "kept"
            print(fmt(["codesim: " + c.split(".", 1)[1], str(n), str(runs),
                       str(st.get("load", "—")), coef, str(st["compute"]), str(st["store"])]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codesim", default=os.path.join(HERE, "../../../build/bin/codesim"))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--stages", action="store_true",
                    help="one row group's stage costs per pass instead of the totals")
    ap.add_argument("config")
    ap.add_argument("variant", choices=("base", "large"))
    ap.add_argument("lengths", type=int, nargs="+")
    a = ap.parse_args()
    config = a.config if os.path.exists(a.config) else os.path.join(HERE, "configs",
                                                                   a.config + ".yaml")
    p, ports = read_config(config)
    if a.stages:
        if not p:
            sys.exit("compare_authors: --stages needs a design with butterfly engines")
        for seq in a.lengths:
            print_stages(a.codesim, config, a.variant, seq, p, ports, a.markdown)
        return
    steps = (("authors", "+slots", "+2-D FFT", "+shapes", "+PostP", "codesim") if p else
             ("authors", "codesim"))
    name = os.path.basename(config)[:-5]
    if a.markdown:
        print("| design | model | L | " + " | ".join(steps) + " | codesim / authors |")
        print("|---|---|---|" + "---|" * (len(steps) + 1))
    else:
        print("%-19s %-5s %5s " % ("design", "model", "L") +
              " ".join("%11s" % s for s in steps) + "  codesim/authors")
    for seq in a.lengths:
        if p:
            row = ladder(a.variant, seq, p, ports)
            row["codesim"] = codesim_cycles(a.codesim, config, "fabnet", a.variant, seq)
        else:
            row = {"authors": dense_baseline(a.variant, seq),
                   "codesim": codesim_cycles(a.codesim, config, "bert", a.variant, seq)}
        ratio = "%+.1f%%" % (100 * (row["codesim"] / row["authors"] - 1))
        if a.markdown:
            print("| %s | %s | %d | " % (name, a.variant, seq) +
                  " | ".join("{:,.0f}".format(row[s]).replace(",", " ") for s in steps) +
                  " | %s |" % ratio)
        else:
            print("%-19s %-5s %5d " % (name, a.variant, seq) +
                  " ".join("%11.0f" % row[s] for s in steps) + "  " + ratio)


if __name__ == "__main__":
    main()
