"""The paper's findings as checked claims: differences, bootstrap intervals and verdicts.

The claims are data (``eval/data/paper_claims.yaml``): each names its source in Zhu et al. 2017,
the task, the metrics and the pairwise comparisons it implies ("``better`` beats each of
``worse`` on each direction").  For every comparison and metric:

- ``difference``: mean over seeds of ``better - worse``, recomputed from the per-image
  statistics on the whole val set (the tables' values for the segmentation scores and FID;
  for KID too unless the val set is larger than ``eval.kid_subset_size``, where the tables
  average random subsets); ``better_mean``/``worse_mean`` are the tables' values;
- a confidence interval (default 95 %) from a seeded bootstrap over both sources of noise:
  each replicate draws the seeds with replacement and one resample of the val images, shared
  by both methods and all seeds (every run translates the same val inputs: seeds and images
  are crossed, and the comparison is paired), recomputes both scores from the per-image
  statistics (:mod:`cyclebench.eval.resample`) and averages the difference over the drawn
  seeds; the replicates are centred on ``difference`` (resampling biases FID upwards).  With
  one seed the interval covers the sampling of val images only, which the ``note`` says;
- ``verdict``: ``reproduced`` when the interval lies entirely on the claimed side (higher for
  the segmentation scores, lower for FID/KID), ``contradicted`` when entirely on the other side,
  ``inconclusive`` otherwise; ``not run`` when the profile lacks a method, direction or seed.

A claim marked ``extra: true`` is not a finding of the 2017 paper but a later paper's about one
of the extra rows (CUT's, sourced to Park et al. 2020): its ``origin`` is ``extra`` and the
summary counts it apart from the paper's claims.

A claim's verdict summarises its comparisons: ``reproduced`` only if all are,
``contradicted`` if any is, ``not run`` if none ran, else ``inconclusive``.  Both levels are
rows of ``claims.csv``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from cyclebench.config import ClaimsConfig, ConfigError, read_yaml_mapping
from cyclebench.eval import resample
from cyclebench.eval.metrics import higher_is_better, is_registered, metrics_for
from cyclebench.eval.table_specs import display_name
from cyclebench.registry import registered_methods
from cyclebench.tasks import get_task

CLAIMS_FILE = Path(__file__).resolve().parent / "data" / "paper_claims.yaml"

COLUMNS = ["profile", "level", "claim", "origin", "source", "comparison", "task", "direction",
           "metric", "higher_is_better", "better", "worse", "better_mean", "worse_mean",
           "difference", "ci_low", "ci_high", "confidence", "n_seeds", "seeds", "n_images",
           "n_bootstrap", "verdict", "note"]
VERDICTS = ("reproduced", "contradicted", "inconclusive", "not run")


@dataclass(frozen=True)
class Comparison:
    claim: str
    task: str
    direction: str
    metric: str
    better: str
    worse: str

    @property
    def label(self) -> str:
        return f"{self.better} > {self.worse}"


@dataclass(frozen=True)
class Claim:
    id: str
    source: str
    statement: str
    task: str
    comparisons: tuple[Comparison, ...]
    # "paper": a finding of Zhu et al. 2017 (the count the harness answers for); "extra": a
    # later paper's finding about an extra row (e.g. CUT's), reported beside, never mixed in
    origin: str = "paper"


# --- the claims file ----------------------------------------------------------------------
def load_claims(path: str | Path = CLAIMS_FILE) -> list[Claim]:
    """Parse and check a claims file: every method, metric, task and direction must exist
    (a ConfigError names the claim and the unknown name)."""
    path = Path(path)
    data = read_yaml_mapping(path, "claims file")
    if not isinstance(data.get("claims"), list):
        raise ConfigError(f"{path}: expected a mapping with a list 'claims'")
    methods = set(registered_methods())
    claims, seen = [], set()
    for i, raw in enumerate(data["claims"]):
        where = f"{path}: claims[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a mapping")
        missing = [k for k in ("id", "source", "statement", "task", "metrics", "comparisons")
                   if k not in raw]
        if missing:
            raise ConfigError(f"{where}: missing key(s) {missing}")
        cid = str(raw["id"])
        where = f"{path}: claim {cid}"
        if cid in seen:
            raise ConfigError(f"{where}: duplicate claim id")
        seen.add(cid)
        try:
            task = get_task(raw["task"])
        except KeyError as exc:
            raise ConfigError(f"{where}: {exc.args[0]}") from None
        for metric in raw["metrics"]:
            if not is_registered(metric):
                raise ConfigError(f"{where}: unknown metric {metric!r}")
            if metric not in resample.RESAMPLED:
                raise ConfigError(f"{where}: metric {metric!r} cannot be resampled; use one of "
                                  f"{list(resample.RESAMPLED)}")
        comps = []
        for spec in raw["comparisons"]:
            worse = spec.get("worse", [])
            worse = [worse] if isinstance(worse, str) else list(worse)
            for name in [spec.get("better"), *worse]:
                if name not in methods:
                    raise ConfigError(f"{where}: unknown method {name!r}; registered: "
                                      f"{sorted(methods)}")
            for direction in spec.get("directions", []):
                if direction not in task.directions:
                    raise ConfigError(f"{where}: direction {direction!r} is not one of task "
                                      f"{task.name}'s {list(task.directions)}")
                scored = metrics_for(task.name, direction)
                for metric in raw["metrics"]:
                    if metric not in scored:
                        raise ConfigError(f"{where}: metric {metric!r} is not scored on "
                                          f"{task.name} {direction} (scored: {list(scored)})")
            comps += [Comparison(cid, task.name, d, m, spec["better"], w)
                      for d in spec["directions"] for w in worse for m in raw["metrics"]]
        if not comps:
            raise ConfigError(f"{where}: no comparisons")
        extra = raw.get("extra", False)
        if not isinstance(extra, bool):
            raise ConfigError(f"{where}: 'extra' must be true or false, got {extra!r}")
        claims.append(Claim(cid, str(raw["source"]), " ".join(str(raw["statement"]).split()),
                            task.name, tuple(comps), "extra" if extra else "paper"))
    return claims


# --- inputs -------------------------------------------------------------------------------
def index_inputs(rows: pd.DataFrame, stats: Iterable[dict[str, Any]]
                 ) -> tuple[dict[tuple, float], dict[tuple, dict[str, Any]]]:
    """``{(task, direction, method, seed, metric): value}`` from the tidy rows and
    ``{(task, direction, method, seed): statistics}`` from the per-image statistics files."""
    values = {(r.task, r.direction, r.method, int(r.seed), r.metric): float(r.value)
              for r in rows.itertuples(index=False)}
    by_run: dict[tuple, dict[str, Any]] = {}
    for st in stats:
        k = st["keys"]
        key = (k["task"], k["direction"], k["method"], int(k["seed"]))
        if key in by_run:
            raise ValueError(f"two per-image statistics files for {key}")
        by_run[key] = st
    return values, by_run


def _rng(cfg: ClaimsConfig, comparison: Comparison) -> np.random.Generator:
    """A generator seeded by the profile's claims seed and the comparison alone, so that a
    verdict does not depend on which other comparisons or files are present."""
    text = f"{cfg.seed}|{comparison.claim}|{comparison.task}|{comparison.direction}|" \
           f"{comparison.metric}|{comparison.better}|{comparison.worse}"
    return np.random.default_rng(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))


def bootstrap_difference(stats_a: Sequence[dict], stats_b: Sequence[dict], metric: str,
                         n_boot: int, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """The full-set difference (mean over seeds of ``score(a) - score(b)``) and ``n_boot``
    bootstrap replicates of it, centred on it.

    ``stats_a[i]`` and ``stats_b[i]`` are the per-image statistics of seed ``i`` of the two
    methods.  Seeds and val images are *crossed* (every run translates the same val images),
    so a replicate draws one resample of the images, shared by both methods and every seed
    (paired), and draws the seeds with replacement; its value is the mean of the drawn seeds'
    differences on those images.  Drawing with replacement biases some scores (FID sees about
    63 % distinct images), so the replicates are shifted to have the full-set difference as
    their mean: the interval keeps the bootstrap's spread around the estimate the tables
    report."""
    k = len(stats_a)
    if k == 0 or k != len(stats_b):
        raise ValueError("bootstrap needs the same, non-zero number of seeds for both methods")
    names = _names(stats_a[0], metric)
    for sa, sb in zip(stats_a, stats_b):
        if _names(sa, metric) != names or _names(sb, metric) != names:
            raise ValueError(f"{metric}: the runs scored different val images; they cannot be "
                             "paired")
    n = len(names)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
    seed_draw = rng.integers(0, k, size=(n_boot, k))
    ones = np.ones((1, n))
    full = np.empty(k)
    per_seed = np.empty((n_boot, k))
    for s in range(k):
        full[s] = (resample.score(metric, stats_a[s], ones)
                   - resample.score(metric, stats_b[s], ones))[0]
        per_seed[:, s] = (resample.score(metric, stats_a[s], weights)
                          - resample.score(metric, stats_b[s], weights))
    reps = np.take_along_axis(per_seed, seed_draw, axis=1).mean(axis=1)
    estimate = float(full.mean())
    return estimate, reps - reps.mean() + estimate


def _names(stats: dict, metric: str) -> list[str]:
    key = "seg_names" if metric in ("per_pixel_acc", "per_class_acc", "class_iou") else "feature_names"
    return [str(x) for x in stats[key]]


def _n_images(stats: dict, metric: str) -> int:
    return len(_names(stats, metric))


def verdict(ci_low: float, ci_high: float, higher: bool) -> str:
    """``reproduced`` / ``contradicted`` / ``inconclusive`` for an interval of
    ``better - worse`` and the metric's direction."""
    if math.isnan(ci_low) or math.isnan(ci_high):
        return "not run"
    lo, hi = (ci_low, ci_high) if higher else (-ci_high, -ci_low)
    if lo > 0:
        return "reproduced"
    if hi < 0:
        return "contradicted"
    return "inconclusive"


