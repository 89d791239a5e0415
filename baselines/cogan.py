"""CoGAN baseline (Liu & Tuzel, "Coupled Generative Adversarial Networks", NIPS 2016), as used
in the CycleGAN paper, Section 5.1.2: "CoGAN learns a joint distribution over images from two
domains with two GAN generators that share weights in the first layers ... To translate an
image x, we find the latent representation that generates x in domain X, and render it in
style Y."  The only baseline that does *not* use CycleGAN's architecture.

Networks (CoGAN's DCGAN-style face architecture, sized to ``crop_size = 2**k >= 8``):

- :class:`CoupledGenerator`: ``z`` (``z_dim``, default 100, uniform in [-1, 1] as CoGAN)
  -> 4x4 transposed conv -> ``log2(crop/4)`` stride-2 4x4 transposed convs doubling the
  resolution, each with batch norm and PReLU -> 3x3 conv to RGB + tanh.  Channels halve at
  every level, ``min(16 ngf, ngf/2 * 2**(levels left))``: with ngf=64 at 128x128 this is
  CoGAN's 1024-512-256-128-64-32-3 face generator.  The first layers (high-level semantics)
  are ONE module used by both domains; the last ``g_separate_layers`` layers (default 1: the
  output layer, as in CoGAN) exist once per domain.
- :class:`CoupledDiscriminator`: stride-2 4x4 convs (PReLU; batch norm except on the first)
  from ``crop`` down to 4x4, then a 4x4 valid conv to one logit per image.  The first
  ``d_separate_layers`` (default 1) exist once per domain; the last (high-level) layers are
  one shared module.

Training (unpaired, CoGAN's objective): the same ``z`` feeds both generators; per domain
``D_X = 0.5 * (bce(D(x), real) + bce(D(G_X(z)), fake))`` (and ``D_Y``), D updated first, then
``G_X = bce(D(G_X(z)), real)``, ``G_Y`` likewise; the coupled generator minimises their sum.
Adam(lr, (0.5, 0.999)) with CoGAN's weight decay 0.0005, CycleGAN's linear schedule.  ``z``
comes from the method's own ``torch.Generator`` (saved in checkpoints).

Translation X -> Y (:meth:`CoGAN.invert`): for each image, ``inversion_restarts`` random
starts of ``z`` are optimised for ``inversion_steps`` Adam steps (``inversion_lr``) to
minimise the ``inversion_loss`` (``l1`` or ``mse``, mean over pixels) between ``G_X(z)`` and
x, with ``z`` clamped to the prior's support [-1, 1] after every step; the start with the
lowest final error wins, and ``G_Y(z*)`` is the translation.  The generator is in eval mode
(batch-norm running statistics) and every image gets the same starts, drawn from a
``torch.Generator`` seeded with ``inversion_seed``, so an image's translation is deterministic
and does not depend on the other images of its batch.
Defaults: 200 steps, lr 0.05, 4 restarts, L1.

Deviations from CoGAN (documented): batch size and epochs follow the profile (CycleGAN's
batch 1 by default, CoGAN used 128); the discriminator uses a final 4x4 conv instead of
max-pooling + fully-connected layers; init is CycleGAN's N(0, 0.02).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from cyclebench.baselines.common import check_direction, eval_mode, require_choice, require_number
from cyclebench.config import ConfigError
from cyclebench.cyclegan.losses import bce_gan_loss
from cyclebench.gan import GANMethod, set_requires_grad
from cyclebench.registry import register_method

DOMAINS = ("x", "y")


def _levels(crop_size: int) -> int:
    """Number of stride-2 levels between 4x4 and ``crop_size`` (crop = 4 * 2**levels)."""
    n = int(round(math.log2(crop_size))) if crop_size > 0 else 0
    if crop_size <= 0 or 2 ** n != crop_size or n < 3:
        raise ValueError(f"CoGAN needs crop_size to be a power of two >= 8, got {crop_size}")
    return n - 2


class CoupledGenerator(nn.Module):
    """Two generators ``G_X``, ``G_Y`` from a shared ``z``: ``shared`` first layers, one head
    per domain with the last ``separate_layers`` layers."""

    def __init__(self, crop_size: int, z_dim: int = 100, ngf: int = 64,
                 separate_layers: int = 1) -> None:
        super().__init__()
        levels = _levels(crop_size)
        n_layers = levels + 2  # 4x4 projection, `levels` upsamplings, RGB output
        if not 1 <= separate_layers <= n_layers - 1:
            raise ValueError(f"g_separate_layers must be in [1, {n_layers - 1}] for crop_size "
                             f"{crop_size} ({n_layers} generator layers), got {separate_layers}")
        self.z_dim = z_dim
        base = max(ngf // 2, 1)
        ch = [min(ngf * 16, base * 2 ** (levels - i)) for i in range(levels + 1)]

        def layer(i: int) -> nn.Module:
            if i == 0:
                return nn.Sequential(nn.ConvTranspose2d(z_dim, ch[0], 4, 1, 0, bias=False),
                                     nn.BatchNorm2d(ch[0]), nn.PReLU())
            if i <= levels:
                return nn.Sequential(nn.ConvTranspose2d(ch[i - 1], ch[i], 4, 2, 1, bias=False),
                                     nn.BatchNorm2d(ch[i]), nn.PReLU())
            return nn.Sequential(nn.Conv2d(ch[levels], 3, 3, 1, 1), nn.Tanh())

        split = n_layers - separate_layers
        self.shared = nn.Sequential(*[layer(i) for i in range(split)])
        self.heads = nn.ModuleDict({d: nn.Sequential(*[layer(i) for i in range(split, n_layers)])
                                    for d in DOMAINS})

    def forward(self, z: torch.Tensor, domain: str) -> torch.Tensor:
        return self.heads[domain](self.shared(z.view(z.shape[0], self.z_dim, 1, 1)))

    def forward_both(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.shared(z.view(z.shape[0], self.z_dim, 1, 1))
        return self.heads["x"](h), self.heads["y"](h)

    def branch(self, domain: str) -> nn.Sequential:
        """``G_X`` or ``G_Y`` as one module (its first layers ARE ``self.shared``)."""
        return nn.Sequential(self.shared, self.heads[domain])


class CoupledDiscriminator(nn.Module):
    """Two discriminators ``D_X``, ``D_Y``: per-domain first ``separate_layers`` layers, then
    one ``shared`` stack ending in a single logit per image."""

    def __init__(self, crop_size: int, ndf: int = 64, separate_layers: int = 1) -> None:
        super().__init__()
        levels = _levels(crop_size)
        n_layers = levels + 1  # `levels` stride-2 convs down to 4x4, then the 4x4 logit conv
        if not 1 <= separate_layers <= n_layers - 1:
            raise ValueError(f"d_separate_layers must be in [1, {n_layers - 1}] for crop_size "
                             f"{crop_size} ({n_layers} discriminator layers), got {separate_layers}")
        base = max(ndf // 2, 1)
        ch = [min(ndf * 16, base * 2 ** i) for i in range(levels)]

        def layer(i: int) -> nn.Module:
            if i == 0:
                return nn.Sequential(nn.Conv2d(3, ch[0], 4, 2, 1), nn.PReLU())
            if i < levels:
                return nn.Sequential(nn.Conv2d(ch[i - 1], ch[i], 4, 2, 1, bias=False),
                                     nn.BatchNorm2d(ch[i]), nn.PReLU())
            return nn.Conv2d(ch[levels - 1], 1, 4, 1, 0)

        self.heads = nn.ModuleDict({d: nn.Sequential(*[layer(i) for i in range(separate_layers)])
                                    for d in DOMAINS})
        self.shared = nn.Sequential(*[layer(i) for i in range(separate_layers, n_layers)])

    def forward(self, images: torch.Tensor, domain: str) -> torch.Tensor:
        return self.shared(self.heads[domain](images)).view(images.shape[0])


@register_method("cogan", display_name="CoGAN", group="baseline",
                 description="CoGAN: coupled GANs, translation by latent inversion")
class CoGAN(GANMethod):
    """CoGAN (Section 5.1.2): coupled generators/discriminators; translate by inverting z."""

    paired = False
    default_params: dict[str, Any] = {
        "z_dim": 100,               # latent size (CoGAN: 100)
        "g_separate_layers": 1,     # last generator layers that are per-domain (CoGAN: 1)
        "d_separate_layers": 1,     # first discriminator layers that are per-domain (CoGAN: 1)
        "weight_decay": 0.0005,     # Adam weight decay (CoGAN)
        "inversion_steps": 200,     # Adam steps on z per translation
        "inversion_lr": 0.05,       # Adam learning rate on z
        "inversion_restarts": 4,    # random starts per image; the best final error wins
        "inversion_loss": "l1",     # l1 | mse, mean over pixels
        "inversion_seed": 0,        # seed of the starts (translations are deterministic)
    }

    def __init__(self, cfg, device) -> None:
        super().__init__(cfg, device)
        p = self.params
        for key in ("z_dim", "g_separate_layers", "d_separate_layers", "inversion_restarts"):
            require_number(p, key, self.name, minimum=1, integer=True)
        require_number(p, "inversion_steps", self.name, minimum=0, integer=True)
        require_number(p, "inversion_seed", self.name, minimum=0, integer=True)
        require_number(p, "weight_decay", self.name)
        require_number(p, "inversion_lr", self.name)
        require_choice(p, "inversion_loss", ("l1", "mse"), self.name)
        try:
            G = CoupledGenerator(cfg.crop_size, p["z_dim"], cfg.ngf, p["g_separate_layers"])
            D = CoupledDiscriminator(cfg.crop_size, cfg.ndf, p["d_separate_layers"])
        except ValueError as exc:
            raise ConfigError(f"{self.name}: {exc}") from None
        self.G = self.add_net("G", G)
        self.D = self.add_net("D", D)
        for name in ("G", "D"):
            opt = self.make_adam(self.nets[name].parameters())
            for group in opt.param_groups:  # CoGAN's weight decay
                group["weight_decay"] = float(p["weight_decay"])
            self.optimizers[name] = opt
        self.z_generator = torch.Generator().manual_seed(int(cfg.seed) * 2 + 1)
        for net in self.nets.values():
            net.train()

    def sample_z(self, n: int) -> torch.Tensor:
        """``n`` latent vectors, uniform in [-1, 1] (CoGAN's prior), from the method's RNG."""
        z = torch.rand(n, self.params["z_dim"], generator=self.z_generator) * 2 - 1
        return z.to(self.device)

    # --- training -------------------------------------------------------------------------
    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["x"].to(self.device)
        y = batch["y"].to(self.device)
        z = self.sample_z(x.shape[0])
        opt_G, opt_D = self.optimizers["G"], self.optimizers["D"]
        with self.autocast():
            fake_x, fake_y = self.G.forward_both(z)
        # Discriminators first (CoGAN), each on its domain's real images and fakes.
        set_requires_grad([self.D], True)
        opt_D.zero_grad(set_to_none=True)
        with self.autocast():
            loss_DX = 0.5 * (bce_gan_loss(self.D(x, "x"), True)
                             + bce_gan_loss(self.D(fake_x.detach(), "x"), False))
            loss_DY = 0.5 * (bce_gan_loss(self.D(y, "y"), True)
                             + bce_gan_loss(self.D(fake_y.detach(), "y"), False))
        (loss_DX + loss_DY).backward()
        opt_D.step()
        # Coupled generators against the updated discriminators.
        set_requires_grad([self.D], False)
        opt_G.zero_grad(set_to_none=True)
        with self.autocast():
            loss_GX = bce_gan_loss(self.D(fake_x, "x"), True)
            loss_GY = bce_gan_loss(self.D(fake_y, "y"), True)
        (loss_GX + loss_GY).backward()
        opt_G.step()
        set_requires_grad([self.D], True)
        return {"G_X": loss_GX.detach().float(), "G_Y": loss_GY.detach().float(),
                "D_X": loss_DX.detach().float(), "D_Y": loss_DY.detach().float()}

    # --- inference ------------------------------------------------------------------------
    def _distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        diff = a - b
        d = diff.abs() if self.params["inversion_loss"] == "l1" else diff ** 2
        return d.flatten(1).mean(1)

    def invert(self, images: torch.Tensor, domain: str, steps: int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent codes that best reconstruct ``images`` through ``G_<domain>``.

        Returns ``(z, error)``: the best of ``inversion_restarts`` starts per image and its
        reconstruction error (``inversion_loss``).  Network weights are never modified."""
        if domain not in DOMAINS:
            raise ValueError(f"domain must be 'x' or 'y', got {domain!r}")
        p = self.params
        steps = int(p["inversion_steps"] if steps is None else steps)
        images = images.to(self.device)
        b, r = images.shape[0], int(p["inversion_restarts"])
        # The same r starts for every image (so an image's result does not depend on its batch
        # mates: eval-mode G, per-row loss and element-wise Adam keep the rows independent).
        gen = torch.Generator().manual_seed(int(p["inversion_seed"]))
        starts = torch.rand(r, p["z_dim"], generator=gen) * 2 - 1
        z = starts.repeat_interleave(b, dim=0).to(self.device)  # start k of image i: row k*b + i
        z.requires_grad_(True)
        target = images.repeat(r, 1, 1, 1)
        opt = torch.optim.Adam([z], lr=float(p["inversion_lr"]))
        with eval_mode(self.G), torch.enable_grad():
            for _ in range(steps):
                err = self._distance(self.G(z, domain), target)
                (grad,) = torch.autograd.grad(err.sum(), [z])
                z.grad = grad
                opt.step()
                with torch.no_grad():
                    z.clamp_(-1.0, 1.0)
            with torch.no_grad():
                err = self._distance(self.G(z, domain), target).view(r, b)
        best = err.argmin(0)
        idx = best * b + torch.arange(b, device=best.device)
        return z.detach()[idx], err[best, torch.arange(b, device=err.device)]

    def translate(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        """Invert ``images`` through the source-domain generator, render in the target one."""
        src, tgt = ("x", "y") if check_direction(direction) == "x2y" else ("y", "x")
        z, _ = self.invert(images.float(), src)
        with eval_mode(self.G), torch.no_grad():
            return self.G(z, tgt).float()

    def sample_images(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Inputs and both translations, plus a coupled pair G_X(z), G_Y(z) from fixed z."""
        rows = super().sample_images(batch)
        n = batch["x"].shape[0]
        gen = torch.Generator().manual_seed(int(self.params["inversion_seed"]) + 1)
        z = (torch.rand(n, self.params["z_dim"], generator=gen) * 2 - 1).to(self.device)
        with eval_mode(self.G), torch.no_grad():
            rows["sample_x"], rows["sample_y"] = (t.float() for t in self.G.forward_both(z))
        return rows

    # --- state ----------------------------------------------------------------------------
    inference_nets = ("G",)  # translation needs only the coupled generator

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["z_rng"] = self.z_generator.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.z_generator.set_state(state["z_rng"])
