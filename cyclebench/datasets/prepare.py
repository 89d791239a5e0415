"""Prepare a task's data root (``docs/CONTRACTS.md``, "Prepared data") from any source.

Sources (CycleGAN Section 7.1 for the real data and the sizes):

- ``synthetic``: the project's procedural generators (``synthetic_cityscapes``,
  ``synthetic_maps``), the embedded default.  Every image is regenerated from
  ``(seed, task, split, index)`` alone.
- ``cityscapes``: the original Cityscapes layout (``cyclebench.datasets.cityscapes``).
- ``pix2pix``: a pix2pix-format A|B archive (``cyclebench.datasets.pix2pix_archive``).

Python API: :func:`prepare` (a DataConfig), :func:`prepare_task`, :func:`prepare_synthetic`.
Command line: ``cyclebench data ...`` (``cyclebench/datasets/cli.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cyclebench.config import DataConfig
from cyclebench.tasks import get_task
from cyclebench.datasets import synthetic_cityscapes, synthetic_maps
from cyclebench.datasets.cityscapes import prepare_cityscapes
from cyclebench.datasets.palette import colorize
from cyclebench.datasets.pix2pix_archive import prepare_pix2pix
from cyclebench.datasets.synthetic_cityscapes import render_scene
from cyclebench.datasets.synthetic_maps import render_tile
from cyclebench.datasets.writer import RESIZE_RULES, PreparedWriter, name_width, resize_label, resize_photo

SOURCES = ("synthetic", "cityscapes", "pix2pix")
DEFAULT_FULL_SIZE = {"cityscapes": (256, 512), "maps": None}
_TASK_CODE = {"cityscapes": 1, "maps": 2}
_SPLIT_CODE = {"train": 0, "val": 1}


def image_rng(seed: int, task: str, split: str, index: int) -> np.random.Generator:
    """The generator of one synthetic image: depends only on (seed, task, split, index)."""
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    return np.random.default_rng([int(seed), _TASK_CODE[task], _SPLIT_CODE[split], int(index)])


def synthetic_pair(task: str, split: str, index: int, size: int,
                   full_size: tuple[int, int] | None = None, seed: int = 0) -> dict[str, Any]:
    """Regenerate one synthetic sample exactly as :func:`prepare_synthetic` writes it.

    Returns ``{"x", "y"}`` (size x size x 3 uint8) and, for cityscapes, ``"trainid"``
    (size x size) and ``"trainid_full"`` (full_size).
    """
    rng = image_rng(seed, task, split, index)
    if task == "cityscapes":
        fs = tuple(full_size or DEFAULT_FULL_SIZE["cityscapes"])
        ids_full, photo_full = render_scene(rng, fs)
        ids = resize_label(ids_full, (size, size))
        return {"x": colorize(ids), "y": resize_photo(photo_full, (size, size)),
                "trainid": ids, "trainid_full": ids_full}
    if task == "maps":
        fs = tuple(full_size) if full_size else (2 * size, 2 * size)
        map_full, photo_full = render_tile(rng, fs)
        return {"x": resize_photo(map_full, (size, size)),
                "y": resize_photo(photo_full, (size, size))}
    get_task(task)  # raises for unknown names
    raise ValueError(f"no synthetic generator for task {task!r}")


def _check_counts(n_train: int, n_val: int, size: int) -> None:
    for key, value, lo in (("n_train", n_train, 1), ("n_val", n_val, 1), ("size", size, 8)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < lo:
            raise ValueError(f"{key} must be an integer >= {lo}, got {value!r}")


def prepare_synthetic(task: str, out_root: str | Path, n_train: int, n_val: int, size: int,
                      full_size: tuple[int, int] | list[int] | None = None,
                      seed: int = 0) -> dict[str, Any]:
    """Generate and write a synthetic data root for ``task``; returns its meta dict.

    ``full_size`` (H, W) is the resolution the scenes are rendered at before the square
    ``size`` resize (the stand-in for Cityscapes' 1024x2048 originals; cityscapes default
    256x512, maps default 2*size square).  val train ids are also kept at full_size.
    """
    get_task(task)
    _check_counts(n_train, n_val, size)
    if full_size is not None:
        full_size = (int(full_size[0]), int(full_size[1]))
    elif DEFAULT_FULL_SIZE.get(task):
        full_size = DEFAULT_FULL_SIZE[task]
    version = (synthetic_cityscapes.GENERATOR_VERSION if task == "cityscapes"
               else synthetic_maps.GENERATOR_VERSION)
    with PreparedWriter(out_root, task) as w:
        for split, n in (("train", n_train), ("val", n_val)):
            width = name_width(n)
            for i in range(n):
                s = synthetic_pair(task, split, i, size, full_size, seed)
                w.add(split, f"{i:0{width}d}", s["x"], s["y"], s.get("trainid"),
                      s.get("trainid_full"))
        meta = {
            "source": "synthetic", "data_source": f"synthetic-{task}", "size": int(size),
            "full_size": list(full_size) if full_size else None, "seed": int(seed),
            "generator": version, "resize": RESIZE_RULES,
            "palette": "cityscapes-trainid" if task == "cityscapes" else None,
        }
        w.finish(meta)
    return _read_meta(out_root)


def _read_meta(out_root: str | Path) -> dict[str, Any]:
    import json

    return json.loads((Path(out_root) / "meta.json").read_text())


def prepare_task(task: str, source: str, out_root: str | Path, n_train: int, n_val: int,
                 size: int, full_size=None, root: str | None = None, url: str | None = None,
                 sha256: str | None = None, seed: int = 0,
                 download: bool | None = None) -> dict[str, Any]:
    """Dispatch on ``source``; ``n_train``/``n_val`` = 0 means "all" for real data."""
    get_task(task)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    if source == "synthetic":
        return prepare_synthetic(task, out_root, n_train, n_val, size, full_size, seed)
    if source == "cityscapes":
        if task != "cityscapes":
            raise ValueError(f"source 'cityscapes' only applies to task 'cityscapes', not {task!r}")
        kw = {"full_size": tuple(full_size)} if full_size else {}
        return prepare_cityscapes(out_root, n_train, n_val, size, root=root, download=download,
                                  **kw)
    return prepare_pix2pix(task, out_root, n_train, n_val, size, url=url, sha256=sha256,
                           root=root)


def prepare(cfg: DataConfig, out_root: str | Path, download: bool | None = None
            ) -> dict[str, Any]:
    """Prepare the data a :class:`~cyclebench.config.DataConfig` describes."""
    return prepare_task(cfg.task, cfg.source, out_root, cfg.n_train, cfg.n_val, cfg.size,
                        cfg.full_size, cfg.root, cfg.url, cfg.sha256, cfg.seed, download)
