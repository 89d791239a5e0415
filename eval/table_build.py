"""Tables 1-5 and the agreement table as tidy frames, from tidy metric rows.

- :func:`collect_metric_rows`: exactly the metric CSVs (and the evaluator's ground-truth CSVs)
  the caller lists; every row carries its own keys (task, direction, method, seed, metric), a
  metric CSV holds the rows of one run and direction, and a key found twice is an error.
- :func:`summarise_seeds`: mean, sample std and count over seeds.
- :func:`build_table` / :func:`build_tables`: one row per (direction, method, metric) of a
  :class:`~eval.table_specs.TableSpec`, the paper's value joined; the methods are the table's
  method groups (:func:`table_methods`).
- :func:`agreement`: Spearman / Kendall tau-b rank agreement with the paper and the mean
  absolute difference.

Every table row carries the reproduced value (mean and sample std over seeds, the seed count),
the paper's value where one exists, and the difference (ours - paper).  A paper method without
metric rows stays in its table with NaN values and a note: nothing is invented.  Every row names
the profile, the data source and the evaluator that measured it and what the method's runs
substituted for the paper's setting (``substitutes``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from cyclebench.eval.metrics import higher_is_better
from cyclebench.eval.rows import COLUMNS as ROWS_COLUMNS
from cyclebench.eval.rows import NONE as NO_SUBSTITUTES
from cyclebench.eval.rows import parse_substitutes
from cyclebench.eval.table_specs import OPTIONAL_GROUPS, TABLES, TableSpec, display_name, is_extra
from cyclebench.registry import methods_in_group

PAPER_CSV = Path(__file__).resolve().parent / "data" / "paper_tables.csv"

ROW_COLUMNS = list(ROWS_COLUMNS)  # the tidy metric-row columns (eval.rows.COLUMNS)
KEY = ["task", "direction", "method", "seed", "metric"]  # what identifies a metric row
RUN_KEY = ["task", "direction", "method", "seed"]  # one metric CSV = one run and direction

TABLE_COLUMNS = ["profile", "table", "task", "direction", "method", "method_name", "metric",
                 "higher_is_better", "reproduced_mean", "reproduced_std", "n_seeds", "seeds",
                 "paper", "paper_plus_minus", "diff", "fraction_of_ground_truth",
                 "paper_fraction_of_ground_truth", "n_images", "evaluator", "data_source",
                 "substitutes", "note"]
# The paper's Ground-truth row (pix2pix's FCN-8s on real photos) is in its Table 2.
PAPER_GROUND_TRUTH_TABLE = 2

AGREEMENT_COLUMNS = ["profile", "table", "task", "direction", "metric", "paper_metric",
                     "n_methods", "methods", "spearman", "kendall", "mean_abs_diff",
                     "evaluator", "data_source", "substitutes", "note"]

NOT_IN_PAPER = "not in the 2017 paper: no paper value"


# --- loading ----------------------------------------------------------------------------------
def load_paper(path: str | Path = PAPER_CSV) -> pd.DataFrame:
    """The paper's numbers (``table,task,direction,method,metric,value,plus_minus``)."""
    path = Path(path)
    df = pd.read_csv(path)
    need = {"table", "task", "direction", "method", "metric", "value", "plus_minus"}
    if not need <= set(df.columns):
        raise ValueError(f"{path}: missing columns {sorted(need - set(df.columns))}")
    return df


