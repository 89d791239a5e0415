"""The pix2pix U-Net generator (Isola et al., CVPR 2017, Section 3.2.1 and Appendix 6.1.1).

The CycleGAN paper uses pix2pix as its paired "upper bound" (Section 5.1.2).  This module
rebuilds the official ``UnetGenerator`` / ``UnetSkipConnectionBlock`` of
junyanz/pytorch-CycleGAN-and-pix2pix (``models/networks.py``) layer for layer, so parameter
counts match exactly (``unet_256``, ngf=64: 54,413,955; ``unet_128``: 41,828,995):

- ``num_downs`` stride-2 4x4 convolutions (``unet_256``: 8, ``unet_128``: 7, in general
  log2(image size)), so the innermost feature map is 1x1;
- encoder: ``C64 - C128 - C256 - C512 - C512 - ...`` (LeakyReLU 0.2 before every conv but the
  first; batch norm after every conv except the first and the innermost);
- decoder: ReLU, 4x4 stride-2 transposed conv, batch norm (tanh instead at the outermost
  level); dropout 0.5 after the ``num_downs - 5`` decoder blocks directly above the innermost
  one (the ``ngf*8`` blocks), as in the official code;
- skip connections: every non-outermost block returns ``cat([input, block(input)])``; as in
  the official code its first LeakyReLU is in place, so the skip half carries
  ``LeakyReLU(input)`` (keep ``inplace=True`` there: it is part of the network's function);
- batch norm is affine with running statistics, so the convs it follows have no bias
  (the official ``use_bias = norm_layer == InstanceNorm2d`` rule); the outermost transposed
  conv keeps its bias.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class UnetSkipBlock(nn.Module):
    """One U-Net level: ``down -> submodule -> up``, concatenated with its input (skip)."""

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False,
                 innermost: bool = False, use_dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        input_nc = outer_nc if input_nc is None else input_nc
        # Batch norm follows these convs, so they carry no bias (official rule).
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=False)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = nn.BatchNorm2d(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = nn.BatchNorm2d(outer_nc)
        if outermost:
            if submodule is None:
                raise ValueError("the outermost U-Net block needs a submodule")
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            layers = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1,
                                        bias=False)
            layers = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            if submodule is None:
                raise ValueError("an intermediate U-Net block needs a submodule")
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1,
                                        bias=False)
            layers = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """pix2pix U-Net with ``num_downs`` downsamplings; input size must be divisible by 2**num_downs."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, num_downs: int = 8,
                 ngf: int = 64, use_dropout: bool = True) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"U-Net num_downs must be >= 5 (got {num_downs}); "
                             "the official design has 4 fixed outer levels plus the innermost")
        self.num_downs = num_downs
        block = UnetSkipBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):  # the ngf*8 levels: dropout 0.5 in their decoder
            block = UnetSkipBlock(ngf * 8, ngf * 8, submodule=block, use_dropout=use_dropout)
        block = UnetSkipBlock(ngf * 4, ngf * 8, submodule=block)
        block = UnetSkipBlock(ngf * 2, ngf * 4, submodule=block)
        block = UnetSkipBlock(ngf, ngf * 2, submodule=block)
        self.model = UnetSkipBlock(out_channels, ngf, input_nc=in_channels, submodule=block,
                                   outermost=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = 2 ** self.num_downs
        if x.shape[-1] % size or x.shape[-2] % size:
            raise ValueError(f"U-Net with num_downs={self.num_downs} needs an input size divisible "
                             f"by {size}; got {tuple(x.shape[-2:])}")
        return self.model(x)


def unet_num_downs(crop_size: int) -> int:
    """log2(crop_size): ``unet_256`` -> 8, ``unet_128`` -> 7, 32x32 -> 5 (innermost map 1x1)."""
    n = int(round(math.log2(crop_size))) if crop_size > 0 else 0
    if crop_size <= 0 or 2 ** n != crop_size or n < 5:
        raise ValueError(f"pix2pix U-Net needs crop_size to be a power of two >= 32 "
                         f"(unet_256, unet_128, ...); got crop_size={crop_size}")
    return n
