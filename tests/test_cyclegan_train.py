"""The shared trainer, translation, bench and CLI (cyclegan/train.py, checkpoint.py,
data_order.py, train_log.py, translate.py, bench.py, cli.py): outputs, exact resume, NaN stop,
data order, model.pt, translation names."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from torch.utils.data import DataLoader

from cyclebench.config import ConfigError
from cyclebench.cli import main
from cyclebench.cyclegan.bench import run_bench
from cyclebench.cyclegan.checkpoint import load_method
from cyclebench.cyclegan.data_order import RunBatchSampler, make_train_dataset
from cyclebench.cyclegan.model import CycleGAN
from cyclebench.cyclegan.train import NonFiniteLossError, train
from cyclebench.cyclegan.translate import translate


from run_helpers import data_root, tiny  # noqa: E402,F401  (data_root: a fixture)


def read_log(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def all_tensors(obj, prefix=""):
    """Flatten nested dicts/lists of tensors and primitives into {path: value}."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(all_tensors(v, f"{prefix}/{k}"))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(all_tensors(v, f"{prefix}/{i}"))
    else:
        out[prefix] = obj
    return out


def assert_same_state(a, b):
    ta, tb = all_tensors(a), all_tensors(b)
    assert ta.keys() == tb.keys()
    for k in ta:
        if isinstance(ta[k], torch.Tensor):
            assert torch.equal(ta[k], tb[k]), k
        else:
            assert ta[k] == tb[k], k


