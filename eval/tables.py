"""The paper's Tables 1-5 as pivots of tidy metric rows (CycleGAN, Zhu et al. 2017, Section 5.1).

- Table 1 (Section 5.1.2, maps): the paper's AMT "% Turkers labelled real" study cannot be
  automated; FID and KID (lower is better) stand in for it, with the paper's AMT column kept
  beside them for reference.  Methods: CoGAN, BiGAN/ALI, SimGAN, Feature loss + GAN, CycleGAN,
  and pix2pix as the paired reference.
- Table 2 (Section 5.1.2): FCN-scores for labels -> photo on Cityscapes (per-pixel accuracy,
  per-class accuracy, class IoU), the six methods plus the evaluator's own "Ground truth" row
  (real val photos); FID/KID as extra columns.
- Table 3 (Section 5.1.2): photo -> labels scores for the six methods.
- Tables 4 and 5 (Section 5.1.4): the loss ablations (Cycle alone, GAN alone, GAN + forward
  cycle, GAN + backward cycle, CycleGAN) for labels -> photo and photo -> labels.
- ``agreement``: per table and metric, the Spearman and Kendall (tau-b) rank correlation between
  our ordering of the methods and the paper's, and the mean absolute difference of the values.

Every table row carries the reproduced value (mean and sample std over seeds, the seed count),
the paper's value where one exists, and the difference (ours - paper).  A method without metric
rows stays in its table with NaN values and a note: nothing is invented.  Every row names the
profile, the data source and the evaluator that measured it (the project's substitutes for the
paper's FCN-8s, Inception-v3 and datasets) and what the method's runs substituted for the
paper's setting (``substitutes``, e.g. ``feature_extractor=vgg16-random-init``; ``none``), and
so do the markdown/HTML renderings' captions.

CLI (``python -m eval tables``)::

    python -m eval tables --metrics-dir results/<p>/metrics \\
        --evaluator-csv results/<p>/evaluator/cityscapes/ground_truth.csv \\
        --profile <p> --out-dir results/<p>/tables

writes ``table1.csv`` ... ``table5.csv`` and ``agreement.csv`` (tidy, full precision) plus a
paper-like wide rendering of each as ``<name>.md`` and ``<name>.html``, all atomically.
"""

from __future__ import annotations

import argparse
import html
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from cyclebench.utils import atomic_write_text
from eval.rows import COLUMNS as ROWS_COLUMNS
from eval.rows import NONE as NO_SUBSTITUTES
from eval.rows import parse_substitutes

PAPER_CSV = Path(__file__).resolve().parent / "data" / "paper_tables.csv"

ROW_COLUMNS = list(ROWS_COLUMNS)  # the tidy metric-row columns (eval.rows.COLUMNS)

METHOD_NAMES = {
    "cogan": "CoGAN",
    "bigan": "BiGAN/ALI",
    "simgan": "SimGAN",
    "feature_gan": "Feature loss + GAN",
    "cyclegan": "CycleGAN (ours)",
    "pix2pix": "pix2pix",
    "cycle_only": "Cycle alone",
    "gan_only": "GAN alone",
    "gan_forward": "GAN + forward cycle",
    "gan_backward": "GAN + backward cycle",
    "ground_truth": "Ground truth",
}

METRIC_NAMES = {
    "per_pixel_acc": "Per-pixel acc.",
    "per_class_acc": "Per-class acc.",
    "class_iou": "Class IOU",
    "per_class_acc_present": "Per-class acc. (present classes)",
    "class_iou_present": "Class IOU (present classes)",
    "fid": "FID",
    "kid_mean": "KID",
    "kid_std": "KID std (subsets)",
    "amt_real_pct": "AMT % labelled real (paper)",
}

# Lower is better for the distribution distances; higher for everything else.
LOWER_IS_BETTER = frozenset({"fid", "kid_mean", "kid_std"})


SEG_METRICS = ("per_pixel_acc", "per_class_acc", "class_iou")
DIST_METRICS = ("fid", "kid_mean", "kid_std")
BASELINES = ("cogan", "bigan", "simgan", "feature_gan", "cyclegan", "pix2pix")
ABLATIONS = ("cycle_only", "gan_only", "gan_forward", "gan_backward", "cyclegan")


