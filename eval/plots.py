"""Figures for the report: the paper's comparisons (CycleGAN, Zhu et al. 2017, Section 5.1) as
seaborn plots, training curves and qualitative grids (the paper's Figures 5-7 style).

- ``<table>.png``: per table CSV given (``table1`` ... ``table5``, named by its ``table``
  column), grouped bars of our value (mean over seeds, error bar = sample std over seeds)
  beside the paper's value, one panel per (direction, metric), the table's rows in its order.
  The title names the profile, data sources, evaluators, any method's substitutes for the
  paper's setting and the methods that are not in the 2017 paper.
- ``losses_<task>.png``: the training loss terms of every run given (``--run DIR``: its
  ``config.resolved.yaml`` names task, method and seed, its ``train_log.csv`` holds the terms),
  mean over seeds with a +-1 std band, one panel per method (log y axis when its terms span
  > 30x).
- ``grid_<direction>.png``: the same N val inputs in every row, the input in the first column,
  one column per method given for that (task, direction), the real target in the last column.

CLI (every input is named; no results folder is globbed)::

    cyclebench plots --table results/<p>/tables/table1.csv ... \\
        --run results/<p>/runs/<task>/<method>/seed<k> ... \\
        --translations <task>:<direction>:<method>=results/<p>/translations/.../<direction> ... \\
        --data-root <task>=results/<p>/data/<task> ... \\
        --out-dir results/<p>/figures [--n-images 6] [--smooth 1]

PNGs are written atomically with deterministic names; a figure without any input (a task the
profile does not run) is not drawn, except the tables, which always exist and say so.
"""

from __future__ import annotations

import argparse
import io
import math
import textwrap
from pathlib import Path
from typing import Sequence

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import yaml  # noqa: E402

from cyclebench.tasks import TASKS, get_task  # noqa: E402
from cyclebench.utils import atomic_write_bytes, load_rgb, parse_key_paths  # noqa: E402
from cyclebench.eval.metrics import display_name as metric_label  # noqa: E402
from cyclebench.eval.metrics import hidden_metrics, higher_is_better  # noqa: E402
from cyclebench.eval.rows import NONE as NO_SUBSTITUTES  # noqa: E402
from cyclebench.eval.table_specs import TABLES, display_name, is_extra, method_order  # noqa: E402

LOG_META_COLUMNS = ("epoch", "iter", "lr", "seconds")
DPI = 100
SOURCES = ("reproduced", "paper")
LOG_SCALE_RATIO = 30.0  # a loss panel spanning more than this factor gets a log y axis


def _theme() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette="deep")


def save_figure(fig, path: str | Path) -> Path:
    """Render ``fig`` to PNG in memory and write it atomically; closes the figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def _method_order(methods) -> list[str]:
    return method_order(methods)


def _names(values) -> list[str]:
    """Distinct ';'-separated names in a column (NaN = none)."""
    return sorted({x for v in values if isinstance(v, str) for x in v.split(";") if x})


def _method_substitutes(table: pd.DataFrame) -> list[str]:
    """``"<method name>: key=value"`` for every method run with a substitute for the paper's
    setting (the tables' ``substitutes`` column; ``none`` / missing = nothing substituted)."""
    out = []
    for method, values in table.groupby("method", sort=False)["substitutes"]:
        for item in _names(values):
            if item != NO_SUBSTITUTES:
                out.append(f"{display_name(method)}: {item}")
    return out


def _label(method: str, width: int = 12) -> str:
    return "\n".join(textwrap.wrap(display_name(method), width)) or method


# --- table figures ----------------------------------------------------------------------------
def _bar_panel(ax, sub: pd.DataFrame, methods: list[str], metric: str, paper_only: bool,
               colors: dict, handles: dict) -> None:
    """Our bars (error bar = std over seeds) beside the paper's; a missing value is marked
    'n/a', never drawn as a zero-height bar that could be read as a result."""
    width = 0.38
    x = np.arange(len(methods))
    ours = sub["reproduced_mean"].astype(float).to_numpy()
    std = sub["reproduced_std"].astype(float).to_numpy()
    err = np.where(np.isfinite(std), std, 0.0)
    paper = sub["paper"].astype(float).to_numpy()
    paper_err = sub["paper_plus_minus"].astype(float).fillna(0.0).to_numpy()
    has_paper = bool(np.isfinite(paper).any())
    has_ours = bool(np.isfinite(ours).any())
    off = width / 2 if has_paper and has_ours else 0.0
    if has_ours:
        handles["reproduced"] = ax.bar(
            x - off, np.nan_to_num(ours), width,
            yerr=np.where(np.isfinite(ours), err, 0.0) if np.isfinite(std).any() else None,
            color=colors["reproduced"], capsize=3, error_kw={"elinewidth": 1})
    if has_paper:
        handles["paper"] = ax.bar(
            x + off, np.nan_to_num(paper), width, yerr=paper_err if np.any(paper_err) else None,
            color=colors["paper"], capsize=3, error_kw={"elinewidth": 1})
    top = np.nanmax(np.concatenate([ours + err, paper + paper_err, [0.0]]))
    top = float(top) if np.isfinite(top) and top > 0 else 1.0
    for i in range(len(methods)):
        if has_ours and not np.isfinite(ours[i]):
            ax.text(x[i] - off, top * 0.02, "n/a", ha="center", va="bottom", fontsize=7,
                    rotation=90, color="0.3")
        if has_paper and paper_only and not np.isfinite(paper[i]):
            ax.text(x[i] + off, top * 0.02, "n/a", ha="center", va="bottom", fontsize=7,
                    rotation=90, color="0.3")
    if not has_ours and not has_paper:
        ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", va="center",
                color="0.4")
    ax.set_ylim(0, top * 1.12)
    ax.set_xticks(x)
    ax.set_xticklabels([_label(m) for m in methods], rotation=60, ha="right", fontsize=7)


