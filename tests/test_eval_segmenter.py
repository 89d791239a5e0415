"""The FCN evaluator: learns the synthetic task, is deterministic, saves/loads by id."""


import numpy as np
import pytest
import torch

from cyclebench.config import ConfigError
from cyclebench.utils import load_label
from cyclebench.datasets.prepare import prepare_synthetic
from cyclebench.cli import main
from cyclebench.config import EvaluatorConfig
from cyclebench.profile import eval_config, evaluator_config, validate_profile
from cyclebench.schema import defaults
from cyclebench.eval.rows import read_rows
from torchvision.models.vgg import cfgs, make_layers

from cyclebench.eval.segmenter.checkpoint import Evaluator, save_evaluator, weights_id
from cyclebench.eval.segmenter.networks import FCN8sVGG16, SmallFCN, build_network
from cyclebench.eval.segmenter.training import _TrainSet, fit

torch.set_num_threads(1)


def smoke_profile(results_dir, **evaluator):
    ev = {"arch": "small_fcn", "width": 16, "input_size": 32, "epochs": 30, "batch_size": 8,
          "lr": 0.002}
    ev.update(evaluator)
    return {
        "profile": "t", "results_dir": str(results_dir), "device": "cpu", "seeds": [0],
        "tasks": {"cityscapes": {"source": "synthetic", "n_train": 16, "n_val": 8, "size": 32,
                                 "full_size": [64, 128], "methods": ["cyclegan"]},
                  "maps": {"source": "synthetic", "n_train": 16, "n_val": 8, "size": 32,
                           "methods": ["cyclegan"]}},
        "evaluator": ev,
        "eval": {"upsample_to_full": False, "fid_extractor": "evaluator-features",
                 "kid_subset_size": 1000, "batch_size": 16},
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Smoke-sized synthetic data (16 train / 8 val at 32x32) and an evaluator trained on it."""
    res = tmp_path_factory.mktemp("res")
    profile = smoke_profile(res)
    prepare_synthetic("cityscapes", res / "t/data/cityscapes", 16, 8, 32, full_size=(64, 128))
    prepare_synthetic("maps", res / "t/data/maps", 16, 8, 32)
    validate_profile(profile)
    cfg_json = res / "evaluator.json"  # a file works as well as JSON text
    cfg_json.write_text(evaluator_config(profile).to_json())
    argv = ["--config-json", str(cfg_json), "--eval-config-json", eval_config(profile).to_json(),
            "--data-root", str(res / "t/data/cityscapes")]
    out = res / "t/evaluator/cityscapes"
    assert main(["evaluator", *argv, "--out", str(out)]) == 0
    return {"res": res, "profile": profile, "argv": argv, "eval_dir": out}


def evaluator_cfg(**values) -> EvaluatorConfig:
    """The schema's evaluator defaults with ``values`` over them."""
    return EvaluatorConfig.from_dict({**defaults("#/properties/evaluator"), **values})


def test_evaluator_learns_the_synthetic_task(trained):
    rows = {r["metric"]: r for r in read_rows(trained["eval_dir"] / "ground_truth.csv")}
    # chance level: always predicting the most frequent val class
    gt = np.concatenate([load_label(p).ravel() for p in
                         sorted((trained["res"] / "t/data/cityscapes/val/trainid").glob("*.png"))])
    gt = gt[gt != 255]
    majority = np.bincount(gt, minlength=19).max() / gt.size
    acc = rows["per_pixel_acc"]["value"]
    assert acc > majority + 0.2, (acc, majority)
    assert rows["class_iou"]["value"] > 2 * majority / 19  # constant prediction's class IoU
    r = rows["per_pixel_acc"]
    assert r["method"] == "ground_truth" and r["direction"] == "label2photo"
    assert r["data_source"] == "synthetic-cityscapes" and r["n_images"] == 8
    ev = Evaluator.load(trained["eval_dir"])
    assert r["evaluator"] == ev.label and ev.label.startswith("small_fcn@")
    assert len(rows) == 5 + 19
    assert (trained["eval_dir"] / "config.resolved.yaml").is_file()
    assert (trained["eval_dir"] / "train_log.csv").read_text().count("\n") == 31


def test_checkpoint_is_weights_only_and_id_is_verified(trained, tmp_path):
    path = trained["eval_dir"] / "evaluator.pt"
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["id"] == weights_id(ckpt["state_dict"], ckpt["config"])
    ckpt["state_dict"]["scores.0.bias"] += 1
    bad = tmp_path / "evaluator.pt"
    torch.save(ckpt, bad)
    with pytest.raises(ValueError, match="weights hash"):
        Evaluator.load(bad)
    with pytest.raises(FileNotFoundError, match="cyclebench evaluator"):
        Evaluator.load(tmp_path / "missing")


def test_training_is_deterministic(trained, tmp_path):
    out = tmp_path / "again"
    assert main(["evaluator", *trained["argv"], "--out", str(out)]) == 0
    assert Evaluator.load(out).id == Evaluator.load(trained["eval_dir"]).id


def test_maps_has_no_evaluator(trained, tmp_path, capsys):
    assert main(["evaluator", *trained["argv"], "--task", "maps", "--out", str(tmp_path)]) == 2
    assert "no segmentation labels" in capsys.readouterr().err


def test_small_fcn_shapes_any_size():
    net = SmallFCN(width=4).eval()
    for h, w in ((32, 32), (36, 52), (17, 23)):
        x = torch.zeros(2, 3, h, w)
        assert net(x).shape == (2, 19, h, w)
        assert net.pooled_features(x).shape == (2, 32)


def test_fcn8s_vgg16_forward_and_imagenet_conversion(tmp_path):
    torch.manual_seed(0)
    net = FCN8sVGG16(fc_channels=16).eval()
    assert net(torch.zeros(1, 3, 64, 64)).shape == (1, 19, 64, 64)
    assert net.pooled_features(torch.zeros(1, 3, 64, 64)).shape == (1, 512)
    # a fake torchvision vgg16 state dict: torchvision's own key layout, random values
    state = {f"features.{k}": torch.randn(v.shape)
             for k, v in make_layers(cfgs["D"]).state_dict().items()}
    assert len(state) == 26  # 13 conv layers
    state["classifier.0.weight"] = torch.randn(16, 512 * 7 * 7)
    state["classifier.0.bias"] = torch.randn(16)
    state["classifier.3.weight"] = torch.randn(16, 16)
    state["classifier.3.bias"] = torch.randn(16)
    net.load_vgg16_imagenet(state)
    assert torch.equal(net.block5[0].weight, state["features.24.weight"])
    assert torch.equal(net.block3[0].weight, state["features.0.weight"])
    assert torch.equal(net.fc[0].weight.flatten(1), state["classifier.0.weight"])
    assert torch.equal(net.fc[3].weight[:, :, 0, 0], state["classifier.3.weight"])
    # through the config: a path loads and is named; missing files fail clearly
    path = tmp_path / "vgg16.pth"
    torch.save(state, path)
    cfg = evaluator_cfg(arch="fcn8s_vgg16", imagenet_weights=str(path), input_size=64)
    loaded, name = build_network(cfg, fc_channels=16)
    assert name == "fcn8s_vgg16-imagenet"
    assert torch.equal(loaded.block4[0].weight, state["features.17.weight"])
    with pytest.raises(FileNotFoundError, match="imagenet_weights"):
        build_network(cfg.replace(imagenet_weights=str(tmp_path / "missing.pth")), fc_channels=16)
    assert build_network(cfg.replace(imagenet_weights=None), fc_channels=16)[1] \
        == "fcn8s_vgg16-scratch"


def test_fcn8s_auto_falls_back_to_scratch_by_name(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cfg = evaluator_cfg(arch="fcn8s_vgg16", imagenet_weights="auto", input_size=64)
    assert build_network(cfg, fc_channels=16)[1] == "fcn8s_vgg16-scratch"
    with pytest.raises(FileNotFoundError, match="vgg16-397923af.pth"):
        build_network(cfg.replace(imagenet_weights="torchvision"), fc_channels=16)


def test_config_errors_name_the_key(tmp_path):
    def bad(mutate):
        profile = smoke_profile(tmp_path)
        mutate(profile)
        with pytest.raises(ConfigError) as exc:
            validate_profile(profile, source="p.yaml")
        return str(exc.value)

    assert "evaluator.arch" in bad(lambda p: p["evaluator"].update(arch="unet"))
    assert "depth" in bad(lambda p: p["evaluator"].update(depth=3))
    assert "evaluator.epochs" in bad(lambda p: p["evaluator"].update(epochs="3"))
    assert "eval.fid_extractor" in bad(lambda p: p["eval"].update(fid_extractor="clip"))
    assert "eval.upsample_to_full" in bad(lambda p: p["eval"].update(upsample_to_full=1))
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['depth'\]"):
        EvaluatorConfig.from_dict({**evaluator_cfg(input_size=32).to_dict(), "depth": 3})
    with pytest.raises(ConfigError, match="'epochs' must be of type int"):
        EvaluatorConfig.from_dict({**evaluator_cfg(input_size=32).to_dict(), "epochs": "3"})
    profile = smoke_profile(tmp_path, lr=1, input_size=0)
    profile["tasks"]["cityscapes"]["size"] = 128
    cfg = evaluator_config(validate_profile(profile))
    assert cfg.lr == 1.0 and cfg.input_size == 128 and cfg.load_size == 144


def test_augmentation_crops_and_flips_consistently():
    photo = np.zeros((8, 8, 3), np.uint8)
    photo[:, :4] = 200  # left half bright
    label = np.zeros((8, 8), np.uint8)
    label[:, :4] = 5
    data = _TrainSet([photo], [label], load_size=8, crop=8, seed=0)  # no crop room: flips only
    flipped = 0
    for _ in range(40):
        x, y = data.batch(torch.tensor([0]))
        left_bright = bool(x[0, 0, 0, 0] > 0)
        assert left_bright == bool(y[0, 0, 0] == 5)  # photo and label flipped together
        flipped += not left_bright
    assert 5 < flipped < 35
    data = _TrainSet([photo], [label], load_size=12, crop=8, seed=0)
    x, y = data.batch(torch.tensor([0, 0]))
    assert x.shape == (2, 3, 8, 8) and y.shape == (2, 8, 8)
    assert ((x[:, 0] > 0) == (y == 5)).all()  # crops aligned between photo and label


def test_fcn8s_vgg16_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(2)]
    labels = [rng.integers(0, 19, (32, 32), dtype=np.uint8) for _ in range(2)]
    cfg = evaluator_cfg(arch="fcn8s_vgg16", input_size=32, load_size=32, epochs=1, batch_size=2)
    log = []
    net, name = fit(cfg, photos, labels, torch.device("cpu"), log, fc_channels=8)
    assert name == "fcn8s_vgg16-scratch" and len(log) == 1 and np.isfinite(log[0]["loss"])
    ev_id = save_evaluator(net, name, cfg, tmp_path / "evaluator.pt")
    ev = Evaluator.load(tmp_path)
    assert ev.label == f"fcn8s_vgg16-scratch@{ev_id}"
    pred = ev.segment(np.stack(photos), out_size=(40, 48))
    assert pred.shape == (2, 40, 48) and pred.dtype == np.uint8 and pred.max() < 19