@dataclass(frozen=True)
class TableSpec:
    name: str            # output file stem
    number: int          # the paper's table number (join key into paper_tables.csv)
    title: str
    task: str
    directions: tuple[str, ...]
    methods: tuple[str, ...]
    metrics: tuple[str, ...]        # reproduced metrics shown (paper value joined if any)
    paper_only: tuple[str, ...]     # the paper's metrics we cannot reproduce (shown beside)
    # (our metric, paper metric) pairs whose method orderings are compared
    rank_pairs: tuple[tuple[str, str], ...]
    caption: str

    @property
    def all_metrics(self) -> tuple[str, ...]:
        return self.metrics + self.paper_only


TABLES: dict[str, TableSpec] = {
    "table1": TableSpec(
        "table1", 1, "Table 1: maps <-> aerial photo, FID/KID in place of the AMT study",
        "maps", ("map2photo", "photo2map"), BASELINES, DIST_METRICS, ("amt_real_pct",),
        (("fid", "amt_real_pct"), ("kid_mean", "amt_real_pct")),
        "The paper's Table 1 is a perceptual study on Amazon Mechanical Turk (% of Turkers who "
        "labelled the generated image real, 256x256 maps). It cannot be automated: FID and KID "
        "(lower is better) are reported in its place and the paper's AMT column is kept beside "
        "them for reference only. Rank agreement compares our FID/KID ordering with the paper's "
        "AMT ordering; no absolute difference is computed between different units."),
    "table2": TableSpec(
        "table2", 2, "Table 2: FCN-scores for labels -> photo on Cityscapes",
        "cityscapes", ("label2photo",), BASELINES + ("ground_truth",), SEG_METRICS + DIST_METRICS,
        (), tuple((m, m) for m in SEG_METRICS),
        "FCN-scores: a segmentation network (the evaluator) labels the generated photos and its "
        "prediction is scored against the input label maps (higher is better). 'Ground truth' "
        "is the evaluator's own score on the real val photos (the paper's Ground-truth row is the "
        "pix2pix FCN-8s on real photos). FID/KID (lower is better) are "
        "extra columns that the paper does not report."),
    "table3": TableSpec(
        "table3", 3, "Table 3: classification performance of photo -> labels on Cityscapes",
        "cityscapes", ("photo2label",), BASELINES, SEG_METRICS + DIST_METRICS, (),
        tuple((m, m) for m in SEG_METRICS),
        "Generated colour label maps are mapped to the nearest train-id palette colour and "
        "scored against the ground-truth labels (higher is better). FID/KID are extra columns "
        "that the paper does not report."),
    "table4": TableSpec(
        "table4", 4, "Table 4: ablation study, FCN-scores for labels -> photo",
        "cityscapes", ("label2photo",), ABLATIONS, SEG_METRICS + DIST_METRICS, (),
        tuple((m, m) for m in SEG_METRICS),
        "Loss ablations of CycleGAN (Section 5.1.4); X = labels, so the forward cycle starts "
        "from labels. FID/KID are extra columns that the paper does not report."),
    "table5": TableSpec(
        "table5", 5, "Table 5: ablation study, photo -> labels scores",
        "cityscapes", ("photo2label",), ABLATIONS, SEG_METRICS + DIST_METRICS, (),
        tuple((m, m) for m in SEG_METRICS),
        "Loss ablations of CycleGAN (Section 5.1.4) scored as in Table 3. FID/KID are extra "
        "columns that the paper does not report."),
}

TABLE_COLUMNS = ["profile", "table", "task", "direction", "method", "method_name", "metric",
                 "higher_is_better", "reproduced_mean", "reproduced_std", "n_seeds", "seeds",
                 "paper", "paper_plus_minus", "diff", "n_images", "evaluator", "data_source",
                 "substitutes", "note"]

