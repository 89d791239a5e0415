"""Generator and discriminator architectures of CycleGAN (Zhu et al., ICCV 2017, Section 7.2).

* :class:`ResnetGenerator` -- the network of Johnson et al. as used by CycleGAN:
  ``c7s1-64, d128, d256, R256 x n_blocks, u128, u64, c7s1-3`` with reflection padding,
  ``InstanceNorm2d(affine=False, track_running_stats=False)``, ReLU and a tanh output.
  6 blocks for 128x128 images, 9 blocks for 256x256.  With ``ngf=64``: 7,837,699 parameters
  (6 blocks) and 11,378,179 (9 blocks), as the official ``resnet_6blocks``/``resnet_9blocks``.
* :class:`PatchDiscriminator` -- the 70x70 PatchGAN ``C64-C128-C256-C512`` (4x4 kernels,
  padding 1, LeakyReLU 0.2, no norm on C64, stride 1 on C512) followed by a 1-channel 4x4
  conv.  Convs followed by batch norm carry no bias (the norm's shift replaces it); convs
  followed by instance norm without affine parameters do (the official ``use_bias`` rule).
  With ``ndf=64``: 2,764,737 parameters (3 channels, instance norm) and 2,768,705
  (6 channels, batch norm: pix2pix's conditional discriminator).
* :func:`init_weights` -- conv/linear weights from N(0, gain), norm weights from N(1, gain),
  biases 0 (paper Section 7.1, official ``init_type='normal'``, gain 0.02).

Activations are out of place (the official code uses ``inplace=True``; same values): PyTorch's
instance norm returns a *view* of its output, so an in-place ReLU/LeakyReLU after it makes
autograd record ``CopySlices``/``AsStridedBackward`` nodes that clone the gradient in every
backward pass (about 3% of a CPU training step).

The baselines (``baselines/``) reuse these building blocks.
"""

from __future__ import annotations

import torch
from torch import nn


def _instance_norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def make_norm(kind: str, channels: int) -> nn.Module:
    """``"instance"`` (no affine, no running stats) or ``"batch"`` (affine, running stats)."""
    if kind == "instance":
        return _instance_norm(channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    raise ValueError(f"unknown norm {kind!r}; expected 'instance' or 'batch'")


class ResnetBlock(nn.Module):
    """``R<dim>``: two reflection-padded 3x3 convs with instance norm, plus the identity."""

    def __init__(self, dim: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=True), _instance_norm(dim),
            nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=True), _instance_norm(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's ResNet generator (paper Section 7.2): c7s1-64, d128, d256, R256 x n,
    u128, u64, c7s1-3, tanh.  Input and output in [-1, 1]; spatial size must be a multiple of 4."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64,
                 n_blocks: int = 9):
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, padding=0, bias=True),
            _instance_norm(ngf), nn.ReLU(),
        ]
        ch = ngf
        for _ in range(2):  # d128, d256
            layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1, bias=True),
                       _instance_norm(ch * 2), nn.ReLU()]
            ch *= 2
        layers += [ResnetBlock(ch) for _ in range(n_blocks)]
        for _ in range(2):  # u128, u64
            layers += [nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1, output_padding=1,
                                          bias=True),
                       _instance_norm(ch // 2), nn.ReLU()]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7, padding=0, bias=True),
                   nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """70x70 PatchGAN (paper Section 7.2; pix2pix Section 3.2.2): one real/fake score per
    overlapping patch, as raw logits/scores (no sigmoid: LSGAN uses MSE, pix2pix BCE-with-logits)."""

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3,
                 norm: str = "instance"):
        super().__init__()
        make_norm(norm, 1)  # validate the name early
        use_bias = norm == "instance"
        kw, padw = 4, 1
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, kw, stride=2, padding=padw),
                                   nn.LeakyReLU(0.2)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, kw, stride=2, padding=padw, bias=use_bias),
                       make_norm(norm, ndf * mult), nn.LeakyReLU(0.2)]
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, kw, stride=1, padding=padw, bias=use_bias),
                   make_norm(norm, ndf * mult), nn.LeakyReLU(0.2),
                   nn.Conv2d(ndf * mult, 1, kw, stride=1, padding=padw)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """Official ``init_type='normal'``: conv/linear weights ~ N(0, gain), biases 0;
    batch/instance norm weights (when affine) ~ N(1, gain), biases 0.  Returns ``net``."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Conv1d, nn.Conv3d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._NormBase):  # BatchNorm*d, InstanceNorm*d
            if m.weight is not None:
                nn.init.normal_(m.weight, 1.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def count_parameters(net: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad or not trainable_only)
