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
  exact and needs only ``n x n`` Gram matrices and an SVD however wide the features are;
- KID: the MMD^2 of torch-fidelity's polynomial kernel ``(x.y / d + 1)^3`` over the pairs of
  distinct images of the resample, i.e. torch-fidelity's unbiased KID when ``w`` is all ones
  and its subset size is the set size.

Drawing with replacement leaves about 63 % distinct images, which biases FID upwards; the
claims centre their intervals on the full-set difference (:mod:`cyclebench.eval.claims`).
"""

from __future__ import annotations

import numpy as np

from cyclebench.eval.seg_metrics import EPS

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


def _chunk(n: int) -> int:
    """Replicates per block so that the ``block x n x n`` temporaries stay near 200 MB."""
    return max(1, min(256, int(2e8 // (8 * n * n))))


def fid(gen: np.ndarray, real: np.ndarray, W: np.ndarray) -> np.ndarray:
    """FID between the generated and the real features of each resample.

    Everything goes through the ``n x n`` Gram matrices of the features (exact, and memory
    ``n^2`` per replicate however wide the features are): with ``mu = X^T w / n``,
    ``(X1 - 1 mu1^T)(X2 - 1 mu2^T)^T = G12 - G12 w 1^T / n - 1 w^T G12 / n + (w^T G12 w / n^2) 11^T``.
    """
    gen, real = np.asarray(gen, np.float64), np.asarray(real, np.float64)
    if gen.shape != real.shape:
        raise ValueError(f"generated features {gen.shape} and real features {real.shape} differ "
                         "(FID resampling pairs every val input with its real target)")
    n = gen.shape[0]
    W = _check(W, n)
    g11, g22, g12 = gen @ gen.T, real @ real.T, gen @ real.T
    out = np.empty(len(W))
    step = _chunk(n)
    for lo in range(0, len(W), step):
        w = W[lo: lo + step]
        q11 = np.einsum("ri,ij,rj->r", w, g11, w) / n ** 2  # |mu1|^2
        q22 = np.einsum("ri,ij,rj->r", w, g22, w) / n ** 2
        q12 = np.einsum("ri,ij,rj->r", w, g12, w) / n ** 2  # mu1 . mu2
        tr1 = (w @ np.diag(g11) - n * q11) / (n - 1)  # sum_i w_i |x_i - mu1|^2 / (n - 1)
        tr2 = (w @ np.diag(g22) - n * q22) / (n - 1)
        a = (w @ g12.T) / n  # (G12 w / n) per replicate: x1_i . mu2
        b = (w @ g12) / n  # (w^T G12 / n): mu1 . x2_j
        centred = g12[None] - a[:, :, None] - b[:, None, :] + q12[:, None, None]
        sw = np.sqrt(w)
        m = sw[:, :, None] * centred * sw[:, None, :]
        nuclear = np.linalg.svd(m, compute_uv=False).sum(axis=1)
        out[lo: lo + step] = q11 + q22 - 2 * q12 + tr1 + tr2 - 2 * nuclear / (n - 1)
    return np.maximum(out, 0.0)


def kid(gen: np.ndarray, real: np.ndarray, W: np.ndarray) -> np.ndarray:
    """KID (MMD^2, polynomial kernel of degree 3) of each resample, over pairs of *distinct*
    images: a resample that draws an image twice does not pair it with itself, so duplicates
    do not inflate the within-set terms (with all-ones weights this is torch-fidelity's
    unbiased estimate on the whole set)."""
    gen, real = np.asarray(gen, np.float64), np.asarray(real, np.float64)
    n, d = gen.shape
    W = _check(W, n)

    def kernel(a, b):
        return (a @ b.T / d + 1.0) ** 3

    w2 = (W ** 2).sum(axis=1)

    def within(k):
        return (np.einsum("ri,ij,rj->r", W, k, W) - (W ** 2) @ np.diag(k)) / (n * n - w2)

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