def read_metric_csv(path: str | Path, *, one_run: bool = False) -> pd.DataFrame:
    """One tidy metric CSV.  ``one_run``: its rows must all belong to one (task, direction,
    method, seed) -- what ``cyclebench score`` writes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metric CSV {path} does not exist")
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
    if one_run:
        for key in RUN_KEY:
            values = sorted(set(df[key].astype(str)))
            if len(values) > 1:
                raise ValueError(f"{path}: column {key!r} holds {values}; a metric CSV holds "
                                 f"the rows of one run and direction")
    df["source_file"] = str(path)
    return df


def collect_metric_rows(metric_csvs: Sequence[str | Path] = (),
                        evaluator_csvs: Sequence[str | Path] = ()) -> pd.DataFrame:
    """Exactly the listed metric CSVs plus the evaluator's ground-truth CSVs, concatenated.

    Nothing is globbed: the caller (the Snakemake rule) lists the files, so that CSVs of runs
    no longer in the profile (a dropped seed or method) never enter the tables.  A key
    (task, direction, method, seed, metric) found twice is an error naming the files."""
    frames = [read_metric_csv(p, one_run=True) for p in metric_csvs]
    frames += [read_metric_csv(p) for p in evaluator_csvs]
    if not frames:
        return pd.DataFrame(columns=ROW_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    dup = df[df.duplicated(KEY, keep=False)]
    if len(dup):
        first = dup.iloc[0]
        files = sorted(set(dup[(dup[KEY] == first[KEY]).all(axis=1)]["source_file"]))
        raise ValueError(f"duplicate metric rows for {dict(first[KEY])} in {files}")
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


def table_methods(spec: TableSpec, summary: pd.DataFrame) -> list[str]:
    """The rows of ``spec``: the methods of its groups in order (registration order within a
    group), then its reference rows.  A method of the ``extra`` group is a row only when
    ``summary`` has values of it for the table's task and directions."""
    have = set()
    if len(summary):
        sel = (summary["task"] == spec.task) & summary["direction"].isin(spec.directions)
        have = set(summary.loc[sel, "method"])
    methods = [m for g in spec.groups for m in methods_in_group(g)
               if g not in OPTIONAL_GROUPS or m in have]
    return list(dict.fromkeys(methods)) + list(spec.reference_rows)


def _fractions(spec: TableSpec, *, summary_idx: dict, direction: str, metric: str, value: float,
               paper_value: float, paper: dict) -> dict[str, float]:
    """An FCN-score as a fraction of its evaluator's own Ground-truth row (the score of the real
    photos), beside the paper's value as a fraction of the paper's Ground-truth row: numbers
    measured by evaluators of different quality compare on this scale, not in absolute terms.
    NaN where no Ground-truth row exists (photo -> labels, FID/KID)."""
    gt = summary_idx.get((spec.task, direction, "ground_truth", metric))
    ours = math.nan
    if gt is not None and gt[4] and not math.isnan(value):
        ours = value / gt[4]
    paper_gt = paper.get((PAPER_GROUND_TRUTH_TABLE, direction, "ground_truth", metric))
    theirs = paper_value / paper_gt[0] if paper_gt and not math.isnan(paper_value) else math.nan
    return {"fraction_of_ground_truth": ours, "paper_fraction_of_ground_truth": theirs}


def build_table(spec: TableSpec, summary: pd.DataFrame, paper: dict, profile: str) -> pd.DataFrame:
    """One table in tidy form: a row per (direction, method, metric) of ``spec``, always."""
    recs = []
    idx = {tuple(r[:4]): r for r in summary.itertuples(index=False, name=None)} if len(summary) else {}
    names = list(summary.columns)
    for direction in spec.directions:
        for method in table_methods(spec, summary):
            extra = is_extra(method)
            for metric in spec.all_metrics:
                got = idx.get((spec.task, direction, method, metric))
                rec = dict(profile=profile, table=spec.name, task=spec.task, direction=direction,
                           method=method, method_name=display_name(method),
                           metric=metric, higher_is_better=higher_is_better(metric),
                           reproduced_mean=math.nan, reproduced_std=math.nan, n_seeds=0,
                           seeds="", n_images="", evaluator="", data_source="",
                           substitutes="", note="")
                if got is not None:
                    rec.update({k: v for k, v in zip(names[4:], got[4:])})
                elif metric in spec.paper_only:
                    rec["note"] = "paper only: not reproducible by an automatic metric"
                else:
                    rec["note"] = "missing: no metric rows"
                if extra:
                    rec["note"] = "; ".join(n for n in (rec["note"], NOT_IN_PAPER) if n)
                    pv, ppm = math.nan, math.nan  # never a paper value
                else:
                    pv, ppm = paper.get((spec.number, direction, method, metric),
                                        (math.nan, math.nan))
                rec["paper"], rec["paper_plus_minus"] = pv, ppm
                rec["diff"] = rec["reproduced_mean"] - pv
                rec.update(_fractions(spec, summary_idx=idx, direction=direction, metric=metric,
                                      value=rec["reproduced_mean"], paper_value=pv, paper=paper))
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

    The Ground-truth row is not a method, and a method not in the 2017 paper has no paper value:
    neither takes part in the ranking."""
    shown = list(dict.fromkeys(table["method"]))
    ranked = [m for m in shown if m not in spec.reference_rows and not is_extra(m)]
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
            sign_a = 1.0 if higher_is_better(ours) else -1.0
            sign_b = 1.0 if higher_is_better(theirs) else -1.0
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
