"""Baseline architectures: parameter counts, pix2pix U-Net details, CoGAN weight tying, VGG-16.

CycleGAN paper Section 5.1.2 (baselines), pix2pix Section 3.2 / official networks.py.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F_nn
import torchvision
from torch import nn

from cyclebench.profile import default_train_config
from cyclebench.baselines.cogan import CoupledDiscriminator, CoupledGenerator
from cyclebench.baselines.unet import UnetGenerator, UnetSkipBlock, unet_num_downs
from cyclebench.baselines.vgg import (IMAGENET_FILE, RELU4_2_INDEX, VGG16Relu42, extractor_name,
                           imagenet_weights_path)
from cyclebench.registry import get_method
from cyclebench.cyclegan.networks import count_parameters

torch.set_num_threads(1)


def make(name: str, **kw):
    params = kw.pop("method_params", {})
    spec = get_method(name)
    cfg = default_train_config(method=name, **kw, method_params=spec.resolved_params(params))
    torch.manual_seed(0)
    return spec.cls(cfg, torch.device("cpu"))


# --- pix2pix U-Net ------------------------------------------------------------------------------
@pytest.mark.parametrize("crop,expected", [(256, 54_413_955), (128, 41_828_995)])
def test_unet_parameter_counts_match_official(crop, expected):
    net = UnetGenerator(3, 3, unet_num_downs(crop), ngf=64)
    assert count_parameters(net) == expected


def test_unet_num_downs_is_log2_crop_and_rejects_other_sizes():
    assert unet_num_downs(256) == 8 and unet_num_downs(128) == 7 and unet_num_downs(32) == 5
    for bad in (0, 16, 100, 143):
        with pytest.raises(ValueError, match="crop_size"):
            unet_num_downs(bad)


def test_unet_dropout_batchnorm_bias_and_skips():
    net = UnetGenerator(3, 3, 8, ngf=8)
    drops = [m for m in net.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 3 and all(d.p == 0.5 for d in drops)  # the 3 ngf*8 levels above innermost
    # each dropout follows an ngf*8 decoder BN
    for block in net.modules():
        if hasattr(block, "model") and isinstance(block.model, nn.Sequential):
            layers = list(block.model)
            if isinstance(layers[-1], nn.Dropout):
                assert isinstance(layers[-2], nn.BatchNorm2d) and layers[-2].num_features == 64
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert m.affine and m.track_running_stats
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with_bias = [m for m in convs if m.bias is not None]
    assert len(with_bias) == 1 and isinstance(with_bias[0], nn.ConvTranspose2d)  # outermost up
    assert not any(isinstance(m, nn.Dropout) for m in UnetGenerator(3, 3, 8, 8, False).modules())
    # skip connections: a non-outermost block returns cat(input, block(input))
    blocks = [m for m in net.modules() if isinstance(m, UnetSkipBlock)]
    inner = [b for b in blocks if not any(isinstance(c, UnetSkipBlock) for c in b.model)]
    assert len(blocks) == 8 and len(inner) == 1
    x = torch.randn(2, 64, 2, 2)
    x0 = x.clone()
    out = inner[0].eval()(x)
    assert out.shape == (2, 128, 2, 2) and torch.equal(out[:, :64], x)
    # official quirk kept: the block's first LeakyReLU is in place, so the skip connection
    # carries LeakyReLU(input), not the raw input
    assert torch.equal(out[:, :64], F_nn.leaky_relu(x0, 0.2))
    assert not torch.equal(out[:, :64], x0)


def test_unet_output_shape_range_and_size_check():
    net = UnetGenerator(3, 3, 5, ngf=8).eval()
    out = net(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert out.shape == (2, 3, 32, 32) and out.abs().max() <= 1
    with pytest.raises(ValueError, match="divisible by 32"):
        net(torch.zeros(1, 3, 48, 40))


def test_pix2pix_method_uses_unet_and_conditional_batchnorm_patchgan():
    m = make("pix2pix", crop_size=32, ngf=8, ndf=64)
    assert isinstance(m.nets["G"], UnetGenerator) and m.nets["G"].num_downs == 5
    assert isinstance(m.nets["F"], UnetGenerator)
    for d in ("D_X", "D_Y"):
        assert count_parameters(m.nets[d]) == 2_768_705  # 6 channels, batch norm, ndf=64
        assert m.nets[d].model[0].in_channels == 6
        assert any(isinstance(x, nn.BatchNorm2d) for x in m.nets[d].modules())
    assert m.paired is True


# --- shared CycleGAN networks in the baselines ------------------------------------------------
@pytest.mark.parametrize("name", ["simgan", "feature_gan"])
def test_simgan_family_uses_cyclegan_networks(name):
    m = make(name, crop_size=128, ngf=64, ndf=64, n_blocks=6,
             method_params={"vgg_weights": "random-init"} if name == "feature_gan" else {})
    counts = {k: count_parameters(v) for k, v in m.networks().items()}
    assert counts == {"G": 7_837_699, "D_Y": 2_764_737, "F": 7_837_699, "D_X": 2_764_737}
    # the two directions share nothing
    ids = {k: {id(p) for p in v.parameters()} for k, v in m.networks().items()}
    assert not (ids["G"] | ids["D_Y"]) & (ids["F"] | ids["D_X"])


def test_bigan_networks_and_joint_discriminator():
    m = make("bigan", crop_size=256, ngf=64, ndf=64, n_blocks=9)
    counts = {k: count_parameters(v) for k, v in m.networks().items()}
    # ResNet-9 generators; the joint PatchGAN = the 3-channel one + 3 more input channels
    assert counts == {"G": 11_378_179, "F": 11_378_179, "D": 2_764_737 + 3 * 64 * 4 * 4}
    assert m.nets["D"].model[0].in_channels == 6


# --- CoGAN --------------------------------------------------------------------------------------
def test_cogan_generator_matches_cogan_face_architecture():
    g = CoupledGenerator(128, z_dim=100, ngf=64, separate_layers=1)
    chans = [m.out_channels for m in g.branch("x").modules()
             if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d))]
    assert chans == [1024, 512, 256, 128, 64, 32, 3]
    assert g(torch.rand(2, 100) * 2 - 1, "y").shape == (2, 3, 128, 128)
    d = CoupledDiscriminator(128, ndf=64, separate_layers=1)
    assert d(torch.zeros(3, 3, 128, 128), "x").shape == (3,)


@pytest.mark.parametrize("g_sep,d_sep", [(1, 1), (2, 2)])
def test_cogan_weight_tying(g_sep, d_sep):
    g = CoupledGenerator(32, z_dim=16, ngf=8, separate_layers=g_sep)
    d = CoupledDiscriminator(32, ndf=8, separate_layers=d_sep)
    gx, gy = g.branch("x"), g.branch("y")
    assert gx[0] is gy[0] is g.shared  # same module object
    shared_ids = {id(p) for p in g.shared.parameters()}
    assert shared_ids and shared_ids <= {id(p) for p in gx.parameters()}
    assert shared_ids <= {id(p) for p in gy.parameters()}
    assert len(g.heads["x"]) == g_sep and len(g.shared) == 5 - g_sep  # 32x32: 5 layers
    hx, hy = ({id(p) for p in g.heads[k].parameters()} for k in "xy")
    assert hx and hy and not hx & hy and not hx & shared_ids
    # D: separate FIRST layers, shared LAST layers
    assert len(d.heads["x"]) == d_sep and len(d.shared) == 4 - d_sep
    dx, dy = ({id(p) for p in d.heads[k].parameters()} for k in "xy")
    assert not dx & dy
    # a loss through domain x only reaches the shared layers and x's head
    g.zero_grad()
    g(torch.rand(2, 16), "x").mean().backward()
    assert all(p.grad is not None for p in g.shared.parameters())
    assert all(p.grad is None for p in g.heads["y"].parameters())
    d.zero_grad()
    d(torch.rand(2, 3, 32, 32), "y").sum().backward()
    assert all(p.grad is not None for p in d.shared.parameters())
    assert all(p.grad is None for p in d.heads["x"].parameters())


def test_cogan_rejects_bad_sizes():
    with pytest.raises(ValueError, match="power of two"):
        CoupledGenerator(48)
    with pytest.raises(ValueError, match="g_separate_layers"):
        CoupledGenerator(32, separate_layers=5)
    with pytest.raises(ValueError, match="d_separate_layers"):
        CoupledDiscriminator(32, separate_layers=0)


# --- VGG-16 relu4_2 ----------------------------------------------------------------------------
def test_vgg_matches_torchvision_features_and_loads_its_state_dict(tmp_path):
    torch.manual_seed(1)
    tv = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])  # vgg16.features
    path = tmp_path / "vgg16.pth"
    torch.save({f"features.{k}": v for k, v in tv.state_dict().items()}, path)
    ours = VGG16Relu42(str(path))
    assert len(ours.features) == RELU4_2_INDEX + 1
    assert isinstance(ours.features[RELU4_2_INDEX], nn.ReLU)
    assert isinstance(ours.features[RELU4_2_INDEX - 1], nn.Conv2d)  # conv4_2
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    ref = tv[: RELU4_2_INDEX + 1](((x + 1) / 2 - mean) / std)
    torch.testing.assert_close(ours(x), ref)
    assert ours(x).shape == (2, 512, 4, 4)
    assert not any(p.requires_grad for p in ours.parameters())
    assert ours.train().training is False
    assert ours.name == "vgg16-file:vgg16.pth"


def test_vgg_imagenet_missing_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert imagenet_weights_path() == tmp_path / "hub" / "checkpoints" / IMAGENET_FILE
    with pytest.raises(FileNotFoundError) as err:
        VGG16Relu42("imagenet")
    msg = str(err.value)
    assert str(tmp_path / "hub" / "checkpoints" / IMAGENET_FILE) in msg and "random-init" in msg
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        VGG16Relu42(str(tmp_path / "nope.pth"))
    bad = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="bad.pth"):
        VGG16Relu42(str(bad))


def test_vgg_random_init_is_fixed_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, b = VGG16Relu42("random-init"), VGG16Relu42("random-init")
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    w = a.features[0].weight
    assert abs(float(w.std()) - (2.0 / (64 * 9)) ** 0.5) < 0.02  # kaiming fan_out, as torchvision
    assert extractor_name("random-init") == "vgg16-random-init"
    assert extractor_name("imagenet") == "vgg16-imagenet"
