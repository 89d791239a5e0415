"""The metric registry: every metric the benchmark reports and the scorers that compute them.

Scoring (:mod:`eval.score`), the tables (:mod:`eval.table_specs`, :mod:`eval.table_build`,
:mod:`eval.table_render`), the figures (:mod:`eval.plots`), the agreement table and the
regression check read this module; no other module keeps a list of metric names.

Metrics (:data:`METRICS`, in the order the tables show them)::

    name                   family         better  format  table column  figure/wide layout
    per_pixel_acc          segmentation   higher  0.000   yes           yes
    per_class_acc          segmentation   higher  0.000   yes           yes
    class_iou              segmentation   higher  0.000   yes           yes
    per_class_acc_present  segmentation   higher  0.000   no            no
    class_iou_present      segmentation   higher  0.000   no            no
    iou/<class name>       segmentation   higher  0.000   no            no
    fid                    distribution   lower   0.00    yes           yes
    kid_mean               distribution   lower   0.0000  yes           yes
    kid_std                distribution   lower   0.0000  yes           no
    amt_real_pct           paper          higher  0.0%    (paper only, Table 1)

Scorers (:data:`SCORERS`, in the order their rows are written), each computing the metrics of
one *family* where it applies (CycleGAN Section 5.1.1)::

    scorer           family         task        direction     evaluator column
    fcn_score        segmentation   cityscapes  label2photo   <arch>@<id> (the FCN evaluator)
    nearest_palette  segmentation   cityscapes  photo2label   nearest-palette
    fid_kid          distribution   every task  every direction  inception-v3-compat |
                                                                 evaluator-features@<id>

A scorer's ``compute(ctx)`` returns ``(metrics, n_images, evaluator_label, per_image)`` for one
run's translations in one direction, where ``per_image`` holds the per-image statistics every
score can be resampled from (segmentation: ``seg_counts``, each image's confusion counts, and
``seg_names``; FID/KID: ``gen_features``, ``real_features`` and ``feature_names``); :class:`ScoreContext` holds the inputs (all paths are given by
the caller: the Snakemake rule names them).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

FAMILIES = {
    "segmentation": "Cityscapes segmentation scores (FCN-score, photo -> labels scores)",
    "distribution": "distribution distances between generated and real target images",
    "paper": "a number only the paper reports (not reproducible by an automatic metric)",
}


@dataclass(frozen=True)
class MetricSpec:
    name: str  # the tidy rows' ``metric`` value; a trailing ``*`` makes it an fnmatch pattern
    display_name: str  # column label of the tables and panel title of the figures
    higher_is_better: bool
    decimals: int  # number format of the renderings
    family: str  # a key of FAMILIES
    suffix: str = ""  # appended to a formatted value (``%``)
    column: bool = False  # a column of the tables (tidy CSV)
    shown: bool = True  # also shown in the paper-like wide layout and the figures

    def format(self, value: float | None) -> str:
        """``value`` in the metric's format; ``n/a`` for a missing value."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        return f"{value:.{self.decimals}f}{self.suffix}"

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.name) if "*" in self.name else name == self.name


def _m(name, display, higher, decimals, family, **kw) -> MetricSpec:
    return MetricSpec(name, display, higher, decimals, family, **kw)


METRICS: dict[str, MetricSpec] = {m.name: m for m in [
    _m("per_pixel_acc", "Per-pixel acc.", True, 3, "segmentation", column=True),
    _m("per_class_acc", "Per-class acc.", True, 3, "segmentation", column=True),
    _m("class_iou", "Class IOU", True, 3, "segmentation", column=True),
    _m("per_class_acc_present", "Per-class acc. (present classes)", True, 3, "segmentation",
       shown=False),
    _m("class_iou_present", "Class IOU (present classes)", True, 3, "segmentation",
       shown=False),
    _m("iou/*", "IOU of one class", True, 3, "segmentation", shown=False),
    _m("fid", "FID", False, 2, "distribution", column=True),
    _m("kid_mean", "KID", False, 4, "distribution", column=True),
    _m("kid_std", "KID std (subsets)", False, 4, "distribution", column=True, shown=False),
    _m("amt_real_pct", "AMT % labelled real (paper)", True, 1, "paper", suffix="%",
       shown=True),
]}

