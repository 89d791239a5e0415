"""Prepare the real Cityscapes data from its original layout (CycleGAN Section 7.1).

The paper trains labels <-> photo on the 2975 Cityscapes train images and evaluates on the
500 val images at 128x128.  Expected layout (the one ``csDownload`` + unzip produce)::

    <root>/leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png   (1024x2048 RGB)
    <root>/gtFine/{train,val}/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png    (1024x2048 L)

``<root>`` is the ``root`` argument or ``$CITYSCAPES_DATASET``.  For each frame the labelIds
are mapped to the 19 train ids (everything else 255), resized to ``size`` with NEAREST and
drawn with the official palette (domain X, ``label``); the photo is resized bicubically
(domain Y, ``photo``); val frames also keep their full-resolution train ids
(``val/trainid_full``) for the official full-resolution evaluation.

The data needs a free account (https://www.cityscapes-dataset.com/register/).  When the
data is missing and ``download`` is on (by default: when ``$CITYSCAPES_USERNAME`` and
``$CITYSCAPES_PASSWORD`` are both set) the two packages are fetched with cityscapesscripts'
downloader (``download_packages``) into the root and unzipped safely; the credentials are
only sent to the Cityscapes login form, never logged or written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from cyclebench.datasets.extract import safe_extract
from cyclebench.datasets.palette import colorize, labelids_to_trainids
from cyclebench.datasets.selection import check_count, subset
from cyclebench.datasets.writer import RESIZE_RULES, PreparedWriter, resize_label, resize_photo
from cyclebench.utils import load_label, load_rgb
from cyclebench.errors import DownloadError

ORIGINAL_SIZE = (1024, 2048)  # (H, W) of every Cityscapes frame
PACKAGES = ("gtFine_trainvaltest.zip", "leftImg8bit_trainvaltest.zip")
ENV_ROOT, ENV_USER, ENV_PASSWORD = "CITYSCAPES_DATASET", "CITYSCAPES_USERNAME", "CITYSCAPES_PASSWORD"
PHOTO_SUFFIX, LABEL_SUFFIX = "_leftImg8bit.png", "_gtFine_labelIds.png"
HOW_TO_GET = (
    "Cityscapes requires a free account: register at https://www.cityscapes-dataset.com/register/, "
    f"then either download {' and '.join(PACKAGES)} yourself, unzip them into one folder and "
    f"pass it with --root PATH (or set ${ENV_ROOT}), or set ${ENV_USER} and ${ENV_PASSWORD} "
    "(and --root / $CITYSCAPES_DATASET for the destination) to download it automatically "
    "(--download)."
)


class CityscapesMissingError(FileNotFoundError):
    """The Cityscapes data (or part of it) is not where it was looked for."""


def resolve_root(root: str | os.PathLike | None = None) -> Path:
    """The Cityscapes root: ``root`` if given, else ``$CITYSCAPES_DATASET``."""
    if root:
        return Path(root)
    env = os.environ.get(ENV_ROOT)
    if env:
        return Path(env)
    raise CityscapesMissingError(
        f"no Cityscapes location given: pass --root PATH or set ${ENV_ROOT}. {HOW_TO_GET}")


def check_layout(root: Path, splits=("train", "val")) -> None:
    """Raise one error listing every missing folder of the original layout."""
    missing = [str(root / top / split) for split in splits
               for top in ("leftImg8bit", "gtFine") if not (root / top / split).is_dir()]
    if missing:
        raise CityscapesMissingError(
            f"Cityscapes data not found under {root}: missing {', '.join(missing)}. {HOW_TO_GET}")


def list_frames(root: Path, split: str) -> list[tuple[str, Path, Path]]:
    """Sorted (name, photo path, labelIds path) of a split; a frame without labels is an error."""
    photo_dir = root / "leftImg8bit" / split
    frames = []
    for photo in sorted(photo_dir.glob(f"*/*{PHOTO_SUFFIX}")):
        name = photo.name[: -len(PHOTO_SUFFIX)]
        city = photo.parent.name
        label = root / "gtFine" / split / city / f"{name}{LABEL_SUFFIX}"
        if not label.is_file():
            raise CityscapesMissingError(f"labels missing for {photo}: expected {label}")
        frames.append((name, photo, label))
    if not frames:
        raise CityscapesMissingError(
            f"no *{PHOTO_SUFFIX} images in {photo_dir}/<city>/. {HOW_TO_GET}")
    return frames


def load_frame(photo_path: Path, label_path: Path,
               full_size: tuple[int, int] = ORIGINAL_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(photo HxWx3 uint8, train ids HxW uint8).

    Errors name the file: a wrong size, a label map with values outside 0..255 (a 16-bit
    ``*_instanceIds.png`` under the labelIds name; :func:`cyclebench.utils.load_label`) or
    with ids that are not Cityscapes label ids (``palette.labelids_to_trainids``).
    """
    photo = load_rgb(photo_path)
    labelids = load_label(label_path)
    for path, arr in ((photo_path, photo), (label_path, labelids)):
        if arr.shape[:2] != tuple(full_size):
            raise ValueError(f"{path}: size {arr.shape[1]}x{arr.shape[0]} (WxH), expected "
                             f"{full_size[1]}x{full_size[0]}")
    # only the 34 Cityscapes label ids: anything else (200, an instance id) names the file
    return photo, labelids_to_trainids(labelids, source=str(label_path))


