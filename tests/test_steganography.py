"""eval/steganography.py: the off-palette residual of label maps, with known answers."""

import numpy as np
import pytest
from PIL import Image

from cyclebench.cli import main
from cyclebench.datasets.palette import CLASS_COLORS
from cyclebench.eval.steganography import folder_residual, palette_residual


def test_a_clean_label_map_has_no_residual_and_an_offset_pixel_counts_its_distance():
    img = np.tile(CLASS_COLORS[[0, 1, 2, 13]][None], (2, 1, 1)).astype(np.int64)  # 2x4 clean
    assert palette_residual(img) == (0.0, 0.0)
    img[0, 0] += np.array([3, 4, 0])         # 5 units from road's colour, still nearest to it
    img[1, 3] += np.array([0, 0, 20])        # 20 units from car's colour: off at threshold 16
    assert CLASS_COLORS[13].tolist() == [0, 0, 142]
    res, off = palette_residual(img, threshold=16)
    assert res == pytest.approx((5 + 20) / 8) and off == pytest.approx(1 / 8)
    assert palette_residual(img, threshold=4)[1] == pytest.approx(2 / 8)


def test_folders_and_the_cli(tmp_path, capsys):
    clean, noisy = tmp_path / "clean", tmp_path / "noisy"
    clean.mkdir(), noisy.mkdir()
    base = np.tile(CLASS_COLORS[[0, 8]][None], (4, 2, 1)).astype(np.uint8)  # 4x4
    for i in range(2):
        Image.fromarray(base).save(clean / f"{i}.png")
        shifted = base.astype(np.int64)
        shifted[..., 2] = np.clip(shifted[..., 2] + 6 * (i + 1), 0, 255)
        Image.fromarray(shifted.astype(np.uint8)).save(noisy / f"{i}.png")
    assert folder_residual(clean)["residual"] == 0.0
    got = folder_residual(noisy)
    assert got["n_images"] == 2 and got["residual"] == pytest.approx((6 + 12) / 2)
    out = tmp_path / "s.csv"
    assert main(["steganography", "--translations", f"a={clean}", f"b={noisy}",
                 "--out", str(out)]) == 0
    assert "b" in capsys.readouterr().out and out.read_text().startswith("name,n_images")
    assert main(["steganography", "--translations", str(clean)]) == 2  # not NAME=DIR
    assert main(["steganography", "--translations", f"x={tmp_path / 'none'}"]) == 2
