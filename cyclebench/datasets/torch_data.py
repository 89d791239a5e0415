"""torch Datasets over prepared task data (CycleGAN paper, Section 7.1 "Training details";
official ``data/unaligned_dataset.py``, ``data/aligned_dataset.py``, ``data/base_dataset.py``).

Layout (docs/CONTRACTS.md): ``<data_root>/<split>/<domain>/NAME.png``, same NAME = a pair.

* :class:`UnpairedDataset` -- for unpaired methods.  On the train split X comes from the first
  half of the sorted names and Y from the disjoint second half, so no pair is ever seen.  The
  split is by name (:func:`split_by_name`): the X and Y folders must hold the same names, and
  odd files are an error (a position split would hand out a pair).  As
  in the official unaligned loader, ``len = max(|X|, |Y|)``, item ``i`` uses ``X[i % |X|]`` and
  a random Y image (drawn from the item's seeded RNG).  X and Y get independent crops/flips.
* :class:`PairedDataset` -- for paired methods (pix2pix): all pairs, same crop and flip on both.
* :class:`ImageFolderDataset` -- every PNG of one folder, for translation.

Preprocessing (official ``resize_and_crop``): bicubic resize to ``load_size`` x ``load_size``,
random ``crop_size`` crop, random horizontal flip, normalise to [-1, 1].  Evaluation
(``train=False``): bicubic resize to ``crop_size``, no crop offset, no flip.

Integrity: when the data root has a meta.json, the datasets call
:func:`cyclebench.datasets.meta.verify` first, which fails naming the first changed, missing or
extra file of a real-source root (synthetic roots record no content hash).

Determinism: the randomness of an item (Y index, crop offsets, flips) comes from a NumPy
generator seeded with ``(seed, epoch, position, index)``.  The shared trainer's sampler passes
keys ``(epoch, position, index)``; a plain integer ``i`` means ``(0, i, i)``.  So data order
and augmentation are identical after a resume and do not depend on ``num_workers``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from cyclebench.config import ConfigError
from cyclebench.datasets.meta import META, verify
from cyclebench.tasks import get_task
from cyclebench.utils import uint8_to_tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_SALT = 0x0C7C1E  # separates these streams from any other use of the seed


class DataError(FileNotFoundError):
    """Prepared data is missing, empty or inconsistent (the message names the folder/file)."""


def list_images(folder: str | Path) -> list[Path]:
    """Sorted image files of ``folder``; a missing or empty folder raises :class:`DataError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder not found: {folder} (prepare the data first: "
                        f"cyclebench data ...)")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"image folder is empty: {folder} (no {'/'.join(IMAGE_SUFFIXES)} files)")
    return files


def load_image(path: Path):
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except Exception as exc:  # PIL raises many types
        raise DataError(f"cannot read image {path}: {exc}") from exc


def resize(img, size: int):
    """Bicubic resize to ``size`` x ``size`` (a no-op when already that size)."""
    from PIL import Image

    if img.size == (size, size):
        return img
    return img.resize((size, size), Image.BICUBIC)


def to_tensor(img) -> torch.Tensor:
    return uint8_to_tensor(np.array(img, dtype=np.uint8))  # writable copy


def parse_key(key: Any) -> tuple[int, int, int]:
    """``i`` -> ``(0, i, i)``; ``(epoch, position, index)`` passes through."""
    if isinstance(key, (tuple, list)):
        epoch, position, index = (int(k) for k in key)
        return epoch, position, index
    i = int(key)
    return 0, i, i


def _odd(names: list[str], folder: Path) -> str:
    shown = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
    return f"only in {folder}: {shown}"


def split_by_name(split_dir: Path, x_dir: Path, x_files: list[Path], y_dir: Path,
                  y_files: list[Path]) -> tuple[list[Path], list[Path]]:
    """Disjoint unpaired halves, by name: X = the first half of the sorted train names (from
    ``x_dir``), Y = the second half (from ``y_dir``).

    The two folders must hold the same names (file stems: same NAME = a pair); otherwise a
    position split could give X and Y the same NAME, i.e. a pair, so the odd files are named
    in a :class:`DataError`.  For a consistent folder the halves are exactly the position
    halves of the sorted file lists (same names, same order).
    """
    x_by, y_by = {}, {}
    for files, by in ((x_files, x_by), (y_files, y_by)):
        for f in files:
            if f.stem in by:
                raise DataError(f"{f.parent}: two images named {f.stem!r} ({by[f.stem].name}, "
                                f"{f.name}): one image per NAME (prepare the data again)")
            by[f.stem] = f
    only_x = sorted(set(x_by) - set(y_by))
    only_y = sorted(set(y_by) - set(x_by))
    if only_x or only_y:
        parts = []
        if only_x:
            parts.append(_odd([x_by[n].name for n in only_x], x_dir))
        if only_y:
            parts.append(_odd([y_by[n].name for n in only_y], y_dir))
        odd = "; ".join(parts)
        raise DataError(f"{split_dir}: the X and Y folders must hold the same image names "
                        f"(same NAME = a pair; unpaired methods split the names into disjoint "
                        f"halves): {odd}. Remove or restore those files, or prepare the data "
                        f"again (cyclebench data ...)")
    names = [f.stem for f in x_files]  # sorted file order, exactly as the position split had
    if len(names) < 2:
        raise DataError(f"{split_dir}: need at least 2 images per domain to split into "
                        f"disjoint halves, got {len(x_files)} and {len(y_files)}")
    half = len(names) // 2
    return list(x_files[:half]), [y_by[n] for n in names[half:]]


class _TaskDataset(Dataset):
    def __init__(self, data_root: str | Path, task: str, split: str, cfg, train: bool,
                 full_view_from: int | None = None):
        # full_view_from: from this 0-based epoch on, resize to crop_size (no random crop: the
        # whole image, still flipped); CUT's data loader does so once the lr decays
        self.full_view_from = full_view_from
        self.root = Path(data_root)
        self.task = get_task(task)
        self.split = split
        self.train = bool(train)
        self.load_size = int(cfg.load_size)
        self.crop_size = int(cfg.crop_size)
        self.flip = bool(cfg.flip) and self.train
        self.seed = int(cfg.seed)
        self.max_images = int(getattr(cfg, "max_train_images", 0) or 0)
        if self.train and self.load_size < self.crop_size:
            raise ConfigError(f"load_size ({self.load_size}) must be >= crop_size "
                              f"({self.crop_size})")
        if not self.root.is_dir():
            raise DataError(f"data root not found: {self.root} (prepare the data first: "
                            f"cyclebench data ...)")
        if (self.root / META).is_file():
            verify(self.root)  # real sources: the files are the ones that were prepared

    def folder(self, domain: str) -> Path:
        return self.root / self.split / domain

    def rng(self, key: Any) -> tuple[np.random.Generator, int]:
        epoch, position, index = parse_key(key)
        return np.random.default_rng([_SALT, self.seed, epoch, position, index]), index

    def crop_params(self, rng: np.random.Generator, epoch: int = 0) -> tuple[int, int, bool, int]:
        """(left, top, flip, load size) of one training image."""
        if not self.train:
            return 0, 0, False, self.crop_size
        load = self.load_size
        if self.full_view_from is not None and epoch >= self.full_view_from:
            load = self.crop_size
        span = load - self.crop_size
        left = int(rng.integers(0, span + 1))
        top = int(rng.integers(0, span + 1))
        flip = self.flip and bool(rng.random() < 0.5)
        return left, top, flip, load

    def transform(self, path: Path, params: tuple[int, int, bool, int]) -> torch.Tensor:
        img = load_image(path)
        if not self.train:
            return to_tensor(resize(img, self.crop_size))
        left, top, flip, load = params
        img = resize(img, load)
        img = img.crop((left, top, left + self.crop_size, top + self.crop_size))
        t = to_tensor(img)
        return torch.flip(t, dims=[2]) if flip else t


class UnpairedDataset(_TaskDataset):
    """Unaligned X/Y images; disjoint halves on the train split (see the module docstring)."""

    def __init__(self, data_root: str | Path, task: str, split: str, cfg, train: bool = True,
                 disjoint: bool | None = None, full_view_from: int | None = None):
        super().__init__(data_root, task, split, cfg, train, full_view_from)
        x_files = list_images(self.folder(self.task.x))
        y_files = list_images(self.folder(self.task.y))
        self.disjoint = (split == "train") if disjoint is None else bool(disjoint)
        if self.disjoint:
            x_files, y_files = split_by_name(self.root / split, self.folder(self.task.x),
                                             x_files, self.folder(self.task.y), y_files)
        if self.max_images > 0:
            x_files, y_files = x_files[: self.max_images], y_files[: self.max_images]
        self.x_files, self.y_files = x_files, y_files

    def __len__(self) -> int:
        return max(len(self.x_files), len(self.y_files))

    def __getitem__(self, key) -> dict[str, torch.Tensor]:
        rng, index = self.rng(key)
        epoch = parse_key(key)[0]
        x_path = self.x_files[index % len(self.x_files)]
        y_path = self.y_files[int(rng.integers(0, len(self.y_files)))]
        x = self.transform(x_path, self.crop_params(rng, epoch))
        y = self.transform(y_path, self.crop_params(rng, epoch))
        return {"x": x, "y": y}


class PairedDataset(_TaskDataset):
    """Aligned (x, y) pairs with the same name; the same crop and flip on both."""

    def __init__(self, data_root: str | Path, task: str, split: str, cfg, train: bool = True,
                 full_view_from: int | None = None):
        super().__init__(data_root, task, split, cfg, train, full_view_from)
        x_files = list_images(self.folder(self.task.x))
        y_dir = self.folder(self.task.y)
        list_images(y_dir)  # missing/empty folder error names it
        pairs = []
        for xf in x_files:
            matches = [y_dir / (xf.stem + s) for s in IMAGE_SUFFIXES if (y_dir / (xf.stem + s)).is_file()]
            if not matches:
                raise DataError(f"no pair for {xf} in {y_dir} (expected {y_dir / xf.name})")
            pairs.append((xf, matches[0]))
        if self.max_images > 0:
            pairs = pairs[: self.max_images]
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key) -> dict[str, torch.Tensor]:
        rng, index = self.rng(key)
        x_path, y_path = self.pairs[index % len(self.pairs)]
        params = self.crop_params(rng, parse_key(key)[0])
        return {"x": self.transform(x_path, params), "y": self.transform(y_path, params)}


class ImageFolderDataset(Dataset):
    """Every image of ``folder`` (sorted), resized bicubically to ``size`` (None: as is);
    items are ``{"image": 3HW in [-1, 1], "name": file stem}``."""

    def __init__(self, folder: str | Path, size: int | None = None):
        self.folder = Path(folder)
        self.files = list_images(self.folder)
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict[str, Any]:
        img = load_image(self.files[i])
        if self.size is not None:
            img = resize(img, int(self.size))
        return {"image": to_tensor(img), "name": self.files[i].stem}
