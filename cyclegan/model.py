"""The ``cyclegan`` method and its loss ablations (Zhu et al., ICCV 2017, Sections 3-4, 5.1.4, 7.1).

Nets in paper naming: ``G: X -> Y``, ``F: Y -> X``, ``D_X`` (judges X), ``D_Y`` (judges Y).
One training iteration follows the official ``cycle_gan_model.optimize_parameters``:

1. forward: ``fake_y = G(x)``, ``fake_x = F(y)`` and the reconstructions that are used;
2. generator step with both discriminators frozen (``requires_grad=False``)::

       L_G = lambda_gan * [LSGAN(D_Y(G(x)), real) + LSGAN(D_X(F(y)), real)]
           + lambda_cycle * [w_fwd * ||F(G(x)) - x||_1 + w_bwd * ||G(F(y)) - y||_1]
           + lambda_identity * lambda_cycle * [||G(y) - y||_1 + ||F(x) - x||_1]

   one Adam over the parameters of G and F;
3. discriminator step: ``D_Y`` on real y and on a fake drawn from the 50-image history of G's
   outputs, ``D_X`` likewise; each D loss is halved (Section 7.1); one Adam over both Ds.

Adam lr 2e-4, betas (0.5, 0.999) (TrainConfig ``lr``, ``beta1``, ``beta2``); learning rate
schedule :func:`cyclegan.schedule.lr_factor`.

Method parameters (``TrainConfig.method_params``): ``lambda_gan`` (weight of the G adversarial
terms), ``cycle_forward`` and ``cycle_backward`` (True/False or a non-negative weight multiplying
``lambda_cycle``).  The ablations of Section 5.1.4 are registered variants (X = labels on
Cityscapes, so "forward" starts from labels):

=============  =====================================================================
``cycle_only``   cycle terms only (``lambda_gan = 0``; the discriminators are not trained)
``gan_only``     adversarial terms only (no cycle terms)
``gan_forward``  adversarial terms + forward cycle ``||F(G(x)) - x||``
``gan_backward`` adversarial terms + backward cycle ``||G(F(y)) - y||``
=============  =====================================================================

The plumbing shared with the baselines (nets, Adam optimisers, image pools, the lr schedule,
state dicts for resume, bf16 autocast/channels_last (any device), eval-mode translation, the halved
discriminator loss) is :class:`cyclebench.gan.GANMethod` and its helpers.
"""

from __future__ import annotations

import torch

from cyclebench.config import ConfigError
from cyclebench.cyclegan.image_pool import ImagePool
from cyclebench.cyclegan.losses import cycle_loss, identity_loss, lsgan_loss
from cyclebench.cyclegan.networks import PatchDiscriminator, ResnetGenerator
from cyclebench.gan import GANMethod, discriminator_loss, set_requires_grad
from cyclebench.registry import register_method, register_variant


@register_method("cyclegan", display_name="CycleGAN (ours)", group="proposed",
                 description="CycleGAN: LSGAN + cycle consistency (full objective)")
