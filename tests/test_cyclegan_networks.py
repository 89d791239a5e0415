"""CycleGAN architectures (paper Section 7.2; official networks.py): sizes, layers, init."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cyclebench.cyclegan.networks import (PatchDiscriminator, ResnetBlock, ResnetGenerator, count_parameters,
                               init_weights)


@pytest.mark.parametrize("n_blocks, expected", [(6, 7_837_699), (9, 11_378_179)])
def test_generator_parameter_counts(n_blocks, expected):
    assert count_parameters(ResnetGenerator(3, 3, ngf=64, n_blocks=n_blocks)) == expected


def test_patchgan_parameter_counts():
    assert count_parameters(PatchDiscriminator(3, ndf=64, n_layers=3, norm="instance")) == 2_764_737
    # pix2pix's conditional discriminator: 6 input channels, batch norm, no bias before norms
    assert count_parameters(PatchDiscriminator(6, ndf=64, n_layers=3, norm="batch")) == 2_768_705


def _types(seq):
    return [type(m) for m in seq]


def test_generator_layer_sequence():
    g = ResnetGenerator(3, 3, ngf=8, n_blocks=3)
    layers = list(g.model)
    # c7s1-64
    assert _types(layers[:4]) == [nn.ReflectionPad2d, nn.Conv2d, nn.InstanceNorm2d, nn.ReLU]
    assert layers[0].padding == (3, 3, 3, 3)
    assert layers[1].kernel_size == (7, 7) and layers[1].padding == (0, 0)
    # d128, d256
    for conv, out_ch in ((layers[4], 16), (layers[7], 32)):
        assert isinstance(conv, nn.Conv2d)
        assert conv.kernel_size == (3, 3) and conv.stride == (2, 2) and conv.padding == (1, 1)
        assert conv.out_channels == out_ch
    blocks = [m for m in layers if isinstance(m, ResnetBlock)]
    assert len(blocks) == 3
    assert _types(blocks[0].block) == [nn.ReflectionPad2d, nn.Conv2d, nn.InstanceNorm2d, nn.ReLU,
                                       nn.ReflectionPad2d, nn.Conv2d, nn.InstanceNorm2d]
    ups = [m for m in layers if isinstance(m, nn.ConvTranspose2d)]
    assert [u.out_channels for u in ups] == [16, 8]
    for u in ups:
        assert (u.kernel_size, u.stride, u.padding, u.output_padding) == ((3, 3), (2, 2), (1, 1), (1, 1))
    # c7s1-3 + tanh
    assert _types(layers[-3:]) == [nn.ReflectionPad2d, nn.Conv2d, nn.Tanh]
    assert layers[-2].kernel_size == (7, 7) and layers[-2].out_channels == 3
    # every norm: instance norm without affine parameters or running statistics
    norms = [m for m in g.modules() if isinstance(m, nn.modules.batchnorm._NormBase)]
    assert norms and all(isinstance(n, nn.InstanceNorm2d) and not n.affine
                         and not n.track_running_stats for n in norms)
    # every conv has a bias; no zero padding anywhere in the convs except the strided ones
    convs = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(c.bias is not None for c in convs)


def test_generator_shape_and_range():
    torch.manual_seed(0)
    g = init_weights(ResnetGenerator(3, 3, ngf=8, n_blocks=2))
    out = g(torch.randn(2, 3, 32, 32) * 3)
    assert out.shape == (2, 3, 32, 32)
    assert out.abs().max() <= 1.0


def _receptive_field(convs):
    r = 1
    for c in reversed(convs):
        r = r * c.stride[0] + (c.kernel_size[0] - c.stride[0])
    return r


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_patchgan_layers(norm):
    d = PatchDiscriminator(3, ndf=8, n_layers=3, norm=norm)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32, 64, 1]
    assert all(c.kernel_size == (4, 4) and c.padding == (1, 1) for c in convs)
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    assert _receptive_field(convs) == 70
    layers = list(d.model)
    assert isinstance(layers[1], nn.LeakyReLU)  # C64: no norm
    slopes = {m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2}
    norm_cls = nn.InstanceNorm2d if norm == "instance" else nn.BatchNorm2d
    norms = [m for m in d.modules() if isinstance(m, nn.modules.batchnorm._NormBase)]
    assert len(norms) == 3 and all(type(n) is norm_cls for n in norms)
    # bias rule: first and last conv always; middle convs only with instance norm
    assert convs[0].bias is not None and convs[-1].bias is not None
    assert all((c.bias is not None) == (norm == "instance") for c in convs[1:-1])
    assert d(torch.randn(1, 3, 64, 64)).shape == (1, 1, 6, 6)


def test_unknown_norm_rejected():
    with pytest.raises(ValueError, match="unknown norm"):
        PatchDiscriminator(norm="group")


def test_init_statistics():
    torch.manual_seed(0)
    g = init_weights(ResnetGenerator(3, 3, ngf=64, n_blocks=6), gain=0.02)
    w = torch.cat([m.weight.flatten() for m in g.modules()
                   if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    assert abs(w.mean().item()) < 1e-3
    assert w.std().item() == pytest.approx(0.02, rel=0.02)
    assert all(torch.all(m.bias == 0) for m in g.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
    d = init_weights(PatchDiscriminator(6, ndf=64, norm="batch"), gain=0.02)
    bn_w = torch.cat([m.weight for m in d.modules() if isinstance(m, nn.BatchNorm2d)])
    bn_b = torch.cat([m.bias for m in d.modules() if isinstance(m, nn.BatchNorm2d)])
    assert bn_w.mean().item() == pytest.approx(1.0, abs=0.005)
    assert bn_w.std().item() == pytest.approx(0.02, rel=0.15)
    assert torch.all(bn_b == 0)
    lin = init_weights(nn.Linear(500, 400), gain=0.05)
    assert lin.weight.std().item() == pytest.approx(0.05, rel=0.02) and torch.all(lin.bias == 0)


def test_count_trainable_only():
    g = ResnetGenerator(3, 3, ngf=8, n_blocks=1)
    total = count_parameters(g)
    g.model[1].weight.requires_grad_(False)
    assert count_parameters(g, trainable_only=True) == total - g.model[1].weight.numel()


def _graph_nodes(t: torch.Tensor) -> set[str]:
    seen, todo, names = set(), [t.grad_fn], set()
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        names.add(type(fn).__name__)
        todo.extend(f for f, _ in fn.next_functions)
    return names


def test_backward_graph_has_no_view_copies():
    """In-place activations after instance norm (whose output is a view) make autograd clone
    the gradient (CopySlices/AsStridedBackward) in every backward: the nets must avoid them."""
    for net, channels in ((ResnetGenerator(3, 3, ngf=4, n_blocks=2), 3),
                          (PatchDiscriminator(3, ndf=4), 3),
                          (PatchDiscriminator(6, ndf=4, norm="batch"), 6)):
        names = _graph_nodes(net(torch.randn(1, channels, 32, 32)).sum())
        assert "CopySlices" not in names and "AsStridedBackward0" not in names, names
        assert any("Convolution" in n for n in names)  # the walk did reach the layers