def table_figure(table: pd.DataFrame, name: str):
    """Grouped bars (reproduced vs paper) per (direction, metric) panel of one tidy table."""
    _theme()
    spec = TABLES.get(name)
    directions = list(spec.directions) if spec else sorted(set(table["direction"]))
    hidden = hidden_metrics()
    metrics = [m for m in (spec.all_metrics if spec else dict.fromkeys(table["metric"]))
               if m not in hidden]
    methods = list(dict.fromkeys(table["method"]))  # the table's rows, in its order
    colors = dict(zip(SOURCES, sns.color_palette("deep", 2)))
    panels = [(d, m) for d in directions for m in metrics]
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(3.6 * ncols, 3.3 * nrows))
    for k in range(len(panels), nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    handles: dict = {}
    for k, (direction, metric) in enumerate(panels):
        ax = axes[k // ncols][k % ncols]
        sub = table[(table["direction"] == direction) & (table["metric"] == metric)]
        _bar_panel(ax, sub.set_index("method").reindex(methods), methods, metric,
                   bool(spec and metric in spec.paper_only), colors, handles)
        better = "higher" if higher_is_better(metric) else "lower"
        ax.set_title(f"{direction}: {metric_label(metric)}\n({better} is better)",
                     fontsize=9)
    profile = table["profile"].iloc[0] if len(table) else "?"
    sources, evaluators = _names(table["data_source"]), _names(table["evaluator"])
    head = spec.title if spec else name
    sub = f"profile {profile}; data: {', '.join(sources) or 'none'}; evaluators: " \
          f"{', '.join(evaluators) or 'none'}"
    method_subs = _method_substitutes(table)
    if method_subs:
        sub += "\nsubstitutes: " + "; ".join(method_subs)
    extras = [display_name(m) for m in methods if is_extra(m)]
    if extras:
        sub += "\nnot in the 2017 paper (no paper value): " + ", ".join(extras)
    if not (table["n_seeds"].fillna(0) > 0).any():
        sub += "\nno reproduced values: this profile has no metric rows for the table"
    fig.suptitle(f"{head}\n{sub}", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    if handles:
        labels = {"reproduced": "reproduced (mean ± std over seeds)",
                  "paper": "paper (± where published)"}
        fig.legend([handles[h] for h in SOURCES if h in handles],
                   [labels[h] for h in SOURCES if h in handles], loc="lower center",
                   ncol=2, fontsize=8, bbox_to_anchor=(0.5, -0.04))
    return fig


# --- training curves --------------------------------------------------------------------------
def run_keys(run_dir) -> dict:
    """``task``, ``method``, ``seed`` of a run folder, from its ``config.resolved.yaml``."""
    path = Path(run_dir) / "config.resolved.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"run config {path} not found (--run names a run folder of "
                                "`cyclebench train`)")
    cfg = yaml.safe_load(path.read_text()) or {}
    missing = [k for k in ("task", "method", "seed") if k not in cfg]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}")
    return {"task": str(cfg["task"]), "method": str(cfg["method"]), "seed": str(cfg["seed"])}


def read_train_logs(run_dirs: Sequence[str | Path], task: str) -> pd.DataFrame:
    """Long frame ``method, seed, step, term, value`` of the given runs of ``task``."""
    frames = []
    for run in run_dirs:
        keys = run_keys(run)
        if keys["task"] != task:
            continue
        method, seed = keys["method"], keys["seed"]
        path = Path(run) / "train_log.csv"
        if not path.is_file():
            raise FileNotFoundError(f"training log {path} not found")
        try:
            log = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            continue
        if log.empty:
            continue
        missing = [c for c in ("epoch", "iter") if c not in log.columns]
        if missing:
            raise ValueError(f"{path}: missing columns {missing} (expected "
                             f"epoch,iter,lr,seconds,<loss terms>)")
        it = log["iter"].to_numpy()
        step = it if len(it) < 2 or np.all(np.diff(it) > 0) else np.arange(1, len(log) + 1)
        terms = [c for c in log.columns if c not in LOG_META_COLUMNS]
        long = log[terms].assign(step=step).melt(id_vars="step", var_name="term",
                                                 value_name="value")
        frames.append(long.assign(method=method, seed=seed))
    if not frames:
        return pd.DataFrame(columns=["method", "seed", "step", "term", "value"])
    return pd.concat(frames, ignore_index=True)


def loss_figure(logs: pd.DataFrame, task: str, smooth: int = 1):
    """One panel per method: each loss term against the iteration, mean over seeds +- std."""
    _theme()
    methods = _method_order(logs["method"])
    ncols = min(4, len(methods))
    nrows = math.ceil(len(methods) / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(4.0 * ncols, 3.0 * nrows))
    for k, method in enumerate(methods):
        ax = axes[k // ncols][k % ncols]
        d = logs[logs["method"] == method].dropna(subset=["value"]).copy()
        if smooth > 1:
            d["value"] = d.groupby(["seed", "term"])["value"].transform(
                lambda v: v.rolling(smooth, min_periods=1).mean())
        n_seeds = d["seed"].nunique()
        sns.lineplot(data=d, x="step", y="value", hue="term", ax=ax, errorbar="sd",
                     linewidth=1.0)
        ax.set_title(f"{display_name(method)} ({n_seeds} seed"
                     f"{'s' if n_seeds != 1 else ''})", fontsize=9)
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss")
        vals = d["value"].to_numpy(float)
        if len(vals) and vals.min() > 0 and vals.max() / vals.min() > LOG_SCALE_RATIO:
            ax.set_yscale("log")  # e.g. pix2pix's 100 * L1 beside its GAN terms
            plain = matplotlib.ticker.FormatStrFormatter("%g")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_ylabel("loss (log scale)")
        ax.legend(fontsize=6, title=None)
    for k in range(len(methods), nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    fig.suptitle(f"Training losses, task {task}"
                 + (f" (rolling mean over {smooth} log rows)" if smooth > 1 else ""), fontsize=10)
    fig.tight_layout()
    return fig


# --- translation grids ------------------------------------------------------------------------
def _task(name: str):
    try:
        return get_task(name)
    except KeyError as exc:  # a user error (cyclebench prints it)
        raise ValueError(exc.args[0]) from None


def parse_translations(specs: Sequence[str]) -> dict[tuple[str, str], dict[str, Path]]:
    """``["<task>:<direction>:<method>=DIR", ...]`` -> ``{(task, direction): {method: DIR}}``
    (methods in figure order); a key given twice or an unknown task/direction is an error."""
    out: dict[tuple[str, str], dict[str, Path]] = {}
    for key, folder in parse_key_paths(specs, "--translations", "TASK:DIRECTION:METHOD").items():
        parts = key.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"--translations {key}={folder}: expected TASK:DIRECTION:METHOD=DIR")
        task, direction, method = parts
        t = _task(task)
        direction = t.x2y if t.resolve_direction(direction) == "x2y" else t.y2x
        group = out.setdefault((task, direction), {})
        if method in group:  # the same run under two direction names (x2y, label2photo)
            raise ValueError(f"--translations: {task}:{direction}:{method} given twice")
        group[method] = folder
    return {k: {m: v[m] for m in _method_order(v)} for k, v in out.items()}


def parse_data_roots(specs: Sequence[str]) -> dict[str, Path]:
    """``["<task>=DIR", ...]`` -> ``{task: DIR}``."""
    out = parse_key_paths(specs, "--data-root", "TASK")
    for task in out:
        _task(task)
    return out


def _placeholder(shape, text="missing"):
    return np.full(shape, 200, np.uint8), text


def grid_figure(task: str, direction: str, data_root: str | Path, sources: dict[str, Path],
                n_images: int = 6):
    """Rows = the first ``n_images`` sorted val inputs; columns = input, methods, real target.
    ``data_root``: the task's prepared data; ``sources``: method -> folder of its PNGs."""
    _theme()
    t = get_task(task)
    src_dir = Path(data_root, "val", t.source_domain(direction))
    tgt_dir = Path(data_root, "val", t.target_domain(direction))
    names = sorted(p.name for p in src_dir.glob("*.png"))[:n_images]
    if not names:
        raise FileNotFoundError(f"no val inputs in {src_dir}")
    columns = [("Input", src_dir)] + [(_label(m, 14), d) for m, d in sources.items()] + \
              [("Real target", tgt_dir)]
    fig, axes = plt.subplots(len(names), len(columns), squeeze=False,
                             figsize=(1.25 * len(columns), 1.25 * len(names) + 0.8))
    ref = load_rgb(src_dir / names[0])
    for r, name in enumerate(names):
        for c, (title, folder) in enumerate(columns):
            ax = axes[r][c]
            path = folder / name
            if path.is_file():
                img, note = load_rgb(path), None
            else:
                img, note = _placeholder(ref.shape)
            ax.imshow(img, interpolation="nearest")
            if note:
                ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center",
                        fontsize=7, color="0.2")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=7)
            if c == 0:
                ax.set_ylabel(Path(name).stem, fontsize=6)
    # the rule passes each method's lowest seed (workflow/rules/common.smk: grid_translations)
    fig.suptitle(f"{direction} ({task}): {len(names)} val inputs, lowest seed of each method",
                 fontsize=9)
    fig.tight_layout()
    return fig


# --- CLI --------------------------------------------------------------------------------------
def read_table(path: str | Path) -> tuple[str, pd.DataFrame]:
    """A tidy table CSV of ``cyclebench tables`` and its name (its ``table`` column)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"table {path} does not exist (run `cyclebench tables`)")
    table = pd.read_csv(path, keep_default_na=True, dtype={"seeds": str, "n_images": str})
    names = sorted(set(table["table"].astype(str))) if "table" in table else []
    if len(names) != 1 or names[0] not in TABLES:
        raise ValueError(f"{path}: column 'table' holds {names}; expected one of {list(TABLES)}")
    return names[0], table


def make_all(tables: Sequence[str | Path], out_dir: str | Path, *,
             runs: Sequence[str | Path] = (), translations: Sequence[str] = (),
             data_roots: Sequence[str] = (), n_images: int = 6, smooth: int = 1) -> list[Path]:
    """Every figure of the given inputs (see the module docstring for their forms)."""
    out_dir = Path(out_dir)
    sources = parse_translations(translations)
    roots = parse_data_roots(data_roots)
    for task, _ in sources:
        if task not in roots:
            raise ValueError(f"--translations of task {task} need --data-root {task}=DIR")
    loaded = [read_table(p) for p in tables]
    seen = [name for name, _ in loaded]
    if len(set(seen)) != len(seen):
        raise ValueError(f"a table is given twice: {seen}")
    written = [save_figure(table_figure(table, name), out_dir / f"{name}.png")
               for name, table in loaded]
    for task in TASKS:
        logs = read_train_logs(runs, task)
        if len(logs):
            written.append(save_figure(loss_figure(logs, task, smooth),
                                       out_dir / f"losses_{task}.png"))
        for direction in TASKS[task].directions:
            methods = sources.get((task, direction))
            if methods:
                written.append(save_figure(
                    grid_figure(task, direction, roots[task], methods, n_images),
                    out_dir / f"grid_{direction}.png"))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cyclebench plots",
                                description="Seaborn figures of the tables, losses and grids.")
    p.add_argument("--table", action="extend", nargs="+", required=True, metavar="CSV",
                   help="tidy table CSVs of `cyclebench tables` (table1.csv ... table5.csv)")
    p.add_argument("--run", action="extend", nargs="+", default=[], metavar="RUN_DIR",
                   help="run folders (config.resolved.yaml + train_log.csv) for loss curves")
    p.add_argument("--translations", action="extend", nargs="+", default=[],
                   metavar="TASK:DIRECTION:METHOD=DIR",
                   help="a method's translated val images, one grid column each")
    p.add_argument("--data-root", action="extend", nargs="+", default=[], metavar="TASK=DIR",
                   help="a task's prepared data (val inputs and targets of the grids)")
    p.add_argument("--out-dir", required=True, help="results/<profile>/figures")
    p.add_argument("--n-images", type=int, default=6, help="rows of each translation grid")
    p.add_argument("--smooth", type=int, default=1, help="rolling mean over this many log rows")
    args = p.parse_args(argv)
    if args.n_images < 1 or args.smooth < 1:
        p.error("--n-images and --smooth must be >= 1")
    written = make_all(args.table, args.out_dir, runs=args.run, translations=args.translations,
                       data_roots=args.data_root, n_images=args.n_images, smooth=args.smooth)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
