"""CUT and FastCUT (Park, Efros, Zhang, Zhu, "Contrastive Learning for Unpaired Image-to-Image
Translation", ECCV 2020): what people compare CycleGAN with today. Not in the 2017 paper
(group ``extra``: extra rows, no paper value).

One-sided: ``G: X -> Y`` is trained with an adversarial loss and PatchNCE, a contrastive loss
that ties each patch of the output to the patch at the same place in the input, against 255
other patches of the same input (no inverse mapping, no cycle). As for SimGAN and pix2pix here,
one run holds two independent one-way models (``G``/``D_Y``/``H_G`` for x2y,
``F``/``D_X``/``H_F`` for y2x: see ``baselines.common.DirectionalMethod``) so both directions
of every task are scored.

Everything follows the official code (taesungp/contrastive-unpaired-translation, models/
cut_model.py, patchnce.py, networks.py and the option files), each detail tested:

- generator (``CUTGenerator``): CycleGAN's ResNet generator with *antialiased* resampling:
  each stride-2 conv becomes conv(stride 1) + norm + ReLU + blur-downsample (3x3 [1,2,1]
  filter, reflect padding), each transposed conv becomes blur-upsample (4x4 [1,3,3,1] filter,
  replicate padding) + conv(stride 1) + norm + ReLU. Its ``self.model`` has the official
  module order, so ``nce_layers`` 0, 4, 8, 12, 16 name the same modules (the padded input,
  the two stride-1 down convs before their norm, the outputs of ResNet blocks 1 and 5);
- discriminator (``CUTDiscriminator``): the 70x70 PatchGAN with the same antialiasing (stride-1
  conv, then blur-downsample), instance norm, LSGAN;
- projection head ``H`` (official ``PatchSampleF``, ``mlp_sample``): per NCE layer a
  Linear(C, 256)-ReLU-Linear(256, 256), created lazily on the first training step from the
  features' channel counts (the official ``data_dependent_initialize``: that first batch runs
  the D and G losses once, backward without a step, then trains normally), L2-normalised;
  256 locations per layer drawn with ``np.random.permutation`` and shared by the images of a
  batch and by query and key;
- PatchNCE: logits ``q.k / 0.07`` of the positive and of the 255 negatives from the same image
  (the diagonal of the negatives masked with -10 before the temperature), cross-entropy to the
  positive, keys detached (after the head), averaged over patches and layers, times
  ``lambda_NCE``;
- CUT: lambda_GAN 1, lambda_NCE 1, the identity term NCE(y, G(y)) on Y (G runs once on
  [x; y]), ``loss_G = GAN + 0.5 * (NCE + NCE_Y)``; 200 + 200 epochs (twice CycleGAN's);
- FastCUT: lambda_NCE 10, no identity term, flip-equivariance (with probability 0.5 the
  generator input is flipped and the query features flipped back), 150 + 50 epochs;
- both: D updated before G, no image pool, Adam(2e-4, (0.5, 0.999)) for G, D and the head,
  CycleGAN's linear schedule, xavier-normal init with gain 0.02 (official ``init_type``),
  and once the learning rate decays the training images are resized to the crop size instead
  of cropped (the official loader's "finetuning").

Schedules scale with the profile: the profile's ``n_epochs + n_epochs_decay`` stand for
CycleGAN's 100 + 100, so CUT trains ``2 x`` both and FastCUT ``1.5 x`` and ``0.5 x``
(``schedule_scale``), as their option files relate to CycleGAN's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F_nn
from torch import nn

from cyclebench.baselines.common import DIRECTION_NETS, DirectionalMethod, require_number
from cyclebench.config import ConfigError
from cyclebench.cyclegan.losses import lsgan_loss
from cyclebench.cyclegan.schedule import set_lr
from cyclebench.cyclegan.networks import ResnetBlock, _instance_norm
from cyclebench.gan import discriminator_loss, set_requires_grad
from cyclebench.registry import register_method, register_variant

HEADS = {"x2y": "H_G", "y2x": "H_F"}  # the projection head of each direction's generator


# --- antialiased resampling (official networks.get_filter / Downsample / Upsample) ----------
def binomial_filter(size: int) -> torch.Tensor:
    """Outer product of the binomial row of ``size`` taps with itself, summing to 1."""
    row = torch.tensor([float(math.comb(size - 1, k)) for k in range(size)])
    filt = row[:, None] * row[None, :]
    return filt / filt.sum()


class BlurDownsample(nn.Module):
    """Reflect-pad 1, depthwise 3x3 [1,2,1] blur, stride 2 (H -> floor((H - 1) / 2) + 1)."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("filt", binomial_filter(3)[None, None].repeat(channels, 1, 1, 1))
        self.pad = nn.ReflectionPad2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F_nn.conv2d(self.pad(x), self.filt.to(x.dtype), stride=2, groups=x.shape[1])


