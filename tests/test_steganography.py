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


def _hiding_pair(eps):
    """F writes road's colour plus eps x the photo (hidden); G reads the photo back from it."""
    import torch

    road = torch.tensor(CLASS_COLORS[0], dtype=torch.float32).view(1, 3, 1, 1) / 127.5 - 1

    def translate(images, direction):
        if direction == "y2x":
            return road + eps * images
        return (images - road) / eps if eps else torch.zeros_like(images)
    return translate


def test_the_snap_test_measures_what_g_reads_beyond_the_palette():
    import torch

    from cyclebench.eval.steganography import cycle_reliance, snap_to_palette

    photos = torch.rand(2, 3, 8, 8) * 2 - 1
    # snapping a map drawn in palette colours (+ a few units of noise) returns the colours
    road = torch.tensor(CLASS_COLORS[0], dtype=torch.float32).view(1, 3, 1, 1) / 127.5 - 1
    assert torch.allclose(snap_to_palette(road + 0.02 * photos), road.expand(2, 3, 8, 8),
                          atol=1e-6)
    # G reads the hidden photo exactly: rec is 0, the snapped map leaves G nothing (G(road) = 0)
    got = cycle_reliance(_hiding_pair(0.02), photos)
    expect = float(photos.abs().mean()) * 127.5
    assert got["n_images"] == 2 and got["rec"] == pytest.approx(0.0, abs=1e-3)
    assert got["rec_snap"] == pytest.approx(expect, rel=1e-4)
    assert got["reliance"] == pytest.approx(expect, rel=1e-3)
    # nothing hidden: snapping changes nothing, reliance 0
    none = cycle_reliance(_hiding_pair(0.0), photos)
    assert none["rec"] == pytest.approx(none["rec_snap"]) and none["reliance"] == pytest.approx(
        0.0, abs=1e-4)


def test_the_snap_test_of_a_trained_run_and_the_cli(tmp_path, capsys):
    from run_helpers import tiny, write_task

    from cyclebench.cyclegan.train import train
    from cyclebench.eval.steganography import run_reliance

    data = write_task(tmp_path / "data", n_train=4, n_val=3, size=32)
    run = tmp_path / "run"
    train(tiny(data, n_epochs=1, n_epochs_decay=0, iters_per_epoch=1), run, quiet=True)
    got = run_reliance(run, data, batch_size=2)  # two batches: 2 + 1 photos, weighted
    assert got["n_images"] == 3 and got["rec"] > 0 and got["rec_snap"] > 0
    assert got["reliance"] == pytest.approx(got["rec_snap"] - got["rec"])
    assert main(["steganography", "--runs", f"tiny={run}", "--data-root", str(data)]) == 0
    assert "reliance" in capsys.readouterr().out
    assert main(["steganography", "--runs", f"tiny={run}"]) == 2            # no --data-root
    assert main(["steganography", "--runs", f"tiny={run}", "--translations",
                 f"x={tmp_path}"]) == 2                                     # both