AGREEMENT_COLUMNS = ["profile", "table", "task", "direction", "metric", "paper_metric",
                     "n_methods", "methods", "spearman", "kendall", "mean_abs_diff",
                     "evaluator", "data_source", "substitutes", "note"]

# What a ``substitutes`` key replaces, for the captions (unknown keys: "the paper's setting").
SUBSTITUTE_WHAT = {
    "feature_extractor": "the paper's ImageNet-trained VGG-16 relu4_2 feature network",
}


# --- loading ----------------------------------------------------------------------------------
def load_paper(path: str | Path = PAPER_CSV) -> pd.DataFrame:
    """The paper's numbers (``table,task,direction,method,metric,value,plus_minus``)."""
    path = Path(path)
    df = pd.read_csv(path)
    need = {"table", "task", "direction", "method", "metric", "value", "plus_minus"}
    if not need <= set(df.columns):
        raise ValueError(f"{path}: missing columns {sorted(need - set(df.columns))}")
    return df


def _expected_from_path(path: Path, metrics_dir: Path) -> dict[str, str] | None:
    """``<task>/<method>/seed<k>/<direction>.csv`` -> its keys (None for another layout)."""
    parts = path.relative_to(metrics_dir).parts
    if len(parts) != 4 or not parts[2].startswith("seed"):
        return None
    return {"task": parts[0], "method": parts[1], "seed": parts[2][4:],
            "direction": Path(parts[3]).stem}