class BlurUpsample(nn.Module):
    """Replicate-pad 1, depthwise transposed 4x4 [1,3,3,1] filter x 4, stride 2 (H -> 2H)."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("filt",
                             (binomial_filter(4) * 4)[None, None].repeat(channels, 1, 1, 1))
        self.pad = nn.ReplicationPad2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F_nn.conv_transpose2d(self.pad(x), self.filt.to(x.dtype), stride=2, padding=2,
                                    groups=x.shape[1])[:, :, 1:, 1:]
        return out[:, :, :-1, :-1]


class CUTGenerator(nn.Module):
    """CUT's ResNet generator (antialiased; official module order, see the module doc)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64,
                 n_blocks: int = 9):
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3),
                                   nn.Conv2d(in_channels, ngf, 7, padding=0, bias=True),
                                   _instance_norm(ngf), nn.ReLU()]
        ch = ngf
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 3, stride=1, padding=1, bias=True),
                       _instance_norm(ch * 2), nn.ReLU(), BlurDownsample(ch * 2)]
            ch *= 2
        layers += [ResnetBlock(ch) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [BlurUpsample(ch), nn.Conv2d(ch, ch // 2, 3, stride=1, padding=1, bias=True),
                       _instance_norm(ch // 2), nn.ReLU()]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def encode(self, x: torch.Tensor, layers: list[int]) -> list[torch.Tensor]:
        """Features after each module of ``layers`` (sorted), stopping after the last one."""
        feats, wanted, last = [], set(layers), max(layers)
        for i, layer in enumerate(self.model):
            x = layer(x)
            if i in wanted:
                feats.append(x)
            if i == last:
                break
        if len(feats) != len(wanted):
            raise ConfigError(f"nce_layers {sorted(layers)}: the generator has only "
                              f"{len(self.model)} modules")
        return feats


class CUTDiscriminator(nn.Module):
    """CUT's antialiased PatchGAN: 4x4 stride-1 convs each followed by blur-downsampling in the
    first ``n_layers`` stages, instance norm (not on the first), LeakyReLU 0.2, raw scores."""

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=1, padding=1),
                                   nn.LeakyReLU(0.2), BlurDownsample(ndf)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=1, padding=1, bias=True),
                       _instance_norm(ndf * mult), nn.LeakyReLU(0.2), BlurDownsample(ndf * mult)]
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=1, padding=1, bias=True),
                   _instance_norm(ndf * mult), nn.LeakyReLU(0.2),
                   nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PatchHead(nn.Module):
    """Official ``PatchSampleF`` (``mlp_sample``): per feature map, sample locations, project
    with a 2-layer MLP, L2-normalise. The MLPs are built by :meth:`create` (lazily)."""

    def __init__(self, nc: int = 256):
        super().__init__()
        self.nc = nc
        self.mlps = nn.ModuleList()

    @property
    def created(self) -> bool:
        return len(self.mlps) > 0

    def create(self, channels: list[int], gain: float) -> None:
        self.mlps.extend(nn.Sequential(nn.Linear(c, self.nc), nn.ReLU(), nn.Linear(self.nc, self.nc))
                         for c in channels)
        xavier_init(self, gain)

    def forward(self, feats: list[torch.Tensor], num_patches: int,
                patch_ids: list[torch.Tensor] | None = None
                ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        out, ids = [], []
        for k, feat in enumerate(feats):
            flat = feat.permute(0, 2, 3, 1).flatten(1, 2)  # (B, H*W, C)
            if patch_ids is None:
                perm = np.random.permutation(flat.shape[1])  # official: numpy's global RNG
                pid = torch.as_tensor(perm[:min(num_patches, flat.shape[1])], dtype=torch.long,
                                      device=feat.device)
            else:
                pid = patch_ids[k]
            sample = self.mlps[k](flat[:, pid, :].flatten(0, 1))  # (B*P, nc), batch-major
            # official Normalize(2): x / (||x|| + 1e-7). vector_norm has the same value; its
            # gradient at an all-zero vector (a dead MLP input, seen at small widths) is 0 where
            # pow(0.5)'s is NaN
            norm = torch.linalg.vector_norm(sample, dim=1, keepdim=True)
            out.append(sample.div(norm + 1e-7))
            ids.append(pid)
        return out, ids


def xavier_init(net: nn.Module, gain: float) -> nn.Module:
    """Official ``init_type='xavier'``: conv/linear weights xavier-normal(gain), biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_normal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def patch_nce_loss(feat_q: torch.Tensor, feat_k: torch.Tensor, nce_T: float,
                   batch_size: int) -> torch.Tensor:
    """Official ``PatchNCELoss``: per-patch cross-entropy (no reduction) of the positive
    ``q_i . k_i`` against the other patches of the same image (``batch_size`` images of
    ``P`` patches each, rows batch-major)."""
    n, dim = feat_q.shape
    feat_k = feat_k.detach()
    l_pos = (feat_q * feat_k).sum(1, keepdim=True)
    q = feat_q.view(batch_size, -1, dim)
    k = feat_k.view(batch_size, -1, dim)
    l_neg = torch.bmm(q, k.transpose(2, 1))
    eye = torch.eye(q.shape[1], device=q.device, dtype=torch.bool)[None]
    l_neg = l_neg.masked_fill(eye, -10.0).view(-1, q.shape[1])
    logits = torch.cat([l_pos, l_neg], 1) / nce_T
    return F_nn.cross_entropy(logits.float(), torch.zeros(n, dtype=torch.long,
                                                          device=q.device), reduction="none")


@register_method("cut", display_name="CUT (2020)", group="extra",
                 description="CUT: LSGAN + PatchNCE (+ identity NCE), one model per direction")
class CUT(DirectionalMethod):
    """CUT (Park et al., ECCV 2020); FastCUT is its variant ``fastcut``."""

    paired = False
    uses_pool = False  # the official CUT model has no image pool
    inference_nets = ("G", "F")
    default_params: dict[str, Any] = {
        "lambda_GAN": 1.0,
        "lambda_NCE": 1.0,
        "nce_idt": True,                  # the identity NCE term on Y (CUT; FastCUT: false)
        "nce_layers": [0, 4, 8, 12, 16],  # generator modules whose outputs PatchNCE compares
        "num_patches": 256,
        "nce_T": 0.07,
        "netF_nc": 256,                   # channels of the projection head
        "flip_equivariance": False,       # FastCUT: true
        "schedule_scale": [2.0, 2.0],     # epochs relative to CycleGAN's (CUT 200 + 200)
    }

    @classmethod
    def schedule(cls, params: dict[str, Any], n_epochs: int, n_epochs_decay: int
                 ) -> tuple[int, int]:
        a, b = params["schedule_scale"]
        # rounded half up (1 + 1 epochs -> FastCUT 2 + 1, not Python's round-half-even 2 + 0)
        return int(math.floor(n_epochs * a + 0.5)), int(math.floor(n_epochs_decay * b + 0.5))

    @classmethod
    def full_view_from_epoch(cls, n_epochs: int) -> int | None:
        return n_epochs  # official loader: no random resize-crop once the lr decays

    def validate_params(self) -> None:
        for key in ("lambda_GAN", "lambda_NCE", "nce_T"):
            require_number(self.params, key, self.name)
        require_number(self.params, "num_patches", self.name, minimum=1, integer=True)
        require_number(self.params, "netF_nc", self.name, minimum=1, integer=True)
        for key in ("nce_idt", "flip_equivariance"):
            if not isinstance(self.params[key], bool):
                raise ConfigError(f"method_params.{self.name}.{key} must be true or false, "
                                  f"got {self.params[key]!r}")
        layers = self.params["nce_layers"]
        if (not isinstance(layers, list) or not layers
                or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                           for i in layers)):
            raise ConfigError(f"method_params.{self.name}.nce_layers must be a non-empty list "
                              f"of module indices >= 0, got {layers!r}")
        scale = self.params["schedule_scale"]
        if (not isinstance(scale, list) or len(scale) != 2
                or not all(isinstance(v, (int, float)) and v >= 0 for v in scale)):
            raise ConfigError(f"method_params.{self.name}.schedule_scale must be two numbers "
                              f">= 0 (n_epochs, n_epochs_decay factors), got {scale!r}")

    def __init__(self, cfg, device) -> None:
        super().__init__(cfg, device)
        self.nce_layers = sorted(int(i) for i in self.params["nce_layers"])
        for head in HEADS.values():  # empty until the first step (official: lazy)
            self.nets[head] = PatchHead(int(self.params["netF_nc"])).to(self.device)
        for name, net in self.nets.items():  # official init_type 'xavier', init_gain 0.02
            if name not in HEADS.values():
                xavier_init(net, cfg.init_gain)

    def build_generator(self) -> nn.Module:
        return CUTGenerator(3, 3, self.cfg.ngf, self.cfg.n_blocks)

    def build_discriminator(self) -> nn.Module:
        return CUTDiscriminator(3, self.cfg.ndf, n_layers=self.cfg.n_layers_d)

    # --- the projection heads (lazy, as the official data_dependent_initialize) ------------
    def _head_channels(self, G: CUTGenerator) -> list[int]:
        size = self.cfg.crop_size
        with torch.no_grad():
            feats = G.encode(torch.zeros(1, 3, size, size, device=self.device), self.nce_layers)
        return [f.shape[1] for f in feats]

    def _create_head(self, direction: str) -> None:
        g_name, _ = DIRECTION_NETS[direction]
        head = self.nets[HEADS[direction]]
        head.create(self._head_channels(self.nets[g_name]), self.cfg.init_gain)
        head.to(self.device)
        opt = self.make_adam(head.parameters())
        # created mid-epoch: it takes the epoch's learning rate from its generator's optimiser
        set_lr(opt, self.optimizers[g_name].param_groups[0]["lr"])
        self.optimizers[HEADS[direction]] = opt

    # --- one iteration of one direction ------------------------------------------------------
    def _forward(self, G, src, tgt):
        """Official ``forward``: (fake, identity or None, flipped?)."""
        idt = bool(self.params["nce_idt"])
        real = torch.cat([src, tgt], 0) if idt else src
        flipped = False
        if self.params["flip_equivariance"]:
            flipped = bool(np.random.random() < 0.5)
            if flipped:
                real = torch.flip(real, [3])
        with self.autocast():
            out = G(real)
        n = src.shape[0]
        return out[:n], (out[n:] if idt else None), flipped

    def _nce(self, G, head, src, out, flipped):
        """Official ``calculate_NCE_loss``: lambda_NCE x mean over layers of the mean
        per-patch PatchNCE between the output's (queries) and the input's (keys) features."""
        with self.autocast():
            feat_q = G.encode(out, self.nce_layers)
            if flipped:
                feat_q = [torch.flip(f, [3]) for f in feat_q]
            feat_k = G.encode(src, self.nce_layers)
        k_pool, ids = head(feat_k, int(self.params["num_patches"]))
        q_pool, _ = head(feat_q, int(self.params["num_patches"]), ids)
        total = 0.0
        for q, k in zip(q_pool, k_pool):
            loss = patch_nce_loss(q, k, float(self.params["nce_T"]), src.shape[0])
            total = total + (loss * float(self.params["lambda_NCE"])).mean()
        return total / len(self.nce_layers)

    def _g_loss(self, direction, G, D, src, tgt, fake, idt, flipped):
        head = self.nets[HEADS[direction]]
        with self.autocast():
            gan = lsgan_loss(D(fake), True) * float(self.params["lambda_GAN"])
        nce = self._nce(G, head, src, fake, flipped)
        if idt is not None:
            nce_y = self._nce(G, head, tgt, idt, flipped)
            return gan, nce, nce_y, gan + 0.5 * (nce + nce_y)
        return gan, nce, None, gan + nce

    def direction_step(self, direction: str, src: torch.Tensor, tgt: torch.Tensor
                       ) -> dict[str, torch.Tensor]:
        g_name, d_name = DIRECTION_NETS[direction]
        G, D = self.nets[g_name], self.nets[d_name]
        opt_G, opt_D = self.optimizers[g_name], self.optimizers[d_name]
        if not self.nets[HEADS[direction]].created:
            # official data_dependent_initialize: one forward, D and G losses backward without
            # a step (builds the head from real features), then the first batch trains
            fake, idt, flipped = self._forward(G, src, tgt)
            self._create_head(direction)
            with self.autocast():
                discriminator_loss(D, tgt, fake.detach()).backward()
            self._g_loss(direction, G, D, src, tgt, fake, idt, flipped)[-1].backward()
        fake, idt, flipped = self._forward(G, src, tgt)
        # D first (official order)
        set_requires_grad([D], True)
        opt_D.zero_grad(set_to_none=True)
        with self.autocast():
            loss_D = discriminator_loss(D, tgt, fake.detach())
        loss_D.backward()
        opt_D.step()
        # then G and its head together, against the updated D
        set_requires_grad([D], False)
        opt_G.zero_grad(set_to_none=True)
        opt_H = self.optimizers[HEADS[direction]]
        opt_H.zero_grad(set_to_none=True)
        gan, nce, nce_y, loss_G = self._g_loss(direction, G, D, src, tgt, fake, idt, flipped)
        loss_G.backward()
        opt_G.step()
        opt_H.step()
        set_requires_grad([D], True)
        losses = {f"{g_name}_GAN": gan, f"{g_name}_NCE": nce, d_name: loss_D}
        if nce_y is not None:
            losses[f"{g_name}_NCE_Y"] = nce_y
        return losses

    # --- state: a head exists once trained; rebuild it before loading its weights ------------
    def load_state_dict(self, state: dict[str, Any]) -> None:
        for direction, head in HEADS.items():
            if state["nets"].get(head) and not self.nets[head].created:
                self._create_head(direction)
        super().load_state_dict(state)


register_variant("fastcut", "cut", display_name="FastCUT (2020)", group="extra",
                 description="FastCUT: LSGAN + 10 x PatchNCE, flip-equivariance, no identity "
                             "term, one model per direction",
                 lambda_NCE=10.0, nce_idt=False, flip_equivariance=True,
                 schedule_scale=[1.5, 0.5])
