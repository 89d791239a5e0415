"""Loss compositions of the baselines, term by term, recomputed by hand on copies of the nets
taken before the step (CycleGAN paper Section 5.1.2; pix2pix Section 3; CoGAN Section 3)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F_nn

from cyclebench.profile import default_train_config
from cyclebench.registry import get_method

torch.set_num_threads(1)


def make(name: str, seed: int = 0, lr: float | None = None, **kw):
    params = kw.pop("method_params", {})
    spec = get_method(name)
    base = dict(crop_size=32, ngf=8, ndf=8, n_blocks=1, pool_size=4, seed=seed)
    base.update(kw)
    cfg = default_train_config(method=name, **base, method_params=spec.resolved_params(params))
    if lr is not None:  # lr 0 (frozen weights, outside the schema's bounds) for by-hand checks
        cfg = cfg.replace(lr=lr)
    torch.manual_seed(seed)
    m = spec.cls(cfg, torch.device("cpu"))
    m.set_epoch(0)
    return m


def batch(seed: int = 1, n: int = 2, size: int = 32):
    g = torch.Generator().manual_seed(seed)
    return {"x": torch.rand(n, 3, size, size, generator=g) * 2 - 1,
            "y": torch.rand(n, 3, size, size, generator=g) * 2 - 1}


def mse_to(pred, value):
    return ((pred - value) ** 2).mean()


def bce_to(pred, value):
    return F_nn.binary_cross_entropy_with_logits(pred, torch.full_like(pred, float(value)))


def test_simgan_d_step_is_one_pass_over_real_and_history():
    m = make("simgan")
    b = batch()
    seen = {"D_Y": [], "D_X": []}
    for d in seen:
        m.nets[d].register_forward_hook(
            lambda mod, inp, out, d=d: seen[d].append(inp[0].detach().clone()))
    m.train_step(b)
    # per direction: the G step's D(G(x)), then one D pass over [real target; pooled fake]
    for d, tgt in (("D_Y", b["y"]), ("D_X", b["x"])):
        assert [t.shape[0] for t in seen[d]] == [2, 4]
        assert torch.equal(seen[d][1][:2], tgt)
        assert torch.equal(seen[d][1][2:], seen[d][0])  # pool not full: the G step's fakes


@pytest.mark.parametrize("lam", [10.0, 3.0])
def test_simgan_losses_by_hand(lam):
    m = make("simgan", method_params={"lambda_self_reg": lam})
    b = batch()
    nets = {k: copy.deepcopy(v) for k, v in m.networks().items()}
    with torch.no_grad():
        expected = {}
        for g, d, src, tgt in (("G", "D_Y", b["x"], b["y"]), ("F", "D_X", b["y"], b["x"])):
            fake = nets[g](src)
            expected[f"{g}_adv"] = mse_to(nets[d](fake), 1.0)                  # (D(G(x)) - 1)^2
            expected[f"{g}_self_reg"] = lam * (src - fake).abs().mean()        # lambda ||x - G(x)||_1
            expected[d] = 0.5 * (mse_to(nets[d](tgt), 1.0) + mse_to(nets[d](fake), 0.0))
    got = m.train_step(b)
    assert set(got) == set(expected)
    for k in expected:
        torch.testing.assert_close(got[k], expected[k], rtol=1e-5, atol=1e-6, msg=k)
        assert got[k].dim() == 0 and not got[k].requires_grad


def test_feature_gan_losses_by_hand():
    m = make("feature_gan", method_params={"vgg_weights": "random-init", "lambda_feature": 2.0})
    b = batch()
    nets = {k: copy.deepcopy(v) for k, v in m.networks().items()}
    from cyclebench.baselines.vgg import VGG16Relu42

    vgg = VGG16Relu42("random-init")
    with torch.no_grad():
        expected = {}
        for g, d, src, tgt in (("G", "D_Y", b["x"], b["y"]), ("F", "D_X", b["y"], b["x"])):
            fake = nets[g](src)
            expected[f"{g}_adv"] = mse_to(nets[d](fake), 1.0)
            expected[f"{g}_feature"] = 2.0 * (vgg(src) - vgg(fake)).abs().mean()
            expected[d] = 0.5 * (mse_to(nets[d](tgt), 1.0) + mse_to(nets[d](fake), 0.0))
            # the feature term is not the pixel term
            assert not torch.isclose(expected[f"{g}_feature"], 2.0 * (src - fake).abs().mean())
    got = m.train_step(b)
    assert set(got) == set(expected)
    for k in expected:
        torch.testing.assert_close(got[k], expected[k], rtol=1e-5, atol=1e-6, msg=k)
    assert m.feature_extractor == "vgg16-random-init"
    assert m.substitutes == {"feature_extractor": "vgg16-random-init"}
    assert not any(p.requires_grad for p in m.vgg.parameters())


def test_feature_gan_gradient_flows_through_vgg_to_generator():
    m = make("feature_gan", method_params={"vgg_weights": "random-init"})
    b = batch()
    fake = m.nets["G"](b["x"])
    reg = m.regulariser(b["x"], fake)
    reg.backward()
    assert all(p.grad is not None for p in m.nets["G"].parameters())


def test_pix2pix_losses_by_hand():
    # lr = 0: the D update before the G step leaves D unchanged, so every term can be rebuilt
    m = make("pix2pix", lr=0.0)
    b = batch()
    nets = {k: copy.deepcopy(v) for k, v in m.networks().items()}
    torch.manual_seed(123)  # dropout masks: G's forward, then F's (D draws nothing)
    with torch.no_grad():
        fakes = {"G": nets["G"](b["x"]), "F": nets["F"](b["y"])}
        expected = {}
        for g, d, src, tgt in (("G", "D_Y", b["x"], b["y"]), ("F", "D_X", b["y"], b["x"])):
            fake = fakes[g]
            expected[d] = 0.5 * (bce_to(nets[d](torch.cat([src, fake], 1)), 0.0)
                                 + bce_to(nets[d](torch.cat([src, tgt], 1)), 1.0))
            expected[f"{g}_GAN"] = bce_to(nets[d](torch.cat([src, fake], 1)), 1.0)
            expected[f"{g}_L1"] = 100.0 * (fake - tgt).abs().mean()
    torch.manual_seed(123)
    got = m.train_step(b)
    assert set(got) == set(expected)
    for k in expected:
        torch.testing.assert_close(got[k], expected[k], rtol=1e-5, atol=1e-6, msg=k)


def test_pix2pix_updates_discriminator_before_generator():
    m = make("pix2pix")
    order = []
    for name in ("G", "D_Y", "F", "D_X"):
        opt = m.optimizers[name]
        orig = opt.step
        opt.step = (lambda orig=orig, name=name: (order.append(name), orig())[1])
    m.train_step(batch())
    assert order == ["D_Y", "G", "D_X", "F"]
    assert all(len(p) == 0 for p in (m.pools["D_X"].images, m.pools["D_Y"].images))  # no pool


def test_bigan_losses_by_hand_and_joint_pairs():
    m = make("bigan")
    b = batch()
    nets = {k: copy.deepcopy(v) for k, v in m.networks().items()}
    with torch.no_grad():
        enc = torch.cat([b["x"], nets["G"](b["x"])], 1)   # (x, G(x))
        dec = torch.cat([nets["F"](b["y"]), b["y"]], 1)   # (F(y), y)
        expected = {
            "G_adv": mse_to(nets["D"](enc), 0.0),  # G wants its pair labelled as a decoder pair
            "F_adv": mse_to(nets["D"](dec), 1.0),
            "D": 0.5 * (mse_to(nets["D"](enc), 1.0) + mse_to(nets["D"](dec), 0.0)),
        }
    seen = []
    m.nets["D"].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach().clone()))
    got = m.train_step(b)
    assert set(got) == set(expected)
    for k in expected:
        torch.testing.assert_close(got[k], expected[k], rtol=1e-5, atol=1e-6, msg=k)
    # D only ever sees 6-channel joint pairs: [X image, Y image]; G step: (x, G(x)) then
    # (F(y), y); D step: both pair histories in ONE pass (the pools are not full yet, so they
    # return the G step's pairs)
    assert [t.shape for t in seen] == [(2, 6, 32, 32), (2, 6, 32, 32), (4, 6, 32, 32)]
    assert torch.equal(seen[0][:, :3], b["x"]) and torch.equal(seen[1][:, 3:], b["y"])
    assert torch.equal(seen[2], torch.cat([seen[0], seen[1]], 0))
    # no cycle term: G's gradient comes only through D
    assert "cycle" not in " ".join(got)


def test_cogan_losses_by_hand():
    m = make("cogan", lr=0.0)
    b = batch()
    nets = {k: copy.deepcopy(v) for k, v in m.networks().items()}
    gen = torch.Generator()
    gen.set_state(m.z_generator.get_state())
    z = torch.rand(2, 100, generator=gen) * 2 - 1
    G, D = nets["G"], nets["D"]
    with torch.no_grad():
        fx, fy = G(z, "x"), G(z, "y")  # the SAME z feeds both generators
        expected = {
            "D_X": 0.5 * (bce_to(D(b["x"], "x"), 1.0) + bce_to(D(fx, "x"), 0.0)),
            "D_Y": 0.5 * (bce_to(D(b["y"], "y"), 1.0) + bce_to(D(fy, "y"), 0.0)),
            "G_X": bce_to(D(fx, "x"), 1.0),
            "G_Y": bce_to(D(fy, "y"), 1.0),
        }
    got = m.train_step(b)
    assert set(got) == set(expected)
    for k in expected:
        torch.testing.assert_close(got[k], expected[k], rtol=1e-5, atol=1e-6, msg=k)


def test_lr_schedule_applies_to_every_optimiser():
    """Every optimiser follows CycleGAN's shared schedule (``cyclegan.schedule.lr_factor``,
    whose per-epoch values are tested with that module)."""
    from cyclebench.cyclegan.schedule import lr_factor

    for name in ("simgan", "feature_gan", "pix2pix", "bigan", "cogan"):
        m = make(name, n_epochs=2, n_epochs_decay=3, lr=0.001,
                 method_params={"vgg_weights": "random-init"} if name == "feature_gan" else {})
        seen = set()
        for epoch in range(5):
            m.set_epoch(epoch)
            expected = 0.001 * lr_factor(epoch, 2, 3)
            seen.add(round(expected, 9))
            for opt in m.optimizers.values():
                for group in opt.param_groups:
                    assert group["lr"] == pytest.approx(expected), (name, epoch)
                    assert group["betas"] == (0.5, 0.999)
        assert len(seen) >= 3  # constant phase, then a linear decay
    m = make("cogan")
    assert all(g["weight_decay"] == 0.0005 for o in m.optimizers.values() for g in o.param_groups)
