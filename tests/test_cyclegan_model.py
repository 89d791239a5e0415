"""CycleGAN method and its Section 5.1.4 ablations: objective terms proven through gradients,
official step order (G with D frozen, then halved D losses from the pools)."""

from __future__ import annotations

import copy

import pytest
import torch

from cyclebench.profile import default_train_config
from cyclebench.config import ConfigError
from cyclebench.registry import get_method
from cyclebench.cyclegan.losses import cycle_loss, identity_loss, lsgan_loss
from cyclebench.cyclegan.model import CycleGAN
from cyclebench.gan import discriminator_loss

VARIANTS = {  # name -> (lambda_gan, forward-cycle weight, backward-cycle weight) in paper terms
    "cyclegan": (1.0, 1.0, 1.0),
    "cycle_only": (0.0, 1.0, 1.0),
    "gan_only": (1.0, 0.0, 0.0),
    "gan_forward": (1.0, 1.0, 0.0),
    "gan_backward": (1.0, 0.0, 1.0),
}
EXPECTED_TERMS = {
    "cyclegan": {"G_gan_x2y", "G_gan_y2x", "cycle_forward", "cycle_backward"},
    "cycle_only": {"cycle_forward", "cycle_backward"},
    "gan_only": {"G_gan_x2y", "G_gan_y2x"},
    "gan_forward": {"G_gan_x2y", "G_gan_y2x", "cycle_forward"},
    "gan_backward": {"G_gan_x2y", "G_gan_y2x", "cycle_backward"},
}


def make(method="cyclegan", seed=0, **kw) -> CycleGAN:
    spec = get_method(method)
    cfg = default_train_config(method=method, seed=seed, ngf=4, ndf=4, n_blocks=1, crop_size=32,
                      pool_size=kw.pop("pool_size", 50), method_params=spec.resolved_params(),
                      **kw)
    torch.manual_seed(seed)
    return spec.cls(cfg, torch.device("cpu"))


def batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(1, 3, 32, 32, generator=g) * 2 - 1,
            torch.rand(1, 3, 32, 32, generator=g) * 2 - 1)


def gen_params(m):
    return list(m.G.parameters()) + list(m.F.parameters())


def reference_objective(m, x, y, w_gan, w_fwd, w_bwd, lam=10.0):
    """The paper's Eq. 3 written independently from the nets."""
    total = 0.0
    if w_gan:
        total = total + w_gan * (lsgan_loss(m.D_Y(m.G(x)), True) + lsgan_loss(m.D_X(m.F(y)), True))
    if w_fwd:
        total = total + lam * w_fwd * cycle_loss(x, m.F(m.G(x)))
    if w_bwd:
        total = total + lam * w_bwd * cycle_loss(y, m.G(m.F(y)))
    return total


def grads(loss, params):
    return torch.autograd.grad(loss, params, allow_unused=True)


def same_grads(a, b):
    """Equal up to float noise: relative L2 distance of the flattened gradients < 1e-4 (biases
    before instance norm get only round-off gradients, so element-wise checks are too noisy)."""
    flat = lambda gs, ref: torch.cat([(g if g is not None else torch.zeros_like(r)).flatten()
                                      for g, r in zip(gs, ref)])
    params = [g if g is not None else h for g, h in zip(a, b)]
    if any(p is None for p in params):
        return all(g is None and h is None for g, h in zip(a, b))
    va, vb = flat(a, params), flat(b, params)
    return bool((va - vb).norm() <= 1e-4 * max(vb.norm(), 1e-12))