def claim_verdict(verdicts: Sequence[str]) -> str:
    if verdicts and all(v == "not run" for v in verdicts):
        return "not run"
    if any(v == "contradicted" for v in verdicts):
        return "contradicted"
    if verdicts and all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "inconclusive"


# --- evaluation ---------------------------------------------------------------------------
def evaluate(claims: Sequence[Claim], rows: pd.DataFrame, stats: Iterable[dict[str, Any]],
             cfg: ClaimsConfig) -> pd.DataFrame:
    """``claims.csv``: one row per comparison and metric, then one summary row per claim."""
    values, by_run = index_inputs(rows, stats)
    alpha = (1.0 - cfg.confidence) / 2
    recs = []
    for claim in claims:
        comp_recs = []
        for c in claim.comparisons:
            higher = higher_is_better(c.metric)
            seeds_a = {s for (t, d, m, s) in by_run if (t, d, m) == (c.task, c.direction, c.better)}
            seeds_b = {s for (t, d, m, s) in by_run if (t, d, m) == (c.task, c.direction, c.worse)}
            seeds = sorted(s for s in seeds_a & seeds_b
                           if (c.task, c.direction, c.better, s, c.metric) in values
                           and (c.task, c.direction, c.worse, s, c.metric) in values)
            rec = dict(profile=cfg.profile, level="comparison", claim=claim.id,
                       origin=claim.origin, source=claim.source, comparison=c.label, task=c.task,
                       direction=c.direction, metric=c.metric, higher_is_better=higher,
                       better=c.better, worse=c.worse, better_mean=math.nan,
                       worse_mean=math.nan, difference=math.nan, ci_low=math.nan,
                       ci_high=math.nan, confidence=cfg.confidence, n_seeds=len(seeds),
                       seeds=";".join(map(str, seeds)), n_images=0, n_bootstrap=cfg.bootstrap,
                       verdict="not run", note="")
            if not seeds:
                have = [m for m, ss in ((c.better, seeds_a), (c.worse, seeds_b)) if not ss]
                rec["note"] = ("no scored runs of " + ", ".join(have) if have else
                               "the two methods share no scored seed")
            else:
                a = [values[(c.task, c.direction, c.better, s, c.metric)] for s in seeds]
                b = [values[(c.task, c.direction, c.worse, s, c.metric)] for s in seeds]
                estimate, reps = bootstrap_difference(
                    [by_run[(c.task, c.direction, c.better, s)] for s in seeds],
                    [by_run[(c.task, c.direction, c.worse, s)] for s in seeds],
                    c.metric, cfg.bootstrap, _rng(cfg, c))
                lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
                rec.update(better_mean=float(np.mean(a)), worse_mean=float(np.mean(b)),
                           difference=estimate, ci_low=float(lo),
                           ci_high=float(hi),
                           n_images=_n_images(by_run[(c.task, c.direction, c.better, seeds[0])],
                                              c.metric),
                           verdict=verdict(float(lo), float(hi), higher))
                if len(seeds) == 1:
                    rec["note"] = ("one seed: the interval covers the sampling of val images "
                                   "only, not training noise")
            comp_recs.append(rec)
        recs += comp_recs
        verdicts = [r["verdict"] for r in comp_recs]
        counts = {v: verdicts.count(v) for v in VERDICTS if verdicts.count(v)}
        recs.append(dict(
            profile=cfg.profile, level="claim", claim=claim.id, origin=claim.origin,
            source=claim.source,
            comparison=claim.statement, task=claim.task,
            direction=";".join(dict.fromkeys(r["direction"] for r in comp_recs)),
            metric=";".join(dict.fromkeys(r["metric"] for r in comp_recs)),
            higher_is_better="", better=";".join(dict.fromkeys(r["better"] for r in comp_recs)),
            worse=";".join(dict.fromkeys(r["worse"] for r in comp_recs)), better_mean=math.nan,
            worse_mean=math.nan, difference=math.nan, ci_low=math.nan, ci_high=math.nan,
            confidence=cfg.confidence, n_seeds=max((r["n_seeds"] for r in comp_recs), default=0),
            seeds="", n_images=max((r["n_images"] for r in comp_recs), default=0),
            n_bootstrap=cfg.bootstrap, verdict=claim_verdict(verdicts),
            note=", ".join(f"{n} {v}" for v, n in counts.items()) + f" of {len(verdicts)} "
                 "comparisons"))
    return pd.DataFrame(recs, columns=COLUMNS)


def _count(claims: pd.DataFrame, noun: str) -> str:
    v = claims["verdict"].value_counts().to_dict()
    text = (f"{v.get('reproduced', 0)} of {len(claims)} {noun} reproduced, "
            f"{v.get('contradicted', 0)} contradicted")
    rest = [f"{v[k]} {k}" for k in ("inconclusive", "not run") if v.get(k)]
    return text + (f" ({', '.join(rest)})" if rest else "")


def summary(table: pd.DataFrame) -> str:
    """"N of M claims reproduced, K contradicted (I inconclusive, U not run)" over the 2017
    paper's claims; extra claims (later papers' findings about extra rows) are counted after
    it, separately, so that they never change the paper's count."""
    claims = table[table["level"] == "claim"]
    text = _count(claims[claims["origin"] != "extra"], "claims")
    extra = claims[claims["origin"] == "extra"]
    return text + (f"; {_count(extra, 'extra claims')}" if len(extra) else "")


def comparison_label(row) -> str:
    """``CycleGAN (ours) > CoGAN (per_pixel_acc, label2photo)`` for figures and renderings."""
    return (f"{row['claim']}: {display_name(row['better'])} > {display_name(row['worse'])} "
            f"({row['metric']}, {row['direction']})")
