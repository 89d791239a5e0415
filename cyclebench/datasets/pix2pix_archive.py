"""pix2pix-format archives: download, safe extraction and A|B splitting.

The CycleGAN paper's maps data (Section 7.1; 1096 train / 1098 val tiles around New York) and
the pix2pix version of Cityscapes are distributed by the pix2pix authors as archives of
side-by-side images: ``<name>/{train,val}/<n>.jpg`` with A on the left and B on the right.

- ``maps``: 600x1200 images, aerial photo left (A), Google map right (B).
  A -> our ``photo`` (Y), B -> our ``map`` (X).
- ``cityscapes``: 256x512 images, photo left (A), colour labels right (B).  A -> ``photo``
  (Y); B -> train ids by nearest Cityscapes colour (``palette.nearest_palette`` over all 34
  gtFine colours, so void colours stay 255), then re-drawn with the clean palette (X).  The
  archive has no full-resolution labels: ``val/trainid_full`` keeps the ids at the archive's
  own resolution (256x256) and ``meta.json`` says so.

pix2pix ``val`` becomes our ``val`` (``test`` is used when an archive has no ``val``).
Archives are unpacked with :func:`cyclebench.datasets.extract.safe_extract`, which refuses
absolute paths, ``..`` components, links that point outside the target, and device / FIFO
members: an archive can only ever write inside its extraction folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from cyclebench.datasets.extract import (PIX2PIX_LIMITS, image_members, name_in_archive,
                                         safe_extract)
from cyclebench.datasets.palette import colorize, nearest_palette
from cyclebench.datasets.selection import check_count, subset
from cyclebench.datasets.writer import RESIZE_RULES, PreparedWriter, resize_label, resize_photo
from cyclebench.utils import file_sha256, load_rgb
from cyclebench.errors import DownloadError

IMAGE_EXTS = (".jpg", ".jpeg", ".png")
# task -> which half is which domain (X, Y) of our layout
HALVES = {"cityscapes": {"x": "B", "y": "A"}, "maps": {"x": "B", "y": "A"}}
DEFAULT_URLS = {
    # the pix2pix authors' server (the cityscapes archive is no longer served: licence)
    "maps": "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/maps.tar.gz",
    "cityscapes": "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/cityscapes.tar.gz",
}


# --- download ---------------------------------------------------------------------------------
def sha256_of(path: str | os.PathLike) -> str:
    return file_sha256(path)


def verify_sha256(path: Path, expected: str | None) -> None:
    if not expected:
        return
    actual = sha256_of(path)
    if actual.lower() != expected.strip().lower():
        raise ValueError(f"sha256 mismatch for {path}: expected {expected}, got {actual}")


def fetch(url: str, cache_dir: str | os.PathLike, sha256: str | None = None,
          timeout: float = 60.0) -> Path:
    """Return a local copy of ``url`` (a local path or file:// URL is used in place).

    Downloads go to ``cache_dir/<basename>`` through a ``.part`` file; an existing file with
    the right checksum is reused.  Network failures raise an error naming the URL.
    """
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("", "file"):
        path = Path(urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else url)
        if not path.is_file():
            raise FileNotFoundError(f"archive not found: {path}")
        verify_sha256(path, sha256)
        return path
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    name = Path(urllib.parse.unquote(parsed.path)).name or "archive"
    dest = cache_dir / name
    if dest.is_file() and (not sha256 or sha256_of(dest) == sha256.strip().lower()):
        return dest
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(part, "wb") as out:
            shutil.copyfileobj(resp, out, 1 << 20)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"cannot download {url}: {reason}. Without network access, download it elsewhere "
            "and pass the local file with --url PATH (or an extracted folder with --root)."
        ) from None
    try:
        verify_sha256(part, sha256)
    except ValueError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return dest


# --- A|B split --------------------------------------------------------------------------------
def split_ab(img: np.ndarray, path: str | os.PathLike = "image") -> tuple[np.ndarray, np.ndarray]:
    """A side-by-side HxWx3 image -> (A = left half, B = right half)."""
    h, w = img.shape[:2]
    if w % 2 or w < 2:
        raise ValueError(f"{path}: width {w} is not even: not a pix2pix A|B image")
    return img[:, : w // 2], img[:, w // 2:]


def find_split_dirs(root: Path) -> dict[str, Path]:
    """Locate ``train`` and ``val`` (or ``test``) folders of images under ``root``."""
    candidates = [root] + sorted(p for p in root.rglob("*") if p.is_dir())
    for base in candidates:
        train = base / "train"
        val = base / "val" if (base / "val").is_dir() else base / "test"
        if train.is_dir() and val.is_dir() and _images(train) and _images(val):
            return {"train": train, "val": val}
    raise FileNotFoundError(f"no pix2pix train/ and val/ (or test/) image folders under {root}")


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file())


def _sort_key(p: Path):
    # pix2pix names are numbers (1.jpg ... 1096.jpg): sort numerically when possible
    return (0, int(p.stem), "") if p.stem.isdigit() else (1, 0, p.stem)


def prepare_pix2pix(task: str, out_root: str | os.PathLike, n_train: int, n_val: int,
                    size: int, url: str | None = None, sha256: str | None = None,
                    root: str | os.PathLike | None = None,
                    cache_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Write the prepared data root from a pix2pix archive (``url``) or an extracted ``root``.

    ``n_train``/``n_val``: 0 = all, else that many spread evenly; asking for more than exist
    uses all of them with a warning on stderr (meta.json records ``n_train_requested`` /
    ``n_val_requested`` next to the counts used), and meta.json records the content hash of
    the prepared files (``meta.verify``).
    """
    if task not in HALVES:
        raise ValueError(f"no pix2pix layout known for task {task!r}")
    if size < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    out_root = Path(out_root)
    tmp = None
    try:
        if root:
            base = Path(root)
            if base.is_file():
                url = str(base)
                base = None
            elif not base.is_dir():
                raise FileNotFoundError(f"pix2pix folder not found: {base}")
        else:
            base = None
        source_desc = str(root) if base is not None else None
        if base is None:
            url = url or DEFAULT_URLS[task]
            cache = Path(cache_dir) if cache_dir else out_root.parent / ".downloads"
            archive = fetch(url, cache, sha256)
            out_root.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{out_root.name}.extract-", dir=out_root.parent))
            # only the images of the split folders, within the pix2pix size limits
            base = safe_extract(archive, tmp, include=image_members(exts=IMAGE_EXTS),
                                **PIX2PIX_LIMITS)
            source_desc = url
        dirs = find_split_dirs(base)
        full = None
        with PreparedWriter(out_root, task) as w:
            for split, n in (("train", n_train), ("val", n_val)):
                listed = sorted(_images(dirs[split]), key=_sort_key)
                check_count(f"pix2pix {task} {split} images", n, len(listed), dirs[split])
                files = subset(listed, n)
                width = max(5, len(str(len(files))))
                for i, path in enumerate(files):
                    a, b = split_ab(load_rgb(path), path)
                    halves = {"A": a, "B": b}
                    x_full, y_full = halves[HALVES[task]["x"]], halves[HALVES[task]["y"]]
                    name = f"{i:0{width}d}_{path.stem}"
                    y = resize_photo(y_full, (size, size))
                    if task == "cityscapes":
                        ids_full = nearest_palette(x_full, include_void=True)
                        ids = resize_label(ids_full, (size, size))
                        full = list(ids_full.shape)
                        w.add(split, name, colorize(ids), y, ids,
                              ids_full if split == "val" else None)
                    else:
                        full = list(x_full.shape[:2])
                        w.add(split, name, resize_photo(x_full, (size, size)), y)
            meta = {"source": "pix2pix", "data_source": task, "size": int(size),
                    "archive": source_desc, "sha256": sha256, "full_size": None,
                    "archive_side_size": full, "resize": RESIZE_RULES,
                    # what was asked for (0 = all); n_train / n_val are the counts written
                    "n_train_requested": int(n_train), "n_val_requested": int(n_val),
                    "palette": "cityscapes-trainid" if task == "cityscapes" else None}
            if task == "cityscapes":
                meta["full_size"] = full
                meta["trainid_full_note"] = ("pix2pix archives hold no full-resolution labels: "
                                             "val/trainid_full is at the archive resolution")
            w.finish(meta, content_hash=True)
    except (ValueError, OSError) as exc:
        if tmp is None:
            raise
        # name the archive and member, not the temporary folder deleted below
        raise name_in_archive(exc, tmp, archive) from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return json.loads((out_root / "meta.json").read_text())
