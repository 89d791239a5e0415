"""Cityscapes segmentation scores from one confusion matrix (CycleGAN Section 5.1.1).

The paper reports the "FCN-score" (labels -> photo) and the photo -> labels scores with the
standard Cityscapes metrics of pix2pix (Isola et al., CVPR 2017, Section 4.2), computed by the
official ``scripts/eval_cityscapes/util.py``:

- a 19x19 confusion matrix ``H`` over the train classes, **rows = ground truth**, columns =
  prediction, accumulated over the whole split; ground-truth pixels labelled 255 are ignored;
- per-pixel accuracy ``trace(H) / sum(H)``;
- per-class accuracy ``mean_c H[c,c] / (row_c + 1e-12)``;
- class IoU ``mean_c H[c,c] / (row_c + col_c - H[c,c] + 1e-12)``.

The official script adds 1e-12 to the denominators *before* ``nanmean``, so a class that never
occurs in the ground truth contributes 0 (not NaN) to both means.  That definition is the one
the tables use (``per_class_acc``, ``class_iou``), so numbers stay comparable with the paper;
the means over the classes present in the ground truth are offered as named extras
(``per_class_acc_present``, ``class_iou_present``).

Deviation from the official code, on purpose: the official ``fast_hist`` uses ``bincount`` with
``minlength`` and silently *drops the whole frame* when a prediction holds a class outside
0..18 (the reshape fails and the frame is skipped).  Here such pixels are counted as errors:
they add to ``sum(H)`` (and to the ground-truth row) through an extra "invalid prediction"
column, so they lower per-pixel accuracy, per-class accuracy and IoU of the true class.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from cyclebench.datasets.palette import CLASS_NAMES, IGNORE_ID, NUM_CLASSES

EPS = 1e-12  # the official script's denominator offset


def confusion_matrix(gt: np.ndarray, pred: np.ndarray, n_classes: int = NUM_CLASSES,
                     ignore: int = IGNORE_ID) -> np.ndarray:
    """Confusion counts of one frame: ``(n_classes, n_classes + 1)`` int64, rows = ground truth.

    Column ``n_classes`` counts pixels whose prediction is not a valid class (out of range,
    including 255): they are errors, never dropped.  Ground-truth pixels equal to ``ignore``
    are skipped; any other out-of-range ground-truth value is an error in the data and raises.
    """
    gt = np.asarray(gt)
    pred = np.asarray(pred)
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth shape {gt.shape} != prediction shape {pred.shape}")
    gt = gt.astype(np.int64).ravel()
    pred = pred.astype(np.int64).ravel()
    keep = gt != ignore
    gt, pred = gt[keep], pred[keep]
    bad_gt = (gt < 0) | (gt >= n_classes)
    if bad_gt.any():
        raise ValueError(f"ground truth holds values outside 0..{n_classes - 1} and {ignore}: "
                         f"{sorted(np.unique(gt[bad_gt]).tolist())[:10]}")
    pred = np.where((pred < 0) | (pred >= n_classes), n_classes, pred)
    counts = np.bincount(gt * (n_classes + 1) + pred, minlength=n_classes * (n_classes + 1))
    return counts.reshape(n_classes, n_classes + 1)


class ConfusionMatrix:
    """Accumulates :func:`confusion_matrix` over a whole split; ``scores()`` gives the metrics."""

    def __init__(self, n_classes: int = NUM_CLASSES, ignore: int = IGNORE_ID):
        self.n_classes = n_classes
        self.ignore = ignore
        self.counts = np.zeros((n_classes, n_classes + 1), dtype=np.int64)
        self.per_image: list[np.ndarray] = []  # each image's counts: what a bootstrap resamples

    @property
    def n_images(self) -> int:
        return len(self.per_image)

    def update(self, gt: np.ndarray, pred: np.ndarray) -> None:
        counts = confusion_matrix(gt, pred, self.n_classes, self.ignore)
        self.counts += counts
        self.per_image.append(counts)

    def image_counts(self) -> np.ndarray:
        """``(n_images, n_classes, n_classes + 1)`` per-image counts (their sum is ``counts``)."""
        if not self.per_image:
            return np.zeros((0, self.n_classes, self.n_classes + 1), dtype=np.int64)
        return np.stack(self.per_image)

    @property
    def hist(self) -> np.ndarray:
        """The square ``H`` (valid predictions only); invalid predictions are in ``counts[:, -1]``."""
        return self.counts[:, : self.n_classes]

    def scores(self) -> "SegScores":
        return scores_from_counts(self.counts)


@dataclass
class SegScores:
    per_pixel_acc: float
    per_class_acc: float  # official: absent classes count 0
    class_iou: float  # official: absent classes count 0
    per_class_acc_present: float  # mean over classes present in the ground truth
    class_iou_present: float
    class_acc: np.ndarray  # (19,) official per-class accuracy (0 for absent classes)
    iou: np.ndarray  # (19,) official per-class IoU (0 for absent classes): mean = class_iou
    present: np.ndarray  # (19,) bool, class occurs in the ground truth

    def as_dict(self, class_names: tuple[str, ...] = CLASS_NAMES) -> dict[str, float]:
        """Metric name -> value, in the tidy-row naming (``iou/<class name>`` per class).

        Per-class IoU uses the official definition, so the mean of the ``iou/*`` values is
        exactly ``class_iou``; :attr:`present` tells which classes occur in the ground truth.
        """
        # the scalar fields, in declaration order (names, tables and directions of every metric
        # are cyclebench.eval.metrics' business)
        out = {f.name: float(getattr(self, f.name)) for f in fields(self) if f.type == "float"}
        for name, value in zip(class_names, self.iou):
            out[f"iou/{name}"] = float(value)
        return out


def scores_from_counts(counts: np.ndarray) -> SegScores:
    """Scores from an ``(n, n)`` or ``(n, n + 1)`` count matrix (rows = ground truth)."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.shape[0]
    if counts.shape not in ((n, n), (n, n + 1)):
        raise ValueError(f"expected an (n, n) or (n, n + 1) matrix, got {counts.shape}")
    hist = counts[:, :n]
    total = counts.sum()
    if total == 0:
        raise ValueError("no labelled pixels were scored (every ground-truth pixel is ignored)")
    diag = np.diag(hist)
    row = counts.sum(axis=1)  # ground-truth pixels per class, invalid predictions included
    col = hist.sum(axis=0)  # predicted pixels per class
    present = row > 0
    # Official definitions (1e-12 added before nanmean: absent classes give 0, never NaN).
    acc_official = diag / (row + EPS)
    iou_official = diag / (row + col - diag + EPS)
    return SegScores(
        per_pixel_acc=float(diag.sum() / total),
        per_class_acc=float(np.nanmean(acc_official)),
        class_iou=float(np.nanmean(iou_official)),
        # present classes have row > 0, so these ratios are well defined without EPS
        per_class_acc_present=float((diag[present] / row[present]).mean()),
        class_iou_present=float((diag[present] / (row + col - diag)[present]).mean()),
        class_acc=acc_official,
        iou=iou_official,
        present=present,
    )