_FALLBACK_DECIMALS = 3


def get_metric(name: str) -> MetricSpec:
    """The spec of ``name`` (exact names first, then patterns such as ``iou/*``)."""
    if name in METRICS:
        return METRICS[name]
    for spec in METRICS.values():
        if spec.matches(name):
            return spec
    raise KeyError(f"unknown metric {name!r}; registered metrics: {sorted(METRICS)}")


def is_registered(name: str) -> bool:
    try:
        get_metric(name)
    except KeyError:
        return False
    return True


def higher_is_better(name: str) -> bool:
    return get_metric(name).higher_is_better


def display_name(name: str) -> str:
    return get_metric(name).display_name if is_registered(name) else name


def format_value(name: str, value: float | None) -> str:
    """``value`` formatted as ``name``'s number format (3 decimals for an unknown name)."""
    if is_registered(name):
        return get_metric(name).format(value)
    return MetricSpec(name, name, True, _FALLBACK_DECIMALS, "paper").format(value)


def family_metrics(family: str, *, columns_only: bool = False) -> tuple[str, ...]:
    """Exact metric names of ``family`` in registry order (patterns excluded)."""
    if family not in FAMILIES:
        raise KeyError(f"unknown metric family {family!r}; families: {sorted(FAMILIES)}")
    return tuple(m.name for m in METRICS.values() if m.family == family and "*" not in m.name
                 and (m.column or not columns_only))


def in_family(name: str, family: str) -> bool:
    return is_registered(name) and get_metric(name).family == family


def hidden_metrics() -> frozenset[str]:
    """Metrics of the tidy tables that the wide layout and the figures leave out."""
    return frozenset(m.name for m in METRICS.values() if not m.shown)


# --- scorers ----------------------------------------------------------------------------------
@dataclass
class ScoreContext:
    """What a scorer needs for one run's translations in one direction (paths from the rule)."""

    task: Any  # cyclebench.tasks.Task
    direction: str  # the task's direction name (label2photo, ...)
    translations: Path
    data_root: Path
    eval_config: Any  # cyclebench.config.EvalConfig
    device: Any  # torch.device
    evaluator_dir: Path | None = None
    fid_cache: Path | None = None  # real-feature cache folder (None: no cache)
    keep_stats: bool = False  # also return per-image statistics (score --stats)
    _evaluator: Any = field(default=None, repr=False)

    @property
    def xy(self) -> str:
        return self.task.resolve_direction(self.direction)

    def evaluator(self, why: str):
        """The FCN evaluator, loaded once (reused for the evaluator-features FID)."""
        if self._evaluator is None:
            if self.evaluator_dir is None:
                raise ValueError(f"{why} need --evaluator EVAL_DIR (cyclebench evaluator)")
            from cyclebench.eval.segmenter.checkpoint import Evaluator

            self._evaluator = Evaluator.load(self.evaluator_dir, self.device)
        return self._evaluator

    @property
    def loaded_evaluator(self):
        return self._evaluator


# (metric -> value, n_images, evaluator label, per-image statistics: name -> array)
ScoreResult = tuple[dict[str, float], int, str, dict[str, Any]]


@dataclass(frozen=True)
class Scorer:
    name: str
    family: str  # the family of every metric it writes
    description: str
    compute: Callable[[ScoreContext], ScoreResult]
    tasks: tuple[str, ...] | None = None  # None: every task
    directions: tuple[str, ...] | None = None  # None: every direction of those tasks
    needs_evaluator: bool = False  # always needs the FCN evaluator

    def applies(self, task: str, direction: str) -> bool:
        return ((self.tasks is None or task in self.tasks)
                and (self.directions is None or direction in self.directions))


def _seg_stats(ctx: ScoreContext, cm) -> dict[str, Any]:
    from cyclebench.eval.fcn_score import check_names
    from cyclebench.tasks import TRAINID_DIR

    names = check_names(ctx.translations, Path(ctx.data_root) / "val" / TRAINID_DIR)
    return {"seg_counts": cm.image_counts(), "seg_names": names}