def test_variants_registered_with_params():
    assert get_method("cyclegan").resolved_params() == {
        "lambda_gan": 1.0, "cycle_forward": True, "cycle_backward": True}
    assert get_method("cycle_only").resolved_params()["lambda_gan"] == 0.0
    assert get_method("gan_only").resolved_params() == {
        "lambda_gan": 1.0, "cycle_forward": False, "cycle_backward": False}
    assert get_method("gan_forward").resolved_params()["cycle_backward"] is False
    assert get_method("gan_backward").resolved_params()["cycle_forward"] is False
    for name in VARIANTS:
        spec = get_method(name)
        assert spec.cls is CycleGAN and not spec.cls.paired


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_variant_trains_exactly_its_terms(name):
    m = make(name)
    x, y = batch()
    for p in list(m.D_X.parameters()) + list(m.D_Y.parameters()):
        p.requires_grad_(False)
    loss, terms, _, _ = m.generator_loss(x, y)
    assert set(terms) == EXPECTED_TERMS[name]
    got = grads(loss, gen_params(m))
    expected = grads(reference_objective(m, x, y, *VARIANTS[name]), gen_params(m))
    assert same_grads(got, expected)
    # the test can fail: every other variant's objective has different gradients
    for other, weights in VARIANTS.items():
        if other != name:
            assert not same_grads(got, grads(reference_objective(m, x, y, *weights), gen_params(m)))


def test_gan_forward_backward_cycle_contributes_nothing():
    """In gan_forward the backward cycle G(F(y)) ~ y is never computed: F gets no gradient from
    y except through D_X, so G's gradient does not depend on y at all except via GAN(G(x))."""
    m = make("gan_forward")
    x, y = batch()
    loss, _, _, _ = m.generator_loss(x, y)
    g1 = grads(loss, list(m.G.parameters()))
    loss2, _, _, _ = m.generator_loss(x, -y)  # changing y changes only F's GAN term
    g2 = grads(loss2, list(m.G.parameters()))
    assert same_grads(g1, g2)
    full = make("cyclegan")
    l1, _, _, _ = full.generator_loss(x, y)
    l2, _, _, _ = full.generator_loss(x, -y)
    assert not same_grads(grads(l1, list(full.G.parameters())), grads(l2, list(full.G.parameters())))


def test_cycle_only_never_uses_discriminators():
    m = make("cycle_only")
    calls = []
    for d in (m.D_X, m.D_Y):
        d.register_forward_hook(lambda *a: calls.append(1))
    d_before = copy.deepcopy(m.state_dict()["nets"])
    g_before = [p.clone() for p in gen_params(m)]
    losses = m.train_step(dict(zip("xy", batch())))
    assert calls == []
    assert set(losses) == {"cycle_forward", "cycle_backward", "G"}
    for k in ("D_X", "D_Y"):
        for n, t in m.nets[k].state_dict().items():
            assert torch.equal(t, d_before[k][n])
    assert any(not torch.equal(a, b) for a, b in zip(g_before, gen_params(m)))


def test_generator_step_freezes_and_does_not_update_discriminators():
    m = make()
    x, y = batch()
    d_before = {k: copy.deepcopy(m.nets[k].state_dict()) for k in ("D_X", "D_Y")}
    g_before = [p.clone() for p in gen_params(m)]
    terms, fake_x, fake_y = m.optimize_generators(x, y)
    for k in ("D_X", "D_Y"):
        for n, p in m.nets[k].named_parameters():
            assert p.grad is None and not p.requires_grad
            assert torch.equal(p, d_before[k][n])
    assert all(not torch.equal(a, b) for a, b in zip(g_before, gen_params(m)) if a.numel() > 1)
    assert not fake_x.requires_grad and not fake_y.requires_grad
    # the D step then leaves the generators untouched
    g_after = [p.clone() for p in gen_params(m)]
    m.optimize_discriminators(x, y, fake_x, fake_y)
    assert all(torch.equal(a, b) for a, b in zip(g_after, gen_params(m)))
    assert all(p.requires_grad for p in m.D_X.parameters())


def test_discriminator_loss_is_halved_known_values():
    d = torch.nn.Identity()
    real = torch.full((1, 1, 2, 2), 3.0)  # (3 - 1)^2 = 4
    fake = torch.full((1, 1, 2, 2), 2.0)  # 2^2 = 4
    assert discriminator_loss(d, real, fake).item() == pytest.approx(4.0)


