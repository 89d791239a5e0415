"""Choosing a subset of a dataset split: ``n`` items spread evenly over the sorted list.

The profiles may train and evaluate on part of a split (``n_train``/``n_val``; 0 = all of it);
spreading the choice over the sorted frames keeps every city (Cityscapes) or region (maps) in
the subset rather than the first few.  Asking for more than exist uses all of them; the real
sources (:func:`check_count`) warn and record both numbers in ``meta.json``.
"""

from __future__ import annotations

import sys

import numpy as np


def subset(items: list, n: int) -> list:
    """``n`` items spread evenly over the sorted list (all of them when n is 0 or too big)."""
    if n <= 0 or n >= len(items):
        return list(items)
    idx = np.unique(np.linspace(0, len(items) - 1, n).round().astype(int))
    return [items[i] for i in idx]


def check_count(what: str, requested: int, available: int, where: object) -> int:
    """The count that :func:`subset` will use; prints one warning line to stderr when more
    than ``available`` items were asked for (the request is clamped, never silently)."""
    used = available if requested <= 0 or requested >= available else int(requested)
    if requested > available:
        print(f"warning: {what}: {requested} requested but only {available} exist in {where}; "
              f"using {used} (meta.json records both)", file=sys.stderr, flush=True)
    return used
