"""CUT and FastCUT (Park et al., ECCV 2020): each detail of the official code, with known
answers (the trainer's resume and translation are covered in test_baselines_train.py)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from cyclebench.baselines.cut import (BlurDownsample, BlurUpsample, CUTDiscriminator,
                                      CUTGenerator, PatchHead, binomial_filter, patch_nce_loss)
from cyclebench.cyclegan.networks import ResnetBlock, count_parameters
from cyclebench.cyclegan.train import resolve_config
from cyclebench.datasets.torch_data import UnpairedDataset
from cyclebench.profile import default_train_config
from cyclebench.registry import get_method

torch.set_num_threads(1)


def _cfg(name, **kw):
    base = dict(method=name, crop_size=32, load_size=36, ngf=4, ndf=4, n_blocks=2,
                device="cpu", data_root="unused", n_epochs=4, n_epochs_decay=4)
    base.update(kw)
    return default_train_config(method_params=get_method(name).resolved_params(), **base)


def test_blur_filters_and_resampling_sizes():
    assert torch.allclose(binomial_filter(3), torch.tensor([[1., 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)
    assert torch.allclose(binomial_filter(4), torch.outer(*[torch.tensor([1., 3, 3, 1])] * 2) / 64)
    down, up = BlurDownsample(2), BlurUpsample(2)
    for h, want in ((256, 128), (255, 128), (127, 64)):
        assert down(torch.zeros(1, 2, h, h)).shape[-1] == want
    assert up(torch.zeros(1, 2, 16, 16)).shape[-2:] == (32, 32)
    c = torch.full((1, 2, 8, 8), 0.7)  # both filters keep a constant image constant
    assert torch.allclose(down(c), torch.full_like(down(c), 0.7))
    assert torch.allclose(up(c), torch.full_like(up(c), 0.7))
    assert not any(p.requires_grad for p in down.parameters())  # buffers, not weights


def test_generator_has_the_official_module_order_and_size():
    g = CUTGenerator(3, 3, 64, 9)
    assert len(g.model) == 32
    kinds = {0: nn.ReflectionPad2d, 4: nn.Conv2d, 8: nn.Conv2d, 12: ResnetBlock, 16: ResnetBlock}
    for i, kind in kinds.items():
        assert isinstance(g.model[i], kind), i
    assert g.model[4].stride == (1, 1) and g.model[4].kernel_size == (3, 3)
    assert isinstance(g.model[7], BlurDownsample) and isinstance(g.model[21], BlurUpsample)
    # the same parameter count as CycleGAN's resnet_9blocks (blur layers hold no weights)
    assert count_parameters(g) == 11_378_179
    small = CUTGenerator(3, 3, 8, 6)
    feats = small.encode(torch.zeros(1, 3, 64, 64), [0, 4, 8, 12, 16])
    assert [tuple(f.shape[1:]) for f in feats] == [(3, 70, 70), (16, 64, 64), (32, 32, 32),
                                                   (32, 16, 16), (32, 16, 16)]
    assert small(torch.zeros(1, 3, 64, 64)).shape == (1, 3, 64, 64)


def test_discriminator_is_the_antialiased_patchgan():
    d = CUTDiscriminator(3, 4, 3)
    assert d(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.stride == (1, 1) and c.kernel_size == (4, 4) for c in convs)
    assert sum(isinstance(m, BlurDownsample) for m in d.modules()) == 3


def test_patch_nce_known_answers():
    # every query and key the same unit vector, 256 patches: loss = log(256 + e^(-11/T))
    q = torch.zeros(256, 8)
    q[:, 0] = 1
    loss = patch_nce_loss(q, q.clone(), 0.07, 1)
    assert loss.shape == (256,)
    assert torch.allclose(loss, torch.full((256,), math.log(256 + math.exp(-11 / 0.07))))
    # orthonormal patches: positive 1/T against P - 1 zeros (the masked diagonal ~ 0)
    eye = torch.eye(8)
    want = -math.log(math.exp(1 / 0.07) / (math.exp(1 / 0.07) + 7 + math.exp(-10 / 0.07)))
    assert torch.allclose(patch_nce_loss(eye, eye, 0.07, 1), torch.full((8,), want), atol=1e-5)


def test_patch_nce_negatives_come_from_the_same_image_and_keys_are_detached():
    torch.manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(2 * 16, 8), dim=1).requires_grad_(True)
    k = torch.nn.functional.normalize(torch.randn(2 * 16, 8), dim=1).requires_grad_(True)
    both = patch_nce_loss(q, k, 0.07, 2)
    apart = torch.cat([patch_nce_loss(q[:16], k[:16], 0.07, 1),
                       patch_nce_loss(q[16:], k[16:], 0.07, 1)])
    assert torch.allclose(both, apart)
    both.sum().backward()
    assert q.grad is not None and k.grad is None


def test_head_is_lazy_samples_shared_locations_and_normalises():
    head = PatchHead(16)
    assert not head.created and sum(p.numel() for p in head.parameters()) == 0
    head.create([3, 5], gain=0.02)
    assert [m[0].in_features for m in head.mlps] == [3, 5]
    assert [m[2].out_features for m in head.mlps] == [16, 16]
    feats = [torch.randn(2, 3, 6, 6), torch.randn(2, 5, 4, 4)]
    np.random.seed(0)
    out, ids = head(feats, 10)
    assert [tuple(o.shape) for o in out] == [(20, 16), (20, 16)]  # 10 per image, batch-major
    out3, _ = head([torch.randn(2, 3, 2, 2)], 10)  # fewer locations than patches: all 4
    assert tuple(out3[0].shape) == (8, 16)
    norms = out[0].norm(dim=1)  # x / (||x|| + 1e-7): just below 1 for the tiny initial outputs
    assert (norms <= 1).all() and (norms > 0.99).all()
    again, _ = head(feats, 10, ids)  # the same locations for the queries
    assert all(torch.equal(a, b) for a, b in zip(out, again))


def test_cut_and_fastcut_options_and_schedules():
    cut, fast = get_method("cut").resolved_params(), get_method("fastcut").resolved_params()
    assert (cut["lambda_GAN"], cut["lambda_NCE"], cut["nce_idt"], cut["flip_equivariance"]) == \
        (1.0, 1.0, True, False)
    assert (fast["lambda_NCE"], fast["nce_idt"], fast["flip_equivariance"]) == (10.0, False, True)
    for p in (cut, fast):
        assert (p["nce_layers"], p["num_patches"], p["nce_T"], p["netF_nc"]) == \
            ([0, 4, 8, 12, 16], 256, 0.07, 256)
    # the profile's 4 + 4 epochs stand for CycleGAN's 100 + 100: CUT 200 + 200, FastCUT 150 + 50
    assert (resolve_config(_cfg("cut")).n_epochs, resolve_config(_cfg("cut")).n_epochs_decay) \
        == (8, 8)
    r = resolve_config(_cfg("fastcut", n_epochs=100, n_epochs_decay=100))
    assert (r.n_epochs, r.n_epochs_decay) == (150, 50)
    assert get_method("cut").group == "extra" and get_method("fastcut").group == "extra"


def test_no_image_pool_d_before_g_and_the_losses_reported():
    torch.manual_seed(0)
    np.random.seed(0)
    m = get_method("cut").cls(_cfg("cut"), torch.device("cpu"))
    assert all(p.pool_size == 0 for p in m.pools.values())
    assert not m.nets["H_G"].created
    m.set_epoch(0)
    x, y = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    losses = m.train_step({"x": x, "y": y})
    assert set(losses) == {"G_GAN", "G_NCE", "G_NCE_Y", "D_Y", "F_GAN", "F_NCE", "F_NCE_Y", "D_X"}
    assert m.nets["H_G"].created and "H_G" in m.optimizers and "H_F" in m.optimizers
    assert m.optimizers["H_G"].param_groups[0]["lr"] == pytest.approx(2e-4)
    fast = get_method("fastcut").cls(_cfg("fastcut"), torch.device("cpu"))
    fast.set_epoch(0)
    assert "G_NCE_Y" not in fast.train_step({"x": x, "y": y})


def test_flip_equivariance_flips_the_input_and_not_the_target():
    m = get_method("fastcut").cls(_cfg("fastcut"), torch.device("cpu"))
    G = m.nets["G"]
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    flips = []
    for seed in range(8):
        np.random.seed(seed)
        fake, idt, flipped = m._forward(G, x, x)
        want = G(torch.flip(x, [3])) if flipped else G(x)
        assert idt is None and torch.allclose(fake, want)
        flips.append(flipped)
    assert any(flips) and not all(flips)


def test_images_are_resized_to_the_crop_once_the_lr_decays(tmp_path):
    from cyclebench.datasets.prepare import prepare_synthetic

    prepare_synthetic("maps", tmp_path / "maps", 4, 2, 32)
    cfg = _cfg("cut", task="maps", data_root=str(tmp_path / "maps"))
    ds = UnpairedDataset(cfg.data_root, "maps", "train", cfg, full_view_from=8)
    rng = np.random.default_rng(0)
    assert ds.crop_params(rng, 7)[3] == 36 and ds.crop_params(rng, 8)[3] == 32
    left, top, _, load = ds.crop_params(rng, 9)
    assert (left, top, load) == (0, 0, 32)
    assert get_method("cut").cls.full_view_from_epoch(8) == 8
    assert get_method("cyclegan").cls.full_view_from_epoch(8) is None
