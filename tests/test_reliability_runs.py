"""Reliability of a training run (cyclegan/train.py, checkpoint.py, translate.py,
cyclebench/locks.py): poisoned weights / optimiser state never replace a good checkpoint;
a corrupt checkpoint.pt or model.pt gives one line naming the file and the remedy (and, with
--restart-on-change, a corrupt checkpoint is moved aside and the run starts over); two trainers
of one run directory exclude each other, and a stale lock file does not block."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from cyclebench.cli import main
from cyclebench.cyclegan.checkpoint import (CorruptCheckpointError, CorruptModelError,
                                            NonFiniteStateError, load_method, move_aside)
from cyclebench.cyclegan.model import CycleGAN
from cyclebench.cyclegan.translate import translate
from cyclebench.cyclegan.train import train
from cyclebench.locks import LockHeldError, file_lock

REPO = Path(__file__).resolve().parent.parent


# the same tiny task and run config as the trainer's own tests
from run_helpers import data_root, tiny  # noqa: E402,F401  (data_root: a fixture)


@pytest.fixture(scope="module")
def ref_run(data_root, tmp_path_factory):
    """An uninterrupted run of ``tiny(data_root)`` (6 iterations)."""
    run = tmp_path_factory.mktemp("ref") / "run"
    train(tiny(data_root), run, quiet=True)
    return run


def weights(run):
    return torch.load(run / "model.pt", weights_only=True)["weights"]


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for net in a:
        assert a[net].keys() == b[net].keys()
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), (net, k)


def one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg, msg
    return msg


def all_finite(state) -> bool:
    if isinstance(state, torch.Tensor):
        return not state.is_floating_point() or bool(torch.isfinite(state).all())
    if isinstance(state, dict):
        return all(all_finite(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return all(all_finite(v) for v in state)
    return True


# --- 7. poisoned weights / optimiser state ---------------------------------------------------
def _poison_after_step(monkeypatch, at: int, how):
    original = CycleGAN.train_step
    calls = {"n": 0}

    def step(self, batch):
        losses = original(self, batch)  # the losses of this step are finite ...
        calls["n"] += 1
        if calls["n"] == at:  # ... but its update leaves non-finite state behind
            with torch.no_grad():
                how(self)
        return losses

    monkeypatch.setattr(CycleGAN, "train_step", step)


def test_non_finite_weights_never_replace_the_good_checkpoint(data_root, ref_run, tmp_path,
                                                              monkeypatch):
    holder = {}

    def nan_weight(method):
        name, param = next(iter(method.G.named_parameters()))
        holder["name"] = name
        param[0].fill_(float("nan"))

    _poison_after_step(monkeypatch, 4, nan_weight)
    run = tmp_path / "run"
    with pytest.raises(NonFiniteStateError) as e:
        train(tiny(data_root), run, quiet=True)
    msg = one_line(e)
    assert "iteration 4" in msg and f"net 'G' tensor {holder['name']!r}" in msg
    assert "checkpoint.pt of iteration 2 is kept" in msg
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert ckpt["global_iter"] == 2 and all_finite(ckpt["method_state"])
    assert not (run / "model.pt").exists()
    # the kept checkpoint is good: resuming (without the fault) equals an uninterrupted run
    monkeypatch.undo()
    train(tiny(data_root), run, quiet=True)
    assert_same_weights(weights(ref_run), weights(run))


def test_non_finite_adam_state_is_named_by_parameter(data_root, tmp_path, monkeypatch):
    holder = {}

    def inf_adam(method):
        opt = method.optimizers["G"]
        p = opt.param_groups[0]["params"][0]
        holder["name"] = "G." + next(n for n, q in method.G.named_parameters() if q is p)
        opt.state[p]["exp_avg_sq"].fill_(float("inf"))

    _poison_after_step(monkeypatch, 2, inf_adam)
    run = tmp_path / "run"
    with pytest.raises(NonFiniteStateError) as e:
        train(tiny(data_root), run, quiet=True)
    msg = one_line(e)
    assert "iteration 2" in msg
    assert f"optimiser 'G' state 'exp_avg_sq' of parameter {holder['name']!r}" in msg
    assert "no checkpoint was written" in msg
    assert not (run / "checkpoint.pt").exists()


def test_a_poisoned_checkpoint_on_disk_is_refused_or_set_aside(data_root, ref_run, tmp_path):
    run = tmp_path / "run"
    train(tiny(data_root), run, max_iters=2, quiet=True)
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)  # as an older version wrote it
    first = next(iter(ckpt["method_state"]["nets"]["D_X"]))
    ckpt["method_state"]["nets"]["D_X"][first][...] = float("nan")
    torch.save(ckpt, run / "checkpoint.pt")
    with pytest.raises(CorruptCheckpointError) as e:
        train(tiny(data_root), run, quiet=True)
    msg = one_line(e)
    assert str(run / "checkpoint.pt") in msg and f"net 'D_X' tensor {first!r}" in msg
    assert "--restart-on-change" in msg
    train(tiny(data_root), run, quiet=True, restart_on_change=True)
    assert (run / "checkpoint.pt.corrupt-0").exists()
    assert_same_weights(weights(ref_run), weights(run))


def test_finite_check_runs_only_at_checkpoint_time(data_root, tmp_path, monkeypatch):
    from cyclebench.cyclegan import train as train_mod

    calls = []
    real = train_mod.check_finite_state
    monkeypatch.setattr(train_mod, "check_finite_state",
                        lambda *a, **k: (calls.append(a[2]), real(*a, **k)))
    train(tiny(data_root, checkpoint_every=4), tmp_path / "run", quiet=True)
    assert calls == [4, 6]  # not per iteration


# --- 8. corrupt checkpoint.pt / model.pt -----------------------------------------------------
def _damage(path, how):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"\x00garbage" * 50)
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "not-tensors":  # loads only with weights_only=False: must be refused
        torch.save(argparse.Namespace(config={}, method="cyclegan"), path)
    elif how == "missing-keys":
        torch.save({"format": 1}, path)


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty", "not-tensors",
                                 "missing-keys"])
def test_corrupt_model_gives_one_line_naming_the_file(ref_run, tmp_path, how, capsys,
                                                      monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.pt").write_bytes((ref_run / "model.pt").read_bytes())
    _damage(run / "model.pt", how)
    seen = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: (seen.append(k.get("weights_only")),
                                                        real_load(*a, **k))[1])
    with pytest.raises(CorruptModelError) as e:
        load_method(run)
    msg = one_line(e)
    assert str(run / "model.pt") in msg and "retrain" in msg and "delete" in msg
    assert "weights_only" not in msg
    assert seen and all(w is True for w in seen)  # never weights_only=False
    with pytest.raises(CorruptModelError):
        translate(run, "x2y", "val", tmp_path / "out")
    capsys.readouterr()
    assert main(["translate", "--run", str(run), "--direction", "x2y",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert str(run / "model.pt") in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("how", ["truncated", "garbage", "missing-keys"])
def test_corrupt_checkpoint_is_refused_with_the_remedy(data_root, tmp_path, how, capsys):
    cfg = tiny(data_root)
    run = tmp_path / "run"
    train(cfg, run, max_iters=2, quiet=True)
    _damage(run / "checkpoint.pt", how)
    damaged = (run / "checkpoint.pt").read_bytes()
    with pytest.raises(CorruptCheckpointError) as e:
        train(cfg, run, quiet=True)
    msg = one_line(e)
    assert str(run / "checkpoint.pt") in msg and "--restart-on-change" in msg
    assert "checkpoint.pt.corrupt-<n>" in msg and "weights_only" not in msg
    assert (run / "checkpoint.pt").read_bytes() == damaged  # left as it was
    assert not list(run.glob("checkpoint.pt.corrupt-*"))
    capsys.readouterr()
    assert main(["train", "--config-json", cfg.to_json(), "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--restart-on-change" in err


def test_corrupt_checkpoint_with_restart_is_moved_aside_and_the_run_starts_over(
        data_root, ref_run, tmp_path):
    cfg = tiny(data_root)
    run = tmp_path / "run"
    train(cfg, run, max_iters=2, quiet=True)
    _damage(run / "checkpoint.pt", "truncated")
    damaged = (run / "checkpoint.pt").read_bytes()
    # what the Snakemake rule runs: --restart-on-change
    assert main(["train", "--config-json", cfg.to_json(), "--out", str(run),
                 "--restart-on-change"]) == 0
    assert (run / "checkpoint.pt.corrupt-0").read_bytes() == damaged  # kept, never deleted
    assert_same_weights(weights(ref_run), weights(run))  # exactly a fresh run
    assert torch.load(run / "checkpoint.pt", weights_only=True)["global_iter"] == 6


def test_move_aside_never_overwrites(tmp_path):
    for i in range(3):
        (tmp_path / "checkpoint.pt").write_bytes(bytes([i]))
        assert move_aside(tmp_path / "checkpoint.pt").name == f"checkpoint.pt.corrupt-{i}"
    assert [(tmp_path / f"checkpoint.pt.corrupt-{i}").read_bytes() for i in range(3)] == \
        [b"\x00", b"\x01", b"\x02"]


# --- 9. one trainer per run directory --------------------------------------------------------
HOLDER = """import sys, time
from cyclebench.locks import file_lock
with file_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(lock, seconds=120.0):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock), str(seconds)],
                            stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_trainer_fails_at_once_and_a_dead_holder_does_not_block(data_root, tmp_path,
                                                                       capsys):
    cfg = tiny(data_root)
    run = tmp_path / "run"
    proc = _holder(run / ".lock")
    try:
        t0 = time.monotonic()
        with pytest.raises(LockHeldError) as e:
            train(cfg, run, quiet=True)
        assert time.monotonic() - t0 < 10  # fails at once, does not wait
        msg = one_line(e)
        assert f"process {proc.pid}" in msg and str(run / ".lock") in msg
        assert not (run / "config.resolved.yaml").exists()  # nothing written by the second
        capsys.readouterr()
        assert main(["train", "--config-json", cfg.to_json(), "--out", str(run)]) == 2
        err = capsys.readouterr().err
        assert str(proc.pid) in err and len(err.strip().splitlines()) == 1
    finally:
        proc.kill()  # the holder dies without releasing: its lock file stays behind
        proc.wait()
    assert (run / ".lock").read_text().strip() == str(proc.pid)
    train(cfg, run, quiet=True)  # the kernel dropped the dead holder's lock
    assert (run / "model.pt").exists()


