"""The trained evaluator's checkpoint, ``evaluator.pt`` (CycleGAN Section 5.1.1).

:func:`save_evaluator` writes the weights, config and display name atomically, loadable with
``torch.load(weights_only=True)``; :func:`weights_id` is the content hash of weights and config
that names the evaluator in every metric row; :meth:`Evaluator.load` rebuilds it (checking that
hash) as an :class:`Evaluator`: ``segment`` photos, ``pooled_features`` for FID, ``label`` for
the rows.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from cyclebench.datasets.palette import NUM_CLASSES
from cyclebench.config import EvaluatorConfig
from cyclebench.eval.segmenter.networks import FCN8sVGG16, SmallFCN
from cyclebench.utils import atomic_torch_save

FORMAT = "cyclebench-evaluator/1"


def weights_id(state_dict: dict[str, torch.Tensor], config: dict[str, Any]) -> str:
    """Short content hash of the weights and the config: the evaluator's id in metric rows."""
    h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for key in sorted(state_dict):
        h.update(key.encode())
        h.update(state_dict[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:8]


class Evaluator:
    """A trained segmenter: ``segment`` photos, ``pooled_features`` for FID, ``label`` for rows."""

    def __init__(self, net: nn.Module, name: str, id: str, config: dict[str, Any],
                 device: torch.device | str = "cpu"):
        self.net = net.eval()
        self.name = name
        self.id = id
        self.config = config
        self.input_size = int(config["input_size"])
        self.device = torch.device(device)
        self.net.to(self.device)

    @property
    def label(self) -> str:
        """e.g. ``small_fcn@1a2b3c4d`` (the ``evaluator`` column of the rows)."""
        return f"{self.name}@{self.id}"

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str = "cpu") -> "Evaluator":
        path = Path(path)
        if path.is_dir():
            path = path / "evaluator.pt"
        if not path.is_file():
            raise FileNotFoundError(f"evaluator checkpoint {path} not found: run "
                                    "`cyclebench evaluator` first")
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if ckpt.get("format") != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} checkpoint (format {ckpt.get('format')!r})")
        cfg = EvaluatorConfig.from_dict(ckpt["config"], source=f"{path}: config")
        if cfg.arch == "small_fcn":
            net: nn.Module = SmallFCN(NUM_CLASSES, cfg.width)
        else:
            net = FCN8sVGG16(NUM_CLASSES, int(ckpt.get("fc_channels", 4096)))
        net.load_state_dict(ckpt["state_dict"])
        got = weights_id(ckpt["state_dict"], ckpt["config"])
        if got != ckpt["id"]:
            raise ValueError(f"{path}: weights hash {got} != recorded id {ckpt['id']} (corrupt file?)")
        return cls(net, ckpt["name"], ckpt["id"], ckpt["config"], device)

    @staticmethod
    def to_input(images: np.ndarray | list[np.ndarray]) -> torch.Tensor:
        """uint8 BxHxWx3 (or a list of HxWx3) -> float Bx3xHxW in [-1, 1]."""
        arr = np.stack(list(images)) if isinstance(images, list) else np.array(images, copy=True)
        return torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float() / 127.5 - 1.0

    @torch.no_grad()
    def logits(self, x: torch.Tensor, out_size: tuple[int, int] | None = None,
               full_res_mode: str = "logits") -> torch.Tensor:
        """Class scores for a [-1, 1] batch, at ``out_size`` (default: the input's size).

        The batch is first resized (bilinear) to the evaluator's ``input_size``, the size it was
        trained at (the official protocol also resizes results to the FCN's 256x256 first).
        ``full_res_mode="logits"`` upsamples the class scores bilinearly to ``out_size``;
        ``"image"`` upsamples the *image* to ``out_size`` and segments it there, exactly as the
        official ``scripts/eval_cityscapes`` does at 1024x2048 (costly on a CPU).
        """
        x = x.to(self.device)
        out_size = tuple(out_size or x.shape[-2:])
        s = self.input_size
        if tuple(x.shape[-2:]) != (s, s):
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False)
        if full_res_mode == "image":
            if tuple(x.shape[-2:]) != out_size:
                x = F.interpolate(x, size=out_size, mode="bilinear", align_corners=False)
            return self.net(x)
        if full_res_mode != "logits":
            raise ValueError(f"full_res_mode must be logits or image, got {full_res_mode!r}")
        out = self.net(x)
        if tuple(out.shape[-2:]) != out_size:
            out = F.interpolate(out, size=out_size, mode="bilinear", align_corners=False)
        return out

    def segment(self, images: np.ndarray | list[np.ndarray], out_size: tuple[int, int] | None = None,
                full_res_mode: str = "logits") -> np.ndarray:
        """uint8 BxHxWx3 photos -> uint8 BxHxW train ids (argmax of the class scores)."""
        x = self.to_input(images)
        return self.logits(x, out_size, full_res_mode).argmax(dim=1).to(torch.uint8).cpu().numpy()

    @torch.no_grad()
    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        """[-1, 1] batch (resized to ``input_size``) -> (B, feature_dim) pooled deep features."""
        x = x.to(self.device)
        s = self.input_size
        if tuple(x.shape[-2:]) != (s, s):
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False)
        return self.net.pooled_features(x)


def save_evaluator(net: nn.Module, name: str, cfg: EvaluatorConfig, path: str | Path,
                   **extra: Any) -> str:
    """Atomically write a ``weights_only``-loadable ``evaluator.pt``; returns the evaluator id."""
    state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    config = cfg.to_dict()
    ev_id = weights_id(state, config)
    fc_channels = net.fc[0].out_channels if isinstance(net, FCN8sVGG16) else 0
    atomic_torch_save({"format": FORMAT, "name": name, "id": ev_id, "config": config,
                       "fc_channels": fc_channels, "state_dict": state, **extra}, path)
    return ev_id
