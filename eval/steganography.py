"""``cyclebench steganography``: how much off-palette signal a photo -> labels mapping leaves in
its label maps (a diagnostic for claim A3).

A cycle loss that starts at the photo (x -> F(x) -> G(F(x)) ~ x, F: photo -> labels) asks F's
label maps to carry what G needs to redraw the photo; a label map has no room for it except in
small colour deviations from the palette, which is how CycleGAN hides it (Chu, Zhmoginov and
Sandler 2017, "CycleGAN, a Master of Steganography").  The photo -> labels score reads the
nearest palette colour, so the hidden signal is harmless until it flips pixels.  Per label map
(the scorer's palette: the 19 train-id colours)::

    residual   mean over pixels of || rgb - nearest palette colour ||_2   (0..255 units)
    off        fraction of pixels farther than ``--threshold`` from every palette colour

and the mean over the maps of a folder.  Comparing methods that train that cycle (CycleGAN,
GAN + backward cycle, Cycle alone) with methods that do not (GAN + forward cycle, GAN alone)
tests whether the cycle makes F hide the photo in its maps.

The residual shows that signal is there, not that G reads it.  ``--runs`` asks G directly
(the snap test): per val photo y, with F's label map l = F(y) and l* = l snapped to the nearest
palette colour (the only part the photo -> labels score sees),

    rec        mean |G(l) - y|      the photo redrawn from F's map as F wrote it
    rec_snap   mean |G(l*) - y|     ... from the same map with the hidden signal removed
    reliance   rec_snap - rec       > 0: G reads signal the palette colours do not carry

in 0..255 units.  A method trained with the photo cycle (CycleGAN, GAN + backward cycle,
Cycle alone) that hides the photo in l shows reliance well above the methods whose G never
saw F's output (GAN alone, GAN + forward cycle, and two independent one-way models).

    cyclebench steganography --translations NAME=DIR ... [--threshold 16] [--out CSV]
    cyclebench steganography --runs NAME=RUN_DIR ... --data-root DATA [--out CSV]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from cyclebench.datasets.palette import CLASS_COLORS, nearest_palette
from cyclebench.utils import atomic_write_text, load_rgb, parse_key_paths


def palette_residual(rgb: np.ndarray, threshold: float = 16.0) -> tuple[float, float]:
    """(mean distance to the nearest palette colour, fraction of pixels beyond ``threshold``)
    of one HxWx3 label map in 0..255."""
    rgb = np.asarray(rgb, dtype=np.float64)
    nearest = CLASS_COLORS[nearest_palette(rgb)].astype(np.float64)
    dist = np.sqrt(((rgb - nearest) ** 2).sum(axis=-1))
    return float(dist.mean()), float((dist > threshold).mean())


def folder_residual(folder: str | Path, threshold: float = 16.0) -> dict[str, float]:
    files = sorted(Path(folder).glob("*.png"))
    if not files:
        raise FileNotFoundError(f"{folder}: no PNG label maps to measure")
    values = np.array([palette_residual(load_rgb(p), threshold) for p in files])
    return {"n_images": len(files), "residual": float(values[:, 0].mean()),
            "off": float(values[:, 1].mean())}


def snap_to_palette(labels: torch.Tensor) -> torch.Tensor:
    """Bx3xHxW label maps in [-1, 1] -> every pixel replaced by its nearest palette colour
    (the scorer's 19 train-id colours, measured on the 0..255 scale), in [-1, 1]."""
    rgb = ((labels.detach().float().clamp(-1, 1) + 1) * 127.5).permute(0, 2, 3, 1).cpu().numpy()
    snapped = CLASS_COLORS[nearest_palette(rgb)].astype(np.float32)
    return (torch.from_numpy(snapped).permute(0, 3, 1, 2).contiguous().to(labels.device)
            / 127.5 - 1)


def cycle_reliance(translate: Callable[[torch.Tensor, str], torch.Tensor],
                   photos: torch.Tensor) -> dict[str, float]:
    """The snap test of one model pair: ``translate(images, "y2x")`` is F (photo -> labels),
    ``translate(images, "x2y")`` is G (labels -> photo); ``photos`` Bx3xHxW in [-1, 1].
    Mean absolute errors in 0..255 units (see the module docstring)."""
    with torch.no_grad():
        labels = translate(photos, "y2x").float()
        rec = translate(labels, "x2y").float()
        rec_snap = translate(snap_to_palette(labels), "x2y").float()
    scale = 127.5  # [-1, 1] -> 0..255 units
    err = float((rec - photos).abs().mean()) * scale
    err_snap = float((rec_snap - photos).abs().mean()) * scale
    return {"n_images": int(photos.shape[0]), "rec": err, "rec_snap": err_snap,
            "reliance": err_snap - err}


def run_reliance(run_dir: str | Path, data_root: str | Path, batch_size: int = 16,
                 device: str = "cpu") -> dict[str, float]:
    """:func:`cycle_reliance` of a trained cityscapes run over its val photos."""
    from torch.utils.data import DataLoader

    from cyclebench.cyclegan.checkpoint import load_method
    from cyclebench.datasets.torch_data import ImageFolderDataset
    from cyclebench.tasks import get_task

    method = load_method(run_dir, device)
    task = get_task(method.cfg.task)
    if task.name != "cityscapes":
        raise ValueError(f"{run_dir}: task {task.name!r}: the snap test needs label maps "
                         "(the cityscapes task)")
    folder = Path(data_root) / "val" / task.source_domain("y2x")
    loader = DataLoader(ImageFolderDataset(folder, size=method.cfg.crop_size),
                        batch_size=batch_size, shuffle=False)
    parts = [cycle_reliance(method.translate, b["image"].to(device)) for b in loader]
    if not parts:
        raise FileNotFoundError(f"{folder}: no val photos")
    n = sum(p["n_images"] for p in parts)
    out = {"n_images": n}
    for key in ("rec", "rec_snap", "reliance"):
        out[key] = sum(p[key] * p["n_images"] for p in parts) / n
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cyclebench steganography",
                                description="Off-palette signal in photo -> labels maps.")
    p.add_argument("--translations", nargs="+", default=[], metavar="NAME=DIR",
                   help="a name (e.g. cyclegan/seed0) and a folder of translated label maps")
    p.add_argument("--runs", nargs="+", default=[], metavar="NAME=RUN_DIR",
                   help="the snap test: a name and a trained cityscapes run folder")
    p.add_argument("--data-root", default=None, help="the cityscapes data (with --runs)")
    p.add_argument("--threshold", type=float, default=16.0,
                   help="distance (0..255 units) beyond which a pixel counts as off-palette")
    p.add_argument("--out", default=None, help="write the table as CSV too")
    args = p.parse_args(argv)
    if bool(args.translations) == bool(args.runs):
        raise ValueError("give either --translations NAME=DIR ... or --runs NAME=RUN_DIR ...")
    if args.runs:
        if args.data_root is None:
            raise ValueError("--runs needs --data-root (the cityscapes task's prepared data)")
        rows = [{"name": name, **run_reliance(run, args.data_root)}
                for name, run in parse_key_paths(args.runs, "--runs", "NAME").items()]
        columns = ["name", "n_images", "rec", "rec_snap", "reliance"]
    else:
        rows = [{"name": name, **folder_residual(folder, args.threshold)}
                for name, folder in parse_key_paths(args.translations, "--translations",
                                                    "NAME").items()]
        columns = ["name", "n_images", "residual", "off"]
    table = pd.DataFrame(rows, columns=columns)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.out:
        atomic_write_text(args.out, table.to_csv(index=False, lineterminator="\n"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
