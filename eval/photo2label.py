"""Photo -> labels scores (CycleGAN Section 5.1.1, Table 3).

The generated output of the photo -> label direction is a *colour* label map.  There is no
official script; the authors describe the procedure: map every pixel to the nearest of the 19
train-id palette colours in RGB (:func:`datasets.palette.nearest_palette`), then compute the
standard Cityscapes scores against the ground-truth train ids (:mod:`eval.seg_metrics`).

Resolution: a generated map whose size differs from the ground truth is resized to it with
nearest neighbour *after* the palette mapping (class ids are never blended).  With
``eval.upsample_to_full`` the comparison is against ``val/trainid_full`` (the same
nearest-neighbour upsampling of the mapped ids).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cyclebench.tasks import TRAINID_DIR
from cyclebench.utils import load_rgb
from cyclebench.datasets.palette import nearest_palette
from cyclebench.eval.fcn_score import check_names, label_dir, label_shape, load_gt
from cyclebench.eval.seg_metrics import ConfusionMatrix, SegScores

EVALUATOR_NAME = "nearest-palette"  # the ``evaluator`` column of photo2label segmentation rows


def resize_ids(ids: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an HxW id map (never blends classes)."""
    if ids.shape == tuple(shape):
        return ids
    t = torch.from_numpy(ids.astype(np.float32))[None, None]
    return F.interpolate(t, size=tuple(shape), mode="nearest")[0, 0].numpy().astype(np.uint8)


def colour_map_to_trainids(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 generated colour label map -> HxW train ids (nearest of the 19 palette colours)."""
    return nearest_palette(rgb, include_void=False)


def score_label_dir(label_maps_dir: Path, root: Path, *, upsample_to_full: bool = False,
                    confusion: ConfusionMatrix | None = None) -> tuple[SegScores, int]:
    """Scores of the colour label maps in ``label_maps_dir`` against the val train ids
    (accumulated in ``confusion`` when given, which then also holds the per-image counts)."""
    label_maps_dir = Path(label_maps_dir)
    names = check_names(label_maps_dir, Path(root) / "val" / TRAINID_DIR)
    gt_dir = label_dir(root, upsample_to_full)
    shape = label_shape(root, upsample_to_full)
    cm = ConfusionMatrix() if confusion is None else confusion
    for name in names:
        gt = load_gt(gt_dir / name, shape)
        pred = resize_ids(colour_map_to_trainids(load_rgb(label_maps_dir / name)), gt.shape)
        cm.update(gt, pred)
    return cm.scores(), cm.n_images
