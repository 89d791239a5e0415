"""eval/plots.py: table bars, loss curves and translation grids as non-empty, readable PNGs,
from exactly the inputs named on the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cyclebench.utils import atomic_write_text, atomic_write_yaml, save_png
from cyclebench.eval import plots as P
from cyclebench.eval import table_build as B
from cyclebench.eval import tables as T
from cyclebench.eval.rows import write_rows


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
            run = root / "runs" / "cityscapes" / m / f"seed{s}"
            atomic_write_text(run / "train_log.csv", "\n".join(log) + "\n")
            atomic_write_yaml(run / "config.resolved.yaml",
                              {"task": "cityscapes", "method": m, "seed": s})
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


def _tables(root: Path) -> list[str]:
    metrics = sorted((root / "metrics").rglob("*.csv"))
    assert T.main(["--metrics-csv", *map(str, metrics), "--profile", "fab",
                   "--out-dir", str(root / "tables")]) == 0
    return [str(root / "tables" / f"table{i}.csv") for i in range(1, 6)]


def _runs(root: Path) -> list[str]:
    return [str(p) for p in sorted((root / "runs" / "cityscapes").glob("*/seed*"))]


def _grid_args(root: Path, seed: int = 2) -> list[str]:
    return ["--translations", *[f"cityscapes:label2photo:{m}=" + str(
        root / "translations" / "cityscapes" / m / f"seed{seed}" / "label2photo")
        for m in ("pix2pix", "cyclegan")],
        "--data-root", f"cityscapes={root / 'data' / 'cityscapes'}"]


def test_cli_writes_every_figure_with_deterministic_names(tmp_path):
    _fabricate(tmp_path)
    out = tmp_path / "figures"
    rc = P.main(["--table", *_tables(tmp_path), "--run", *_runs(tmp_path), *_grid_args(tmp_path),
                 "--out-dir", str(out), "--n-images", "3"])
    assert rc == 0
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == ["grid_label2photo.png", "losses_cityscapes.png", "table1.png",
                     "table2.png", "table3.png", "table4.png", "table5.png"]
    for name in names:
        _png(out / name)
    assert not list(out.glob(".*.tmp"))
    # the grid shows the folders given (seed2: red/blue), never another seed (green)
    grid = _png(out / "grid_label2photo.png").astype(int)
    red = ((grid[..., 0] > 200) & (grid[..., 1] < 60) & (grid[..., 2] < 60)).sum()
    green = ((grid[..., 1] > 200) & (grid[..., 0] < 60) & (grid[..., 2] < 60)).sum()
    assert red > 500 and green == 0


def test_only_the_named_inputs_are_drawn(tmp_path):
    """A dropped run (not listed) is in no figure, even if its files are still on disk."""
    _fabricate(tmp_path)
    tables = _tables(tmp_path)
    runs = [r for r in _runs(tmp_path) if "pix2pix" not in r]
    logs = P.read_train_logs(runs, "cityscapes")
    assert set(logs.method) == {"cyclegan"}
    out = tmp_path / "figures"
    assert P.main(["--table", *tables[:2], "--out-dir", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == ["table1.png", "table2.png"]


def test_translations_order_and_key_errors(tmp_path):
    _fabricate(tmp_path)
    args = _grid_args(tmp_path)
    specs = args[1:3]
    src = P.parse_translations(specs)
    assert list(src) == [("cityscapes", "label2photo")]
    assert list(src[("cityscapes", "label2photo")]) == ["cyclegan", "pix2pix"]  # paper order
    assert P.parse_translations(["cityscapes:x2y:cyclegan=d"]) == {
        ("cityscapes", "label2photo"): {"cyclegan": Path("d")}}
    with pytest.raises(ValueError, match="TASK:DIRECTION:METHOD=DIR"):
        P.parse_translations(["cityscapes:label2photo=d"])
    with pytest.raises(ValueError, match="given twice"):
        P.parse_translations(specs + specs[:1])
    with pytest.raises(ValueError, match="unknown direction"):
        P.parse_translations(["cityscapes:map2photo:cyclegan=d"])
    with pytest.raises(ValueError, match="unknown task"):
        P.parse_translations(["mars:map2photo:cyclegan=d"])
    with pytest.raises(ValueError, match="--data-root cityscapes=DIR"):
        P.make_all([], tmp_path / "f", translations=specs)


def test_train_logs_long_form_and_step_fallback(tmp_path):
    _fabricate(tmp_path)
    logs = P.read_train_logs(_runs(tmp_path), "cityscapes")
    assert set(logs.term) == {"G_GAN", "cycle_x", "D_Y"}  # epoch/iter/lr/seconds are not losses
    assert set(logs.method) == {"cyclegan", "pix2pix"} and set(logs.seed) == {"0", "1"}
    assert logs.step.max() == 8
    assert P.read_train_logs(_runs(tmp_path), "maps").empty  # runs of another task
    # an iteration counter that restarts each epoch falls back to the log row index
    run = tmp_path / "runs2" / "anywhere"
    atomic_write_yaml(run / "config.resolved.yaml", {"task": "maps", "method": "cogan", "seed": 0})
    p = run / "train_log.csv"
    atomic_write_text(p, "epoch,iter,lr,seconds,G\n0,1,1,1,0.5\n0,2,1,1,0.4\n1,1,1,1,0.3\n")
    logs2 = P.read_train_logs([run], "maps")
    assert list(logs2.step) == [1, 2, 3] and set(logs2.method) == {"cogan"}
    atomic_write_text(p, "lr,G\n1,0.5\n")
    with pytest.raises(ValueError, match="train_log.csv.*epoch"):
        P.read_train_logs([run], "maps")
    with pytest.raises(FileNotFoundError, match="config.resolved.yaml"):
        P.read_train_logs([tmp_path / "nothing"], "maps")


def test_table_figure_marks_missing_values_not_zero_bars():
    rows = pd.DataFrame([dict(profile="fab", task="cityscapes", direction="label2photo",
                              method="cyclegan", seed=0, split="val", metric="per_pixel_acc",
                              value=0.4, n_images=4, evaluator="e", data_source="d",
                              substitutes="none", commit="c")])
    t2 = B.build_tables(rows, B.load_paper(), "fab")["table2"]
    fig = P.table_figure(t2, "table2")
    ax = fig.axes[0]  # per-pixel accuracy panel
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("n/a") == 6  # five methods + ground truth have no reproduced value
    heights = [p.get_height() for p in ax.patches]
    assert 0.4 in [round(h, 6) for h in heights] and 0.52 in [round(h, 6) for h in heights]
    P.plt.close(fig)


def test_missing_table_is_an_error(tmp_path, capsys):
    from cyclebench import cli

    with pytest.raises(FileNotFoundError, match="table1.csv"):
        P.main(["--table", str(tmp_path / "table1.csv"), "--out-dir", str(tmp_path / "f")])
    assert cli.main(["plots", "--table", str(tmp_path / "table1.csv"),
                     "--out-dir", str(tmp_path / "f")]) == 2
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
    t2 = B.build_tables(rows, B.load_paper(), "fab")["table2"]
    fig = P.table_figure(t2, "table2")
    title = fig._suptitle.get_text()
    assert "substitutes: Feature loss + GAN: feature_extractor=vgg16-random-init" in title
    assert "CycleGAN" not in title
    P.plt.close(fig)
    t2 = B.build_tables(rows.iloc[1:], B.load_paper(), "fab")["table2"]
    fig = P.table_figure(t2, "table2")
    assert "substitutes" not in fig._suptitle.get_text()  # the paper's setting: nothing named
    P.plt.close(fig)
