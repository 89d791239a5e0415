"""``cyclebench bench gpu-check`` logic on CPU with tiny networks (the GPU run is
`make gpu-check`): every mode trains from the same start, losses are checked, drift is
measured against fp32, and a bad request fails naming the value."""

import json

import pytest
import torch

from cyclebench import cli
from cyclebench.config import ConfigError
from cyclebench.cyclegan.gpu_check import SyntheticPairs, compare_losses, run_gpu_check

torch.set_num_threads(1)


def test_compare_losses_known_answers():
    ref = {"G": [1.0, 1.0, 2.0, 2.0], "D": [0.0, 0.0, 0.01, 0.03]}
    # second halves: G 2.0 vs 2.5 (rel 0.25); D 0.02 vs 0.04 (|diff| 0.02 / floor 0.05 = 0.4)
    other = {"G": [9.0, 9.0, 2.5, 2.5], "D": [5.0, 5.0, 0.04, 0.04]}
    assert compare_losses(ref, other) == pytest.approx(0.4)
    assert compare_losses(ref, ref) == 0.0
    with pytest.raises(ValueError, match="'D' missing"):
        compare_losses(ref, {"G": [1.0]})


def test_synthetic_pairs_are_cropped_flipped_and_deterministic():
    data = SyntheticPairs(4, 36, 32)
    a, b = data[1], data[1]
    assert a["x"].shape == (3, 32, 32) and torch.equal(a["x"], b["x"])
    assert float(a["x"].min()) >= -1.0 and float(a["x"].max()) <= 1.0


def test_every_mode_runs_and_is_compared_with_fp32_on_cpu():
    lines = []
    res = run_gpu_check(["tiny", "tiny_pix2pix"], ["fp32", "bf16", "channels_last", "compile"],
                        device="cpu", iters=4, warmup=1, workers=0, tolerance=1e9,
                        compile_backend="eager", print_fn=lines.append)
    assert [(r.config, r.mode) for r in res] == [
        (c, m) for c in ("tiny", "tiny_pix2pix") for m in ("fp32", "bf16", "channels_last",
                                                           "compile")]
    for r in res:
        assert r.status == "ok" and r.iters == 4 and r.seconds > 0
        assert all(len(v) == 4 for v in r.losses.values())
    fp32 = {r.config: r for r in res if r.mode == "fp32"}
    for r in res:
        if r.mode == "compile":  # the eager backend runs the same kernels: no drift at all
            assert r.max_rel_diff < 1e-6, (r.config, r.mode, r.max_rel_diff)
        if r.mode == "channels_last":  # other conv kernels, other rounding: small drift
            assert r.max_rel_diff < 0.25, (r.config, r.mode, r.max_rel_diff)
        if r.mode != "fp32":
            assert r.speedup == pytest.approx(fp32[r.config].seconds / r.seconds)
    assert "loss drift" in lines[1] and len(lines) == 2 + len(res)


def test_a_mode_that_drifts_is_marked_and_the_cli_exits_1(capsys):
    rc = cli.main(["bench", "gpu-check", "--device", "cpu", "--configs", "tiny", "--modes",
                   "fp32,bf16", "--iters", "4", "--warmup", "0", "--workers", "0",
                   "--tolerance", "0", "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["mode"] for r in rows] == ["fp32", "bf16"]
    assert rows[1]["status"].startswith("drift") and rc == 1


def test_bad_requests_are_named():
    with pytest.raises(ConfigError, match="unknown gpu-check config 'huge'"):
        run_gpu_check(["huge"], ["fp32"], device="cpu")
    with pytest.raises(ConfigError, match="needs the fp32 mode"):
        run_gpu_check(["tiny"], ["bf16"], device="cpu")
