#!/usr/bin/python3
"""Reproduces two studies of the FABNet paper (Fan et al., MICRO 2022) with codesim.

  bandwidth  Fig. 18: FABNet-Large latency against off-chip bandwidth for 16..128 butterfly
             engines at L = 128, 1024, 4096. As in the authors' script, the three ports (input,
             coefficients, output) get the same width W bits/cycle, and the paper's axis labels W as
             W / 10 "GB/s" (64 -> 6.4, 2048 -> 204.8). Prints the latency table and the knee: the
             narrowest swept width whose latency is within 10% of the latency at 16384 bits/cycle.
  speedup    Fig. 19: at 2048 multipliers each, the butterfly hardware (VCU128, 128 engines) over
             the dense baseline (configs/dense_baseline_2048.yaml) on FABNet ("hardware only"),
             and FABNet on the butterfly hardware over BERT on the baseline ("with the algorithm"),
             Base and Large at L = 128..1024.

Usage: paper_studies.py [--codesim PATH] bandwidth|speedup
"""

import argparse
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "configs")
MHZ = 200.0


def cycles(binary, config, zoo, variant, seq, params=()):
    with tempfile.TemporaryDirectory() as d:
        wl = os.path.join(d, "w.yaml")
        with open(wl, "w") as f:
            f.write("workload: {zoo: %s, variant: %s, seq_len: %d}\n" % (zoo, variant, seq))
        cmd = [binary, "run", "-q", "--arch", os.path.join(CONFIGS, config + ".yaml"),
               "--workload", wl, "--out", os.path.join(d, "o")]
        for p in params:
            cmd += ["-p", p]
        subprocess.run(cmd, check=True)
        lines = open(os.path.join(d, "o", "report.csv")).read().splitlines()
        col = lines[0].split(",").index("cycles")
        return sum(int(l.split(",")[col]) for l in lines[1:])


def bandwidth(binary):
    engines = (16, 32, 64, 96, 128)
    widths = (64, 128, 256, 512, 1024, 2048, 4096)
    unlimited = 16384
    print("FABNet-Large latency (ms at %g MHz) against the width W of each of the three ports" % MHZ)
    print("(paper's axis: W / 10 GB/s; one port moves W x 25 MB/s at 200 MHz)\n")
    for seq in (128, 1024, 4096):
        print("L = %d" % seq)
        print("%8s " % "engines" + " ".join("%9d" % w for w in widths) +
              "  %9s  knee W (paper's GB/s)" % "unlimited")
        for p in engines:
            lat = []
            for w in widths + (unlimited,):
                params = ("accelerator.engines=%d" % p, "accelerator.input_port_bits=%d" % w,
                          "accelerator.coef_port_bits=%d" % w,
                          "accelerator.output_port_bits=%d" % w)
                lat.append(cycles(binary, "vcu128_be120", "fabnet", "large", seq, params) /
                           (MHZ * 1000))
            knee = next(w for w, l in zip(widths + (unlimited,), lat) if l <= 1.1 * lat[-1])
            print("%8d " % p + " ".join("%9.2f" % l for l in lat[:-1]) +
                  "  %9.2f  %d (%g)" % (lat[-1], knee, knee / 10))
        print()


def speedup(binary):
    print("At 2048 multipliers: butterfly hardware (VCU128, 128 engines) vs the dense baseline\n")
    print("%-6s %5s %12s %12s %12s %10s %10s %10s" %
          ("model", "L", "FABNet/BP", "FABNet/base", "BERT/base", "hw only", "with alg.",
           "alg. only"))
    ratios = {"hw": [], "both": [], "alg": []}
    for variant in ("base", "large"):
        for seq in (128, 256, 512, 768, 1024):
            bp = cycles(binary, "vcu128_be120", "fabnet", variant, seq, ("accelerator.engines=128",))
            fab = cycles(binary, "dense_baseline_2048", "fabnet", variant, seq)
            bert = cycles(binary, "dense_baseline_2048", "bert", variant, seq)
            ratios["hw"].append(fab / bp)
            ratios["both"].append(bert / bp)
            ratios["alg"].append(bert / fab)
            print("%-6s %5d %12d %12d %12d %9.1fx %9.1fx %9.2fx" %
                  (variant, seq, bp, fab, bert, fab / bp, bert / bp, bert / fab))
    print("\nranges: hardware only %.1f-%.1fx (paper 19.5-53.3x), with the algorithm %.1f-%.1fx "
          "(paper 30.8-87.3x), FABNet over BERT on the baseline %.2f-%.2fx (paper 1.6-2.3x)" %
          (min(ratios["hw"]), max(ratios["hw"]), min(ratios["both"]), max(ratios["both"]),
           min(ratios["alg"]), max(ratios["alg"])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codesim", default=os.path.join(HERE, "../../../build/bin/codesim"))
    ap.add_argument("study", choices=("bandwidth", "speedup"))
    a = ap.parse_args()
    {"bandwidth": bandwidth, "speedup": speedup}[a.study](a.codesim)


if __name__ == "__main__":
    main()
