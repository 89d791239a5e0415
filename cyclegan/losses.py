"""Loss functions of CycleGAN (Zhu et al., ICCV 2017, Sections 3.1-3.3 and 5.2) and pix2pix.

Pure functions: they take tensors and return a 0-dim loss tensor; nothing here calls
``.backward()`` or holds state, so each term can be tested and weighted by the caller.

* :func:`lsgan_loss` -- least-squares GAN (Mao et al.), the paper's Section 7.1 choice:
  D minimises ``(D(real) - 1)^2 + D(fake)^2``; G minimises ``(D(G(x)) - 1)^2``.
* :func:`bce_gan_loss` -- the vanilla (cross-entropy) GAN on logits, used by pix2pix.
* :func:`cycle_loss` -- ``||F(G(x)) - x||_1`` (mean absolute error), Eq. 2.
* :func:`identity_loss` -- ``||G(y) - y||_1`` (Section 5.2, painting <-> photo).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def lsgan_loss(pred: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Mean squared error of the discriminator output to 1 (real) or 0 (fake)."""
    pred = pred.float()
    if target_is_real:
        return torch.mean((pred - 1.0) ** 2)
    return torch.mean(pred ** 2)


def bce_gan_loss(pred: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Binary cross-entropy with logits to 1 (real) or 0 (fake): pix2pix's vanilla GAN loss."""
    pred = pred.float()
    target = torch.ones_like(pred) if target_is_real else torch.zeros_like(pred)
    return F.binary_cross_entropy_with_logits(pred, target)


def cycle_loss(real: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """Cycle-consistency L1 (Eq. 2): mean ``|reconstructed - real|``."""
    return F.l1_loss(reconstructed.float(), real.float())


def identity_loss(real: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """Identity-mapping L1 (Section 5.2): mean ``|G(y) - y|``."""
    return F.l1_loss(same.float(), real.float())
