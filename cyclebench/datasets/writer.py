"""Resizing rules and the atomic writer of a prepared task folder (``docs/CONTRACTS.md``).

The paper trains Cityscapes at 128x128 and maps at 256x256 (CycleGAN Section 7.1); the
official preparation squashes each original frame to a square image.  We do the same, with
one documented difference (README, "Deviations"): photos (and map renderings) are resized with
PIL's bicubic filter, which is antialiased when shrinking (an area-like average), while label
maps are resized with NEAREST so that every pixel keeps a valid class (the official script
resized colour label maps bicubically, blending colours at boundaries).

:class:`PreparedWriter` writes the whole ``<data_root>`` into a temporary sibling folder, then
``meta.json`` last, then renames the folder into place: a crashed preparation never leaves a
half-written data root that looks complete.  The data root gets the permissions of a
normally created folder (``0777 & ~umask``), not the temporary folder's 0700.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cyclebench.tasks import TRAINID_DIR, TRAINID_FULL_DIR, get_task

SPLITS = ("train", "val")
RESIZE_RULES = {"photo": "bicubic (PIL, antialiased)", "label": "nearest"}


def resize_photo(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8 -> (h, w)x3 uint8 with PIL bicubic (antialiased when shrinking)."""
    h, w = size
    if arr.shape[:2] == (h, w):
        return arr
    return np.asarray(Image.fromarray(arr).resize((w, h), Image.Resampling.BICUBIC))


def resize_label(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxW uint8 train ids -> (h, w) with NEAREST (no new values are ever created)."""
    h, w = size
    if arr.shape[:2] == (h, w):
        return arr
    return np.asarray(Image.fromarray(arr).resize((w, h), Image.Resampling.NEAREST))


def _dir_mode() -> int:
    """Permissions of a newly created folder under the current umask (mkdtemp gives 0700)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def name_width(n: int) -> int:
    """Digits used in file names so that sorted names follow the index order."""
    return max(5, len(str(max(n - 1, 0))))


class PreparedWriter:
    """Context manager writing one task's data root atomically.

    >>> with PreparedWriter(out, "cityscapes") as w:
    ...     w.add("train", "00000", x=label_rgb, y=photo, trainid=ids)
    ...     w.finish(meta)        # writes meta.json last; the rename happens on exit
    """

    def __init__(self, out_root: str | Path, task: str):
        self.out_root = Path(out_root)
        self.task = get_task(task)
        self.counts = {s: 0 for s in SPLITS}
        self._tmp: Path | None = None
        self._finished = False

    def __enter__(self) -> "PreparedWriter":
        self.out_root.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.out_root.name}.tmp-",
                                          dir=self.out_root.parent))
        return self

    def add(self, split: str, name: str, x: np.ndarray, y: np.ndarray,
            trainid: np.ndarray | None = None, trainid_full: np.ndarray | None = None) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if x.shape != y.shape or x.ndim != 3 or x.shape[2] != 3:
            raise ValueError(f"{split}/{name}: X {x.shape} and Y {y.shape} must be equal HxWx3")
        if self.task.has_labels:
            if trainid is None or trainid.shape != x.shape[:2]:
                raise ValueError(f"{split}/{name}: train ids missing or of the wrong size")
            if split == "val" and trainid_full is None:
                raise ValueError(f"{split}/{name}: full-resolution val train ids missing")
        assert self._tmp is not None, "use PreparedWriter as a context manager"
        base = self._tmp / split
        self._save(base / self.task.x / f"{name}.png", x)
        self._save(base / self.task.y / f"{name}.png", y)
        if self.task.has_labels:
            self._save(base / TRAINID_DIR / f"{name}.png", trainid)
            if split == "val":
                self._save(base / TRAINID_FULL_DIR / f"{name}.png", trainid_full)
        self.counts[split] += 1

    @staticmethod
    def _save(path: Path, arr: np.ndarray) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # fixed PNG settings: identical arrays always give identical bytes
        Image.fromarray(np.ascontiguousarray(arr)).save(path, format="PNG", compress_level=6)

    def finish(self, meta: dict[str, Any], content_hash: bool = False) -> None:
        """Write meta.json (last file of the folder); the folder is renamed on exit.

        ``content_hash`` (the real sources): also write the per-file sha256 manifest
        (:data:`cyclebench.datasets.meta.MANIFEST`) and record its digest under
        ``meta["content"]``, so that :func:`cyclebench.datasets.meta.verify` can tell when the
        prepared files were changed afterwards.  Synthetic data is written without it (its
        meta.json bytes stay as they were; its images are a pure function of the seed).
        """
        assert self._tmp is not None
        for split in SPLITS:
            if self.counts[split] == 0:
                raise ValueError(f"no {split} images were written for task {self.task.name}")
        meta = dict(meta)
        meta.update(task=self.task.name, n_train=self.counts["train"],
                    n_val=self.counts["val"], domains=[self.task.x, self.task.y])
        if content_hash:
            from cyclebench.datasets.meta import write_manifest

            meta["content"] = write_manifest(self._tmp)
        with open(self._tmp / "meta.json", "w") as fh:
            json.dump(meta, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._finished = True

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._tmp is not None
        if exc_type is not None or not self._finished:
            shutil.rmtree(self._tmp, ignore_errors=True)
            if exc_type is None:
                raise RuntimeError("PreparedWriter closed without finish(meta): nothing written")
            return
        # mkdtemp made the folder 0700; give it the mode of any new folder (umask respected),
        # like its subfolders and files
        os.chmod(self._tmp, _dir_mode())
        old = None
        if self.out_root.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.out_root.name}.old-",
                                        dir=self.out_root.parent))
            os.rmdir(old)
            os.replace(self.out_root, old)
        os.replace(self._tmp, self.out_root)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