def test_leftover_lock_file_without_holder_does_not_block(data_root, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text("999999999\n")  # a PID that does not exist
    train(tiny(data_root), run, max_iters=1, quiet=True)


class Killed(Exception):
    pass


def test_lock_is_released_when_train_fails(data_root, tmp_path):
    run = tmp_path / "run"

    def kill(it):
        raise Killed

    with pytest.raises(Killed):
        train(tiny(data_root), run, on_iteration=kill, quiet=True)
    with file_lock(run / ".lock"):  # free again
        pass


def test_waiting_lock_for_a_shared_cache(tmp_path):
    lock = tmp_path / "cache" / ".real-abc.lock"
    proc = _holder(lock, seconds=1.5)
    t0 = time.monotonic()
    try:
        with pytest.raises(LockHeldError, match=r"after waiting 0\.2 s"):
            with file_lock(lock, wait=True, timeout=0.2):
                pass
        with file_lock(lock, wait=True) as held:  # blocks until the holder exits
            assert held == lock and time.monotonic() - t0 > 1.0  # the holder had finished
            assert proc.wait(timeout=10) == 0
            assert lock.read_text().strip() == str(os.getpid())
    finally:
        proc.kill()
        proc.wait()
    with file_lock(None, wait=True) as held:  # None: no lock (caching off)
        assert held is None
