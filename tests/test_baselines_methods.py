"""Every baseline as a registered Method: training steps, both translation directions, exact
resume from ``state_dict``, weights-only inference state, one independent model per direction,
pix2pix test modes and CoGAN latent inversion."""

from __future__ import annotations

import copy
import io

import pytest
import torch

import cyclebench.baselines
from cyclebench.profile import default_train_config
from cyclebench.baselines.common import DIRECTION_NETS
from cyclebench.config import ConfigError
from cyclebench.registry import Method, get_method, registered_methods

torch.set_num_threads(1)

METHODS = ["cogan", "bigan", "simgan", "feature_gan", "pix2pix"]
SMALL = {"feature_gan": {"vgg_weights": "random-init"}, "cogan": {"inversion_steps": 10,
                                                                   "inversion_restarts": 2}}


def make(name: str, seed: int = 0, init_seed: int | None = None, **kw):
    params = dict(SMALL.get(name, {}))
    params.update(kw.pop("method_params", {}))
    spec = get_method(name)
    base = dict(crop_size=32, ngf=8, ndf=8, n_blocks=1, pool_size=2, seed=seed)
    base.update(kw)
    cfg = default_train_config(method=name, **base, method_params=spec.resolved_params(params))
    torch.manual_seed(seed if init_seed is None else init_seed)
    m = spec.cls(cfg, torch.device("cpu"))
    m.set_epoch(0)
    return m


def batch(seed: int, n: int = 1, size: int = 32):
    g = torch.Generator().manual_seed(seed)
    return {"x": torch.rand(n, 3, size, size, generator=g) * 2 - 1,
            "y": torch.rand(n, 3, size, size, generator=g) * 2 - 1}


def roundtrip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_all_baselines_registered_with_paper_names():
    paper = ["cogan", "bigan", "simgan", "feature_gan", "pix2pix"]  # the paper's order
    assert cyclebench.baselines.PAPER_BASELINES == paper
    assert cyclebench.baselines.__all__[:5] == paper
    names = registered_methods()
    for name in METHODS:
        assert name in names
        spec = get_method(name)
        assert issubclass(spec.cls, Method) and spec.cls.name == name
    assert get_method("pix2pix").cls.paired is True
    assert not any(get_method(n).cls.paired for n in METHODS if n != "pix2pix")


@pytest.mark.parametrize("name", METHODS)
def test_train_steps_finite_and_translate_both_directions(name):
    m = make(name)
    before = {k: [p.detach().clone() for p in v.parameters()] for k, v in m.networks().items()}
    for i in range(3):
        losses = m.train_step(batch(i, n=2))
        assert losses and all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
        assert all(not v.requires_grad for v in losses.values())
    for k, net in m.networks().items():  # every network was trained
        assert any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())), k
    x = batch(9, n=3)
    for direction, src in (("x2y", x["x"]), ("y2x", x["y"])):
        out = m.translate(src, direction)
        assert out.shape == (3, 3, 32, 32) and out.abs().max() <= 1 and torch.isfinite(out).all()
        assert not out.requires_grad
    assert all(net.training for net in m.networks().values())  # translate restores the mode
    with pytest.raises(ValueError):
        m.translate(x["x"], "label2photo")
    rows = m.sample_images(x)
    assert {"real_x", "fake_y", "real_y", "fake_x"} <= set(rows)


@pytest.mark.parametrize("name", METHODS)
def test_state_dict_resumes_exactly(name):
    a = make(name, pool_size=2)
    for i in range(4):  # fills the pools (size 2) so the swap branch is exercised
        a.train_step(batch(i, n=1))
    state = roundtrip(copy.deepcopy(a.state_dict()))  # checkpoints load with weights_only=True
    b = make(name, pool_size=2, init_seed=99)  # different init: the state must override it
    b.load_state_dict(state)
    for i in range(4, 6):
        torch.manual_seed(1000 + i)  # the trainer restores the global RNG; dropout uses it
        la = a.train_step(batch(i))
        torch.manual_seed(1000 + i)
        lb = b.train_step(batch(i))
        assert la.keys() == lb.keys()
        for k in la:
            assert torch.equal(la[k], lb[k]), (name, k)
    for k, net in a.networks().items():
        for (pn, pa), pb in zip(net.state_dict().items(), b.networks()[k].state_dict().values()):
            assert torch.equal(pa, pb), (name, k, pn)


