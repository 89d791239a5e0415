"""Training the evaluator on real photos (CycleGAN Section 5.1.1; pix2pix Section 4.2).

:func:`train_evaluator`: the task's real train photos -> train ids (:func:`load_split`),
bilinear/nearest resize to ``load_size``, random ``input_size`` crop and horizontal flip
(``_TrainSet``), cross-entropy with ``ignore_index=255``, Adam with poly(0.9) learning-rate
decay, seeded and deterministic (:func:`fit`); then ``evaluator.pt`` and the evaluator's own
scores on the real val photos, the "Ground truth" row (:func:`score_real`).
"""

from __future__ import annotations

import csv
import io
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from cyclebench.config import EvalConfig, EvaluatorConfig
from cyclebench.datasets.meta import data_source, read_meta
from cyclebench.datasets.palette import IGNORE_ID
from cyclebench.eval.fcn_score import score_photo_dir
from cyclebench.eval.rows import NONE as NO_SUBSTITUTES, make_rows, write_rows
from cyclebench.eval.segmenter.checkpoint import Evaluator, save_evaluator
from cyclebench.eval.segmenter.networks import SmallFCN, build_network
from cyclebench.progress import PROGRESS_FILE, Progress
from cyclebench.tasks import TRAINID_DIR, get_task
from cyclebench.utils import (atomic_write_text, atomic_write_yaml, load_label, load_rgb,
                              provenance, resolve_device, seed_everything, set_threads)


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
            raise FileNotFoundError(f"{d} not found: prepare the data first (cyclebench data)")
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
        fc_channels: int = 4096, progress_path: Path | None = None) -> tuple[nn.Module, str]:
    """Train a fresh network on (photo, train id) pairs; returns (eval-mode net, display name).
    With ``log``, progress lines go to stderr about every 30 s and at the end (and to
    ``progress_path``, a progress.json, when given)."""
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
    progress = Progress("evaluator", total, stream=sys.stderr if log is not None else None,
                        path=progress_path)
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
            progress.update(epoch * steps_per_epoch + b + 1, {"loss": losses[-1]})
        if log is not None:
            log.append({"epoch": epoch, "loss": float(np.mean(losses)),
                        "lr": opt.param_groups[0]["lr"], "seconds": round(time.time() - start, 3)})
            print("evaluator epoch {epoch}: loss {loss:.4f} lr {lr:.3g} ({seconds:.1f}s)".format(
                **log[-1]), flush=True)
    progress.finish({"loss": float(np.mean(losses))})
    return net.eval(), name


def score_real(evaluator: Evaluator, root: Path, *, upsample_to_full: bool = False,
               full_res_mode: str = "logits", batch_size: int = 16):
    """The evaluator's own scores on the real val photos (the "Ground truth" row)."""
    return score_photo_dir(evaluator, Path(root) / "val" / get_task("cityscapes").y, root,
                           upsample_to_full=upsample_to_full, full_res_mode=full_res_mode,
                           batch_size=batch_size)


def train_evaluator(cfg: EvaluatorConfig, ecfg: EvalConfig, data_root: str | Path,
                    out_dir: str | Path, *, task: str = "cityscapes", threads: int = 1) -> Evaluator:
    """Train on ``data_root``'s real train photos, then write ``evaluator.pt``,
    ``config.resolved.yaml``, ``train_log.csv`` and ``ground_truth.csv`` (its scores on the
    real val photos, scored with the protocol ``ecfg``) in ``out_dir``."""
    if not get_task(task).has_labels:
        raise ValueError(f"task {task!r} has no segmentation labels: the evaluator is trained on "
                         "cityscapes (it also serves the maps task as an FID feature extractor)")
    set_threads(threads)
    root = Path(data_root)
    meta = read_meta(root)
    device = resolve_device(ecfg.device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    resolved = {"evaluator": cfg.to_dict(), "eval": ecfg.protocol(), "task": task,
                "profile": ecfg.profile, "data_root": str(root), "threads": int(threads),
                "provenance": provenance(device, cfg.seed)}
    atomic_write_yaml(out_dir / "config.resolved.yaml", resolved)

    _, photos, labels = load_split(root, "train")
    log: list[dict[str, Any]] = []
    net, name = fit(cfg, photos, labels, device, log, progress_path=out_dir / PROGRESS_FILE)
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
    context = {"profile": ecfg.profile, "task": task, "direction": get_task(task).x2y,
               "method": "ground_truth", "seed": cfg.seed, "split": "val",
               "data_source": data_source(meta), "substitutes": NO_SUBSTITUTES,
               "commit": resolved["provenance"]["commit"]}
    write_rows(out_dir / "ground_truth.csv",
               make_rows(context, scores.as_dict(), n_images=n, evaluator=evaluator.label))
    return evaluator
