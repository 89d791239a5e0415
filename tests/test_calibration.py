"""The colour-lookup calibration row: known answers for its table, its two statistics and its
place in the tables (a row when it has metrics, never a paper value, never ranked)."""

import io

import numpy as np
import pandas as pd
import pytest
import torch

from cyclebench.config import ConfigError
from cyclebench.datasets.palette import CLASS_COLORS
from cyclebench.profile import default_train_config
from cyclebench.registry import get_method
from cyclebench.baselines.colour_lookup import (N_BINS, ColourTable, bin_centres, colour_bins)
from cyclebench.eval.table_build import table_methods
from cyclebench.eval.table_specs import TABLES, is_extra


def to_unit(rgb):
    """uint8 colours (N x 3) -> N x 3 x 1 x 1 images in [-1, 1]."""
    return (torch.from_numpy(np.asarray(rgb, dtype=np.float32)) / 127.5 - 1).reshape(-1, 3, 1, 1)


def make(**params):
    cfg = default_train_config(method="colour_lookup", crop_size=8, load_size=8,
                               method_params=params, device="cpu")
    return get_method("colour_lookup").cls(cfg, torch.device("cpu"))


def test_bins_separate_every_train_id_colour_and_void():
    colours = [tuple(c) for c in CLASS_COLORS] + [(0, 0, 0)]
    bins = colour_bins(to_unit(colours)).reshape(-1)
    assert len(set(bins.tolist())) == len(colours) == 20
    assert int(bins.min()) >= 0 and int(bins.max()) < N_BINS
    # a bin's centre falls in that bin
    assert torch.equal(colour_bins(bin_centres().T.reshape(1, 3, N_BINS, 1)).reshape(-1),
                       torch.arange(N_BINS))


def test_mean_and_mode_known_answers():
    t = ColourTable()
    red, grey, white = (255, 0, 0), (128, 128, 128), (250, 250, 250)
    # three red input pixels map to grey, one to white
    t.add(to_unit([red, red, red, red]), to_unit([grey, grey, grey, white]))
    i = int(colour_bins(to_unit([red])))
    mean = t.table("mean")[i]
    want = (3 * to_unit([grey]).reshape(3) + to_unit([white]).reshape(3)) / 4
    assert torch.allclose(mean, want, atol=1e-6)
    assert torch.allclose(t.table("mode")[i], to_unit([grey]).reshape(3), atol=1e-6)
    # an unseen bin takes the entry of the nearest seen bin (here the only one)
    j = int(colour_bins(to_unit([(0, 0, 255)])))
    assert torch.equal(t.table("mean")[j], mean)


def test_labels_to_photo_paints_each_class_in_its_mean_photo_colour_and_back():
    m = make()
    labels = to_unit([CLASS_COLORS[0], CLASS_COLORS[2], CLASS_COLORS[10]]).reshape(1, 3, 1, 3)
    photo = to_unit([(100, 100, 100), (150, 120, 90), (130, 160, 230)]).reshape(1, 3, 1, 3)
    losses = m.train_step({"x": labels, "y": photo})
    assert set(losses) == {"x2y_bins_seen", "y2x_bins_seen"}
    assert torch.allclose(m.translate(labels, "x2y"), photo, atol=1e-6)
    assert torch.allclose(m.translate(photo, "y2x"), labels, atol=1e-6)  # mode: the label colour


def test_state_round_trip_and_parameter_errors():
    m = make()
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    m.train_step({"x": x, "y": -x})
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    buf.seek(0)
    other = make()
    other.load_state_dict(torch.load(buf, weights_only=True))
    assert torch.equal(m.translate(x, "x2y"), other.translate(x, "x2y"))
    with pytest.raises(ConfigError, match="colour_lookup.x2y must be one of mean, mode"):
        make(x2y="median")


def test_calibration_row_appears_only_with_rows_and_is_never_ranked():
    assert get_method("colour_lookup").group == "calibration" and is_extra("colour_lookup")
    spec = TABLES["table2"]
    empty = pd.DataFrame(columns=["task", "direction", "method"])
    assert "colour_lookup" not in table_methods(spec, empty)
    have = pd.DataFrame([{"task": "cityscapes", "direction": "label2photo",
                          "method": "colour_lookup"}])
    rows = table_methods(spec, have)
    assert rows.index("colour_lookup") == rows.index("pix2pix") + 1  # after the paper's rows
    assert rows[-1] == "ground_truth"
    assert "colour_lookup" in table_methods(TABLES["table4"], have)


def test_trainer_runs_the_fixed_epochs_whatever_the_profile_says(tmp_path):
    import yaml

    from cyclebench.cyclegan.checkpoint import load_method
    from cyclebench.cyclegan.train import train
    from run_helpers import tiny, write_task

    data = write_task(tmp_path / "data", n_train=4, n_val=2)
    cfg = tiny(data, method="colour_lookup", n_epochs=5, n_epochs_decay=5, iters_per_epoch=0)
    model = train(cfg, tmp_path / "run", quiet=True)
    resolved = yaml.safe_load((tmp_path / "run" / "config.resolved.yaml").read_text())
    assert (resolved["n_epochs"], resolved["n_epochs_decay"]) == (2, 0)
    log = (tmp_path / "run" / "train_log.csv").read_text().splitlines()
    assert log[-1].split(",")[1] == "8"  # 2 epochs x 4 pairs, batch 1
    method = load_method(model.parent, "cpu")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert method.translate(x, "x2y").shape == x.shape
