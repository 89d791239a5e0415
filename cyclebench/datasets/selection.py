"""Choosing a subset of a dataset split: ``n`` items spread evenly over the sorted list.

The profiles may train and evaluate on part of a split (``n_train``/``n_val``; 0 = all of it);
spreading the choice over the sorted frames keeps every city (Cityscapes) or region (maps) in
the subset rather than the first few.
"""

from __future__ import annotations

import numpy as np


def subset(items: list, n: int) -> list:
    """``n`` items spread evenly over the sorted list (all of them when n is 0 or too big)."""
    if n <= 0 or n >= len(items):
        return list(items)
    idx = np.unique(np.linspace(0, len(items) - 1, n).round().astype(int))
    return [items[i] for i in idx]