def _login(username: str, password: str):
    """A logged-in requests session (the request cityscapesscripts' ``login`` makes, without
    its interactive prompt or credentials file)."""
    import requests

    session = requests.Session()
    session.get("https://www.cityscapes-dataset.com/login", allow_redirects=False,
                timeout=60).raise_for_status()
    r = session.post("https://www.cityscapes-dataset.com/login", allow_redirects=False,
                     data={"username": username, "password": password, "submit": "Login"},
                     timeout=60)
    r.raise_for_status()
    if r.status_code != 302:  # the site redirects after a successful login
        raise DownloadError(f"Cityscapes login failed for the account in ${ENV_USER}: "
                           "check the credentials")
    return session


def download_cityscapes(dest: str | os.PathLike, packages=PACKAGES) -> Path:
    """Download and unzip the Cityscapes packages into ``dest`` with cityscapesscripts."""
    from cityscapesscripts.download import downloader

    user, password = os.environ.get(ENV_USER), os.environ.get(ENV_PASSWORD)
    if not user or not password:
        raise CityscapesMissingError(
            f"--download needs ${ENV_USER} and ${ENV_PASSWORD} to be set. {HOW_TO_GET}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        session = _login(user, password)
        todo = [p for p in packages if not (dest / f".{p}.extracted").exists()]
        for package in todo:
            downloader.download_packages(session=session, package_names=[package],
                                         destination_path=str(dest),
                                         resume=(dest / package).exists())
            safe_extract(dest / package, dest)
            (dest / f".{package}.extracted").touch()
            (dest / package).unlink()
    except Exception as exc:  # requests / downloader errors: say what was attempted
        if isinstance(exc, CityscapesMissingError):
            raise
        raise DownloadError(f"Cityscapes download of {list(packages)} into {dest} failed: "
                           f"{type(exc).__name__}: {exc}. {HOW_TO_GET}") from None
    return dest


def prepare_cityscapes(out_root: str | os.PathLike, n_train: int, n_val: int, size: int,
                       root: str | os.PathLike | None = None,
                       full_size: tuple[int, int] = ORIGINAL_SIZE,
                       download: bool | None = None) -> dict[str, Any]:
    """Write the prepared data root from the original layout; returns its meta dict.

    ``n_train``/``n_val``: 0 = the whole split, else that many frames spread evenly over the
    sorted frame list; asking for more than exist uses all of them with a warning on stderr,
    and meta.json records ``n_train_requested``/``n_val_requested`` next to the counts used.
    meta.json also records the content hash of the prepared files (``meta.verify``).
    ``full_size`` is the expected original (H, W) (1024x2048; tests use small fixtures).
    ``download``: True = fetch missing data, False = never, None (default) = fetch only when
    both credential variables are set.
    """
    if download is None:
        download = bool(os.environ.get(ENV_USER) and os.environ.get(ENV_PASSWORD))
    if size < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    root_path = resolve_root(root)
    try:
        check_layout(root_path)
    except CityscapesMissingError:
        if not download:
            raise
        download_cityscapes(root_path)
        check_layout(root_path)
    frames = {}
    for split, n in (("train", n_train), ("val", n_val)):
        listed = list_frames(root_path, split)
        check_count(f"cityscapes {split} frames", n, len(listed),
                    root_path / "leftImg8bit" / split)
        frames[split] = subset(listed, n)
    with PreparedWriter(out_root, "cityscapes") as w:
        for split, items in frames.items():
            for name, photo_path, label_path in items:
                photo, ids_full = load_frame(photo_path, label_path, full_size)
                ids = resize_label(ids_full, (size, size))
                w.add(split, name, colorize(ids), resize_photo(photo, (size, size)), ids,
                      ids_full if split == "val" else None)
        w.finish({
            "source": "cityscapes", "data_source": "cityscapes", "size": int(size),
            "full_size": [int(full_size[0]), int(full_size[1])], "root": str(root_path),
            "resize": RESIZE_RULES, "palette": "cityscapes-trainid",
            # what was asked for (0 = all); n_train / n_val are the counts written
            "n_train_requested": int(n_train), "n_val_requested": int(n_val),
        }, content_hash=True)
    return json.loads((Path(out_root) / "meta.json").read_text())
