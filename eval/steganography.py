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

    cyclebench steganography --translations NAME=DIR ... [--threshold 16] [--out CSV]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from cyclebench.datasets.palette import CLASS_COLORS, nearest_palette
from cyclebench.utils import atomic_write_text, load_rgb


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


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cyclebench steganography",
                                description="Off-palette signal in photo -> labels maps.")
    p.add_argument("--translations", nargs="+", required=True, metavar="NAME=DIR",
                   help="a name (e.g. cyclegan/seed0) and a folder of translated label maps")
    p.add_argument("--threshold", type=float, default=16.0,
                   help="distance (0..255 units) beyond which a pixel counts as off-palette")
    p.add_argument("--out", default=None, help="write the table as CSV too")
    args = p.parse_args(argv)
    rows = []
    for item in args.translations:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            raise ValueError(f"--translations {item!r}: expected NAME=DIR")
        rows.append({"name": name, **folder_residual(folder, args.threshold)})
    table = pd.DataFrame(rows, columns=["name", "n_images", "residual", "off"])
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.out:
        atomic_write_text(args.out, table.to_csv(index=False, lineterminator="\n"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
