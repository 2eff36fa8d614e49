#!/usr/bin/python3
"""Plots of a codesim study folder (codesim sweep / codesim search --out DIR):

  DIR/pareto.png       every feasible point by the first two objectives (colour: the third, if
                       any), infeasible and failed points marked, the Pareto front highlighted
  DIR/hypervolume.png  hypervolume of the front after each batch against the evaluations
  DIR/choices.png      per-layer-group choices of one point with each group's cycles and quality
                       loss (default: the front point best in the first objective; --point KEY)

Usage: scripts/plot_study.py DIR [--point KEY]   (Debian's python3-matplotlib; no display needed)
"""
import argparse
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def label(o):
    unit = f" ({o['unit']})" if o["unit"] else ""
    return f"{o['metric']}{unit}, {'higher' if o['goal'] == 'max' else 'lower'} is better"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--point", help="key of the point whose choices to draw")
    a = ap.parse_args()
    study = json.load(open(os.path.join(a.dir, "study.json")))
    points = json.load(open(os.path.join(a.dir, "points.json")))
    front = json.load(open(os.path.join(a.dir, "pareto.json")))
    objs = study["objectives"]
    if len(objs) < 2:
        sys.exit("plot_study: the study has one objective; nothing to scatter")
    x, y = objs[0]["metric"], objs[1]["metric"]
    z = objs[2]["metric"] if len(objs) > 2 else None

    fig, ax = plt.subplots(figsize=(7, 5))
    ok = [p for p in points if p["feasible"]]
    bad = [p for p in points if p["status"] == "ok" and not p["feasible"]
           and x in p["metrics"] and y in p["metrics"]]
    if bad:
        ax.scatter([p["metrics"][x] for p in bad], [p["metrics"][y] for p in bad], marker="x",
                   s=12, color="#e8a0a0", label=f"infeasible ({len(bad)})")
    sc = ax.scatter([p["metrics"][x] for p in ok], [p["metrics"][y] for p in ok], s=10,
                    c=[p["metrics"][z] for p in ok] if z else "#9aa7b8",
                    cmap="viridis", alpha=0.7, label=f"feasible ({len(ok)})")
    if z:
        fig.colorbar(sc, ax=ax).set_label(label(objs[2]))
    fr = sorted(front, key=lambda p: p["metrics"][x])
    ax.scatter([p["metrics"][x] for p in fr], [p["metrics"][y] for p in fr], s=40,
               facecolors="none", edgecolors="#d62728", linewidths=1.5,
               label=f"Pareto front ({len(fr)})")
    failed = sum(1 for p in points if p["status"] != "ok")
    ax.set_xlabel(label(objs[0]))
    ax.set_ylabel(label(objs[1]))
    ax.set_title(f"{study['study']}: {study['algorithm']}, {study['points']} points"
                 + (f", {failed} failed" if failed else ""))
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = [os.path.join(a.dir, "pareto.png")]
    fig.savefig(out[-1], dpi=120)

    hv = list(csv.DictReader(open(os.path.join(a.dir, "hypervolume.csv"))))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([int(r["evaluations"]) for r in hv], [float(r["hypervolume"]) for r in hv],
            drawstyle="steps-post")
    ax.set_xlabel("points evaluated")
    ax.set_ylabel("hypervolume")
    ref = ", ".join(f"{o['metric']} {o['reference']:.4g}" for o in objs)
    ax.set_title(f"hypervolume (reference: {ref})", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.append(os.path.join(a.dir, "hypervolume.png"))
    fig.savefig(out[-1], dpi=120)

    pick = None
    if a.point:
        pick = next((p for p in points if p["key"] == a.point), None)
        if pick is None:
            sys.exit(f"plot_study: no point {a.point} in {a.dir}/points.json")
    elif fr:
        sign = -1 if objs[0]["goal"] == "max" else 1
        pick = min(fr, key=lambda p: sign * p["metrics"][x])
    groups = pick["metrics"].get("groups", {}) if pick else {}
    if groups:
        names = list(groups)
        ticks = []
        for g in names:
            knobs = [f"{k.split('.', 1)[1]} {v}" for k, v in pick["params"].items()
                     if k.startswith(g + ".")]
            ticks.append(g + "\n" + "\n".join(knobs))
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
        a1.bar(ticks, [groups[g]["cycles"] for g in names], color="#4c72b0")
        a1.set_ylabel("cycles")
        a2.bar(ticks, [groups[g]["quality_loss"] for g in names], color="#dd8452")
        a2.set_ylabel("quality loss (sum of normalized output errors)")
        hw = ", ".join(f"{k.split('.')[-1]} {v}" for k, v in pick["params"].items()
                       if k.startswith(("accelerator.", "technology", "memory.")))
        m = pick["metrics"]
        fig.suptitle(f"point {pick['key']}: {hw}\n" + ", ".join(
            f"{o['metric']} {m[o['metric']]:.4g}" for o in objs if o["metric"] in m), fontsize=9)
        for axis in (a1, a2):
            axis.tick_params(axis="x", labelsize=7)
        fig.tight_layout()
        out.append(os.path.join(a.dir, "choices.png"))
        fig.savefig(out[-1], dpi=120)
    print("wrote " + " ".join(out))


if __name__ == "__main__":
    main()
