"""Every baseline through the shared trainer (``cyclegan.train``) on a tiny PNG dataset in the
contract layout (docs/CONTRACTS.md "Prepared data"): model.pt, logs, exact resume after an
interruption, and translation of both directions from the saved model."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cyclebench.profile import default_train_config
from cyclebench.config import TrainConfig
from cyclebench.tasks import get_task
from cyclebench.utils import load_rgb, save_png
from cyclebench.cyclegan.checkpoint import CHECKPOINT, LOG, MODEL, load_method
from cyclebench.cyclegan.train import train
from cyclebench.cyclegan.translate import translate

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parent.parent
METHODS = ["cogan", "bigan", "simgan", "feature_gan", "pix2pix", "cut", "fastcut"]
PARAMS = {"feature_gan": {"vgg_weights": "random-init"},
          "cogan": {"inversion_steps": 5, "inversion_restarts": 1}}
LOSS_COLUMNS = {
    "cogan": ["G_X", "G_Y", "D_X", "D_Y"],
    "bigan": ["G_adv", "F_adv", "D"],
    "simgan": ["G_adv", "G_self_reg", "D_Y", "F_adv", "F_self_reg", "D_X"],
    "feature_gan": ["G_adv", "G_feature", "D_Y", "F_adv", "F_feature", "D_X"],
    "pix2pix": ["G_GAN", "G_L1", "D_Y", "F_GAN", "F_L1", "D_X"],
    "cut": ["G_GAN", "G_NCE", "D_Y", "G_NCE_Y", "F_GAN", "F_NCE", "D_X", "F_NCE_Y"],
    "fastcut": ["G_GAN", "G_NCE", "D_Y", "F_GAN", "F_NCE", "D_X"],
}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """maps-like task: train/{map,photo}/NAME.png (same NAME = a pair), val likewise."""
    root = tmp_path_factory.mktemp("data") / "maps"
    task = get_task("maps")
    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("val", 3)):
        for i in range(n):
            base = rng.integers(0, 256, size=(36, 36, 3), dtype=np.uint8)
            save_png(base, root / split / task.x / f"{i:04d}.png")
            save_png(255 - base, root / split / task.y / f"{i:04d}.png")
    return root


def config(name: str, data_root: Path) -> TrainConfig:
    return default_train_config(profile="test", task="maps", method=name, seed=3, data_root=str(data_root),
                       load_size=36, crop_size=32, ngf=8, ndf=8, n_blocks=1, pool_size=2,
                       n_epochs=1, n_epochs_decay=1, iters_per_epoch=3, checkpoint_every=2,
                       log_every=1, method_params=dict(PARAMS.get(name, {})), device="cpu",
                       threads=1)


@pytest.mark.parametrize("name", METHODS)
def test_trains_resumes_and_translates_through_shared_trainer(name, data_root, tmp_path):
    cfg = config(name, data_root)
    full = tmp_path / "full"
    model = train(cfg, full, quiet=True)
    assert model == full / MODEL and model.exists() and (full / CHECKPOINT).exists()
    with (full / LOG).open() as fh:
        rows = list(csv.DictReader(fh))
    # 3 iterations per epoch over the method's schedule (CUT: 2 x CycleGAN's 1 + 1 epochs)
    assert len(rows) == 3 * {"cut": 4, "fastcut": 3}.get(name, 2)
    assert list(rows[0])[4:] == LOSS_COLUMNS[name]
    assert all(np.isfinite(float(r[c])) for r in rows for c in LOSS_COLUMNS[name])
    assert list((full / "samples").glob("*.png"))
    payload = torch.load(model, weights_only=True)  # tensors and primitives only
    assert payload["method"] == name

    # interrupted after 4 iterations, then resumed: identical weights at the end
    part = tmp_path / "part"
    train(cfg, part, max_iters=4, quiet=True)
    assert not (part / MODEL).exists()
    train(cfg, part, quiet=True)
    resumed = torch.load(part / MODEL, weights_only=True)["weights"]
    for net, sd in payload["weights"].items():
        for k, v in sd.items():
            assert torch.equal(v, resumed[net][k]), (name, net, k)

    # translation from model.pt, both directions, in memory and with cyclegan.translate
    method = load_method(full)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    for direction in ("x2y", "y2x"):
        out = method.translate(x, direction)
        assert out.shape == (2, 3, 32, 32) and torch.isfinite(out).all()
    task = get_task("maps")
    for direction in task.directions:
        written = translate(full, direction, "val", tmp_path / direction, data_root=data_root)
        src = sorted(p.name for p in (data_root / "val" / task.source_domain(direction)).glob("*.png"))
        assert sorted(p.name for p in written) == src
        assert load_rgb(written[0]).shape == (32, 32, 3)
    if name == "pix2pix":  # train_like test mode: the same translation twice
        again = translate(full, "map2photo", "val", tmp_path / "again", data_root=data_root)
        assert all(np.array_equal(load_rgb(a), load_rgb(b))
                   for a, b in zip(sorted((tmp_path / "map2photo").glob("*.png")), again))


def test_translate_cli(data_root, tmp_path):
    """``cyclebench translate`` (the command Snakemake runs) on a CoGAN run."""
    run = tmp_path / "run"
    train(config("cogan", data_root), run, quiet=True)
    out = tmp_path / "photo2map"
    res = subprocess.run([sys.executable, "-m", "cyclebench", "translate", "--run", str(run),
                          "--direction", "photo2map", "--split", "val", "--out", str(out),
                          "--data-root", str(data_root), "--threads", "1"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert sorted(p.name for p in out.glob("*.png")) == ["0000.png", "0001.png", "0002.png"]
