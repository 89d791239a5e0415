"""``cyclebench curves``: learning curves, and what reporting the best checkpoint would add.

With ``train.snapshots: N`` every run keeps its inference weights after N evenly spaced epochs
(``runs/.../snapshots/epochNNN.pt``); each is translated and scored exactly like the final
model (rules ``curve_<task>``). This step reads those metric rows and the final model's, each
given with its epoch (``--point EPOCH CSV``), and writes:

- ``learning_curves.csv``: tidy rows ``task, direction, method, seed, epoch, metric, value``;
- ``best_vs_final.csv`` / ``.md``: per task, direction, method and headline metric, the mean
  and std over seeds of the final model (what the tables report: the paper's protocol) and of
  each seed's best checkpoint *chosen on the same val images it is scored on*, with the epochs
  chosen. Choosing on the test data inflates a number; many later papers report it anyway.
  This column shows by how much;
- one figure per task (``--figure TASK=PNG``): each headline metric against the epoch, one line
  per method, the mean over seeds and a band of +-1 std.

Whether a method is still improving at the end of the budget (curve rising) or has converged
is what tells "the method is worse" from "the budget is too short".
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from cyclebench.errors import ConfigError
from cyclebench.tasks import get_task
from cyclebench.utils import atomic_write_text, parse_key_paths
from cyclebench.eval.metrics import display_name, format_value, higher_is_better, metrics_for
from cyclebench.eval.rows import read_rows

# the headline metrics of a curve (in the order the figure shows them), where they apply
HEADLINE = ("per_pixel_acc", "per_class_acc", "class_iou", "fid")


def headline(task: str, direction: str) -> list[str]:
    have = set(metrics_for(task, direction))
    return [m for m in HEADLINE if m in have]


def curve_table(points: Sequence[tuple[int, Path]]) -> pd.DataFrame:
    """Tidy rows of every (epoch, metric CSV) point; a point given twice is refused."""
    rows = []
    for epoch, path in points:
        for r in read_rows(path):
            if r["metric"] in headline(r["task"], r["direction"]):
                rows.append({"task": r["task"], "direction": r["direction"],
                             "method": r["method"], "seed": int(r["seed"]),
                             "epoch": int(epoch), "metric": r["metric"], "value": r["value"]})
    if not rows:
        raise ConfigError("no headline metric rows in the given --point files")
    df = pd.DataFrame(rows)
    keys = ["task", "direction", "method", "seed", "epoch", "metric"]
    dup = df[df.duplicated(keys, keep=False)]
    if len(dup):
        r = dup.iloc[0]
        raise ConfigError(f"two --point files give {r['task']}/{r['direction']} {r['method']} "
                          f"seed {r['seed']} at epoch {r['epoch']}: one file per point")
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def best_vs_final(curves: pd.DataFrame) -> pd.DataFrame:
    """Per (task, direction, method, metric): final and best-checkpoint mean/std over seeds."""
    out = []
    for (task, direction, method, metric), g in curves.groupby(
            ["task", "direction", "method", "metric"], sort=False):
        finals, bests, best_epochs = [], [], []
        for _, s in g.groupby("seed"):
            s = s.sort_values("epoch")
            finals.append(float(s["value"].iloc[-1]))
            i = s["value"].idxmax() if higher_is_better(metric) else s["value"].idxmin()
            bests.append(float(s.loc[i, "value"]))
            best_epochs.append(int(s.loc[i, "epoch"]))
        f, b = np.array(finals), np.array(bests)
        out.append({"task": task, "direction": direction, "method": method, "metric": metric,
                    "n_seeds": len(f), "final_epoch": int(g["epoch"].max()),
                    "final_mean": float(f.mean()), "final_std": float(f.std(ddof=1)) if len(f) > 1
                    else 0.0, "best_mean": float(b.mean()),
                    "best_std": float(b.std(ddof=1)) if len(b) > 1 else 0.0,
                    "best_minus_final": float(b.mean() - f.mean()),
                    "best_epochs": " ".join(str(e) for e in best_epochs)})
    return pd.DataFrame(out)


def render_markdown(table: pd.DataFrame) -> str:
    lines = ["# Best checkpoint against final checkpoint", "",
             "The tables report each run's final model (the paper's protocol). *Best* picks, per "
             "seed, the checkpoint that scores best on the same val images it is then scored "
             "on: choosing on the test data, which inflates the number. Many later papers report "
             "the best epoch; the difference below is that inflation here.", ""]
    for (task, direction), g in table.groupby(["task", "direction"], sort=False):
        lines += [f"## {task}: {direction}", "",
                  "| method | metric | final | best checkpoint | best - final | best epochs |",
                  "|:--|:--|--:|--:|--:|:--|"]
        for _, r in g.iterrows():
            m = r["metric"]
            lines.append(f"| {r['method']} | {display_name(m)} | "
                         f"{format_value(m, r['final_mean'])} ± {format_value(m, r['final_std'])} | "
                         f"{format_value(m, r['best_mean'])} ± {format_value(m, r['best_std'])} | "
                         f"{r['best_minus_final']:+.3f} | {r['best_epochs']} |")
        lines.append("")
    return "\n".join(lines)


def render_figure(curves: pd.DataFrame, task: str, path: Path) -> None:
    from cyclebench.eval.plots import save_figure  # the project's PNG writer; sets Agg first
    import matplotlib.pyplot as plt

    df = curves[curves["task"] == task]
    if df.empty:
        raise ConfigError(f"no learning-curve rows for task {task!r}")
    panels = [(d, m) for d in get_task(task).directions for m in headline(task, d)
              if ((df["direction"] == d) & (df["metric"] == m)).any()]
    methods = list(dict.fromkeys(df["method"]))
    colours = dict(zip(methods, plt.get_cmap("tab20").colors))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2), squeeze=False)
    for ax, (direction, metric) in zip(axes[0], panels):
        g = df[(df["direction"] == direction) & (df["metric"] == metric)]
        for method in methods:
            s = g[g["method"] == method].groupby("epoch")["value"]
            if not len(s):
                continue
            mean, std = s.mean(), s.std(ddof=1).fillna(0.0)
            ax.plot(mean.index, mean.values, marker="o", ms=3, lw=1.2, color=colours[method],
                    label=method)
            ax.fill_between(mean.index, (mean - std).values, (mean + std).values,
                            color=colours[method], alpha=0.15, linewidth=0)
        arrow = "higher" if higher_is_better(metric) else "lower"
        ax.set_title(f"{direction}: {display_name(metric)} ({arrow} is better)", fontsize=8)
        ax.set_xlabel("epoch")
        ax.tick_params(labelsize=7)
    axes[0][-1].legend(fontsize=6, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(f"{task}: learning curves (mean over seeds, band +-1 std)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cyclebench curves",
                                description="Learning curves and best-vs-final checkpoint "
                                            "scores from per-epoch metric rows.")
    p.add_argument("--point", nargs=2, action="append", required=True,
                   metavar=("EPOCH", "CSV"), help="a metric CSV and the epoch it was scored at")
    p.add_argument("--out", type=Path, required=True, help="learning_curves.csv")
    p.add_argument("--best-vs-final", type=Path, required=True, help="best_vs_final.csv")
    p.add_argument("--markdown", type=Path, default=None, help="best_vs_final.md")
    p.add_argument("--figure", action="append", default=[], metavar="TASK=PNG",
                   help="one learning-curve figure per task")
    args = p.parse_args(argv)
    points = []
    for epoch, csv in args.point:
        if not epoch.isdigit():
            raise ConfigError(f"--point {epoch} {csv}: the epoch must be a whole number")
        points.append((int(epoch), Path(csv)))
    curves = curve_table(points)
    table = best_vs_final(curves)
    atomic_write_text(args.out, curves.to_csv(index=False))
    atomic_write_text(args.best_vs_final, table.to_csv(index=False))
    if args.markdown is not None:
        atomic_write_text(args.markdown, render_markdown(table))
    for task, png in parse_key_paths(args.figure, "--figure", "TASK").items():
        render_figure(curves, task, Path(png))
    print(f"{len(curves)} curve rows from {len(points)} points -> {args.out}")
    return 0
