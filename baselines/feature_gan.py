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
a file path, or ``"random-init"`` (the offline substitute).  The extractor's name
(:func:`baselines.vgg.extractor_name`) is exposed as ``feature_extractor``.  What stands in for
the paper's network is :meth:`FeatureGAN.substitutes` (the registry's ``Method.substitutes``
classmethod, which the scorer calls on a run's resolved ``method_params`` so that every metric
row and table names it).  The rule:

- ``imagenet`` -> ``{}``: the paper's setting;
- ``random-init`` -> ``{"feature_extractor": "vgg16-random-init"}``;
- a file path -> ``{"feature_extractor": "vgg16-file:<file name>"}``, always: nothing verifies
  that a user-supplied file holds torchvision's ImageNet weights, so it is named rather than
  claimed to be the paper's network (place the ImageNet file in torchvision's cache and use
  ``imagenet`` to claim the paper's setting).

An instance's ``substitutes`` attribute is the same dict (computed by the classmethod from the
instance's params, the one source of truth).
The frozen VGG is not part of :meth:`networks` / the checkpoints (it is rebuilt from
``vgg_weights``) and is loaded on the first training step, so translating with a trained
model never needs the VGG weights; a missing ImageNet file fails that first step with an
error naming where to put it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F_nn

from cyclebench.baselines.simgan import SimGAN
from cyclebench.baselines.vgg import VGG16Relu42, extractor_name
from cyclebench.config import ConfigError
from cyclebench.registry import register_method

IMAGENET_EXTRACTOR = extractor_name("imagenet")  # the paper's network: no substitute


@register_method("feature_gan", display_name="Feature loss + GAN", group="baseline",
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
        # the instance's view of the classmethod below (shadows it on the instance only)
        self.substitutes = type(self).substitutes(self.params)

    @classmethod
    def _vgg_weights(cls, params: dict[str, Any]) -> str:
        value = params.get("vgg_weights", cls.default_params["vgg_weights"])
        if not isinstance(value, str) or not value:
            raise ConfigError(f"method_params.{cls.name}.vgg_weights must be 'imagenet', "
                              f"'random-init' or a file path, got {value!r}")
        return value

    @classmethod
    def substitutes(cls, params: dict[str, Any]) -> dict[str, str]:
        """``{}`` for the ImageNet VGG-16 (the paper's network), otherwise
        ``{"feature_extractor": extractor_name(vgg_weights)}`` (module docstring: the rule)."""
        name = extractor_name(cls._vgg_weights(params))
        return {} if name == IMAGENET_EXTRACTOR else {"feature_extractor": name}

    def validate_params(self) -> None:
        super().validate_params()
        self._vgg_weights(self.params)

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