def _fcn_score(ctx: ScoreContext) -> ScoreResult:
    from cyclebench.eval.fcn_score import score_photo_dir
    from cyclebench.eval.seg_metrics import ConfusionMatrix

    ev = ctx.evaluator(f"{ctx.direction} FCN-scores")
    ecfg = ctx.eval_config
    cm = ConfusionMatrix()
    scores, n = score_photo_dir(ev, ctx.translations, ctx.data_root,
                                upsample_to_full=ecfg.upsample_to_full,
                                full_res_mode=ecfg.full_res_mode, batch_size=ecfg.batch_size,
                                confusion=cm)
    return scores.as_dict(), n, ev.label, _seg_stats(ctx, cm)


def _nearest_palette(ctx: ScoreContext) -> ScoreResult:
    from cyclebench.eval.photo2label import EVALUATOR_NAME, score_label_dir
    from cyclebench.eval.seg_metrics import ConfusionMatrix

    cm = ConfusionMatrix()
    scores, n = score_label_dir(ctx.translations, ctx.data_root,
                                upsample_to_full=ctx.eval_config.upsample_to_full, confusion=cm)
    return scores.as_dict(), n, EVALUATOR_NAME, _seg_stats(ctx, cm)


def _fid_kid(ctx: ScoreContext) -> ScoreResult:
    from cyclebench.datasets.meta import read_meta
    from cyclebench.eval import fid as fid_mod

    ecfg = ctx.eval_config
    extractor = fid_mod.resolve_extractor(ecfg.fid_extractor, evaluator_path=ctx.evaluator_dir,
                                          inception_weights=ecfg.inception_weights,
                                          evaluator=ctx.loaded_evaluator)
    real_dir = Path(ctx.data_root) / "val" / ctx.task.target_domain(ctx.xy)
    metrics, n = fid_mod.fid_kid_dirs(
        ctx.translations, real_dir, extractor=extractor,
        cache_dir=ctx.fid_cache if ecfg.fid_cache else None,
        kid_subset_size=ecfg.kid_subset_size, kid_subsets=ecfg.kid_subsets,
        batch_size=ecfg.batch_size, device=str(ctx.device),
        real_size=read_meta(ctx.data_root)["size"])
    stats = {}
    if ctx.keep_stats:  # per-image features only when asked for (they cost a second pass)
        names, gen, real = fid_mod.features_dirs(ctx.translations, real_dir, extractor=extractor,
                                                 batch_size=ecfg.batch_size,
                                                 device=str(ctx.device))
        stats = {"gen_features": gen, "real_features": real, "feature_names": names}
    return ({k: metrics[k] for k in family_metrics("distribution")}, n, extractor["label"],
            stats)


SCORERS: dict[str, Scorer] = {s.name: s for s in [
    Scorer("fcn_score", "segmentation",
           "FCN-score (Table 2): the evaluator segments the generated photos, scored against the "
           "input labels", _fcn_score, tasks=("cityscapes",), directions=("label2photo",),
           needs_evaluator=True),
    Scorer("nearest_palette", "segmentation",
           "photo -> labels scores (Table 3): generated colour maps mapped to the nearest "
           "train-id colour, scored against the ground truth", _nearest_palette,
           tasks=("cityscapes",), directions=("photo2label",)),
    Scorer("fid_kid", "distribution",
           "FID and KID against the real val images of the target domain", _fid_kid),
]}


def scorers_for(task: str, direction: str) -> list[Scorer]:
    """The scorers that apply to ``(task, direction)``, in the order their rows are written."""
    return [s for s in SCORERS.values() if s.applies(task, direction)]


def metrics_for(task: str, direction: str) -> tuple[str, ...]:
    """Exact registered metric names a score of ``(task, direction)`` writes (``iou/<class>``
    rows come on top of the segmentation ones)."""
    return tuple(m for s in scorers_for(task, direction) for m in family_metrics(s.family))


def needs_evaluator(task: str, direction: str, fid_extractor: str) -> bool:
    """Whether a score of ``(task, direction)`` needs the FCN evaluator."""
    return (any(s.needs_evaluator for s in scorers_for(task, direction))
            or fid_extractor == "evaluator-features")