def test_train_step_returns_halved_d_losses_from_pre_step_nets():
    m = make(pool_size=0)
    x, y = batch()
    ref = copy.deepcopy(m)
    with torch.no_grad():
        fake_y, fake_x = ref.G(x), ref.F(y)
        exp_dy = 0.5 * (lsgan_loss(ref.D_Y(y), True) + lsgan_loss(ref.D_Y(fake_y), False))
        exp_dx = 0.5 * (lsgan_loss(ref.D_X(x), True) + lsgan_loss(ref.D_X(fake_x), False))
        exp_g = (lsgan_loss(ref.D_Y(fake_y), True) + lsgan_loss(ref.D_X(fake_x), True)
                 + 10 * cycle_loss(x, ref.F(fake_y)) + 10 * cycle_loss(y, ref.G(fake_x)))
    losses = m.train_step({"x": x, "y": y})
    assert losses["D_Y"].item() == pytest.approx(exp_dy.item(), rel=1e-5)
    assert losses["D_X"].item() == pytest.approx(exp_dx.item(), rel=1e-5)
    assert losses["G"].item() == pytest.approx(exp_g.item(), rel=1e-5)
    assert all(not v.requires_grad and v.dim() == 0 for v in losses.values())


def test_optimisers_match_paper():
    m = make()
    for opt in m.optimizers.values():
        assert isinstance(opt, torch.optim.Adam)
        assert opt.param_groups[0]["lr"] == 2e-4 and opt.param_groups[0]["betas"] == (0.5, 0.999)
    assert set(m.optimizers) == {"G", "D"}
    g_ids = {id(p) for p in m.optimizers["G"].param_groups[0]["params"]}
    assert g_ids == {id(p) for p in gen_params(m)}
    m.set_epoch(99)
    assert m.optimizers["D"].param_groups[0]["lr"] == 2e-4  # n_epochs=100 default: still flat
    m.set_epoch(100)
    assert m.optimizers["D"].param_groups[0]["lr"] == pytest.approx(2e-4 * (1 - 1 / 101))
    m.set_epoch(150)
    assert m.optimizers["G"].param_groups[0]["lr"] == pytest.approx(2e-4 * (1 - 51 / 101))


def test_identity_loss_weight():
    m = make(lambda_identity=0.5)
    x, y = batch()
    loss, terms, _, _ = m.generator_loss(x, y)
    assert {"idt_x2y", "idt_y2x"} <= set(terms)
    with torch.no_grad():
        idt = identity_loss(y, m.G(y)) + identity_loss(x, m.F(x))
    rest = reference_objective(m, x, y, 1.0, 1.0, 1.0)
    assert loss.item() == pytest.approx((rest + 0.5 * 10 * idt).item(), rel=1e-5)


def test_bad_params_rejected():
    spec = get_method("cyclegan")
    params = spec.resolved_params({"cycle_forward": "yes"})
    with pytest.raises(ConfigError, match="cycle_forward"):
        CycleGAN(default_train_config(ngf=4, ndf=4, n_blocks=1, method_params=params), torch.device("cpu"))
    zero = spec.resolved_params({"lambda_gan": 0, "cycle_forward": False, "cycle_backward": False})
    with pytest.raises(ConfigError, match="nothing to train"):
        CycleGAN(default_train_config(ngf=4, ndf=4, n_blocks=1, method_params=zero), torch.device("cpu"))


def test_state_dict_roundtrip_and_translate():
    a = make()
    x, y = batch()
    a.train_step({"x": x, "y": y})
    b = make(seed=5)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.translate(x, "x2y"), b.translate(x, "x2y"))
    assert torch.equal(a.translate(y, "y2x"), b.translate(y, "y2x"))
    assert set(a.inference_state_dict()) == {"G", "F"}
    assert a.G.training  # translate restores training mode
    with pytest.raises(ValueError, match="direction"):
        a.translate(x, "label2photo")