@pytest.mark.parametrize("name", METHODS)
def test_inference_state_dict_is_weights_only_and_enough_to_translate(name):
    a = make(name)
    a.train_step(batch(0))
    payload = roundtrip(a.inference_state_dict())
    b = make(name, init_seed=7)
    b.load_inference_state_dict(payload)
    x = batch(5, n=2)
    for direction, src in (("x2y", x["x"]), ("y2x", x["y"])):
        assert torch.equal(a.translate(src, direction), b.translate(src, direction))
    if name != "cogan":  # translation needs only the generators
        assert set(payload) == {"G", "F"}
    else:
        assert set(payload) == {"G"}


@pytest.mark.parametrize("name", ["simgan", "feature_gan", "pix2pix"])
def test_one_independent_model_per_direction(name):
    m = make(name)
    b = batch(0)
    snap = {k: [p.detach().clone() for p in v.parameters()] for k, v in m.networks().items()}
    m.direction_step("x2y", b["x"], b["y"])
    changed = {k: any(not torch.equal(a, p) for a, p in zip(snap[k], v.parameters()))
               for k, v in m.networks().items()}
    assert changed == {"G": True, "D_Y": True, "F": False, "D_X": False}
    assert set(m.optimizers) == {"G", "D_Y", "F", "D_X"}
    for direction, (g, d) in DIRECTION_NETS.items():
        params = {id(p) for p in m.optimizers[g].param_groups[0]["params"]}
        assert params == {id(p) for p in m.nets[g].parameters()}


def test_param_errors_name_the_key():
    cfg = default_train_config(method="simgan", crop_size=32, ngf=8, ndf=8,
                      method_params={"lambda_selfreg": 1.0})  # bypasses the registry's check
    with pytest.raises(ConfigError, match="lambda_selfreg"):
        get_method("simgan").cls(cfg, torch.device("cpu"))
    with pytest.raises(ConfigError, match="test_mode"):
        make("pix2pix", method_params={"test_mode": "inference"})
    with pytest.raises(ConfigError, match="crop_size"):
        make("pix2pix", crop_size=48)
    with pytest.raises(ConfigError, match="crop_size"):
        make("cogan", crop_size=24)
    with pytest.raises(ConfigError, match="inversion_loss"):
        make("cogan", method_params={"inversion_loss": "l2"})
    with pytest.raises(ConfigError, match="inversion_steps"):
        make("cogan", method_params={"inversion_steps": -1})
    with pytest.raises(ConfigError, match="lambda_feature"):
        make("feature_gan", method_params={"lambda_feature": "big"})
    # pix2pix ignores the image pool (official pool_size 0)
    assert all(p.pool_size == 0 for p in make("pix2pix", pool_size=50).pools.values())
    assert all(p.pool_size == 50 for p in make("simgan", pool_size=50).pools.values())


# --- pix2pix test-time behaviour ---------------------------------------------------------------
def test_pix2pix_train_like_translation_is_deterministic_and_changes_nothing():
    m = make("pix2pix")
    for i in range(2):
        m.train_step(batch(i))
    assert m.params["test_mode"] == "train_like"
    G = m.nets["G"]
    buffers = {k: v.clone() for k, v in G.state_dict().items()}
    rng = torch.get_rng_state()
    x = batch(3, n=3)["x"]
    a, b = m.translate(x, "x2y"), m.translate(x, "x2y")
    assert torch.equal(a, b)  # dropout from a fixed seed
    assert torch.equal(torch.get_rng_state(), rng)  # the training RNG stream is untouched
    for k, v in G.state_dict().items():  # running statistics restored
        assert torch.equal(v, buffers[k]), k
    # batch size 1 as the official test script: an image's translation ignores its batch mates
    assert torch.equal(m.translate(x[1:2], "x2y"), a[1:2])
    # train-like = batch statistics + dropout: differs from cyclebench.eval mode (running stats, no dropout)
    m_eval = make("pix2pix", method_params={"test_mode": "eval"})
    m_eval.load_state_dict(m.state_dict())
    e = m_eval.translate(x, "x2y")
    assert not torch.allclose(e, a, atol=1e-3)
    G.train()
    torch.manual_seed(int(m.cfg.seed))
    with torch.no_grad():
        manual = G(x[:1])
    assert torch.allclose(manual, a[:1], atol=1e-6)  # = the generator run as in training


