"""What each of the paper's Tables 1-5 shows (CycleGAN, Zhu et al. 2017, Section 5.1).

A :class:`TableSpec` names the task and directions, the metric columns (from the metric
registry, :mod:`eval.metrics`) and the method *groups* whose methods are its rows (from the
method registry, ``cyclebench.registry``: ``MethodSpec.group``):

- Tables 1-3 (Section 5.1.2): groups ``baseline``, ``proposed``, ``extra``, ``paired``, in that
  order (CoGAN, BiGAN/ALI, SimGAN, Feature loss + GAN, CycleGAN, [extra methods], pix2pix);
  Table 2 adds the evaluator's "Ground truth" row.
- Tables 4-5 (Section 5.1.4): groups ``ablation`` then ``proposed``.
- Every table ends with the ``calibration`` group (e.g. the colour lookup: what a translation
  without learning scores), when the profile runs it.

Within a group, methods come in registration order.  A method of one of the paper's groups is
always a row (NaN and a note when it has no metric rows); a method of the ``extra`` or
``calibration`` group (not in the 2017 paper) is a row of a table when it has metric rows for
the table's task and directions, and never has a paper value.
"""

from __future__ import annotations

from dataclasses import dataclass

from cyclebench import registry
from cyclebench.eval.metrics import family_metrics

EXTRA_GROUP = "extra"  # methods that are not in the 2017 paper
CALIBRATION_GROUP = "calibration"  # trivial translations that calibrate the scores
# Groups whose methods are rows only when they have metric rows, and never have a paper value.
OPTIONAL_GROUPS = (EXTRA_GROUP, CALIBRATION_GROUP)
# Rows that are not methods: the evaluator's score on real photos (Table 2).
REFERENCE_ROWS = {"ground_truth": "Ground truth"}
# Order of methods in figures that are not one table (losses, grids): Tables 1-3, then ablations.
FIGURE_GROUPS = ("baseline", "proposed", EXTRA_GROUP, "paired", "ablation", CALIBRATION_GROUP)

SEG = family_metrics("segmentation", columns_only=True)
DIST = family_metrics("distribution", columns_only=True)


@dataclass(frozen=True)
class TableSpec:
    name: str            # output file stem
    number: int          # the paper's table number (join key into paper_tables.csv)
    title: str
    task: str
    directions: tuple[str, ...]
    groups: tuple[str, ...]         # method groups shown, in this order
    metrics: tuple[str, ...]        # reproduced metrics shown (paper value joined if any)
    paper_only: tuple[str, ...]     # the paper's metrics we cannot reproduce (shown beside)
    # (our metric, paper metric) pairs whose method orderings are compared
    rank_pairs: tuple[tuple[str, str], ...]
    caption: str
    reference_rows: tuple[str, ...] = ()  # rows after the methods (``ground_truth``)

    @property
    def all_metrics(self) -> tuple[str, ...]:
        return self.metrics + self.paper_only


PAPER_GROUPS = ("baseline", "proposed", EXTRA_GROUP, "paired", CALIBRATION_GROUP)
ABLATION_GROUPS = ("ablation", "proposed", CALIBRATION_GROUP)

TABLES: dict[str, TableSpec] = {
    "table1": TableSpec(
        "table1", 1, "Table 1: maps <-> aerial photo, FID/KID in place of the AMT study",
        "maps", ("map2photo", "photo2map"), PAPER_GROUPS, DIST, ("amt_real_pct",),
        (("fid", "amt_real_pct"), ("kid_mean", "amt_real_pct")),
        "The paper's Table 1 is a perceptual study on Amazon Mechanical Turk (% of Turkers who "
        "labelled the generated image real, 256x256 maps). It cannot be automated: FID and KID "
        "(lower is better) are reported in its place and the paper's AMT column is kept beside "
        "them for reference only. Rank agreement compares our FID/KID ordering with the paper's "
        "AMT ordering; no absolute difference is computed between different units."),
    "table2": TableSpec(
        "table2", 2, "Table 2: FCN-scores for labels -> photo on Cityscapes",
        "cityscapes", ("label2photo",), PAPER_GROUPS, SEG + DIST,
        (), tuple((m, m) for m in SEG),
        "FCN-scores: a segmentation network (the evaluator) labels the generated photos and its "
        "prediction is scored against the input label maps (higher is better). 'Ground truth' "
        "is the evaluator's own score on the real val photos (the paper's Ground-truth row is the "
        "pix2pix FCN-8s on real photos). FID/KID (lower is better) are "
        "extra columns that the paper does not report.", reference_rows=("ground_truth",)),
    "table3": TableSpec(
        "table3", 3, "Table 3: classification performance of photo -> labels on Cityscapes",
        "cityscapes", ("photo2label",), PAPER_GROUPS, SEG + DIST, (),
        tuple((m, m) for m in SEG),
        "Generated colour label maps are mapped to the nearest train-id palette colour and "
        "scored against the ground-truth labels (higher is better). FID/KID are extra columns "
        "that the paper does not report."),
    "table4": TableSpec(
        "table4", 4, "Table 4: ablation study, FCN-scores for labels -> photo",
        "cityscapes", ("label2photo",), ABLATION_GROUPS, SEG + DIST, (),
        tuple((m, m) for m in SEG),
        "Loss ablations of CycleGAN (Section 5.1.4); X = labels, so the forward cycle starts "
        "from labels. FID/KID are extra columns that the paper does not report."),
    "table5": TableSpec(
        "table5", 5, "Table 5: ablation study, photo -> labels scores",
        "cityscapes", ("photo2label",), ABLATION_GROUPS, SEG + DIST, (),
        tuple((m, m) for m in SEG),
        "Loss ablations of CycleGAN (Section 5.1.4) scored as in Table 3. FID/KID are extra "
        "columns that the paper does not report."),
}


# --- the method registry, as the tables read it -----------------------------------------------
def method_group(method: str) -> str | None:
    """The group of a registered method; None for a reference row or an unknown name."""
    try:
        return registry.get_method(method).group
    except KeyError:
        return None


def is_extra(method: str) -> bool:
    """True for a method that is not in the 2017 paper (an extra or a calibration row)."""
    return method_group(method) in OPTIONAL_GROUPS


def display_name(method: str) -> str:
    """The row label of ``method`` in tables and figures (the name itself when unknown)."""
    if method in REFERENCE_ROWS:
        return REFERENCE_ROWS[method]
    try:
        return registry.get_method(method).display_name
    except KeyError:
        return method


def method_order(methods) -> list[str]:
    """``methods`` in figure order (:data:`FIGURE_GROUPS`, registration order within a group,
    then the reference rows, then unknown names sorted)."""
    methods = list(dict.fromkeys(methods))
    known = [m for g in FIGURE_GROUPS for m in registry.methods_in_group(g)] + list(REFERENCE_ROWS)
    ordered = [m for m in known if m in methods]
    return ordered + sorted(m for m in methods if m not in ordered)
