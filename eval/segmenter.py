"""The FCN evaluator: the semantic segmenter behind the FCN-score (CycleGAN Section 5.1.1).

The paper scores generated Cityscapes photos with an FCN-8s (Long et al., CVPR 2015) trained on
real Cityscapes photos by the pix2pix authors (pix2pix Section 4.2).  That model cannot be
downloaded here, so the harness trains its own on the task's **real** training photos (train
ids as targets) and keeps it fixed for every method; its id (a hash of weights and config) is
written into every metric row.  It is never a training signal for any method.

Architectures (``evaluator.arch``):

- ``fcn8s_vgg16``: FCN-8s on a torchvision VGG-16 backbone: fc6/fc7 as 7x7/1x1 convolutions,
  class scores from pool5, pool4 and pool3 fused by 2x, 2x, 8x bilinear upsampling (skip score
  layers zero-initialised, as in the official FCN).  ImageNet initialisation (the backbone and
  fc6/fc7 reshaped from the classifier) when ``imagenet_weights`` is ``torchvision`` (the file
  in torchvision's hub cache), ``auto`` (that file if present, scratch otherwise) or a path;
  scratch with ``null``.  The name says which: ``fcn8s_vgg16-imagenet`` / ``fcn8s_vgg16-scratch``.
  Inputs are normalised with the ImageNet mean/std.
- ``small_fcn``: a four-stage fully convolutional net (widths w, 2w, 4w, 8w; stride 8) whose
  class scores are fused from stride 8, 4, 2 and 1 in the FCN-8s manner; for CPU profiles.

Training (:func:`train_evaluator`): real train photos -> train ids, bilinear/nearest resize to
``load_size``, random ``input_size`` crop and horizontal flip, cross-entropy with
``ignore_index=255``, Adam with poly(0.9) learning-rate decay, seeded and deterministic.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from baselines.vgg import IMAGENET_MEAN, IMAGENET_STD
from cyclebench.tasks import TRAINID_DIR, get_task
from cyclebench.utils import (atomic_torch_save, atomic_write_text, atomic_write_yaml, load_label,
                              load_rgb, provenance, resolve_device, seed_everything, set_threads)
from datasets.palette import IGNORE_ID, NUM_CLASSES
from eval.profile import EvaluatorConfig

FORMAT = "cyclebench-evaluator/1"


# --- networks ------------------------------------------------------------------------------------
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
    from baselines.vgg import imagenet_weights_path

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


def weights_id(state_dict: dict[str, torch.Tensor], config: dict[str, Any]) -> str:
    """Short content hash of the weights and the config: the evaluator's id in metric rows."""
    h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for key in sorted(state_dict):
        h.update(key.encode())
        h.update(state_dict[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:8]


# --- the trained evaluator -----------------------------------------------------------------------
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
                                    "`python -m eval train-evaluator` first")
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if ckpt.get("format") != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} checkpoint (format {ckpt.get('format')!r})")
        cfg = EvaluatorConfig(**ckpt["config"])
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


