"""SimGAN baseline (Shrivastava et al., CVPR 2017), as used in the CycleGAN paper, Section 5.1.2.

"SimGAN: like us, Shrivastava et al. use an adversarial loss to train a translation from X
to Y.  The regularization term ||x - G(x)||_1 is used to penalize making large changes at pixel
level."  Everything else is CycleGAN's (Section 7): ResNet generator, 70x70 PatchGAN with
instance norm, least-squares GAN loss, Adam(2e-4, (0.5, 0.999)), the linear lr schedule, and
the history buffer of 50 refined images for the discriminator (SimGAN's own Section 2.3 idea,
which CycleGAN adopted).

Per direction (``x2y`` shown; ``y2x`` is the same with F, D_X and the roles of x, y swapped),
one iteration in CycleGAN's order (generator step with D frozen, then D step)::

    G_adv      = lsgan(D_Y(G(x)), real)                       # (D_Y(G(x)) - 1)^2
    G_self_reg = lambda_self_reg * mean |x - G(x)|            # self-regularisation
    G: minimise G_adv + G_self_reg
    D_Y        = 0.5 * (lsgan(D_Y(y), real) + lsgan(D_Y(pool(G(x))), fake))

``lambda_self_reg`` defaults to 10: the weight CycleGAN gives its own pixel L1 term (the cycle
loss, lambda = 10 against the same LSGAN term), so SimGAN differs from the CycleGAN setup by
exactly one thing -- the L1 compares G(x) with its input x instead of with F(G(x)).  SimGAN's
paper gives no single value that transfers (its lambda is tuned per dataset, on a sum-reduced
loss over tiny eye images).  x and G(x) live in different domains (both RGB, 3 channels), which
is why this term pulls translations towards their input: the behaviour the CycleGAN paper
reports for this baseline.

The paper trains one model per direction; :class:`SimGAN` holds the two independent models
(``G``/``D_Y`` for x2y, ``F``/``D_X`` for y2x: see ``baselines.common.DirectionalMethod``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_nn
from torch import nn

from cyclebench.baselines.common import DIRECTION_NETS, DirectionalMethod, require_number
from cyclebench.cyclegan.losses import lsgan_loss
from cyclebench.cyclegan.networks import PatchDiscriminator, ResnetGenerator
from cyclebench.gan import discriminator_loss, set_requires_grad
from cyclebench.registry import register_method


@register_method("simgan", display_name="SimGAN", group="baseline",
                 description="SimGAN: LSGAN + lambda * ||x - G(x)||_1, one model per direction")
class SimGAN(DirectionalMethod):
    """SimGAN (Section 5.1.2): adversarial loss plus L1 self-regularisation, per direction."""

    paired = False
    default_params = {
        "lambda_self_reg": 10.0,  # weight of mean |x - G(x)| (CycleGAN's L1 weight; see module doc)
    }
    reg_name = "self_reg"            # loss-term suffix: G_self_reg / F_self_reg
    lambda_key = "lambda_self_reg"   # the parameter weighting the regulariser

    def validate_params(self) -> None:
        require_number(self.params, self.lambda_key, self.name)

    def build_generator(self) -> nn.Module:
        return ResnetGenerator(3, 3, self.cfg.ngf, self.cfg.n_blocks)

    def build_discriminator(self) -> nn.Module:
        return PatchDiscriminator(3, self.cfg.ndf, n_layers=self.cfg.n_layers_d, norm="instance")

    def regulariser(self, src: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Unweighted self-regularisation distance: mean |src - fake| in pixels."""
        return F_nn.l1_loss(fake.float(), src.float())

    def generator_losses(self, D: nn.Module, src: torch.Tensor, fake: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        adv = lsgan_loss(D(fake), True)
        reg = float(self.params[self.lambda_key]) * self.regulariser(src, fake)
        return adv, reg

    def direction_step(self, direction: str, src: torch.Tensor, tgt: torch.Tensor
                       ) -> dict[str, torch.Tensor]:
        g_name, d_name = DIRECTION_NETS[direction]
        G, D = self.nets[g_name], self.nets[d_name]
        opt_G, opt_D = self.optimizers[g_name], self.optimizers[d_name]
        # Generator step, D frozen (CycleGAN order).
        set_requires_grad([D], False)
        opt_G.zero_grad(set_to_none=True)
        with self.autocast():
            fake = G(src)
            adv, reg = self.generator_losses(D, src, fake)
        (adv + reg).backward()
        opt_G.step()
        # Discriminator step on a real target image and a refined image from the history.
        set_requires_grad([D], True)
        opt_D.zero_grad(set_to_none=True)
        with self.autocast():
            fake_hist = self.pools[d_name].query(fake.detach())
            # real and fake in one D pass (instance-norm PatchGAN: per-sample, same values)
            loss_D = discriminator_loss(D, tgt, fake_hist, batched=True)
        loss_D.backward()
        opt_D.step()
        return {f"{g_name}_adv": adv, f"{g_name}_{self.reg_name}": reg, d_name: loss_D}