# --- CoGAN inversion ---------------------------------------------------------------------------
def test_cogan_inversion_reduces_reconstruction_error_and_is_deterministic():
    m = make("cogan", method_params={"inversion_steps": 60, "inversion_restarts": 3,
                                     "inversion_lr": 0.05})
    for i in range(2):
        m.train_step(batch(i, n=2))
    G = m.nets["G"]
    G.eval()
    with torch.no_grad():
        target = G(torch.rand(2, 100) * 1.6 - 0.8, "x")  # images the X generator can make
    G.train()
    params = [p.detach().clone() for p in G.parameters()]
    grads = [p.grad.clone() for p in G.parameters()]
    z0, err0 = m.invert(target, "x", steps=0)
    z1, err1 = m.invert(target, "x")
    assert z1.shape == (2, 100) and z1.abs().max() <= 1
    assert (err1 < 0.7 * err0).all(), (err0, err1)
    z2, err2 = m.invert(target, "x")
    assert torch.equal(z1, z2) and torch.equal(err1, err2)
    for p, g, q in zip(params, grads, G.parameters()):  # weights and their grads untouched
        assert torch.equal(p, q) and torch.equal(g, q.grad)
    # translation = render the inverted z with the other generator
    G.eval()
    with torch.no_grad():
        expected = G(z1, "y")
    G.train()
    torch.testing.assert_close(m.translate(target, "x2y"), expected)
    # an image's translation does not depend on its batch mates
    torch.testing.assert_close(m.translate(target[1:], "x2y"), expected[1:], atol=1e-5, rtol=0)
    # more restarts never end worse (the best start wins; start 0 is the same draw)
    m.params["inversion_restarts"] = 1
    _, err_one = m.invert(target, "x")
    assert (err1 <= err_one + 1e-7).all()


def test_cogan_translate_works_under_no_grad_and_keeps_rng():
    m = make("cogan")
    rng = torch.get_rng_state()
    with torch.no_grad():
        out = m.translate(batch(0, n=2)["y"], "y2x")
    assert out.shape == (2, 3, 32, 32)
    assert torch.equal(torch.get_rng_state(), rng)


def test_substitutes_name_what_replaces_the_papers_setting(tmp_path):
    fg = get_method("feature_gan").cls
    assert fg.substitutes({"vgg_weights": "random-init", "lambda_feature": 10.0}) == \
        {"feature_extractor": "vgg16-random-init"}
    assert fg.substitutes({"vgg_weights": "imagenet", "lambda_feature": 10.0}) == {}
    assert fg.substitutes({}) == {}  # absent key = the default, the paper's ImageNet VGG-16
    # a user file is never claimed to be the paper's network: it is named by its file name
    assert fg.substitutes({"vgg_weights": str(tmp_path / "w" / "my_vgg.pth")}) == \
        {"feature_extractor": "vgg16-file:my_vgg.pth"}
    with pytest.raises(ConfigError, match="feature_gan.vgg_weights"):
        fg.substitutes({"vgg_weights": 3})
    # the instance attribute is the classmethod's answer for the instance's params
    m = make("feature_gan")
    assert m.substitutes == fg.substitutes(m.params) == {"feature_extractor": "vgg16-random-init"}
    assert m.feature_extractor == "vgg16-random-init"
    # every registered method (variants included) at its paper defaults substitutes nothing;
    # the base class default is {}
    assert Method.substitutes({"anything": 1}) == {}
    for name in registered_methods():
        spec = get_method(name)
        assert spec.cls.substitutes(spec.resolved_params()) == {}, name


@pytest.mark.parametrize("name", ["cyclegan", *METHODS])
def test_bf16_autocast_and_channels_last_work_on_cpu(name):
    """The two speed options are not silently ignored on CPU: convolutions run in bf16 under
    amp_bf16, the networks are channels_last, and translations come back float32."""
    m = make(name, amp_bf16=True, channels_last=True)
    seen = []
    hooks = [mod.register_forward_hook(lambda mod, i, o: seen.append(o.dtype))
             for net in m.networks().values() for mod in net.modules()
             if isinstance(mod, torch.nn.Conv2d)]
    losses = m.train_step(batch(0))
    for h in hooks:
        h.remove()
    assert seen and set(seen) == {torch.bfloat16}
    assert all(torch.isfinite(v) for v in losses.values())
    conv = next(mod for net in m.networks().values() for mod in net.modules()
                if isinstance(mod, torch.nn.Conv2d) and mod.weight.shape[-1] > 1)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    out = m.translate(batch(1)["x"], "x2y")
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
