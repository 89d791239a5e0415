"""Data order of a training run (CycleGAN paper, Section 7.1 "Training details").

Which items a run sees, and in what order, is a pure function of ``(seed, epoch, position)``:
:class:`RunBatchSampler` draws one seeded permutation of the dataset per epoch (repeated when an
epoch holds more samples than the dataset), so a run resumed at any iteration continues with
exactly the batches an uninterrupted run would have seen; augmentation is keyed on the same
``(epoch, position)`` by ``cyclebench.datasets.torch_data``.  :func:`iterations_per_epoch`
fixes the epoch length and :func:`make_train_dataset` builds the paired or unpaired dataset
a method trains on.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
from torch.utils.data import Sampler

from cyclebench.config import TrainConfig
from cyclebench.datasets.torch_data import PairedDataset, UnpairedDataset


def make_train_dataset(cfg: TrainConfig, paired: bool, train: bool = True, split: str = "train",
                       full_view_from: int | None = None):
    cls = PairedDataset if paired else UnpairedDataset
    return cls(cfg.data_root, cfg.task, split, cfg, train=train, full_view_from=full_view_from)


class RunBatchSampler(Sampler):
    """Batches of keys ``(epoch, position, index)`` from ``(start_epoch, start_iter)`` to the end
    of training.  Each epoch is a seeded permutation of the dataset (repeated when
    ``iters_per_epoch * batch_size`` exceeds it); a pure function of (seed, epoch)."""

    def __init__(self, n_items: int, batch_size: int, iters_per_epoch: int, seed: int,
                 total_epochs: int, start_epoch: int = 0, start_iter: int = 0,
                 one_pass: bool = False):
        self.n, self.bs, self.ipe = n_items, batch_size, iters_per_epoch
        self.seed, self.total = seed, total_epochs
        self.start_epoch, self.start_iter = start_epoch, start_iter
        # one pass: every item once per epoch (the last batch may be smaller, as the official
        # loader with drop_last=False); else exactly iters_per_epoch full batches.
        self.n_positions = n_items if one_pass else iters_per_epoch * batch_size

    def epoch_order(self, epoch: int) -> np.ndarray:
        reps = math.ceil(self.n_positions / self.n)
        rng = np.random.default_rng([0x5A4D, self.seed, epoch])
        return np.concatenate([rng.permutation(self.n) for _ in range(reps)])[: self.n_positions]

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        for epoch in range(self.start_epoch, self.total):
            order = self.epoch_order(epoch)
            first = self.start_iter if epoch == self.start_epoch else 0
            for it in range(first, self.ipe):
                pos = range(it * self.bs, min((it + 1) * self.bs, self.n_positions))
                yield [(epoch, p, int(order[p])) for p in pos]

    def __len__(self) -> int:
        return (self.total - self.start_epoch) * self.ipe - self.start_iter


def iterations_per_epoch(cfg: TrainConfig, n_items: int) -> int:
    """``cfg.iters_per_epoch`` or one pass over the data (the last batch may be smaller)."""
    return cfg.iters_per_epoch or math.ceil(n_items / cfg.batch_size)
