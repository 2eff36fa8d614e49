#!/usr/bin/python3
"""Plots of a codesim study folder (codesim sweep / codesim search --out DIR):

  DIR/pareto.png       one panel per pair of objectives: every feasible point, the infeasible
                       ones (a constraint broken) marked x, the study's Pareto front circled and
                       the panel's own two-objective front drawn as a staircase (log axes for
                       metrics that span more than a decade)
  DIR/hypervolume.png  hypervolume of the front after each batch against the points evaluated
  DIR/choices.png      per-layer-group choices of one point with each group's cycles, energy and
                       quality loss (default: the front point best in the first objective;
                       --point KEY picks another, KEY as in points.csv)

Usage: scripts/plot_study.py DIR [--point KEY]   (Debian's python3-matplotlib; no display needed)
"""
import argparse
import csv
import itertools
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402


def label(o):
    unit = f" ({o['unit']})" if o["unit"] else ""
    return f"{o['metric']}{unit}, {'higher' if o['goal'] == 'max' else 'lower'} is better"


def staircase(points, x, y, sx, sy):
    """The two-objective Pareto front of `points` on metrics x, y (signs: 1 minimize, -1
    maximize), sorted by x, as step coordinates."""
    pts = sorted(((sx * p["metrics"][x], sy * p["metrics"][y]) for p in points))
    front, best = [], float("inf")
    for a, b in pts:
        if b < best:
            front.append((sx * a, sy * b))
            best = b
    return front


def pareto_plot(study, points, front, out):
    objs = study["objectives"]
    pairs = list(itertools.combinations(range(len(objs)), 2))
    cols = min(3, len(pairs))
    rows = (len(pairs) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.4 * rows), squeeze=False)
    feasible = [p for p in points if p["feasible"]]
    keys = {p["key"] for p in front}
    failed = sum(1 for p in points if p["status"] != "ok")
    for ax, (i, j) in zip(axes.flat, pairs):
        x, y = objs[i]["metric"], objs[j]["metric"]
        sx = -1 if objs[i]["goal"] == "max" else 1
        sy = -1 if objs[j]["goal"] == "max" else 1
        bad = [p for p in points if p["status"] == "ok" and not p["feasible"]
               and x in p["metrics"] and y in p["metrics"]]
        if bad:
            ax.scatter([p["metrics"][x] for p in bad], [p["metrics"][y] for p in bad],
                       marker="x", s=14, linewidths=0.8, color="#e3a0a0",
                       label=f"infeasible ({len(bad)})")
        rest = [p for p in feasible if p["key"] not in keys]
        ax.scatter([p["metrics"][x] for p in rest], [p["metrics"][y] for p in rest], s=12,
                   color="#7f8ea3", alpha=0.6, label=f"feasible ({len(feasible)})")
        stairs = staircase(feasible, x, y, sx, sy)
        if stairs:
            ax.step([a for a, _ in stairs], [b for _, b in stairs], where="post", color="#1f77b4",
                    linewidth=1.2, label="front of these two")
        ax.scatter([p["metrics"][x] for p in front], [p["metrics"][y] for p in front], s=46,
                   facecolors="none", edgecolors="#d62728", linewidths=1.4,
                   label=f"Pareto front, all objectives ({len(front)})")
        # Latency, energy and area of a space often span decades: a log axis then keeps the
        # crowded corner where the front lies readable.
        for axis, metric, setter in ((ax.xaxis, x, ax.set_xscale), (ax.yaxis, y, ax.set_yscale)):
            values = [p["metrics"][metric] for p in points
                      if p["status"] == "ok" and metric in p["metrics"]]
            if values and min(values) > 0 and max(values) / min(values) > 10:
                setter("log")
                axis.set_major_locator(ticker.LogLocator(base=10, subs=(1, 2, 5)))
                axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
                axis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel(label(objs[i]), fontsize=9)
        ax.set_ylabel(label(objs[j]), fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    axes.flat[0].legend(loc="best", fontsize=7)
    fig.suptitle(f"{study['study']}: {study['algorithm']}, {study['points']} of "
                 f"{int(study['grid_size']):,} grid points evaluated"
                 + (f", {failed} failed" if failed else ""), fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def hypervolume_plot(study, out_dir, out):
    hv = list(csv.DictReader(open(os.path.join(out_dir, "hypervolume.csv"))))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    xs = [int(r["evaluations"]) for r in hv]
    ys = [float(r["hypervolume"]) for r in hv]
    ax.plot(xs, ys, drawstyle="steps-post", marker="o", markersize=3, color="#1f77b4")
    ax.set_xlabel("points evaluated")
    ax.set_ylabel("hypervolume of the feasible front")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ref = ", ".join(f"{o['metric']} {o['reference']:.4g}" for o in study["objectives"])
    ax.set_title(f"{study['algorithm']}: hypervolume after each batch\nreference point: {ref}",
                 fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def choices_plot(study, pick, out):
    objs = study["objectives"]
    groups = pick["metrics"]["groups"]
    names = list(groups)
    ticks = []
    for g in names:
        knobs = [f"{k.split('.', 1)[1]} {v}" for k, v in pick["params"].items()
                 if k.startswith(g + ".")]
        ticks.append(g + "\n" + "\n".join(knobs))
    panels = [("cycles", "cycles", "#4c72b0"), ("energy", "energy (uJ)", "#55a868"),
              ("quality_loss", "quality loss\n(sum of normalized output errors)", "#dd8452")]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 4.2))
    for ax, (key, ylabel, colour) in zip(axes, panels):
        ax.bar(range(len(names)), [groups[g][key] for g in names], color=colour)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(ticks, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    hw = ", ".join(f"{k.split('.')[-1]} {v}" for k, v in pick["params"].items()
                   if k.startswith(("accelerator.", "technology", "memory.")))
    m = pick["metrics"]
    summary = ", ".join(f"{o['metric']} {m[o['metric']]:.4g}{(' ' + o['unit']) if o['unit'] else ''}"
                        for o in objs if o["metric"] in m)
    fig.suptitle(f"per-layer-group choices of point {pick['key']}\nhardware: {hw}\n{summary}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--point", help="key of the point whose choices to draw")
    a = ap.parse_args()
    study = json.load(open(os.path.join(a.dir, "study.json")))
    points = json.load(open(os.path.join(a.dir, "points.json")))
    front = json.load(open(os.path.join(a.dir, "pareto.json")))
    objs = study["objectives"]
    out = []
    if len(objs) >= 2:
        out.append(os.path.join(a.dir, "pareto.png"))
        pareto_plot(study, points, front, out[-1])
    else:
        print("plot_study: one objective, no Pareto scatter", file=sys.stderr)
    out.append(os.path.join(a.dir, "hypervolume.png"))
    hypervolume_plot(study, a.dir, out[-1])

    pick = None
    if a.point:
        pick = next((p for p in points if p["key"] == a.point), None)
        if pick is None:
            sys.exit(f"plot_study: no point {a.point} in {a.dir}/points.json")
        if pick["status"] != "ok":
            sys.exit(f"plot_study: point {a.point} failed: {pick['error']}")
    elif front:
        sign = -1 if objs[0]["goal"] == "max" else 1
        pick = min(front, key=lambda p: sign * p["metrics"][objs[0]["metric"]])
    if pick and pick["metrics"].get("groups"):
        out.append(os.path.join(a.dir, "choices.png"))
        choices_plot(study, pick, out[-1])
    print("wrote " + " ".join(out))


if __name__ == "__main__":
    main()
