"""Every score recomputed from per-image statistics under resampled val sets, vectorised.

A resample of ``n`` val images drawn with replacement is a row of multiplicities ``w``
(non-negative integers summing to ``n``); ``W`` stacks ``R`` of them (``R x n``).  The
functions below give the score of each row, exactly the score the full pipeline computes when
``w`` is all ones:

- segmentation scores (CycleGAN Section 5.1.1, official definitions of
  :mod:`cyclebench.eval.seg_metrics`) from per-image confusion counts: the counts of a resample
  are ``W @ counts``;
- FID from per-image features of the generated and the real images (both resampled with the
  same ``w``: a val input and its real target are drawn together), using
  ``tr sqrt(S1 S2) = ||A1 A2^T||_* / (n - 1)`` with ``A = diag(sqrt(w)) (X - mean)``, which is
  exact and needs only an ``n x n`` SVD however wide the features are;
- KID: the unbiased MMD^2 of torch-fidelity's polynomial kernel ``(x.y / d + 1)^3`` over the
  resampled multiset (a duplicated image is two samples), i.e. torch-fidelity's KID when its
  subset size equals the set size.
"""

from __future__ import annotations

import numpy as np

from cyclebench.eval.seg_metrics import EPS

_CHUNK = 256  # replicates per block (bounds the R x n x d temporaries)


def _check(W: np.ndarray, n: int) -> np.ndarray:
    W = np.atleast_2d(np.asarray(W, dtype=np.float64))
    if W.shape[1] != n:
        raise ValueError(f"resample weights have {W.shape[1]} columns, the statistics {n} images")
    return W


def seg_scores(counts: np.ndarray, W: np.ndarray) -> dict[str, np.ndarray]:
    """``per_pixel_acc``, ``per_class_acc``, ``class_iou`` (official: absent classes count 0)
    of each resample; ``counts`` is ``(n_images, n_classes, n_classes + 1)``."""
    counts = np.asarray(counts, dtype=np.float64)
    n, c = counts.shape[0], counts.shape[1]
    W = _check(W, n)
    total = (W @ counts.reshape(n, -1)).reshape(-1, c, c + 1)
    hist = total[:, :, :c]
    diag = np.diagonal(hist, axis1=1, axis2=2)
    row = total.sum(axis=2)
    col = hist.sum(axis=1)
    pixels = total.sum(axis=(1, 2))
    return {
        "per_pixel_acc": diag.sum(axis=1) / pixels,
        "per_class_acc": (diag / (row + EPS)).mean(axis=1),
        "class_iou": (diag / (row + col - diag + EPS)).mean(axis=1),
    }


def fid(gen: np.ndarray, real: np.ndarray, W: np.ndarray) -> np.ndarray:
    """FID between the generated and the real features of each resample."""
    gen, real = np.asarray(gen, np.float64), np.asarray(real, np.float64)
    if gen.shape != real.shape:
        raise ValueError(f"generated features {gen.shape} and real features {real.shape} differ "
                         "(FID resampling pairs every val input with its real target)")
    n = gen.shape[0]
    W = _check(W, n)
    out = np.empty(len(W))
    for lo in range(0, len(W), _CHUNK):
        w = W[lo: lo + _CHUNK]
        mu1, mu2 = (w @ gen) / n, (w @ real) / n
        sw = np.sqrt(w)[:, :, None]
        a1 = sw * (gen[None] - mu1[:, None])
        a2 = sw * (real[None] - mu2[:, None])
        tr1 = (a1 ** 2).sum(axis=(1, 2)) / (n - 1)
        tr2 = (a2 ** 2).sum(axis=(1, 2)) / (n - 1)
        nuclear = np.linalg.svd(a1 @ a2.transpose(0, 2, 1), compute_uv=False).sum(axis=1)
        out[lo: lo + _CHUNK] = ((mu1 - mu2) ** 2).sum(axis=1) + tr1 + tr2 - 2 * nuclear / (n - 1)
    return np.maximum(out, 0.0)


def kid(gen: np.ndarray, real: np.ndarray, W: np.ndarray) -> np.ndarray:
    """KID (unbiased MMD^2, polynomial kernel of degree 3) of each resample."""
    gen, real = np.asarray(gen, np.float64), np.asarray(real, np.float64)
    n, d = gen.shape
    W = _check(W, n)

    def kernel(a, b):
        return (a @ b.T / d + 1.0) ** 3

    def within(k):
        return (np.einsum("ri,ij,rj->r", W, k, W) - W @ np.diag(k)) / (n * (n - 1))

    kxx, kyy, kxy = kernel(gen, gen), kernel(real, real), kernel(gen, real)
    return within(kxx) + within(kyy) - 2 * np.einsum("ri,ij,rj->r", W, kxy, W) / n ** 2


def score(metric: str, stats: dict[str, np.ndarray], W: np.ndarray) -> np.ndarray:
    """``metric`` of each resample from a score's per-image statistics (``read_stats``)."""
    if metric in ("per_pixel_acc", "per_class_acc", "class_iou"):
        if "seg_counts" not in stats:
            raise KeyError(f"metric {metric!r} needs per-image confusion counts (seg_counts)")
        return seg_scores(stats["seg_counts"], W)[metric]
    if metric in ("fid", "kid_mean"):
        if "gen_features" not in stats:
            raise KeyError(f"metric {metric!r} needs per-image features (gen_features)")
        f = fid if metric == "fid" else kid
        return f(stats["gen_features"], stats["real_features"], W)
    raise KeyError(f"metric {metric!r} cannot be resampled (resampled metrics: per_pixel_acc, "
                   "per_class_acc, class_iou, fid, kid_mean)")


RESAMPLED = ("per_pixel_acc", "per_class_acc", "class_iou", "fid", "kid_mean")
