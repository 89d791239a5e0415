"""BiGAN / ALI baseline (Donahue et al., ICLR 2017; Dumoulin et al., ICLR 2017), as adapted by
the CycleGAN paper, Section 5.1.2: "BiGAN/ALI: unconditional GANs learn a generator G: Z -> X
that maps random noise z to image x.  The BiGAN and ALI propose to also learn the inverse
mapping function F: X -> Z.  Though they were originally designed for mapping a latent vector
z to an image x, we implemented the same objective for mapping a source image x to a target
image y."

Here ``G: X -> Y`` and ``F: Y -> X`` are CycleGAN's ResNet generators, and ONE joint
discriminator ``D`` -- the 70x70 PatchGAN with 6 input channels (instance norm) -- sees
image pairs concatenated along channels, always in the order ``[X-domain image, Y-domain
image]``:

- "encoder" pairs ``(x, G(x))`` (a real x with its translation) are labelled 1,
- "decoder" pairs ``(F(y), y)`` (a real y with its inverse translation) are labelled 0.

Which side is called "real" is a convention (the objective is symmetric).  With CycleGAN's
least-squares loss::

    D     = 0.5 * (lsgan(D([x, G(x)]), 1) + lsgan(D([F(y), y]), 0))
    G_adv = lsgan(D([x, G(x)]), 0)         # G tries to make its pair look like a decoder pair
    F_adv = lsgan(D([F(y), y]), 1)         # F the other way round
    G, F: minimise G_adv + F_adv           # no cycle loss

As in CycleGAN, one Adam holds G and F and one holds D; the generator step (D frozen) comes
first, and D is trained from two 50-pair history buffers (one per pair type; the pairs are
stored whole, so each stays a consistent (x, G(x)) or (F(y), y) sample).  At the optimum the
joint distributions p(x) p(G(x) | x) and p(y) p(F(y) | y) match, so G and F invert each
other: BiGAN's inverse-mapping property, without an explicit cycle term.
"""

from __future__ import annotations

from typing import Any

import torch

from cyclebench.cyclegan.image_pool import ImagePool
from cyclebench.cyclegan.losses import lsgan_loss
from cyclebench.cyclegan.networks import PatchDiscriminator, ResnetGenerator
from cyclebench.gan import GANMethod, set_requires_grad
from cyclebench.registry import register_method

ENCODER_LABEL = True   # (x, G(x)) pairs are the "real" class of the joint discriminator
DECODER_LABEL = False  # (F(y), y) pairs are the "fake" class


@register_method("bigan", display_name="BiGAN/ALI", group="baseline",
                 description="BiGAN/ALI: joint discriminator on (x, G(x)) vs (F(y), y)")
class BiGAN(GANMethod):
    """BiGAN/ALI objective for image-to-image translation (Section 5.1.2)."""

    paired = False
    default_params: dict[str, Any] = {}
    inference_nets = ("G", "F")
    translate_nets = {"x2y": "G", "y2x": "F"}

    def __init__(self, cfg, device) -> None:
        super().__init__(cfg, device)
        self.G = self.add_net("G", ResnetGenerator(3, 3, cfg.ngf, cfg.n_blocks))
        self.F = self.add_net("F", ResnetGenerator(3, 3, cfg.ngf, cfg.n_blocks))
        self.D = self.add_net("D", PatchDiscriminator(6, cfg.ndf, n_layers=cfg.n_layers_d,
                                                      norm="instance"))
        self.optimizers["G"] = self.make_adam(list(self.G.parameters()) + list(self.F.parameters()))
        self.optimizers["D"] = self.make_adam(self.D.parameters())
        # Histories of whole joint pairs, one per pair type.
        self.pools["enc"] = ImagePool(cfg.pool_size, seed=int(cfg.seed) * 2)
        self.pools["dec"] = ImagePool(cfg.pool_size, seed=int(cfg.seed) * 2 + 1)
        for net in self.nets.values():
            net.train()

    @staticmethod
    def pair(x_side: torch.Tensor, y_side: torch.Tensor) -> torch.Tensor:
        """Joint sample ``[X image, Y image]`` along channels (B x 6 x H x W)."""
        return torch.cat([x_side, y_side], 1)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["x"].to(self.device)
        y = batch["y"].to(self.device)
        # Generators (D frozen): each tries to get the other pair type's label.
        set_requires_grad([self.D], False)
        opt_G, opt_D = self.optimizers["G"], self.optimizers["D"]
        opt_G.zero_grad(set_to_none=True)
        with self.autocast():
            enc = self.pair(x, self.G(x))
            dec = self.pair(self.F(y), y)
            loss_G = lsgan_loss(self.D(enc), not ENCODER_LABEL)
            loss_F = lsgan_loss(self.D(dec), not DECODER_LABEL)
        (loss_G + loss_F).backward()
        opt_G.step()
        # Joint discriminator from the pair histories.
        set_requires_grad([self.D], True)
        opt_D.zero_grad(set_to_none=True)
        with self.autocast():
            enc_hist = self.pools["enc"].query(enc.detach())
            dec_hist = self.pools["dec"].query(dec.detach())
            # both pair types in one D pass (instance norm: per-sample, same values)
            pred = self.D(torch.cat([enc_hist, dec_hist], 0))
            n = enc_hist.shape[0]
            loss_D = 0.5 * (lsgan_loss(pred[:n], ENCODER_LABEL)
                            + lsgan_loss(pred[n:], DECODER_LABEL))
        loss_D.backward()
        opt_D.step()
        return {"G_adv": loss_G.detach().float(), "F_adv": loss_F.detach().float(),
                "D": loss_D.detach().float()}
