"""Learning-curve snapshots (``train.snapshots``) and the ``curves`` step: known answers."""

from __future__ import annotations

import pytest
import torch

from cyclebench.config import snapshot_epochs
from cyclebench.cyclegan.checkpoint import load_method, snapshot_path
from cyclebench.cyclegan.train import train
from cyclebench.eval.curves import best_vs_final, curve_table
from cyclebench.eval.rows import write_rows

from run_helpers import data_root, tiny  # noqa: F401  (data_root: a fixture)
from test_cyclegan_train import Killed, _kill_at, assert_same_state

torch.set_num_threads(1)


def test_snapshot_epochs_are_evenly_spaced_and_exclude_the_end():
    assert snapshot_epochs(8, 3) == [2, 4, 6]
    assert snapshot_epochs(200, 4) == [40, 80, 120, 160]
    assert snapshot_epochs(8, 0) == []
    assert snapshot_epochs(2, 3) == [1]  # too short a schedule: fewer points, no repeats
    assert snapshot_epochs(1, 2) == []


def test_snapshot_holds_the_weights_of_its_epoch_and_survives_a_kill(data_root, tmp_path):
    """The snapshot after epoch 2 of 3 equals the inference weights of a run stopped there;
    a run killed after the snapshot and resumed writes the same snapshot and model."""
    cfg = tiny(data_root, n_epochs=2, n_epochs_decay=1, snapshots=2, checkpoint_every=100)
    assert cfg.snapshot_epochs() == [1, 2]
    ref = tmp_path / "ref"
    train(cfg, ref, quiet=True)
    for e in (1, 2):
        snap = torch.load(snapshot_path(ref, e), weights_only=True)
        assert snap["epoch"] == e and snap["global_iter"] == 3 * e and snap["method"] == "cyclegan"
    stopped = tmp_path / "stopped"
    train(cfg, stopped, max_iters=6, quiet=True)  # the end of epoch 2: checkpoint, no model
    state = torch.load(stopped / "checkpoint.pt", weights_only=True)["method_state"]
    snap = torch.load(snapshot_path(ref, 2), weights_only=True)["weights"]
    for net, weights in snap.items():
        assert_same_state(weights, state["nets"][net])
    # a snapshot loads like model.pt, and translates with its own weights
    m = load_method(ref, "cpu", model_file=snapshot_path(ref, 1))
    assert m.cfg.snapshots == 2
    run = tmp_path / "run"
    with pytest.raises(Killed):  # after the epoch-1 snapshot, before any checkpoint
        train(cfg, run, on_iteration=_kill_at(4), quiet=True)
    assert snapshot_path(run, 1).exists() and not snapshot_path(run, 2).exists()
    train(cfg, run, quiet=True)  # no checkpoint on disk: starts over, same trajectory
    for e in (1, 2):
        assert_same_state(torch.load(snapshot_path(ref, e), weights_only=True)["weights"],
                          torch.load(snapshot_path(run, e), weights_only=True)["weights"])
    assert_same_state(torch.load(ref / "model.pt", weights_only=True)["weights"],
                      torch.load(run / "model.pt", weights_only=True)["weights"])


def test_a_model_written_before_snapshots_existed_still_loads(data_root, tmp_path):
    run = tmp_path / "run"
    train(tiny(data_root), run, quiet=True)
    payload = torch.load(run / "model.pt", weights_only=True)
    del payload["config"]["snapshots"]
    torch.save(payload, run / "model.pt")
    assert load_method(run, "cpu").cfg.snapshots == 0


def _rows(path, method, seed, values):
    rows = [{"profile": "t", "task": "cityscapes", "direction": "label2photo", "method": method,
             "seed": seed, "split": "val", "metric": m, "value": v, "n_images": 5,
             "evaluator": "e", "data_source": "synthetic-cityscapes", "substitutes": "none",
             "commit": "abc"} for m, v in values.items()]
    write_rows(path, rows)
    return path


def test_best_vs_final_picks_each_seeds_best_epoch(tmp_path):
    # seed 0: accuracy 0.2, 0.5, 0.4 and FID 30, 20, 25 at epochs 2, 4, 6 (6 = final)
    # seed 1: accuracy 0.3, 0.3, 0.6 and FID 40, 35, 10
    vals = {0: [(0.2, 30), (0.5, 20), (0.4, 25)], 1: [(0.3, 40), (0.3, 35), (0.6, 10)]}
    points = []
    for seed, series in vals.items():
        for epoch, (acc, fid) in zip((2, 4, 6), series):
            points.append((epoch, _rows(tmp_path / f"s{seed}e{epoch}.csv", "cyclegan", seed,
                                        {"per_pixel_acc": acc, "fid": fid, "kid_std": 0.1})))
    curves = curve_table(points)
    assert set(curves["metric"]) == {"per_pixel_acc", "fid"}  # headline metrics only
    assert len(curves) == 12
    t = best_vs_final(curves).set_index("metric")
    acc, fid = t.loc["per_pixel_acc"], t.loc["fid"]
    assert acc["final_mean"] == pytest.approx(0.5) and acc["best_mean"] == pytest.approx(0.55)
    assert acc["best_epochs"] == "4 6" and acc["best_minus_final"] == pytest.approx(0.05)
    assert acc["final_std"] == pytest.approx(0.1414, abs=1e-4)
    assert fid["final_mean"] == pytest.approx(17.5) and fid["best_mean"] == pytest.approx(15.0)
    assert fid["best_epochs"] == "4 6" and fid["final_epoch"] == 6


def test_a_point_given_twice_is_named(tmp_path):
    a = _rows(tmp_path / "a.csv", "cyclegan", 0, {"per_pixel_acc": 0.1})
    b = _rows(tmp_path / "b.csv", "cyclegan", 0, {"per_pixel_acc": 0.2})
    with pytest.raises(ValueError, match="cyclegan seed 0 at epoch 4"):
        curve_table([(4, a), (4, b)])


def test_curves_cli_writes_tables_markdown_and_one_figure_per_task(tmp_path):
    from cyclebench import cli

    argv = ["curves"]
    for seed in (0, 1):
        for epoch, acc in ((1, 0.2 + seed / 10), (2, 0.4)):
            path = _rows(tmp_path / f"{seed}_{epoch}.csv", "simgan", seed,
                         {"per_pixel_acc": acc, "class_iou": acc / 2, "fid": 20 - 5 * epoch})
            argv += ["--point", str(epoch), str(path)]
    out = tmp_path / "out"
    argv += ["--out", str(out / "c.csv"), "--best-vs-final", str(out / "b.csv"),
             "--markdown", str(out / "b.md"), "--figure", f"cityscapes={out / 'cs.png'}"]
    assert cli.main(argv) == 0
    md = (out / "b.md").read_text()
    assert "| simgan |" in md and "## cityscapes: label2photo" in md
    assert "inflates" in md
    assert (out / "cs.png").read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["curves", "--point", "x", str(tmp_path / "0_1.csv"), "--out", "a",
                     "--best-vs-final", "b"]) == 2
