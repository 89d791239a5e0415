"""pix2pix baseline (Isola et al., CVPR 2017), the paired "upper bound" of the CycleGAN paper
(Section 5.1.2: "pix2pix is trained on paired data, to see how close we can get to this upper
bound without using any paired data").

Follows the official ``models/pix2pix_model.py`` (junyanz/pytorch-CycleGAN-and-pix2pix):

- generator: U-Net (``baselines.unet``) with ``num_downs = log2(crop_size)`` (``unet_256`` at
  256x256, ``unet_128`` at 128x128), batch norm, dropout 0.5, skip connections;
- discriminator: conditional 70x70 PatchGAN (``cyclegan.networks.PatchDiscriminator``) on
  ``concat(input, output)`` -- 6 channels -- with batch norm;
- losses, per direction (``x2y`` shown: input x, target y)::

      D_Y    = 0.5 * (bce(D_Y([x, G(x)]), fake) + bce(D_Y([x, y]), real))
      G_GAN  = bce(D_Y([x, G(x)]), real)
      G_L1   = lambda_L1 * mean |G(x) - y|,   lambda_L1 = 100

  with the vanilla GAN loss (``bce_gan_loss``: BCE on logits); D is updated *before* G, and
  there is no image pool (the official pix2pix uses ``pool_size 0``; ``cfg.pool_size`` is
  ignored here);
- Adam(lr, (0.5, 0.999)), init N(0, 0.02) and the linear lr schedule, as CycleGAN.

Trained on aligned pairs (``paired = True``).  The paper trains one pix2pix per direction;
:class:`Pix2Pix` holds two independent models (``G``/``D_Y``: x2y, ``F``/``D_X``: y2x) trained
on the same pairs (``baselines.common.DirectionalMethod``).

Test-time behaviour (``test_mode``): the official ``test.py`` calls ``model.eval()`` only with
``--eval``; by default it keeps dropout active and normalises with the statistics of the test
batch (batch size 1), which is also what the pix2pix paper describes (Section 3.2: "At
inference time, we run the generator net in exactly the same manner as during the training
phase").  The default here is therefore ``"train_like"``: each image is translated on its own
(batch 1) with the generator in train mode, dropout drawn from a fixed seed (``cfg.seed``) so
translations are reproducible, and the batch-norm running statistics saved and restored
around the call (translating never changes the model).  ``"eval"`` uses the running
statistics and no dropout (the official ``--eval``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_nn
from torch import nn

from cyclebench.baselines.common import (DIRECTION_NETS, DirectionalMethod, forked_rng,
                                         require_choice, require_number)
from cyclebench.baselines.unet import UnetGenerator, unet_num_downs
from cyclebench.config import ConfigError
from cyclebench.cyclegan.losses import bce_gan_loss
from cyclebench.cyclegan.networks import PatchDiscriminator
from cyclebench.gan import set_requires_grad
from cyclebench.registry import register_method

TEST_MODES = ("train_like", "eval")


@register_method("pix2pix", display_name="pix2pix", group="paired",
                 description="pix2pix: U-Net + conditional PatchGAN + 100*L1, paired")
class Pix2Pix(DirectionalMethod):
    """pix2pix (paired upper bound): one U-Net + conditional PatchGAN per direction."""

    paired = True
    uses_pool = False
    default_params = {
        "lambda_L1": 100.0,         # weight of mean |G(x) - y| (pix2pix Section 4)
        "use_dropout": True,        # dropout 0.5 in the innermost ngf*8 decoder blocks
        "test_mode": "train_like",  # train_like (official test.py default) | eval (--eval)
    }

    def validate_params(self) -> None:
        require_number(self.params, "lambda_L1", self.name)
        require_choice(self.params, "test_mode", TEST_MODES, self.name)
        if not isinstance(self.params["use_dropout"], bool):
            raise ConfigError(f"method_params.{self.name}.use_dropout must be true or false, "
                              f"got {self.params['use_dropout']!r}")
        try:
            self.num_downs = unet_num_downs(self.cfg.crop_size)
        except ValueError as exc:
            raise ConfigError(f"{self.name}: {exc}") from None

    def build_generator(self) -> nn.Module:
        return UnetGenerator(3, 3, self.num_downs, self.cfg.ngf,
                             use_dropout=bool(self.params["use_dropout"]))

    def build_discriminator(self) -> nn.Module:
        return PatchDiscriminator(6, self.cfg.ndf, n_layers=self.cfg.n_layers_d, norm="batch")

    def direction_step(self, direction: str, src: torch.Tensor, tgt: torch.Tensor
                       ) -> dict[str, torch.Tensor]:
        g_name, d_name = DIRECTION_NETS[direction]
        G, D = self.nets[g_name], self.nets[d_name]
        opt_G, opt_D = self.optimizers[g_name], self.optimizers[d_name]
        with self.autocast():
            fake = G(src)
        # Discriminator first (official order): fake pair, then real pair.
        set_requires_grad([D], True)
        opt_D.zero_grad(set_to_none=True)
        with self.autocast():
            loss_D_fake = bce_gan_loss(D(torch.cat([src, fake.detach()], 1)), False)
            loss_D_real = bce_gan_loss(D(torch.cat([src, tgt], 1)), True)
            loss_D = 0.5 * (loss_D_fake + loss_D_real)
        loss_D.backward()
        opt_D.step()
        # Generator: fool the updated D, stay close to the target in L1.
        set_requires_grad([D], False)
        opt_G.zero_grad(set_to_none=True)
        with self.autocast():
            loss_gan = bce_gan_loss(D(torch.cat([src, fake], 1)), True)
            loss_l1 = float(self.params["lambda_L1"]) * F_nn.l1_loss(fake.float(), tgt.float())
        (loss_gan + loss_l1).backward()
        opt_G.step()
        set_requires_grad([D], True)
        return {f"{g_name}_GAN": loss_gan, f"{g_name}_L1": loss_l1, d_name: loss_D}

    def translate(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        if self.params["test_mode"] == "eval":
            return super().translate(images, direction)
        net = self.generator(direction)
        images = images.to(self.device)
        norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        saved = [{k: b.clone() for k, b in m.named_buffers()} for m in norms]
        was_training = net.training
        out = []
        try:
            net.train()
            with torch.no_grad():
                for image in images:  # batch size 1, as the official test script
                    with forked_rng(self.device, int(self.cfg.seed)), self.autocast():
                        out.append(net(image.unsqueeze(0)).float())
        finally:
            net.train(was_training)
            with torch.no_grad():
                for m, buffers in zip(norms, saved):
                    for k, b in m.named_buffers():
                        b.copy_(buffers[k])
        return torch.cat(out, 0)