def read_metric_csv(path: str | Path, expected: dict[str, str] | None = None) -> pd.DataFrame:
    """One tidy metric CSV; its rows must agree with the keys its path encodes."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"seed": str, "evaluator": str, "data_source": str,
                                      "substitutes": str, "commit": str, "profile": str})
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty metric CSV (expected a header {ROW_COLUMNS})") from None
    if list(df.columns) != ROW_COLUMNS:
        raise ValueError(f"{path}: columns {list(df.columns)} != expected {ROW_COLUMNS}")
    df["value"] = pd.to_numeric(df["value"], errors="raise")
    for i, subs in enumerate(df["substitutes"]):
        try:
            parse_substitutes("" if pd.isna(subs) else subs)
        except ValueError as exc:
            raise ValueError(f"{path}: row {i + 1}: column 'substitutes': {exc}") from None
    if expected:
        for key, want in expected.items():
            bad = df[df[key].astype(str) != want]
            if len(bad):
                raise ValueError(f"{path}: column {key!r} holds {sorted(set(bad[key].astype(str)))}"
                                 f" but the path says {want!r}")
    df["source_file"] = str(path)
    return df


def collect_metric_rows(metrics_dir: str | Path | None = None,
                        evaluator_csvs: Sequence[str | Path] = (),
                        metric_csvs: Sequence[str | Path] | None = None) -> pd.DataFrame:
    """The metric CSVs plus the evaluator's ground-truth CSVs, concatenated.

    ``metric_csvs`` (files under ``metrics_dir``) restricts the input to exactly those files,
    as the Snakemake rule does, so that CSVs of runs no longer in the profile (a dropped seed
    or method) never enter the tables; without it every ``<metrics_dir>/**/*.csv`` is read."""
    frames = []
    if metrics_dir is not None:
        metrics_dir = Path(metrics_dir)
        if not metrics_dir.is_dir():
            raise FileNotFoundError(f"metrics directory {metrics_dir} does not exist")
        if metric_csvs is None:
            paths = [p for p in sorted(metrics_dir.rglob("*.csv"))
                     if not any(part.startswith(".")
                                for part in p.relative_to(metrics_dir).parts)]
        else:
            paths = [Path(p) for p in metric_csvs]
            for path in paths:
                if not path.is_file():
                    raise FileNotFoundError(f"metric CSV {path} does not exist")
                if not path.resolve().is_relative_to(metrics_dir.resolve()):
                    raise ValueError(f"metric CSV {path} is not under {metrics_dir}")
        for path in paths:
            frames.append(read_metric_csv(path, _expected_from_path(
                metrics_dir / path.resolve().relative_to(metrics_dir.resolve()), metrics_dir)))
    for path in evaluator_csvs:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"evaluator CSV {path} does not exist")
        frames.append(read_metric_csv(path))
    if not frames:
        return pd.DataFrame(columns=ROW_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    key = ["task", "direction", "method", "seed", "metric"]
    dup = df[df.duplicated(key, keep=False)]
    if len(dup):
        first = dup.iloc[0]
        files = sorted(set(dup[(dup[key] == first[key]).all(axis=1)]["source_file"]))
        raise ValueError(f"duplicate metric rows for {dict(first[key])} in {files}")
    return df


# --- statistics -------------------------------------------------------------------------------
def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based; ties share the mean rank)."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_vals = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rho (Pearson correlation of average ranks); NaN if undefined."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) != len(b):
        raise ValueError(f"spearman: lengths differ ({len(a)} vs {len(b)})")
    if len(a) < 2:
        return math.nan
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = math.sqrt(float((ra ** 2).sum() * (rb ** 2).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else math.nan


def kendall_tau_b(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b (ties handled as in scipy.stats.kendalltau); NaN if undefined."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) != len(b):
        raise ValueError(f"kendall: lengths differ ({len(a)} vs {len(b)})")
    n = len(a)
    concordant = discordant = ties_a = ties_b = 0
    for i in range(n):
        for j in range(i + 1, n):
            da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif da == db:
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b))
    return (concordant - discordant) / denom if denom > 0 else math.nan


def _join(values: Iterable) -> str:
    vals = sorted({str(v) for v in values if not (isinstance(v, float) and math.isnan(v))})
    return ";".join(vals)


def join_substitutes(values: Iterable[str]) -> str:
    """Union of the ``key=value`` items of several ``substitutes`` values (sorted,
    ``;``-separated), ``none`` when none of them substitutes anything."""
    items = {f"{k}={v}" for text in values for k, v in parse_substitutes(text).items()}
    return ";".join(sorted(items)) if items else NO_SUBSTITUTES


def summarise_seeds(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean, sample std (ddof=1; NaN for one seed) and seed count per (task, direction, method,
    metric), with the n_images, evaluators, data sources and substitutes involved."""
    cols = ["task", "direction", "method", "metric"]
    out_cols = cols + ["reproduced_mean", "reproduced_std", "n_seeds", "seeds", "n_images",
                       "evaluator", "data_source", "substitutes"]
    if rows.empty:
        return pd.DataFrame(columns=out_cols)
    recs = []
    for key, g in rows.groupby(cols, sort=True):
        vals = g["value"].astype(float)
        seeds = sorted(g["seed"].astype(str), key=lambda s: (len(s), s))
        recs.append(dict(zip(cols, key),
                         reproduced_mean=float(vals.mean()),
                         reproduced_std=float(vals.std(ddof=1)) if len(vals) > 1 else math.nan,
                         n_seeds=int(len(vals)), seeds=";".join(seeds),
                         n_images=_join(g["n_images"]), evaluator=_join(g["evaluator"]),
                         data_source=_join(g["data_source"]),
                         substitutes=join_substitutes(g["substitutes"])))
    return pd.DataFrame(recs, columns=out_cols)


# --- tables -----------------------------------------------------------------------------------
def _paper_lookup(paper_df: pd.DataFrame) -> dict[tuple, tuple[float, float]]:
    look = {}
    for r in paper_df.itertuples(index=False):
        pm = float(r.plus_minus) if pd.notna(r.plus_minus) else math.nan
        look[(int(r.table), r.direction, r.method, r.metric)] = (float(r.value), pm)
    return look


