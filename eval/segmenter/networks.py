"""The evaluator's networks (CycleGAN Section 5.1.1: the FCN behind the FCN-score).

- :class:`FCN8sVGG16`: FCN-8s (Long et al., CVPR 2015) on a torchvision VGG-16 backbone, fc6/fc7
  as convolutions, class scores fused from pool5, pool4 and pool3 (zero-initialised skips, as
  the official FCN); ImageNet initialisation from torchvision's VGG-16 file when configured.
- :class:`SmallFCN`: a four-stage fully convolutional net with FCN-8s-style fused scores, for
  CPU profiles.
- :func:`build_network`: the network an ``EvaluatorConfig`` asks for, and its display name
  (which says how it was initialised).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from cyclebench.baselines.vgg import IMAGENET_MEAN, IMAGENET_STD, imagenet_weights_path
from cyclebench.datasets.palette import NUM_CLASSES
from cyclebench.config import EvaluatorConfig


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class SmallFCN(nn.Module):
    """Four conv stages (w, 2w, 4w, 8w; max-pool between) with FCN-style fused class scores."""

    def __init__(self, n_classes: int = NUM_CLASSES, width: int = 32):
        super().__init__()
        w = width
        self.stages = nn.ModuleList([_block(3, w), _block(w, 2 * w), _block(2 * w, 4 * w),
                                     _block(4 * w, 8 * w)])
        self.scores = nn.ModuleList([nn.Conv2d(c, n_classes, 1) for c in (w, 2 * w, 4 * w, 8 * w)])
        self.feature_dim = 8 * w

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for i, stage in enumerate(self.stages):
            if i > 0:
                x = F.max_pool2d(x, 2, ceil_mode=True)
            x = stage(x)
            feats.append(x)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encode(x)
        out = self.scores[-1](feats[-1])
        for feat, score in zip(reversed(feats[:-1]), reversed(list(self.scores[:-1]))):
            out = F.interpolate(out, size=feat.shape[-2:], mode="bilinear", align_corners=False)
            out = out + score(feat)
        return out

    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        """Global average of the deepest stage: the ``evaluator-features`` FID embedding."""
        return self.encode(x)[-1].mean(dim=(2, 3))


# VGG-16 ``features`` indices: pool3 = 16, pool4 = 23, pool5 = 30.
_VGG_SPLITS = (17, 24, 31)


class FCN8sVGG16(nn.Module):
    """FCN-8s with a VGG-16 backbone (Long et al. 2015), bilinear score upsampling."""

    def __init__(self, n_classes: int = NUM_CLASSES, fc_channels: int = 4096):
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        features = make_layers(cfgs["D"])  # VGG-16 conv layers (torchvision's definition)
        self.block3 = features[: _VGG_SPLITS[0]]
        self.block4 = features[_VGG_SPLITS[0]: _VGG_SPLITS[1]]
        self.block5 = features[_VGG_SPLITS[1]: _VGG_SPLITS[2]]
        self.fc = nn.Sequential(
            nn.Conv2d(512, fc_channels, 7, padding=3), nn.ReLU(inplace=True), nn.Dropout2d(0.5),
            nn.Conv2d(fc_channels, fc_channels, 1), nn.ReLU(inplace=True), nn.Dropout2d(0.5),
        )
        self.score_fr = nn.Conv2d(fc_channels, n_classes, 1)
        self.score_pool4 = nn.Conv2d(512, n_classes, 1)
        self.score_pool3 = nn.Conv2d(256, n_classes, 1)
        for m in self.modules():  # torchvision's VGG initialisation (used when from scratch)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        for layer in (self.score_pool4, self.score_pool3):  # official FCN: skips start at zero
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.feature_dim = 512

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2 - self.mean) / self.std  # [-1, 1] -> ImageNet statistics

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        p3 = self.block3(self._normalise(x))
        p4 = self.block4(p3)
        p5 = self.block5(p4)
        out = self.score_fr(self.fc(p5))
        out = F.interpolate(out, size=p4.shape[-2:], mode="bilinear", align_corners=False)
        out = out + self.score_pool4(p4)
        out = F.interpolate(out, size=p3.shape[-2:], mode="bilinear", align_corners=False)
        out = out + self.score_pool3(p3)
        return F.interpolate(out, size=size, mode="bilinear", align_corners=False)

    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        """Global average of pool5 (512-d): the ``evaluator-features`` FID embedding."""
        p5 = self.block5(self.block4(self.block3(self._normalise(x))))
        return p5.mean(dim=(2, 3))

    def load_vgg16_imagenet(self, state: dict[str, torch.Tensor]) -> None:
        """Copy a torchvision ``vgg16`` state dict: conv layers as is, fc6/fc7 reshaped to convs."""
        own = {}  # slices of nn.Sequential keep the original indices: "17.weight" in block4
        for block in (self.block3, self.block4, self.block5):
            for name, _ in block.named_parameters():
                own[f"features.{name}"] = (block, name)
        missing = [k for k in own if k not in state]
        if missing or "classifier.0.weight" not in state or "classifier.3.weight" not in state:
            raise ValueError(f"not a torchvision vgg16 state dict (missing {missing[:3]} or "
                             "classifier.0/3)")
        with torch.no_grad():
            for key, (block, name) in own.items():
                block.get_parameter(name).copy_(state[key])
            fc6, fc7 = self.fc[0], self.fc[3]
            fc6.weight.copy_(state["classifier.0.weight"].view(fc6.weight.shape))
            fc6.bias.copy_(state["classifier.0.bias"])
            fc7.weight.copy_(state["classifier.3.weight"].view(fc7.weight.shape))
            fc7.bias.copy_(state["classifier.3.bias"])


def vgg16_cache_path() -> Path:
    """Where torchvision keeps its ImageNet VGG-16 weights (``$TORCH_HOME/hub/checkpoints``)."""
    return imagenet_weights_path()


def build_network(cfg: EvaluatorConfig, fc_channels: int = 4096) -> tuple[nn.Module, str]:
    """The evaluator network for ``cfg`` and its display name (which says how it was initialised)."""
    if cfg.arch == "small_fcn":
        return SmallFCN(NUM_CLASSES, cfg.width), "small_fcn"
    net = FCN8sVGG16(NUM_CLASSES, fc_channels)
    source = cfg.imagenet_weights
    if source is None:
        return net, "fcn8s_vgg16-scratch"
    path = vgg16_cache_path() if source in ("torchvision", "auto") else Path(source)
    if not path.is_file():
        if source == "auto":
            return net, "fcn8s_vgg16-scratch"
        raise FileNotFoundError(
            f"evaluator.imagenet_weights={source!r}: VGG-16 ImageNet weights not found at {path}. "
            "Place torchvision's vgg16-397923af.pth there, give a path, or set "
            "imagenet_weights to null (scratch) or auto.")
    net.load_vgg16_imagenet(torch.load(path, map_location="cpu", weights_only=True))
    return net, "fcn8s_vgg16-imagenet"
