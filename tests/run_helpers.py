"""A tiny training task and run config shared by the trainer's tests (test_cyclegan_train.py,
test_reliability_runs.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cyclebench.profile import default_train_config


def write_task(root, n_train=8, n_val=3, size=32, seed=0):
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        for dom in ("label", "photo"):
            d = root / split / dom
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
                    d / f"c{i:03d}.png")
    return root


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_task(tmp_path_factory.mktemp("data"))


def tiny(data_root, **kw):
    base = dict(data_root=str(data_root), load_size=36, crop_size=32, ngf=4, ndf=4, n_blocks=1,
                n_epochs=1, n_epochs_decay=1, iters_per_epoch=3, pool_size=2, log_every=1,
                checkpoint_every=2, device="cpu", seed=3)
    base.update(kw)
    return default_train_config(**base)
