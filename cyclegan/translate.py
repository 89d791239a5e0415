"""Translate a split with a trained run (CycleGAN paper, Section 5.1: generated images are
scored by the FCN-score / photo->label metrics; outputs saved as PNG, as in the official
``test.py``).

``translate(run_dir, direction, split, out_dir)`` reads ``<data_root>/<split>/<source>/*.png``
(``source`` = the direction's source domain), resizes each to the model's ``crop_size``
(bicubic, as the training preprocessing), translates it and writes ``out_dir/NAME.png`` with the
input's name, atomically.  ``direction`` is a task direction name (``label2photo``,
``photo2label``, ``map2photo``, ``photo2map``) or ``x2y``/``y2x``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader

from cyclebench.config import ConfigError
from cyclebench.cyclegan.checkpoint import load_method
from cyclebench.datasets.torch_data import ImageFolderDataset
from cyclebench.tasks import get_task
from cyclebench.utils import (resolve_device, save_png, seed_everything, set_threads,
                              tensor_to_uint8)


def translate(run_dir: str | Path, direction: str, split: str, out_dir: str | Path,
              data_root: str | Path | None = None, device: str = "auto", threads: int = 1,
              batch_size: int = 8, model_file: str | Path | None = None) -> list[Path]:
    """Translate every source image of ``split``; returns the written paths (sorted by name).
    ``model_file``: weights other than ``run_dir/model.pt`` (a learning-curve snapshot)."""
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    set_threads(threads)
    dev = resolve_device(device)
    method = load_method(run_dir, dev, model_file=model_file)
    cfg = method.cfg
    task = get_task(cfg.task)
    try:
        which = task.resolve_direction(direction)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    root = Path(data_root) if data_root is not None else Path(cfg.data_root)
    folder = root / split / task.source_domain(which)
    dataset = ImageFolderDataset(folder, size=cfg.crop_size)
    # Fixed seed: methods that keep dropout at test time (pix2pix option) stay reproducible.
    seed_everything(cfg.seed, deterministic=dev.type == "cpu")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    with torch.no_grad():
        for batch in loader:
            fakes = method.translate(batch["image"].to(dev), which).float().cpu()
            for name, img in zip(batch["name"], fakes):
                path = out / f"{name}.png"
                save_png(tensor_to_uint8(img), path)
                written.append(path)
    return written
