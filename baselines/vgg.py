"""Frozen VGG-16 feature extractor up to ``relu4_2`` for the "feature loss + GAN" baseline.

CycleGAN paper, Section 5.1.2: "Feature loss + GAN: a variant of SimGAN where the L1 loss is
computed over deep image features using a pretrained network (VGG-16 relu4_2)".

The layers are torchvision's ``vgg16().features[:21]`` (conv1_1 ... conv4_2 + ReLU) with the
same module indices, so torchvision's ImageNet checkpoint (``vgg16-397923af.pth``) loads
directly (its ``features.N.*`` keys).  Images arrive in [-1, 1]; they are mapped to [0, 1] and
normalised with the ImageNet mean/std before the first conv.

Weights (``vgg_weights``):

- ``"imagenet"``: torchvision's ImageNet weights read from its cache
  (``$TORCH_HOME/hub/checkpoints/vgg16-397923af.pth``, ``TORCH_HOME`` defaulting to
  ``~/.cache/torch``).  Nothing is downloaded; a missing file raises an error that names the
  path to place it at and the URL it comes from.
- a filesystem path: a torchvision-format VGG-16 state dict (``features.N.*`` keys, or the
  bare ``N.*`` keys of ``features``).
- ``"random-init"``: a VGG-16 initialised as torchvision does (Kaiming-normal fan-out convs,
  zero biases) from a fixed seed, without touching the global RNG.  This is the offline
  substitute; :func:`extractor_name` gives the name that must appear in every output row.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# torchvision's VGG-16 ("D") configuration up to conv4_2; "M" = 2x2 max-pool.
_CFG_TO_RELU4_2 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512]
RELU4_2_INDEX = 20  # features[20] is the ReLU after conv4_2
IMAGENET_FILE = "vgg16-397923af.pth"
IMAGENET_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RANDOM_INIT_SEED = 20170330  # fixed: the random-init substitute is the same network everywhere


def _build_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    in_ch = 3
    for v in _CFG_TO_RELU4_2:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, v, kernel_size=3, padding=1), nn.ReLU(inplace=False)]
            in_ch = v
    assert len(layers) == RELU4_2_INDEX + 1
    return nn.Sequential(*layers)


def imagenet_weights_path() -> Path:
    """Where torchvision caches the ImageNet VGG-16: ``torch.hub.get_dir()/checkpoints/``
    (``$TORCH_HOME/hub/checkpoints``, ``TORCH_HOME`` defaulting to ``~/.cache/torch``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / IMAGENET_FILE


def extractor_name(vgg_weights: str) -> str:
    """Name of the feature extractor for tables: ``vgg16-imagenet``, ``vgg16-random-init``,
    or ``vgg16-file:<file name>`` for a custom weights file (a pure function of the setting,
    so training and translation report the same name)."""
    if vgg_weights == "imagenet":
        return "vgg16-imagenet"
    if vgg_weights == "random-init":
        return "vgg16-random-init"
    return f"vgg16-file:{Path(vgg_weights).name}"


class VGG16Relu42(nn.Module):
    """Frozen VGG-16 ``features[:21]``; ``forward`` maps [-1, 1] images to relu4_2 features."""

    def __init__(self, vgg_weights: str = "imagenet") -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # building never touches the global RNG
            self.features = _build_features()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.name = extractor_name(vgg_weights)
        if vgg_weights == "random-init":
            self._random_init()
        else:
            path = imagenet_weights_path() if vgg_weights == "imagenet" else Path(vgg_weights)
            self._load(path, vgg_weights)
        self.requires_grad_(False)
        self.eval()

    def _random_init(self) -> None:
        gen = torch.Generator().manual_seed(RANDOM_INIT_SEED)
        for m in self.features:
            if isinstance(m, nn.Conv2d):
                # torchvision VGG init: kaiming_normal_(mode="fan_out", nonlinearity="relu")
                fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                std = (2.0 / fan_out) ** 0.5
                with torch.no_grad():
                    m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std)
                    m.bias.zero_()

    def _load(self, path: Path, spec: str) -> None:
        if not path.is_file():
            if spec == "imagenet":
                raise FileNotFoundError(
                    f"VGG-16 ImageNet weights not found at {path}. This run is offline and does "
                    f"not download: place torchvision's file {IMAGENET_FILE} (from {IMAGENET_URL}) "
                    f"there (directory from torch.hub.get_dir(), i.e. $TORCH_HOME/hub), set method_params.feature_gan.vgg_weights "
                    f"to a file path, or use vgg_weights: random-init (the named substitute).")
            raise FileNotFoundError(f"method_params.vgg_weights: file not found: {path}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise ValueError(f"{path}: expected a VGG-16 state dict, got {type(state).__name__}")
        mine = self.features.state_dict()
        picked = {}
        for key in mine:
            for cand in (f"features.{key}", key):
                if cand in state:
                    picked[key] = state[cand]
                    break
            else:
                raise ValueError(f"{path}: missing VGG-16 weight {'features.' + key!r} "
                                 f"(expected a torchvision vgg16 state dict)")
            if picked[key].shape != mine[key].shape:
                raise ValueError(f"{path}: weight {key!r} has shape {tuple(picked[key].shape)}, "
                                 f"expected {tuple(mine[key].shape)}")
        self.features.load_state_dict(picked)

    def train(self, mode: bool = True) -> "VGG16Relu42":
        return super().train(False)  # always frozen, always eval (no dropout/BN anyway)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = ((images + 1.0) * 0.5 - self.mean) / self.std
        return self.features(x)