# --- speed properties of one iteration (official structure, no wasted passes) -------------------
EXPECTED_CALLS = {  # forward passes per train_step: G/F as in the official forward(), and each
    # D once in the G step plus once (real and pooled fake together) in the D step
    "cyclegan": {"G": 2, "F": 2, "D_X": 2, "D_Y": 2},      # G(x), G(F(y)); F(y), F(G(x))
    "gan_only": {"G": 1, "F": 1, "D_X": 2, "D_Y": 2},      # no reconstructions
    "gan_forward": {"G": 1, "F": 2, "D_X": 2, "D_Y": 2},   # F(G(x)) only
    "gan_backward": {"G": 2, "F": 1, "D_X": 2, "D_Y": 2},  # G(F(y)) only
    "cycle_only": {"G": 2, "F": 2, "D_X": 0, "D_Y": 0},
}


@pytest.mark.parametrize("name", list(EXPECTED_CALLS))
def test_one_iteration_runs_each_net_the_minimum_number_of_times(name):
    m = make(name, pool_size=0)
    x, y = batch()
    inputs = {k: [] for k in EXPECTED_CALLS[name]}
    for k in inputs:
        m.nets[k].register_forward_hook(
            lambda mod, inp, out, k=k: inputs[k].append(inp[0].detach().clone()))
    outputs = {}  # the first output of each generator

    def first_output(key):
        def hook(mod, inp, out):
            outputs.setdefault(key, out.detach().clone())
        return hook

    m.G.register_forward_hook(first_output("G(x)"))
    m.F.register_forward_hook(first_output("F(y)"))
    m.train_step({"x": x, "y": y})
    assert {k: len(v) for k, v in inputs.items()} == EXPECTED_CALLS[name]
    if m.train_d:
        # the D step reuses the G step's fakes (official: fake_B from forward(), detached):
        # D_Y's second pass is [y; G(x)] with G(x) from before the G update
        assert torch.equal(inputs["D_Y"][1], torch.cat([y, outputs["G(x)"]], 0))
        assert torch.equal(inputs["D_X"][1], torch.cat([x, outputs["F(y)"]], 0))


def test_batched_discriminator_loss_equals_separate_passes():
    m = make()
    x, y = batch()
    fake = m.G(x).detach()
    params = list(m.D_Y.parameters())
    sep = discriminator_loss(m.D_Y, y, fake)
    bat = discriminator_loss(m.D_Y, y, fake, batched=True)
    torch.testing.assert_close(bat, sep, rtol=1e-5, atol=1e-7)
    assert same_grads(grads(bat, params), grads(sep, params))
    # with batch norm a joint pass would differ: the default stays two passes
    bn = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.BatchNorm2d(2))
    real2, fake2 = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8) + 3
    by_hand = 0.5 * (lsgan_loss(bn(real2), True) + lsgan_loss(bn(fake2), False))
    torch.testing.assert_close(discriminator_loss(bn, real2, fake2), by_hand)
    assert not torch.isclose(discriminator_loss(bn, real2, fake2, batched=True), by_hand)


def test_optimisers_are_fused_adam_with_the_official_update():
    m = make()
    assert all(opt.defaults["fused"] for opt in m.optimizers.values())
    params = list(m.D_Y.parameters())
    ref_params = [p.detach().clone().requires_grad_(True) for p in params]
    ref = torch.optim.Adam(ref_params, lr=2e-4, betas=(0.5, 0.999))  # torch's default Adam
    opt = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999), fused=True)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        for p, q in zip(params, ref_params):
            p.grad = torch.randn(p.shape, generator=g)
            q.grad = p.grad.clone()
        opt.step()
        ref.step()
    for p, q in zip(params, ref_params):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-9)
