"""Pure losses, the image history buffer and the learning-rate schedule (paper Sections 3-4, 7.1)."""

from __future__ import annotations

import math

import pytest
import torch

from cyclebench.cyclegan.image_pool import ImagePool
from cyclebench.cyclegan.losses import bce_gan_loss, cycle_loss, identity_loss, lsgan_loss
from cyclebench.cyclegan.schedule import lr_factor, set_lr


def test_lsgan_known_values():
    pred = torch.tensor([[0.0, 2.0], [1.0, 3.0]])
    assert lsgan_loss(pred, True).item() == pytest.approx((1 + 1 + 0 + 4) / 4)
    assert lsgan_loss(pred, False).item() == pytest.approx((0 + 4 + 1 + 9) / 4)


def test_bce_known_values():
    pred = torch.tensor([0.0, 0.0])
    assert bce_gan_loss(pred, True).item() == pytest.approx(math.log(2))
    big = torch.tensor([50.0])  # stable on logits
    assert bce_gan_loss(big, True).item() == pytest.approx(0.0, abs=1e-6)
    assert bce_gan_loss(big, False).item() == pytest.approx(50.0, rel=1e-4)


def test_l1_losses_known_values():
    real = torch.zeros(1, 3, 2, 2)
    rec = torch.full((1, 3, 2, 2), -0.5)
    assert cycle_loss(real, rec).item() == pytest.approx(0.5)
    assert identity_loss(real, rec + 1.0).item() == pytest.approx(0.5)


def test_losses_do_not_call_backward():
    pred = torch.randn(4, requires_grad=True)
    lsgan_loss(pred, True)
    assert pred.grad is None


# --- image pool ----------------------------------------------------------------------------------
def _img(v):
    return torch.full((1, 1, 2, 2), float(v))


def test_pool_zero_is_passthrough():
    pool = ImagePool(0)
    x = torch.randn(3, 1, 2, 2)
    assert pool.query(x) is x and len(pool) == 0


def test_pool_fills_then_swaps_with_probability_half():
    pool = ImagePool(5, seed=123)
    for v in range(5):  # while not full: store and return the new image
        out = pool.query(_img(v))
        assert torch.equal(out, _img(v))
    assert sorted(t[0, 0, 0, 0].item() for t in pool.images) == [0, 1, 2, 3, 4]
    new_returned = old_returned = 0
    for v in range(5, 405):
        before = [t[0, 0, 0, 0].item() for t in pool.images]
        out = pool.query(_img(v))[0, 0, 0, 0].item()
        after = [t[0, 0, 0, 0].item() for t in pool.images]
        assert len(after) == 5
        if out == v:  # new image returned, pool unchanged
            new_returned += 1
            assert after == before
        else:  # an old image returned and replaced by the new one in its slot
            old_returned += 1
            assert out in before and out not in after and v in after
            idx = before.index(out)
            assert after[idx] == v and after[:idx] + after[idx + 1:] == before[:idx] + before[idx + 1:]
    assert new_returned + old_returned == 400
    assert 150 < old_returned < 250  # p = 0.5


def test_pool_batch_query_and_determinism_and_resume():
    a, b = ImagePool(4, seed=7), ImagePool(4, seed=7)
    seq = [torch.randn(3, 3, 4, 4) for _ in range(6)]
    outs_a = [a.query(x) for x in seq[:3]]
    outs_b = [b.query(x) for x in seq[:3]]
    assert all(torch.equal(p, q) for p, q in zip(outs_a, outs_b))
    assert outs_a[0].shape == (3, 3, 4, 4)
    state = a.state_dict()
    c = ImagePool(4, seed=999)
    c.load_state_dict(state)
    for x in seq[3:]:
        assert torch.equal(a.query(x), c.query(x))
    with pytest.raises(ValueError, match="pool size mismatch"):
        ImagePool(3).load_state_dict(state)


def test_pool_stores_detached_copies():
    pool = ImagePool(2)
    x = torch.zeros(1, 1, 2, 2, requires_grad=True)
    pool.query(x * 1.0)
    assert not pool.images[0].requires_grad


# --- learning-rate schedule --------------------------------------------------------------------
def test_lr_schedule_paper_100_plus_100():
    f = [lr_factor(e, 100, 100) for e in range(200)]
    assert all(v == 1.0 for v in f[:100])
    assert f[100] == pytest.approx(1 - 1 / 101)
    assert f[101] == pytest.approx(1 - 2 / 101)
    assert f[150] == pytest.approx(1 - 51 / 101)
    assert f[199] == pytest.approx(1 / 101)
    assert all(x > y for x, y in zip(f[99:], f[100:]))  # strictly decreasing during decay
    assert min(f) > 0  # every epoch trains


def test_lr_schedule_small_and_epoch_count():
    assert [lr_factor(e, 1, 1) for e in range(2)] == [1.0, 0.5]
    assert lr_factor(0, 100, 100, epoch_count=100) == pytest.approx(1 - 1 / 101)
    with pytest.raises(ValueError):
        lr_factor(-1, 1, 1)


def test_set_lr():
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1.0)
    set_lr(opt, 0.25)
    assert opt.param_groups[0]["lr"] == 0.25
