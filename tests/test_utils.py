"""Shared utilities: atomic writes, seeding, image round trips, provenance."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import torch

from cyclebench import utils


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    utils.atomic_write_text(path, "one")
    utils.atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "a.txt"
    utils.atomic_write_text(path, "good")

    def boom(fh):
        fh.write(b"partial")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        utils._atomic_replace(path, boom)
    assert path.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_files_get_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        utils.atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_atomic_torch_save_roundtrip(tmp_path):
    obj = {"w": torch.arange(4.0), "step": 3}
    utils.atomic_torch_save(obj, tmp_path / "c.pt")
    back = torch.load(tmp_path / "c.pt", weights_only=True)
    assert back["step"] == 3 and torch.equal(back["w"], obj["w"])


def test_seed_everything_is_reproducible():
    utils.seed_everything(7)
    a = (torch.rand(3), np.random.rand(3))
    utils.seed_everything(7)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_image_roundtrip_and_errors(tmp_path):
    arr = (np.arange(4 * 5 * 3) % 256).astype(np.uint8).reshape(4, 5, 3)
    t = utils.uint8_to_tensor(arr)
    assert t.shape == (3, 4, 5) and float(t.min()) >= -1 and float(t.max()) <= 1
    assert np.array_equal(utils.tensor_to_uint8(t), arr)
    utils.save_png(arr, tmp_path / "x.png")
    assert np.array_equal(utils.load_rgb(tmp_path / "x.png"), arr)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="bad.png"):
        utils.load_rgb(tmp_path / "bad.png")
    with pytest.raises(ValueError, match="single-channel"):
        utils.load_label(tmp_path / "x.png")


def test_provenance_names_versions_and_device():
    info = utils.provenance(device="cpu", seed=3)
    assert info["seed"] == 3 and info["device"] == "cpu"
    assert info["packages"]["torch"].startswith("2.14.1")
    assert info["commit"]


def test_resolve_device():
    assert utils.resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            utils.resolve_device("cuda")


def test_openmp_wait_policy_is_passive_only_where_job_threads_outnumber_the_cores():
    from cyclebench.utils import openmp_wait_policy

    assert openmp_wait_policy(True, 16, 2, 8) == "PASSIVE"   # --cores 16 on 8 CPUs: oversubscribed
    assert openmp_wait_policy(True, 8, 2, 8) is None         # four 2-thread jobs, a core per thread
    assert openmp_wait_policy(True, 16, 1, 8) is None        # no worker threads to spin
    assert openmp_wait_policy(False, 16, 2, 8) is None       # cluster jobs: their own allocation
    assert openmp_wait_policy(True, None, 2, 8) is None      # cores unknown
