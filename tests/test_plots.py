"""eval/plots.py: table bars, loss curves and translation grids as non-empty, readable PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cyclebench.utils import atomic_write_text, save_png
from eval import plots as P
from eval import tables as T
from eval.rows import write_rows


def _png(path: Path) -> np.ndarray:
    assert path.is_file() and path.stat().st_size > 5_000, path
    with Image.open(path) as im:
        assert im.format == "PNG"
        arr = np.asarray(im.convert("RGB"))
    assert arr.shape[0] > 200 and arr.shape[1] > 200
    assert arr.std() > 5  # not a blank canvas
    return arr


def _fabricate(root: Path) -> None:
    rng = np.random.default_rng(0)
    for m in ("cyclegan", "pix2pix"):
        for s in (0, 1):
            rows = [dict(profile="fab", task="cityscapes", direction="label2photo", method=m,
                         seed=s, split="val", metric=metric, value=float(v), n_images=4,
                         evaluator="small_fcn@1a2b3c4d", data_source="synthetic-cityscapes",
                         substitutes="none", commit="abc")
                    for metric, v in [("per_pixel_acc", 0.4 + 0.1 * s), ("fid", 50 + s)]]
            write_rows(root / "metrics" / "cityscapes" / m / f"seed{s}" / "label2photo.csv", rows)
            log = ["epoch,iter,lr,seconds,G_GAN,cycle_x,D_Y"]
            log += [f"0,{i},0.0002,{i * 0.1},{1 / i + s},{2 / i},{0.25}" for i in range(1, 9)]
            atomic_write_text(root / "runs" / "cityscapes" / m / f"seed{s}" / "train_log.csv",
                              "\n".join(log) + "\n")
    for i in range(4):
        for dom in ("label", "photo"):
            grey = rng.integers(0, 255, (16, 16, 1), dtype=np.uint8).repeat(3, axis=2)
            save_png(grey,
                     root / "data" / "cityscapes" / "val" / dom / f"{i:03d}.png")
        for m, colour in (("cyclegan", (255, 0, 0)), ("pix2pix", (0, 0, 255))):
            for seed in (2, 10):  # lowest seed numerically: seed2, not seed10
                img = np.zeros((16, 16, 3), np.uint8)
                img[...] = colour if seed == 2 else (0, 255, 0)
                save_png(img, root / "translations" / "cityscapes" / m / f"seed{seed}" /
                         "label2photo" / f"{i:03d}.png")


def test_cli_writes_every_figure_with_deterministic_names(tmp_path):
    _fabricate(tmp_path)
    assert T.main(["--metrics-dir", str(tmp_path / "metrics"), "--profile", "fab",
                   "--out-dir", str(tmp_path / "tables")]) == 0
    out = tmp_path / "figures"
    rc = P.main(["--tables-dir", str(tmp_path / "tables"), "--runs-dir", str(tmp_path / "runs"),
                 "--translations-dir", str(tmp_path / "translations"),
                 "--data-dir", str(tmp_path / "data"), "--out-dir", str(out), "--n-images", "3"])
    assert rc == 0
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == ["grid_label2photo.png", "losses_cityscapes.png", "table1.png",
                     "table2.png", "table3.png", "table4.png", "table5.png"]
    for name in names:
        _png(out / name)
    assert not list(out.glob(".*.tmp"))
    # the grid shows the lowest seed (red/blue), never seed10 (green)
    grid = _png(out / "grid_label2photo.png").astype(int)
    red = ((grid[..., 0] > 200) & (grid[..., 1] < 60) & (grid[..., 2] < 60)).sum()
    green = ((grid[..., 1] > 200) & (grid[..., 0] < 60) & (grid[..., 2] < 60)).sum()
    assert red > 500 and green == 0


def test_translation_sources_order_and_lowest_seed(tmp_path):
    _fabricate(tmp_path)
    src = P.translation_sources(tmp_path / "translations", "cityscapes", "label2photo")
    assert list(src) == ["cyclegan", "pix2pix"]  # the paper's table order
    assert src["cyclegan"].parent.name == "seed2"
    assert P.translation_sources(tmp_path / "translations", "cityscapes", "photo2label") == {}


def test_train_logs_long_form_and_step_fallback(tmp_path):
    _fabricate(tmp_path)
    logs = P.read_train_logs(tmp_path / "runs", "cityscapes")
    assert set(logs.term) == {"G_GAN", "cycle_x", "D_Y"}  # epoch/iter/lr/seconds are not losses
    assert set(logs.method) == {"cyclegan", "pix2pix"} and set(logs.seed) == {"0", "1"}
    assert logs.step.max() == 8
    # an iteration counter that restarts each epoch falls back to the log row index
    p = tmp_path / "runs2" / "maps" / "cogan" / "seed0" / "train_log.csv"
    atomic_write_text(p, "epoch,iter,lr,seconds,G\n0,1,1,1,0.5\n0,2,1,1,0.4\n1,1,1,1,0.3\n")
    logs2 = P.read_train_logs(tmp_path / "runs2", "maps")
    assert list(logs2.step) == [1, 2, 3]
    atomic_write_text(p, "lr,G\n1,0.5\n")
    with pytest.raises(ValueError, match="train_log.csv.*epoch"):
        P.read_train_logs(tmp_path / "runs2", "maps")


def test_table_figure_marks_missing_values_not_zero_bars():
    rows = pd.DataFrame([dict(profile="fab", task="cityscapes", direction="label2photo",
                              method="cyclegan", seed=0, split="val", metric="per_pixel_acc",
                              value=0.4, n_images=4, evaluator="e", data_source="d",
                              substitutes="none", commit="c")])
    t2 = T.build_tables(rows, T.load_paper(), "fab")["table2"]
    fig = P.table_figure(t2, "table2")
    ax = fig.axes[0]  # per-pixel accuracy panel
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("n/a") == 6  # five methods + ground truth have no reproduced value
    heights = [p.get_height() for p in ax.patches]
    assert 0.4 in [round(h, 6) for h in heights] and 0.52 in [round(h, 6) for h in heights]
    P.plt.close(fig)


def test_missing_tables_dir_is_an_error(tmp_path, capsys):
    assert P.main(["--tables-dir", str(tmp_path / "none"), "--out-dir", str(tmp_path / "f")]) == 2
    assert "table1.csv" in capsys.readouterr().err


def test_loss_panel_uses_log_axis_only_for_wide_ranges():
    rows = [dict(method="pix2pix", seed="0", step=i, term=t, value=v)
            for i in range(1, 5) for t, v in [("G_L1", 50.0), ("G_GAN", 0.7)]]
    rows += [dict(method="cyclegan", seed=s, step=i, term="G", value=1.0 + int(s))
             for i in range(1, 5) for s in ("0", "1")]
    fig = P.loss_figure(pd.DataFrame(rows), "cityscapes")
    scales = {ax.get_title(): ax.get_yscale() for ax in fig.axes if ax.get_title()}
    assert scales == {"CycleGAN (ours) (2 seeds)": "linear", "pix2pix (1 seed)": "log"}
    P.plt.close(fig)


def test_table_figure_title_names_substitutes():
    rows = pd.DataFrame([dict(profile="fab", task="cityscapes", direction="label2photo",
                              method=m, seed=0, split="val", metric="per_pixel_acc", value=0.4,
                              n_images=4, evaluator="e", data_source="d", substitutes=subs,
                              commit="c")
                         for m, subs in [("feature_gan", "feature_extractor=vgg16-random-init"),
                                         ("cyclegan", "none")]])
    t2 = T.build_tables(rows, T.load_paper(), "fab")["table2"]
    fig = P.table_figure(t2, "table2")
    title = fig._suptitle.get_text()
    assert "substitutes: Feature loss + GAN: feature_extractor=vgg16-random-init" in title
    assert "CycleGAN" not in title
    P.plt.close(fig)
    t2 = T.build_tables(rows.iloc[1:], T.load_paper(), "fab")["table2"]
    fig = P.table_figure(t2, "table2")
    assert "substitutes" not in fig._suptitle.get_text()  # the paper's setting: nothing named
    P.plt.close(fig)