def build_table(spec: TableSpec, summary: pd.DataFrame, paper: dict, profile: str) -> pd.DataFrame:
    """One table in tidy form: a row per (direction, method, metric) of ``spec``, always."""
    recs = []
    idx = {tuple(r[:4]): r for r in summary.itertuples(index=False, name=None)} if len(summary) else {}
    names = list(summary.columns)
    for direction in spec.directions:
        for method in spec.methods:
            for metric in spec.all_metrics:
                got = idx.get((spec.task, direction, method, metric))
                rec = dict(profile=profile, table=spec.name, task=spec.task, direction=direction,
                           method=method, method_name=METHOD_NAMES.get(method, method),
                           metric=metric, higher_is_better=metric not in LOWER_IS_BETTER,
                           reproduced_mean=math.nan, reproduced_std=math.nan, n_seeds=0,
                           seeds="", n_images="", evaluator="", data_source="",
                           substitutes="", note="")
                if got is not None:
                    rec.update({k: v for k, v in zip(names[4:], got[4:])})
                elif metric in spec.paper_only:
                    rec["note"] = "paper only: not reproducible by an automatic metric"
                else:
                    rec["note"] = "missing: no metric rows"
                pv, ppm = paper.get((spec.number, direction, method, metric), (math.nan, math.nan))
                rec["paper"], rec["paper_plus_minus"] = pv, ppm
                rec["diff"] = rec["reproduced_mean"] - pv
                recs.append(rec)
    return pd.DataFrame(recs, columns=TABLE_COLUMNS)


def _split_join(values: Iterable[str], sep: str = ";") -> str:
    return _join(x for v in values for x in str(v).split(sep) if x)


def _method_substitutes(table: pd.DataFrame) -> str:
    """An agreement row's ``substitutes``: the items of the methods it ranks, qualified by the
    method (``feature_gan:feature_extractor=vgg16-random-init``; ``;``-separated), or ``none``."""
    items = {f"{m}:{item}" for m, subs in zip(table["method"], table["substitutes"])
             if subs not in ("", NO_SUBSTITUTES) for item in str(subs).split(";")}
    return ";".join(sorted(items)) if items else NO_SUBSTITUTES


def _merge_method_substitutes(values: Iterable[str]) -> str:
    items = {x for v in values if v != NO_SUBSTITUTES for x in str(v).split(";")}
    return ";".join(sorted(items)) if items else NO_SUBSTITUTES


