"""Feature loss + GAN baseline (CycleGAN paper, Section 5.1.2).

"Feature loss + GAN: we also test a variant of SimGAN where the L1 loss is computed over deep
image features using a pretrained network (VGG-16 relu4_2), rather than over RGB pixel
values."  So this is :mod:`baselines.simgan` with one change, the regulariser::

    G_feat = lambda_feature * mean |phi(x) - phi(G(x))|,   phi = frozen VGG-16 up to relu4_2

(``baselines.vgg``: ImageNet normalisation of the [-1, 1] images first).  Everything else --
ResNet generator, PatchGAN, LSGAN, history buffer, Adam, schedule, one independent model per
direction inside one method -- is SimGAN's.  ``lambda_feature`` defaults to 10, SimGAN's
``lambda_self_reg``, so the two baselines differ only in the space the L1 is measured in.

``vgg_weights``: ``"imagenet"`` (torchvision's cached weights; the paper's setting),
a file path, or ``"random-init"`` (the offline substitute).  The extractor's name is exposed
as ``feature_extractor`` and, when it is not the paper's ImageNet network, in
``substitutes = {"feature_extractor": ...}`` so that metric rows and tables can name it.
The frozen VGG is not part of :meth:`networks` / the checkpoints (it is rebuilt from
``vgg_weights``) and is loaded on the first training step, so translating with a trained
model never needs the VGG weights; a missing ImageNet file fails that first step with an
error naming where to put it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_nn

from baselines.simgan import SimGAN
from baselines.vgg import VGG16Relu42, extractor_name
from cyclebench.config import ConfigError
from cyclebench.registry import register_method


@register_method("feature_gan",
                 description="Feature loss + GAN: SimGAN with L1 on VGG-16 relu4_2 features")
class FeatureGAN(SimGAN):
    """SimGAN with the self-regularisation L1 on VGG-16 relu4_2 features (Section 5.1.2)."""

    default_params = {
        "lambda_feature": 10.0,   # weight of mean |phi(x) - phi(G(x))| (SimGAN's weight)
        "vgg_weights": "imagenet",  # imagenet | random-init | /path/to/vgg16.pth
    }
    reg_name = "feature"             # loss-term suffix: G_feature / F_feature
    lambda_key = "lambda_feature"

    def __init__(self, cfg, device) -> None:
        super().__init__(cfg, device)
        self._vgg: VGG16Relu42 | None = None
        self.feature_extractor = extractor_name(self.params["vgg_weights"])
        self.substitutes = ({} if self.feature_extractor == "vgg16-imagenet"
                            else {"feature_extractor": self.feature_extractor})

    def validate_params(self) -> None:
        super().validate_params()
        if not isinstance(self.params["vgg_weights"], str) or not self.params["vgg_weights"]:
            raise ConfigError(f"method_params.{self.name}.vgg_weights must be 'imagenet', "
                              f"'random-init' or a file path, got {self.params['vgg_weights']!r}")

    @property
    def vgg(self) -> VGG16Relu42:
        """The frozen relu4_2 extractor, built on first use."""
        if self._vgg is None:
            self._vgg = VGG16Relu42(self.params["vgg_weights"]).to(self.device)
        return self._vgg

    def regulariser(self, src: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.vgg(src)
        return F_nn.l1_loss(self.vgg(fake).float(), target.float())
