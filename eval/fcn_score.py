"""FCN-score of labels -> photo (CycleGAN Section 5.1.1, Table 2; pix2pix Section 4.2).

"If the generated photos are realistic, an FCN trained on real photos should classify them
correctly": every generated photo (``<translations>/NAME.png``, translated from
``val/label/NAME.png``) is segmented by the fixed evaluator (:mod:`eval.segmenter`) and the
prediction is compared with the **input** labels (``val/trainid/NAME.png``), accumulating one
confusion matrix over the val set (:mod:`eval.seg_metrics`).

Resolution.  By default the scores are computed at the profile's evaluation size (the labels in
``val/trainid``).  With ``eval.upsample_to_full`` they are computed against the full-resolution
labels ``val/trainid_full`` as the official ``scripts/eval_cityscapes`` does.  The official
script upsamples the 256x256 *image* bilinearly to 1024x2048 and segments it there; on a CPU
that multiplies the evaluator's cost by the area ratio (32x for 256 -> 1024x2048), and an
evaluator trained at ``input_size`` sees objects at a scale it never saw in training.  The
default ``eval.full_res_mode: logits`` therefore segments at ``input_size`` and upsamples the
class scores bilinearly to full resolution before the argmax (same label resolution, same
bilinear interpolation, a fraction of the cost); ``full_res_mode: image`` reproduces the
official image upsampling for GPU profiles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from cyclebench.datasets.meta import read_meta
from cyclebench.tasks import TRAINID_DIR, TRAINID_FULL_DIR
from cyclebench.utils import load_label, load_rgb
from cyclebench.eval.seg_metrics import ConfusionMatrix, SegScores


def label_shape(root: Path, upsample_to_full: bool) -> tuple[int, int]:
    """The shape every ground-truth label map must have: ``size x size`` (``val/trainid``) or
    the recorded ``full_size`` (``val/trainid_full``), from the prepared data's meta.json."""
    meta = read_meta(root)
    if upsample_to_full:
        if not meta.get("full_size"):
            raise ValueError(f"{Path(root) / 'meta.json'} records no full_size: the full-"
                             "resolution protocol (eval.upsample_to_full) cannot be scored")
        return int(meta["full_size"][0]), int(meta["full_size"][1])
    return int(meta["size"]), int(meta["size"])


def load_gt(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A ground-truth label map, refused when its size is not the prepared data's (scoring it
    anyway would silently change the metric)."""
    gt = load_label(path)
    if gt.shape != tuple(shape):
        raise ValueError(f"{path}: label map is {gt.shape[1]}x{gt.shape[0]} (WxH), but the "
                         f"prepared data (meta.json) says {shape[1]}x{shape[0]}; prepare the "
                         "data again (cyclebench data)")
    return gt


def label_dir(root: Path, upsample_to_full: bool) -> Path:
    """``val/trainid`` or, for the official full-resolution protocol, ``val/trainid_full``."""
    d = Path(root) / "val" / (TRAINID_FULL_DIR if upsample_to_full else TRAINID_DIR)
    if not d.is_dir():
        hint = (" (eval.upsample_to_full needs the task's full_size; set it or turn "
                "upsample_to_full off)" if upsample_to_full else "")
        raise FileNotFoundError(f"ground-truth labels {d} not found{hint}")
    return d


def check_names(generated_dir: Path, reference_dir: Path) -> list[str]:
    """Sorted names of ``generated_dir``; they must be exactly the names of ``reference_dir``."""
    generated_dir, reference_dir = Path(generated_dir), Path(reference_dir)
    if not generated_dir.is_dir():
        raise FileNotFoundError(f"translations folder {generated_dir} not found")
    gen = {p.name for p in generated_dir.glob("*.png")}
    ref = {p.name for p in reference_dir.glob("*.png")}
    if not gen:
        raise FileNotFoundError(f"no PNG images in {generated_dir}")
    missing, extra = sorted(ref - gen), sorted(gen - ref)
    if missing or extra:
        raise ValueError(f"{generated_dir} does not match {reference_dir}: {len(missing)} missing "
                         f"(e.g. {missing[:3]}), {len(extra)} unexpected (e.g. {extra[:3]})")
    return sorted(gen)


def _batches(names: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(names), size):
        yield names[i: i + size]


def score_images(evaluator, names: list[str], load: Callable[[str], np.ndarray], root: Path, *,
                 upsample_to_full: bool = False, full_res_mode: str = "logits",
                 batch_size: int = 16, confusion: ConfusionMatrix | None = None
                 ) -> tuple[SegScores, int]:
    """Segment ``load(name)`` (HxWx3 uint8) for every name and score against the val labels
    (accumulated in ``confusion`` when given, which then also holds the per-image counts)."""
    gt_dir = label_dir(root, upsample_to_full)
    shape = label_shape(root, upsample_to_full)
    cm = ConfusionMatrix() if confusion is None else confusion
    s = evaluator.input_size
    for chunk in _batches(names, batch_size):
        xs = []
        for name in chunk:
            x = evaluator.to_input([load(name)])
            if tuple(x.shape[-2:]) != (s, s):  # mixed sizes: bring each to the evaluator's size
                x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False)
            xs.append(x)
        gts = [load_gt(gt_dir / name, shape) for name in chunk]
        shapes = {g.shape for g in gts}
        x = torch.cat(xs)
        if len(shapes) == 1:
            preds = evaluator.logits(x, next(iter(shapes)), full_res_mode).argmax(1).cpu().numpy()
        else:
            preds = [evaluator.logits(x[i: i + 1], g.shape, full_res_mode).argmax(1)[0].cpu().numpy()
                     for i, g in enumerate(gts)]
        for gt, pred in zip(gts, preds):
            cm.update(gt, pred)
    return cm.scores(), cm.n_images


def score_photo_dir(evaluator, photo_dir: Path, root: Path, **kwargs) -> tuple[SegScores, int]:
    """FCN-score of the photos in ``photo_dir`` (names = ``val/label`` names) vs the val labels."""
    photo_dir = Path(photo_dir)
    names = check_names(photo_dir, Path(root) / "val" / TRAINID_DIR)
    return score_images(evaluator, names, lambda n: load_rgb(photo_dir / n), root, **kwargs)