# --- training ------------------------------------------------------------------------------------
def _resize_pair(photo: np.ndarray, label: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Photo bilinear (antialiased), label nearest, both to ``size`` x ``size``."""
    if photo.shape[:2] == (size, size) and label.shape == (size, size):
        return photo, label
    x = torch.tensor(photo).permute(2, 0, 1)[None].float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    y = torch.tensor(label)[None, None].float()
    y = F.interpolate(y, size=(size, size), mode="nearest")
    return (x[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy(),
            y[0, 0].to(torch.uint8).numpy())


def load_split(root: Path, split: str, photo_dir: str = "photo",
               label_dir: str = TRAINID_DIR) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """Names, photos (HxWx3 uint8) and train-id maps of ``<root>/<split>``; pairs by name."""
    pdir, ldir = Path(root) / split / photo_dir, Path(root) / split / label_dir
    for d in (pdir, ldir):
        if not d.is_dir():
            raise FileNotFoundError(f"{d} not found: prepare the data first (python -m datasets prepare)")
    names = sorted(p.name for p in pdir.glob("*.png"))
    if not names:
        raise FileNotFoundError(f"no PNG images in {pdir}")
    missing = [n for n in names if not (ldir / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} photo(s) in {pdir} have no label in {ldir}, "
                                f"e.g. {missing[0]}")
    return names, [load_rgb(pdir / n) for n in names], [load_label(ldir / n) for n in names]


class _TrainSet:
    """Training pairs resized once to ``load_size``; ``batch`` draws random crops and flips."""

    def __init__(self, photos, labels, load_size: int, crop: int, seed: int):
        pairs = [_resize_pair(p, l, load_size) for p, l in zip(photos, labels)]
        self.photos = torch.from_numpy(np.stack([p for p, _ in pairs])).permute(0, 3, 1, 2)
        self.labels = torch.from_numpy(np.stack([l for _, l in pairs]))
        self.load, self.crop = load_size, crop
        self.gen = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        for i in idx.tolist():
            top, left = torch.randint(0, self.load - self.crop + 1, (2,), generator=self.gen).tolist()
            flip = int(torch.randint(0, 2, (1,), generator=self.gen))
            x = self.photos[i, :, top: top + self.crop, left: left + self.crop]
            y = self.labels[i, top: top + self.crop, left: left + self.crop]
            if flip:
                x, y = x.flip(-1), y.flip(-1)
            xs.append(x)
            ys.append(y)
        return torch.stack(xs).float() / 127.5 - 1.0, torch.stack(ys).long()


def fit(cfg: EvaluatorConfig, photos: list[np.ndarray], labels: list[np.ndarray],
        device: torch.device, log: list[dict[str, Any]] | None = None,
        fc_channels: int = 4096) -> tuple[nn.Module, str]:
    """Train a fresh network on (photo, train id) pairs; returns (eval-mode net, display name)."""
    seed_everything(cfg.seed)
    net, name = build_network(cfg, fc_channels)
    net.to(device).train()
    data = _TrainSet(photos, labels, cfg.load_size, cfg.input_size, cfg.seed)
    order_gen = torch.Generator().manual_seed(cfg.seed + 1)
    steps_per_epoch = max(1, -(-len(data) // cfg.batch_size))
    total = cfg.epochs * steps_per_epoch
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: (1 - it / total) ** 0.9)
    start = time.time()
    for epoch in range(cfg.epochs):
        perm = torch.randperm(len(data), generator=order_gen)
        losses = []
        for b in range(steps_per_epoch):
            idx = perm[b * cfg.batch_size: (b + 1) * cfg.batch_size]
            if len(idx) < 2 and isinstance(net, SmallFCN):  # batch norm needs > 1 sample
                idx = perm[-2:] if len(perm) >= 2 else perm
            x, y = data.batch(idx)
            loss = F.cross_entropy(net(x.to(device)), y.to(device), ignore_index=IGNORE_ID)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"evaluator loss is {loss.item()} at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        if log is not None:
            log.append({"epoch": epoch, "loss": float(np.mean(losses)),
                        "lr": opt.param_groups[0]["lr"], "seconds": round(time.time() - start, 3)})
            print("evaluator epoch {epoch}: loss {loss:.4f} lr {lr:.3g} ({seconds:.1f}s)".format(
                **log[-1]), flush=True)
    return net.eval(), name


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


def score_real(evaluator: Evaluator, root: Path, *, upsample_to_full: bool = False,
               full_res_mode: str = "logits", batch_size: int = 16):
    """The evaluator's own scores on the real val photos (the "Ground truth" row)."""
    from eval.fcn_score import score_photo_dir

    return score_photo_dir(evaluator, Path(root) / "val" / get_task("cityscapes").y, root,
                           upsample_to_full=upsample_to_full, full_res_mode=full_res_mode,
                           batch_size=batch_size)


def train_evaluator(profile: dict[str, Any], task: str, out_dir: str | Path,
                    threads: int = 1) -> Evaluator:
    """Train, save ``evaluator.pt`` + ``config.resolved.yaml`` + ``ground_truth.csv`` in ``out_dir``."""
    from eval.profile import EvalConfig, data_root, data_source, read_meta, task_section
    from eval.rows import NONE as NO_SUBSTITUTES, make_rows, write_rows

    if not get_task(task).has_labels:
        raise ValueError(f"task {task!r} has no segmentation labels: the evaluator is trained on "
                         "cityscapes (it also serves the maps task as an FID feature extractor)")
    set_threads(threads)
    tsec = task_section(profile, task)
    cfg = EvaluatorConfig.from_profile(profile, tsec.get("size"))
    ecfg = EvalConfig.from_profile(profile)
    root = data_root(profile, task)
    meta = read_meta(root)
    device = resolve_device(profile.get("device", "auto"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    resolved = {"evaluator": cfg.to_dict(), "eval": ecfg.to_dict(), "task": task,
                "profile": profile["profile"], "data_root": str(root), "threads": int(threads),
                "provenance": provenance(device, cfg.seed)}
    atomic_write_yaml(out_dir / "config.resolved.yaml", resolved)

    _, photos, labels = load_split(root, "train")
    log: list[dict[str, Any]] = []
    net, name = fit(cfg, photos, labels, device, log)
    save_evaluator(net, name, cfg, out_dir / "evaluator.pt", task=task,
                   data_source=data_source(meta))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["epoch", "loss", "lr", "seconds"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(log)
    atomic_write_text(out_dir / "train_log.csv", buf.getvalue())

    evaluator = Evaluator.load(out_dir / "evaluator.pt", device)
    scores, n = score_real(evaluator, root, upsample_to_full=ecfg.upsample_to_full,
                           full_res_mode=ecfg.full_res_mode, batch_size=ecfg.batch_size)
    context = {"profile": profile["profile"], "task": task, "direction": get_task(task).x2y,
               "method": "ground_truth", "seed": cfg.seed, "split": "val",
               "data_source": data_source(meta), "substitutes": NO_SUBSTITUTES,
               "commit": resolved["provenance"]["commit"]}
    write_rows(out_dir / "ground_truth.csv",
               make_rows(context, scores.as_dict(), n_images=n, evaluator=evaluator.label))
    return evaluator