class CycleGAN(GANMethod):
    """CycleGAN: two ResNet generators, two PatchGANs, LSGAN + lambda * cycle loss."""

    paired = False
    default_params = {"lambda_gan": 1.0, "cycle_forward": True, "cycle_backward": True}
    inference_nets = ("G", "F")
    translate_nets = {"x2y": "G", "y2x": "F"}

    def __init__(self, cfg, device: torch.device):
        super().__init__(cfg, device)
        self.lambda_gan = self.param("lambda_gan")
        self.w_fwd = self.param("cycle_forward") * cfg.lambda_cycle
        self.w_bwd = self.param("cycle_backward") * cfg.lambda_cycle
        self.w_idt = cfg.lambda_identity * cfg.lambda_cycle
        if self.lambda_gan == 0 and self.w_fwd == 0 and self.w_bwd == 0 and self.w_idt == 0:
            raise ConfigError(f"method {cfg.method!r}: every loss weight is 0, nothing to train")
        g_kw = dict(ngf=cfg.ngf, n_blocks=cfg.n_blocks)
        d_kw = dict(ndf=cfg.ndf, n_layers=cfg.n_layers_d, norm="instance")
        self.G = self.add_net("G", ResnetGenerator(3, 3, **g_kw))
        self.F = self.add_net("F", ResnetGenerator(3, 3, **g_kw))
        self.D_X = self.add_net("D_X", PatchDiscriminator(3, **d_kw))
        self.D_Y = self.add_net("D_Y", PatchDiscriminator(3, **d_kw))
        self.train_d = self.lambda_gan > 0  # cycle_only: D never reaches G, so it is not trained
        self.optimizers["G"] = self.make_adam(list(self.G.parameters()) + list(self.F.parameters()))
        self.optimizers["D"] = self.make_adam(list(self.D_X.parameters()) +
                                              list(self.D_Y.parameters()))
        # History buffers of generated images: pool_x holds F's outputs (for D_X), pool_y G's.
        self.pools["fake_x"] = ImagePool(cfg.pool_size, seed=cfg.seed * 2 + 1)
        self.pools["fake_y"] = ImagePool(cfg.pool_size, seed=cfg.seed * 2 + 2)
        for net in self.nets.values():
            net.train()

    # --- the objective, split in testable pieces ----------------------------------------------
    def generator_loss(self, x: torch.Tensor, y: torch.Tensor):
        """Forward pass and the generators' objective.

        Returns ``(loss_G, terms, fake_x, fake_y)``; ``terms`` holds the unweighted terms that
        are active (only those are computed, e.g. no reconstruction when its weight is 0)."""
        terms: dict[str, torch.Tensor] = {}
        with self.autocast():
            fake_y = self.G(x)
            fake_x = self.F(y)
            total = x.new_zeros((), dtype=torch.float32)
            if self.lambda_gan > 0:
                terms["G_gan_x2y"] = lsgan_loss(self.D_Y(fake_y), True)
                terms["G_gan_y2x"] = lsgan_loss(self.D_X(fake_x), True)
                total = total + self.lambda_gan * (terms["G_gan_x2y"] + terms["G_gan_y2x"])
            if self.w_fwd > 0:
                terms["cycle_forward"] = cycle_loss(x, self.F(fake_y))
                total = total + self.w_fwd * terms["cycle_forward"]
            if self.w_bwd > 0:
                terms["cycle_backward"] = cycle_loss(y, self.G(fake_x))
                total = total + self.w_bwd * terms["cycle_backward"]
            if self.w_idt > 0:
                terms["idt_x2y"] = identity_loss(y, self.G(y))
                terms["idt_y2x"] = identity_loss(x, self.F(x))
                total = total + self.w_idt * (terms["idt_x2y"] + terms["idt_y2x"])
        return total, terms, fake_x, fake_y

    def optimize_generators(self, x, y):
        """Generator step with both discriminators frozen; returns the fakes for the D step."""
        set_requires_grad([self.D_X, self.D_Y], False)
        loss_g, terms, fake_x, fake_y = self.generator_loss(x, y)
        opt = self.optimizers["G"]
        opt.zero_grad(set_to_none=True)
        loss_g.backward()
        opt.step()
        terms["G"] = loss_g
        return terms, fake_x.detach(), fake_y.detach()

    def optimize_discriminators(self, x, y, fake_x, fake_y) -> dict[str, torch.Tensor]:
        """D_Y on y vs. pooled G(x); D_X on x vs. pooled F(y); halved LSGAN losses, one Adam.
        The fakes are the generator step's outputs (no second generator pass); each D sees its
        real and pooled fake batch in one forward pass (instance norm: per-sample, exact)."""
        set_requires_grad([self.D_X, self.D_Y], True)
        opt = self.optimizers["D"]
        opt.zero_grad(set_to_none=True)
        with self.autocast():
            loss_dy = discriminator_loss(self.D_Y, y, self.pools["fake_y"].query(fake_y),
                                         batched=True)
            loss_dx = discriminator_loss(self.D_X, x, self.pools["fake_x"].query(fake_x),
                                         batched=True)
        (loss_dx + loss_dy).backward()  # disjoint parameters: same gradients as two backwards
        opt.step()
        return {"D_X": loss_dx, "D_Y": loss_dy}

    def sample_images(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Rows of the sample grid: x, G(x), F(G(x)), y, F(y), G(F(y)) (official visuals)."""
        x, y = batch["x"], batch["y"]
        fake_y, fake_x = self.translate(x, "x2y"), self.translate(y, "y2x")
        return {"real_x": x, "fake_y": fake_y, "rec_x": self.translate(fake_y, "y2x"),
                "real_y": y, "fake_x": fake_x, "rec_y": self.translate(fake_x, "x2y")}

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x, y = batch["x"], batch["y"]
        terms, fake_x, fake_y = self.optimize_generators(x, y)
        if self.train_d:
            terms.update(self.optimize_discriminators(x, y, fake_x, fake_y))
        return {k: v.detach().float() for k, v in terms.items()}


# Paper Section 5.1.4 ablations: CycleGAN with loss terms switched off (never code forks).
register_variant("cycle_only", "cyclegan", display_name="Cycle alone", group="ablation",
                 description="Cycle loss alone (no adversarial terms)",
                 lambda_gan=0.0)
register_variant("gan_only", "cyclegan", display_name="GAN alone", group="ablation",
                 description="GAN alone (no cycle terms)",
                 cycle_forward=False, cycle_backward=False)
register_variant("gan_forward", "cyclegan", display_name="GAN + forward cycle", group="ablation",
                 description="GAN + forward cycle loss ||F(G(x)) - x|| only", cycle_backward=False)
register_variant("gan_backward", "cyclegan", display_name="GAN + backward cycle",
                 group="ablation",
                 description="GAN + backward cycle loss ||G(F(y)) - y|| only", cycle_forward=False)