def agreement(spec: TableSpec, table: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Rank correlation (ours vs paper, both oriented 'higher = better') and mean |ours - paper|
    per (direction, metric pair), plus one ``all`` row per direction.

    The Ground-truth row is not a method and takes no part in the ranking."""
    ranked = [m for m in spec.methods if m != "ground_truth"]
    recs = []
    for direction in spec.directions:
        t = table[(table["direction"] == direction) & table["method"].isin(ranked)]
        pair_recs, abs_diffs = [], []
        for ours, theirs in spec.rank_pairs:
            mine = t[t["metric"] == ours].set_index("method")["reproduced_mean"]
            paper = t[t["metric"] == theirs].set_index("method")["paper"]
            both = [m for m in ranked if pd.notna(mine.get(m)) and pd.notna(paper.get(m))]
            a = np.array([mine[m] for m in both], float)
            b = np.array([paper[m] for m in both], float)
            sign_a = -1.0 if ours in LOWER_IS_BETTER else 1.0
            sign_b = -1.0 if theirs in LOWER_IS_BETTER else 1.0
            rho, tau = spearman(sign_a * a, sign_b * b), kendall_tau_b(sign_a * a, sign_b * b)
            mad = math.nan
            notes = []
            if ours == theirs:
                if both:
                    abs_diffs.extend(np.abs(a - b).tolist())
                    mad = float(np.mean(np.abs(a - b)))
            else:
                notes.append(f"orderings compared across metrics ({ours} vs the paper's "
                             f"{theirs}); no absolute difference between different units")
            missing = [m for m in ranked if m not in both]
            if missing:
                notes.append("without both values: " + ",".join(missing))
            if math.isnan(rho):
                notes.append("rank correlation undefined (fewer than 2 methods or constant values)")
            sub = t[(t["metric"] == ours) & t["method"].isin(both)]
            pair_recs.append(dict(
                profile=profile, table=spec.name, task=spec.task, direction=direction,
                metric=ours, paper_metric=theirs, n_methods=len(both), methods=",".join(both),
                spearman=rho, kendall=tau, mean_abs_diff=mad,
                evaluator=_split_join(sub["evaluator"]), data_source=_split_join(sub["data_source"]),
                substitutes=_method_substitutes(sub), note="; ".join(notes)))
        rhos = [r["spearman"] for r in pair_recs if not math.isnan(r["spearman"])]
        taus = [r["kendall"] for r in pair_recs if not math.isnan(r["kendall"])]
        recs += pair_recs
        recs.append(dict(
            profile=profile, table=spec.name, task=spec.task, direction=direction, metric="all",
            paper_metric="all", n_methods=max((r["n_methods"] for r in pair_recs), default=0),
            methods=",".join(m for m in ranked if any(m in r["methods"].split(",")
                                                       for r in pair_recs)),
            spearman=float(np.mean(rhos)) if rhos else math.nan,
            kendall=float(np.mean(taus)) if taus else math.nan,
            mean_abs_diff=float(np.mean(abs_diffs)) if abs_diffs else math.nan,
            evaluator=_split_join(r["evaluator"] for r in pair_recs),
            data_source=_split_join(r["data_source"] for r in pair_recs),
            substitutes=_merge_method_substitutes(r["substitutes"] for r in pair_recs),
            note="spearman/kendall: mean over this direction's metrics; mean_abs_diff: pooled "
                 "over every (method, metric) with both values"))
    return pd.DataFrame(recs, columns=AGREEMENT_COLUMNS)


def build_tables(metric_rows_df: pd.DataFrame, paper_df: pd.DataFrame,
                 profile_name: str) -> dict[str, pd.DataFrame]:
    """``{"table1".."table5", "agreement"} -> tidy DataFrame`` from tidy metric rows.

    ``metric_rows_df`` has the tidy columns (``profile ... commit``); rows of another profile
    are an error (a table mixes one profile's results only)."""
    rows = metric_rows_df.copy()
    if len(rows):
        missing = [c for c in ["profile", "task", "direction", "method", "seed", "metric",
                               "value", "n_images", "evaluator", "data_source", "substitutes"]
                   if c not in rows]
        if missing:
            raise ValueError(f"metric rows lack columns {missing}")
        other = sorted(set(rows["profile"].astype(str)) - {profile_name})
        if other:
            files = sorted(set(rows.loc[rows["profile"].astype(str).isin(other), "source_file"])) \
                if "source_file" in rows else []
            raise ValueError(f"metric rows of profile(s) {other} found while building tables "
                             f"for profile {profile_name!r} {files[:5]}")
        rows["value"] = rows["value"].astype(float)
    summary = summarise_seeds(rows)
    paper = _paper_lookup(paper_df)
    out: dict[str, pd.DataFrame] = {}
    agree = []
    for name, spec in TABLES.items():
        out[name] = build_table(spec, summary, paper, profile_name)
        agree.append(agreement(spec, out[name], profile_name))
    out["agreement"] = pd.concat(agree, ignore_index=True)
    return out


# --- rendering --------------------------------------------------------------------------------
def _fmt(v: float, metric: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if metric == "fid":
        return f"{v:.2f}"
    if metric.startswith("kid"):
        return f"{v:.4f}"
    if metric == "amt_real_pct":
        return f"{v:.1f}%"
    return f"{v:.3f}"


def _cell(mean: float, std: float, metric: str) -> str:
    s = _fmt(mean, metric)
    if s != "n/a" and not math.isnan(std):
        s += " ± " + _fmt(std, metric).rstrip("%")
    return s


def substitutes(table: pd.DataFrame) -> list[str]:
    """Human-readable statements of what stands in for the paper's data and evaluators."""
    notes = []
    sources = sorted({x for v in table["data_source"] for x in str(v).split(";") if x})
    for s in sources:
        if s.startswith("synthetic"):
            notes.append(f"data: {s} (synthetic data generated by this project in place of the "
                         f"real dataset)")
        else:
            notes.append(f"data: {s}")
    seg = table[table["metric"].isin(SEG_METRICS)]
    for ev in sorted({x for v in seg["evaluator"] for x in str(v).split(";") if x}):
        if ev.startswith("nearest-palette"):  # photo -> labels: no network involved
            notes.append(f"label scoring: {ev} (nearest train-id colour, as the paper describes)")
        else:
            notes.append(f"segmentation evaluator: {ev} (trained by this project; the paper "
                         f"used the pix2pix FCN-8s)")
    dist = table[table["metric"].isin(DIST_METRICS)]
    for ev in sorted({x for v in dist["evaluator"] for x in str(v).split(";") if x}):
        if ev.startswith("inception"):
            notes.append(f"FID/KID features: {ev}")
        else:
            notes.append(f"FID/KID features: {ev} (in place of ImageNet Inception-v3)")
    reproduced = table[table["n_seeds"] > 0]
    for method in dict.fromkeys(reproduced["method"]):
        values = reproduced.loc[reproduced["method"] == method, "substitutes"]
        # table rows hold joined values (several seeds may name different items): no parsing
        for item in sorted({x for v in values for x in str(v).split(";")
                            if x and x != NO_SUBSTITUTES}):
            what = SUBSTITUTE_WHAT.get(item.split("=", 1)[0], "the paper's setting")
            notes.append(f"{METHOD_NAMES.get(method, method)}: {item} (in place of {what})")
    return notes


def caption(spec: TableSpec, table: pd.DataFrame) -> str:
    profile = table["profile"].iloc[0] if len(table) else "?"
    seeds = sorted({int(n) for n in table["n_seeds"] if n})
    parts = [f"{spec.title}. Profile: {profile}.", spec.caption,
             "Cells: mean ± sample std over seeds (seeds per row: "
             f"{', '.join(map(str, seeds)) if seeds else 'none'}); [paper] = the value "
             "published in Zhu et al. 2017; 'n/a' = missing."]
    subs = substitutes(table)
    if subs:
        parts.append("Substitutes: " + "; ".join(subs) + ".")
    if not (table["n_seeds"] > 0).any():
        parts.append(f"NOTE: no metric rows were found for this table (task {spec.task}, "
                     f"directions {', '.join(spec.directions)}); the profile may not include "
                     "them or they have not been computed. Every value is missing.")
    else:
        miss = table[(table["n_seeds"] == 0) & ~table["metric"].isin(spec.paper_only)]
        if len(miss):
            what = [f"{name} ({', '.join(dict.fromkeys(g['metric']))})"
                    for name, g in miss.groupby("method_name", sort=False)]
            parts.append("Missing, shown as n/a: " + "; ".join(what) + ".")
    return " ".join(parts)


WIDE_HIDDEN = frozenset({"kid_std"})  # in the CSV; too detailed for the paper-like layout


def wide(spec: TableSpec, table: pd.DataFrame) -> pd.DataFrame:
    """Paper-like layout: one row per method, per direction the metric columns (ours, [paper])."""
    data: dict[str, list[str]] = {"Method": [METHOD_NAMES.get(m, m) for m in spec.methods]}
    multi = len(spec.directions) > 1
    for direction in spec.directions:
        pre = f"{direction}: " if multi else ""
        for metric in spec.all_metrics:
            if metric in WIDE_HIDDEN:
                continue
            sub = table[(table["direction"] == direction) & (table["metric"] == metric)]
            sub = sub.set_index("method")
            has_paper = sub["paper"].notna().any()
            label = METRIC_NAMES.get(metric, metric)
            if metric not in spec.paper_only:
                data[pre + label] = [_cell(sub.at[m, "reproduced_mean"], sub.at[m, "reproduced_std"], metric)
                                     for m in spec.methods]
            if has_paper:
                plabel = label if metric in spec.paper_only else f"{label} [paper]"
                data[pre + plabel] = [
                    "n/a" if pd.isna(sub.at[m, "paper"]) else
                    _fmt(sub.at[m, "paper"], metric) + (
                        f" ± {sub.at[m, 'paper_plus_minus']:.1f}"
                        if pd.notna(sub.at[m, "paper_plus_minus"]) else "")
                    for m in spec.methods]
    return pd.DataFrame(data)


def to_markdown(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"


def to_html(title: str, cap: str, df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}"
            "td:first-child{text-align:left}caption{caption-side:bottom;text-align:left;"
            "max-width:60em;padding-top:8px;color:#333}</style></head><body>"
            f"<table><caption>{html.escape(cap)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></body></html>\n")


def agreement_wide(agree: pd.DataFrame) -> pd.DataFrame:
    def f(v, d=2):
        return "n/a" if pd.isna(v) else f"{v:.{d}f}"

    return pd.DataFrame({
        "Table": agree["table"], "Direction": agree["direction"],
        "Metric (ours vs paper)": [m if m == p else f"{m} vs {p}"
                                   for m, p in zip(agree["metric"], agree["paper_metric"])],
        "Methods": agree["n_methods"], "Spearman": [f(v) for v in agree["spearman"]],
        "Kendall": [f(v) for v in agree["kendall"]],
        "Mean abs. diff": [f(v, 3) for v in agree["mean_abs_diff"]],
    })


def write_tables(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """Write ``<name>.csv`` (tidy, full precision), ``<name>.md`` and ``<name>.html``."""
    out_dir = Path(out_dir)
    written = []
    for name, df in tables.items():
        path = out_dir / f"{name}.csv"
        atomic_write_text(path, df.to_csv(index=False, lineterminator="\n"))
        written.append(path)
        if name in TABLES:
            spec = TABLES[name]
            title, cap, w = spec.title, caption(spec, df), wide(spec, df)
        else:
            profile = df["profile"].iloc[0] if len(df) else "?"
            title = "Agreement with the paper"
            cap = (f"Profile: {profile}. Per table and metric, the Spearman and Kendall tau-b rank "
                   "correlation between our ordering of the methods and the paper's (both oriented "
                   "so that higher = better; Ground truth excluded) and the mean absolute "
                   "difference ours - paper over methods with both values. 'all' rows: mean of "
                   "the correlations, pooled absolute difference. Table 1 compares FID/KID with "
                   "the paper's AMT ordering.")
            subs = sorted({x for v in df["evaluator"] for x in str(v).split(";") if x} |
                          {x for v in df["data_source"] for x in str(v).split(";") if x})
            if subs:
                cap += " Data sources and evaluators involved: " + ", ".join(subs) + "."
            else:
                cap += " NOTE: no reproduced values were available, every correlation is n/a."
            method_subs = sorted({x for v in df["substitutes"] for x in str(v).split(";")
                                  if x and x != NO_SUBSTITUTES})
            if method_subs:
                cap += (" Methods run with a substitute for the paper's setting: "
                        + ", ".join(method_subs) + ".")
            w = agreement_wide(df)
        md = f"### {title}\n\n{to_markdown(w)}\n{cap}\n"
        atomic_write_text(out_dir / f"{name}.md", md)
        atomic_write_text(out_dir / f"{name}.html", to_html(title, cap, w))
        written += [out_dir / f"{name}.md", out_dir / f"{name}.html"]
    return written


# --- CLI --------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval tables", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--metrics-dir", required=True, help="results/<profile>/metrics")
    p.add_argument("--evaluator-csv", action="append", default=[],
                   help="the evaluator's ground_truth.csv (repeatable)")
    p.add_argument("--metrics-csv", action="extend", nargs="+", default=None,
                   help="read exactly these metric CSVs under --metrics-dir (default: all)")
    p.add_argument("--profile", required=True, help="profile name (must match the rows)")
    p.add_argument("--paper-csv", default=str(PAPER_CSV),
                   help="the paper's numbers (default: the copy shipped in eval/data)")
    p.add_argument("--out-dir", required=True, help="results/<profile>/tables")
    args = p.parse_args(argv)
    try:
        rows = collect_metric_rows(args.metrics_dir, args.evaluator_csv, args.metrics_csv)
        tables = build_tables(rows, load_paper(args.paper_csv), args.profile)
        written = write_tables(tables, args.out_dir)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(rows)} metric rows -> {len(written)} files in {args.out_dir}")
    for name in TABLES:
        t = tables[name]
        have = int((t["n_seeds"] > 0).sum())
        print(f"  {name}: {have}/{len(t)} rows with reproduced values")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