def test_train_writes_everything(data_root, tmp_path):
    out = tmp_path / "run"
    model = train(tiny(data_root), out, quiet=True)
    assert model == out / "model.pt"
    resolved = yaml.safe_load((out / "config.resolved.yaml").read_text())
    assert resolved["method"] == "cyclegan" and resolved["seed"] == 3
    assert resolved["method_params"] == {"lambda_gan": 1.0, "cycle_forward": True,
                                         "cycle_backward": True}
    assert {"commit", "packages", "device", "seed"} <= set(resolved["provenance"])
    rows = read_log(out / "train_log.csv")
    assert [int(r["iter"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [int(r["epoch"]) for r in rows] == [0, 0, 0, 1, 1, 1]
    assert [float(r["lr"]) for r in rows] == [2e-4] * 3 + [1e-4] * 3  # 1 + 1 epochs
    assert set(rows[0]) == {"epoch", "iter", "lr", "seconds", "G_gan_x2y", "G_gan_y2x",
                            "cycle_forward", "cycle_backward", "G", "D_X", "D_Y"}
    samples = sorted(p.name for p in (out / "samples").iterdir())
    assert samples == ["epoch000_iter0000003.png", "epoch001_iter0000006.png"]
    assert not list(out.glob(".*.tmp"))
    payload = torch.load(out / "model.pt", weights_only=True)
    assert payload["method"] == "cyclegan" and set(payload["weights"]) == {"G", "F"}
    assert payload["config"]["crop_size"] == 32
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["global_iter"] == 6 and ckpt["epoch"] == 2
    m = load_method(out, "cpu")
    x = torch.zeros(1, 3, 32, 32)
    assert torch.equal(m.translate(x, "x2y"),
                       load_method(out, "cpu").translate(x, "x2y"))


def test_log_means_over_window(data_root, tmp_path):
    out1, out3 = tmp_path / "a", tmp_path / "b"
    train(tiny(data_root), out1, quiet=True)
    train(tiny(data_root, log_every=3), out3, quiet=True)
    r1, r3 = read_log(out1 / "train_log.csv"), read_log(out3 / "train_log.csv")
    assert [int(r["iter"]) for r in r3] == [3, 6]
    mean = np.mean([float(r["cycle_forward"]) for r in r1[:3]])
    assert float(r3[0]["cycle_forward"]) == pytest.approx(mean, rel=1e-4)


class Killed(Exception):
    pass


def _kill_at(n):
    def hook(it):
        if it == n:
            raise Killed(f"simulated kill after iteration {it}")
    return hook


def test_resume_after_kill_equals_uninterrupted(data_root, tmp_path):
    cfg = tiny(data_root, n_epochs=2, n_epochs_decay=1, checkpoint_every=2, log_every=1)
    ref = tmp_path / "ref"
    train(cfg, ref, quiet=True)
    run = tmp_path / "run"
    with pytest.raises(Killed):  # killed after iteration 5: checkpoint of iteration 4 on disk
        train(cfg, run, on_iteration=_kill_at(5), quiet=True)
    assert torch.load(run / "checkpoint.pt", weights_only=True)["global_iter"] == 4
    assert not (run / "model.pt").exists()
    assert len(read_log(run / "train_log.csv")) == 5
    train(cfg, run, quiet=True)  # resume
    a = torch.load(ref / "checkpoint.pt", weights_only=True)
    b = torch.load(run / "checkpoint.pt", weights_only=True)
    assert_same_state(a["method_state"], b["method_state"])  # nets, Adam, image pools
    assert_same_state(a["rng"], b["rng"])
    assert_same_state(torch.load(ref / "model.pt", weights_only=True)["weights"],
                      torch.load(run / "model.pt", weights_only=True)["weights"])
    la, lb = read_log(ref / "train_log.csv"), read_log(run / "train_log.csv")
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert drop(la) == drop(lb)  # the rows logged before the kill after iter 4 were replaced


def test_max_iters_stop_and_resume_mid_epoch(data_root, tmp_path):
    cfg = tiny(data_root, checkpoint_every=100, log_every=2)
    ref = tmp_path / "ref"
    train(cfg, ref, quiet=True)
    run = tmp_path / "run"
    train(cfg, run, max_iters=2, quiet=True)  # mid-epoch, between log rows
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert (ckpt["global_iter"], ckpt["epoch"], ckpt["iter_in_epoch"]) == (2, 0, 2)
    train(cfg, run, max_iters=5, quiet=True)
    train(cfg, run, quiet=True)
    assert_same_state(torch.load(ref / "model.pt", weights_only=True)["weights"],
                      torch.load(run / "model.pt", weights_only=True)["weights"])
    assert [r["G"] for r in read_log(ref / "train_log.csv")] == \
        [r["G"] for r in read_log(run / "train_log.csv")]


def test_uninterrupted_runs_are_identical_and_seed_matters(data_root, tmp_path):
    train(tiny(data_root), tmp_path / "a", quiet=True)
    train(tiny(data_root), tmp_path / "b", quiet=True)
    train(tiny(data_root, seed=4), tmp_path / "c", quiet=True)
    wa, wb, wc = (torch.load(tmp_path / k / "model.pt", weights_only=True)["weights"]
                  for k in "abc")
    assert_same_state(wa, wb)
    assert not torch.equal(wa["G"]["model.1.weight"], wc["G"]["model.1.weight"])


def test_resume_with_changed_config_is_refused(data_root, tmp_path):
    run = tmp_path / "run"
    train(tiny(data_root), run, max_iters=2, quiet=True)
    with pytest.raises(ConfigError, match="lambda_cycle"):
        train(tiny(data_root, lambda_cycle=5.0), run, quiet=True)
    # the refusal leaves the run as it was: its resolved config still describes its checkpoint
    assert yaml.safe_load((run / "config.resolved.yaml").read_text())["lambda_cycle"] == 10.0
    train(tiny(data_root, log_every=2, threads=1), run, quiet=True)  # runtime keys may change


def test_changed_config_with_restart_supersedes_the_old_run(data_root, tmp_path):
    run = tmp_path / "run"
    train(tiny(data_root), run, max_iters=2, quiet=True)
    old_ckpt = (run / "checkpoint.pt").read_bytes()
    train(tiny(data_root, lambda_cycle=5.0), run, quiet=True, restart_on_change=True)
    kept = run / "superseded" / "0"
    assert (kept / "checkpoint.pt").read_bytes() == old_ckpt  # nothing computed is lost
    assert yaml.safe_load((kept / "config.resolved.yaml").read_text())["lambda_cycle"] == 10.0
    assert yaml.safe_load((run / "config.resolved.yaml").read_text())["lambda_cycle"] == 5.0
    ref = tmp_path / "ref"  # the restarted run equals a fresh run of the new config
    train(tiny(data_root, lambda_cycle=5.0), ref, quiet=True)
    assert_same_state(torch.load(ref / "model.pt", weights_only=True)["weights"],
                      torch.load(run / "model.pt", weights_only=True)["weights"])


def test_resume_drops_a_log_row_torn_by_a_kill(data_root, tmp_path):
    run = tmp_path / "run"
    train(tiny(data_root), run, max_iters=2, quiet=True)
    with open(run / "train_log.csv", "a") as fh:
        fh.write("0,3,0.0002,0.1,1.")  # a kill in the middle of a row (after the checkpoint)
    train(tiny(data_root), run, quiet=True)
    rows = read_log(run / "train_log.csv")
    assert [int(r["iter"]) for r in rows] == list(range(1, 7))


def test_nan_stops_with_iteration_and_term(data_root, tmp_path, monkeypatch):
    original = CycleGAN.generator_loss
    calls = {"n": 0}

    def poisoned(self, x, y):
        calls["n"] += 1
        total, terms, fx, fy = original(self, x, y)
        if calls["n"] == 5:
            terms["cycle_forward"] = terms["cycle_forward"] * float("nan")
            total = total + terms["cycle_forward"]
        return total, terms, fx, fy

    monkeypatch.setattr(CycleGAN, "generator_loss", poisoned)
    run = tmp_path / "run"
    with pytest.raises(NonFiniteLossError, match=r"iteration 5: term 'cycle_forward'"):
        train(tiny(data_root, log_every=3, checkpoint_every=2), run, quiet=True)
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert ckpt["global_iter"] == 4  # the last good checkpoint stays
    assert all(torch.isfinite(t).all() for t in all_tensors(ckpt["method_state"]["nets"]).values())
    assert not (run / "model.pt").exists()


def test_batch_sampler_order_is_pure_and_resumable():
    full = list(RunBatchSampler(7, 2, 3, seed=1, total_epochs=3))
    assert len(full) == 9 and all(len(b) == 2 for b in full)
    tail = list(RunBatchSampler(7, 2, 3, seed=1, total_epochs=3, start_epoch=1, start_iter=2))
    assert tail == full[5:]
    one_pass = list(RunBatchSampler(7, 2, 4, seed=1, total_epochs=1, one_pass=True))
    assert [len(b) for b in one_pass] == [2, 2, 2, 1]
    assert sorted(k[2] for b in one_pass for k in b) == list(range(7))  # a permutation
    other = list(RunBatchSampler(7, 2, 4, seed=1, total_epochs=2, one_pass=True))
    assert [k[2] for k in other[0]] != [k[2] for k in other[4]] or \
        [k[2] for b in other[:4] for k in b] != [k[2] for b in other[4:] for k in b]


def test_loader_identical_across_num_workers(data_root):
    cfg = tiny(data_root)
    ds = make_train_dataset(cfg, paired=False)
    def collect(workers):
        sampler = RunBatchSampler(len(ds), 2, 3, seed=0, total_epochs=2)
        loader = DataLoader(ds, batch_sampler=sampler, num_workers=workers,
                            generator=torch.Generator())
        return [b["x"] for b in loader] + [b["y"] for b in loader]
    a, b = collect(0), collect(2)
    assert len(a) == len(b) == 12 and all(torch.equal(p, q) for p, q in zip(a, b))


def test_translate_names_count_and_directions(data_root, tmp_path):
    run = tmp_path / "run"
    train(tiny(data_root), run, quiet=True)
    out = tmp_path / "tr"
    paths = translate(run, "label2photo", "val", out / "l2p")
    assert sorted(p.name for p in (out / "l2p").iterdir()) == ["c000.png", "c001.png", "c002.png"]
    assert len(paths) == 3
    with Image.open(paths[0]) as im:
        assert im.size == (32, 32) and im.mode == "RGB"
    translate(run, "y2x", "val", out / "p2l", batch_size=2)
    m = load_method(run, "cpu")
    src = np.asarray(Image.open(data_root / "val" / "photo" / "c001.png").convert("RGB"))
    x = torch.from_numpy(src.copy()).permute(2, 0, 1).float()[None] / 127.5 - 1
    expected = ((m.translate(x, "y2x")[0].clamp(-1, 1) + 1) * 127.5).round().byte()
    got = torch.from_numpy(np.array(Image.open(out / "p2l" / "c001.png"))).permute(2, 0, 1)
    assert torch.equal(got, expected)
    with pytest.raises(ConfigError, match="map2photo"):
        translate(run, "map2photo", "val", out / "bad")
    with pytest.raises(FileNotFoundError, match="test"):
        translate(run, "x2y", "test", out / "bad2")


def test_cli_train_translate_and_errors(data_root, tmp_path, capsys):
    cfg = tiny(data_root)
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg.to_dict()))
    run = tmp_path / "run"
    assert main(["train", "--config", str(cfg_path), "--out", str(run)]) == 0
    assert main(["translate", "--run", str(run), "--direction", "photo2label", "--split", "val",
                 "--out", str(tmp_path / "o")]) == 0
    assert len(list((tmp_path / "o").glob("*.png"))) == 3
    # the resolved config of a run is itself a valid --config (provenance is skipped)
    assert main(["train", "--config", str(run / "config.resolved.yaml"), "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["train", "--config-json", '{"data_root": "x", "bogus": 1}', "--out",
                 str(tmp_path / "e")]) == 2
    assert "bogus" in capsys.readouterr().err
    missing_data = cfg.replace(data_root="/no/such/dir").to_json()
    assert main(["train", "--config-json", missing_data, "--out", str(tmp_path / "e2")]) == 2
    err = capsys.readouterr().err
    assert "/no/such/dir" in err and "Traceback" not in err
    assert main(["translate", "--run", str(tmp_path / "norun"), "--direction", "x2y",
                 "--out", str(tmp_path / "o2")]) == 2
    assert main(["bench", "train", "--configs", "nope"]) == 2


def test_config_written_first_even_if_data_missing(tmp_path):
    with pytest.raises(FileNotFoundError):
        train(tiny(tmp_path / "missing"), tmp_path / "run", quiet=True)
    assert (tmp_path / "run" / "config.resolved.yaml").exists()


def test_op_category_known_names():
    from cyclebench.cyclegan.bench import op_category

    assert op_category("aten::convolution_backward") == "convolution (incl. transposed)"
    assert op_category("aten::mkldnn_convolution") == "convolution (incl. transposed)"
    assert op_category("aten::native_batch_norm_backward") == "instance/batch norm"
    assert op_category("aten::reflection_pad2d_backward") == "padding"
    assert op_category("aten::_fused_adam_") == "optimizer"
    assert op_category("Optimizer.step#Adam.step") == "optimizer"
    assert op_category("aten::threshold_backward") == "activations"
    assert op_category("aten::mse_loss") == "elementwise and reductions"
    assert op_category("aten::empty_strided") == "memory (copies, allocations)"
    assert op_category("autograd::engine::evaluate_function: ConvolutionBackward0") == "other"


def test_bench_profile_partitions_the_step(capsys):
    from cyclebench.cyclegan.bench import print_profile, profile_config

    r = profile_config("small", torch.device("cpu"), steps=1, warmup=1, top=5)
    cats = r["categories"]
    # self times partition the profiled ops: the categories add up to the total, once
    assert sum(v["ms"] for v in cats.values()) == pytest.approx(r["op_ms_per_step"], rel=1e-3)
    assert sum(v["fraction"] for v in cats.values()) == pytest.approx(1.0, abs=1e-3)
    # a CycleGAN step is convolutions first (>half of the op time at any size)
    assert next(iter(cats)) == "convolution (incl. transposed)"
    assert len(r["top_ops"]) == 5 and r["wall_ms_per_step"] > 0
    print_profile(r)
    assert "outside the ops" in capsys.readouterr().out


def test_bench_small(capsys):
    import json

    (r,) = run_bench(["small"], device="cpu", iters=1, warmup=1, repeats=2, as_json=True)
    assert r.iters_per_s > 0 and r.images_per_s == pytest.approx(r.iters_per_s)
    assert r.s_per_iter_min <= r.s_per_iter_median and len(r.block_seconds) == 2
    assert r.gflop_per_iter > 0 and r.matmul_peak_gflops > 0 and r.peak_memory_mib > 0
    assert r.achieved_gflops == pytest.approx(r.gflop_per_iter / r.s_per_iter_min)
    assert r.conv3x3_gflops > 0
    assert r.fraction_of_conv3x3 == pytest.approx(r.achieved_gflops / r.conv3x3_gflops)
    record = json.loads(capsys.readouterr().out.strip())
    assert record["config"] == "small" and record["fraction_of_peak"] > 0
    assert record["fraction_of_conv3x3"] > 0 and record["conv3x3_gflops"] > 0
    # every counted op is linear in the batch: two pairs per iteration, exactly twice the FLOPs
    (r2,) = run_bench(["small"], device="cpu", iters=1, warmup=0, repeats=1, batch_size=2)
    assert r2.gflop_per_iter == pytest.approx(2 * r.gflop_per_iter, rel=1e-9)
    assert "GFLOP/s" in capsys.readouterr().out


def test_bench_configs_all_is_every_configuration(monkeypatch):
    """`--configs all` benchmarks every configuration the bench knows, in its order."""
    import cyclebench.cyclegan.cli as cli
    from cyclebench.cyclegan.bench import CONFIGS

    seen = []
    monkeypatch.setattr(cli, "run_bench", lambda names, **kw: seen.append(list(names)))
    assert main(["bench", "train", "--configs", "all"]) == 0
    assert main(["bench", "train", "--configs", "small,128"]) == 0
    assert seen == [list(CONFIGS), ["small", "128"]]
    assert {"small", "default", "128", "256", "pix2pix"} <= set(CONFIGS)


def test_deterministic_cpu_training_skips_the_nan_fill_of_new_tensors(data_root, tmp_path,
                                                                       monkeypatch):
    """Deterministic algorithms stay on (exact resume), but their debugging fill of every new
    tensor with NaN (~3% of a CPU step, no effect on results) is off during training."""
    import torch.utils.deterministic as tud

    monkeypatch.setattr(tud, "fill_uninitialized_memory", True)
    seen = []
    train(tiny(data_root), tmp_path / "run", max_iters=1, quiet=True,
          on_iteration=lambda it: seen.append((torch.are_deterministic_algorithms_enabled(),
                                               tud.fill_uninitialized_memory)))
    assert seen == [(True, False)]
