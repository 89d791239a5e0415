"""The shared trainer of every method (CycleGAN paper, Section 7.1 "Training details").

``train(cfg, out_dir)`` trains any registered :class:`cyclebench.registry.Method` (CycleGAN,
its ablations, the baselines) and writes, in ``out_dir``:

* ``config.resolved.yaml`` -- first, before anything else: the TrainConfig (method parameters
  resolved) plus ``provenance`` (commit, package versions, seed, device);
* ``train_log.csv`` -- ``epoch,iter,lr,seconds,<loss terms>``, the mean of each term over the
  last ``log_every`` iterations;
* ``samples/*.png`` -- grids of fixed val (or train) images and their translations;
* ``checkpoint.pt`` -- atomically, every ``checkpoint_every`` iterations and at the end:
  nets, optimisers, image pools, python/numpy/torch RNG states, epoch and position in it;
* ``model.pt`` -- at the end: inference weights, resolved config and method name (only
  tensors and primitive containers: loads with ``torch.load(weights_only=True)``).

Running it again on the same ``out_dir`` resumes from ``checkpoint.pt`` (only the runtime keys
in ``RUNTIME_KEYS`` -- device, threads, workers, logging/checkpoint intervals, data_root -- may
differ; any other change is refused with a :class:`ConfigError` naming the keys).  Data order and
augmentation are pure functions of ``(seed, epoch, position)`` (``datasets.torch_data``), the
lr is a pure function of the epoch (``cyclegan.schedule``) and every RNG state is saved, so on
CPU a resumed run ends with weights identical to an uninterrupted one.

Speed: the loss values stay on the device and are accumulated there; the host reads them (and
checks for NaN/Inf) only every ``log_every``/``checkpoint_every`` iterations.  A NaN/Inf stops
training with :class:`NonFiniteLossError` naming the first bad iteration and term, before any
checkpoint is written, so the last good checkpoint stays.  Data loading runs in
``num_workers`` processes with pinned memory on CUDA.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from cyclebench.config import ConfigError, TrainConfig
from cyclebench.registry import Method, get_method
from cyclebench.utils import (atomic_torch_save, atomic_write_bytes, atomic_write_text,
                              atomic_write_yaml, provenance, resolve_device, seed_everything,
                              set_threads)

CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"
RESOLVED = "config.resolved.yaml"
LOG = "train_log.csv"
FORMAT = 1
# Settings that may differ between an interrupted run and its resumption.
RUNTIME_KEYS = {"device", "threads", "num_workers", "checkpoint_every", "log_every",
                "sample_every", "data_root"}


class NonFiniteLossError(RuntimeError):
    """A loss term became NaN or Inf (the message names the iteration and the term)."""


# --- configuration ---------------------------------------------------------------------------
def resolve_config(cfg: TrainConfig) -> TrainConfig:
    """Fill the method's parameters (defaults, variant values, then ``cfg.method_params``)."""
    try:
        spec = get_method(cfg.method)
    except KeyError as exc:
        raise ConfigError(f"key 'method': {exc.args[0]}") from None
    try:
        params = spec.resolved_params(cfg.method_params)
    except KeyError as exc:
        raise ConfigError(f"method_params: {exc.args[0]}") from None
    for key, value in {"batch_size": cfg.batch_size, "crop_size": cfg.crop_size,
                       "checkpoint_every": cfg.checkpoint_every, "log_every": cfg.log_every,
                       "threads": cfg.threads}.items():
        if value < 1:
            raise ConfigError(f"key {key!r} must be >= 1, got {value}")
    for key in ("iters_per_epoch", "num_workers", "sample_every", "n_epochs", "n_epochs_decay"):
        if getattr(cfg, key) < 0:
            raise ConfigError(f"key {key!r} must be >= 0, got {getattr(cfg, key)}")
    if cfg.total_epochs < 1:
        raise ConfigError("n_epochs + n_epochs_decay must be >= 1")
    if not cfg.data_root:
        raise ConfigError("key 'data_root' is empty: where is the prepared data?")
    return dataclasses.replace(cfg, method_params=params)


def make_train_dataset(cfg: TrainConfig, paired: bool, train: bool = True, split: str = "train"):
    from datasets.torch_data import PairedDataset, UnpairedDataset

    cls = PairedDataset if paired else UnpairedDataset
    return cls(cfg.data_root, cfg.task, split, cfg, train=train)


# --- data order ------------------------------------------------------------------------------
class RunBatchSampler(Sampler):
    """Batches of keys ``(epoch, position, index)`` from ``(start_epoch, start_iter)`` to the end
    of training.  Each epoch is a seeded permutation of the dataset (repeated when
    ``iters_per_epoch * batch_size`` exceeds it); a pure function of (seed, epoch)."""

    def __init__(self, n_items: int, batch_size: int, iters_per_epoch: int, seed: int,
                 total_epochs: int, start_epoch: int = 0, start_iter: int = 0,
                 one_pass: bool = False):
        self.n, self.bs, self.ipe = n_items, batch_size, iters_per_epoch
        self.seed, self.total = seed, total_epochs
        self.start_epoch, self.start_iter = start_epoch, start_iter
        # one pass: every item once per epoch (the last batch may be smaller, as the official
        # loader with drop_last=False); else exactly iters_per_epoch full batches.
        self.n_positions = n_items if one_pass else iters_per_epoch * batch_size

    def epoch_order(self, epoch: int) -> np.ndarray:
        reps = math.ceil(self.n_positions / self.n)
        rng = np.random.default_rng([0x5A4D, self.seed, epoch])
        return np.concatenate([rng.permutation(self.n) for _ in range(reps)])[: self.n_positions]

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        for epoch in range(self.start_epoch, self.total):
            order = self.epoch_order(epoch)
            first = self.start_iter if epoch == self.start_epoch else 0
            for it in range(first, self.ipe):
                pos = range(it * self.bs, min((it + 1) * self.bs, self.n_positions))
                yield [(epoch, p, int(order[p])) for p in pos]

    def __len__(self) -> int:
        return (self.total - self.start_epoch) * self.ipe - self.start_iter


def iterations_per_epoch(cfg: TrainConfig, n_items: int) -> int:
    """``cfg.iters_per_epoch`` or one pass over the data (the last batch may be smaller)."""
    return cfg.iters_per_epoch or math.ceil(n_items / cfg.batch_size)


# --- RNG state (as tensors and primitives: checkpoints load with weights_only=True) -----------
def rng_state(device: torch.device) -> dict[str, Any]:
    py = random.getstate()
    np_state = np.random.get_state(legacy=False)
    state = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                  "pos": int(np_state["state"]["pos"]), "has_gauss": int(np_state["has_gauss"]),
                  "gauss": float(np_state["gauss"])},
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state({"bit_generator": "MT19937",
                         "state": {"key": n["key"].numpy().astype(np.uint32), "pos": n["pos"]},
                         "has_gauss": n["has_gauss"], "gauss": n["gauss"]})
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


# --- logging ---------------------------------------------------------------------------------
class CsvLog:
    """``train_log.csv``: header from the first row's loss names; on resume, rows after the
    checkpoint's iteration (written before a kill) are dropped."""

    def __init__(self, path: Path, keep_until_iter: int | None):
        self.path = path
        self.columns: list[str] | None = None
        if keep_until_iter is not None and path.exists():
            with path.open(newline="") as fh:
                reader = csv.reader(fh)
                rows = list(reader)
            if rows:
                self.columns = rows[0]
                kept = [r for r in rows[1:]
                        if len(r) == len(self.columns) and r[1].isdigit()
                        and int(r[1]) <= keep_until_iter]  # a row torn by a kill is dropped
                buf = io.StringIO()
                csv.writer(buf, lineterminator="\n").writerows([self.columns] + kept)
                atomic_write_text(path, buf.getvalue())
        elif path.exists():
            path.unlink()

    def write(self, row: dict[str, Any]) -> None:
        new = self.columns is None
        if new:
            self.columns = list(row)
        elif list(row) != self.columns:
            missing = set(self.columns) ^ set(row)
            raise RuntimeError(f"loss terms changed during training: {sorted(missing)}")
        with self.path.open("a", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            if new:
                w.writerow(self.columns)
            w.writerow([_fmt(row[c]) for c in self.columns])


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


class LossAccumulator:
    """Sums loss terms on the device and remembers the first non-finite one, without syncing."""

    def __init__(self, device: torch.device):
        self.device = device
        self.names: list[str] | None = None
        self.reset()

    def reset(self) -> None:
        self.sum: torch.Tensor | None = None
        self.count = 0
        self.bad_iter: torch.Tensor | None = None  # per term: first bad global iteration or -1

    def add(self, losses: dict[str, torch.Tensor], it: int) -> None:
        if self.names is None:
            self.names = list(losses)
        elif list(losses) != self.names:
            raise RuntimeError(f"method returned loss terms {list(losses)}, expected {self.names}")
        vals = torch.stack([losses[k].detach().float().reshape(()) for k in self.names])
        bad = ~torch.isfinite(vals)
        if self.sum is None:
            self.sum = torch.zeros_like(vals)
            self.bad_iter = torch.full_like(vals, -1.0, dtype=torch.float64)
        self.sum += torch.where(bad, torch.zeros_like(vals), vals)
        first = (self.bad_iter < 0) & bad
        self.bad_iter = torch.where(first, torch.full_like(self.bad_iter, float(it)), self.bad_iter)
        self.count += 1

    def check(self) -> None:
        """Host sync: raise :class:`NonFiniteLossError` if any term was NaN/Inf."""
        if self.bad_iter is None:
            return
        bad = self.bad_iter.cpu().tolist()
        hits = [(int(i), name) for i, name in zip(bad, self.names) if i >= 0]
        if hits:
            it = min(i for i, _ in hits)
            first = [name for i, name in hits if i == it]  # in the method's order: terms first
            raise NonFiniteLossError(
                f"non-finite loss at iteration {it}: term {first[0]!r} is NaN or Inf (bad at "
                f"that iteration: {first}); training stopped, the last good checkpoint is kept")

    def state_dict(self) -> dict[str, Any]:
        """The partial logging window (so a resumed run logs the same means)."""
        return {"names": list(self.names or []), "count": self.count,
                "sum": self.sum.cpu() if self.sum is not None else torch.zeros(0),
                "bad_iter": self.bad_iter.cpu() if self.bad_iter is not None else torch.zeros(0)}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.names = list(state["names"]) or None
        self.count = int(state["count"])
        self.sum = state["sum"].to(device) if state["sum"].numel() else None
        self.bad_iter = state["bad_iter"].to(device) if state["bad_iter"].numel() else None

    def means(self) -> dict[str, float]:
        if not self.count:
            return {}
        vals = (self.sum / self.count).cpu().tolist()
        return dict(zip(self.names, vals))


# --- samples ---------------------------------------------------------------------------------
def sample_batch(cfg: TrainConfig, paired: bool, n: int = 4) -> dict[str, torch.Tensor]:
    """Fixed sample inputs: the first ``n`` val items (eval preprocessing), else train items."""
    try:
        ds = make_train_dataset(cfg, paired, train=False, split="val")
    except FileNotFoundError:
        ds = make_train_dataset(cfg, paired, train=False, split="train")
    items = [ds[i] for i in range(min(n, len(ds)))]
    return {k: torch.stack([it[k] for it in items]) for k in ("x", "y")}


def save_samples(method: Method, batch: dict[str, torch.Tensor], path: Path,
                 device: torch.device) -> None:
    from torchvision.utils import save_image

    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # sampling never changes training randomness
        with torch.no_grad():
            rows = method.sample_images({k: v.to(device) for k, v in batch.items()})
    grid = torch.cat([r.detach().float().cpu().clamp(-1, 1) for r in rows.values()], 0)
    n = len(next(iter(rows.values())))
    buf = io.BytesIO()
    save_image(grid * 0.5 + 0.5, buf, format="png", nrow=n, padding=2)
    atomic_write_bytes(path, buf.getvalue())


# --- the trainer -----------------------------------------------------------------------------
def _to_device(batch: dict[str, Any], device: torch.device, channels_last: bool):
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device, non_blocking=True)
            if channels_last and v.dim() == 4:
                v = v.contiguous(memory_format=torch.channels_last)
        out[k] = v
    return out


def _comparable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in RUNTIME_KEYS}


def _supersede(out: Path, ckpt_path: Path) -> Path:
    """Move a run written with another configuration into ``superseded/<n>/`` (kept, not lost)."""
    root = out / "superseded"
    n = 0
    while (root / str(n)).exists():
        n += 1
    dest = root / str(n)
    dest.mkdir(parents=True)
    for name in (CHECKPOINT, MODEL, RESOLVED, LOG, "samples"):
        if (out / name).exists():
            (out / name).rename(dest / name)
    return dest


def train(cfg: TrainConfig, out_dir: str | Path, *, max_iters: int | None = None,
          on_iteration: Callable[[int], None] | None = None, quiet: bool = False,
          restart_on_change: bool = False) -> Path:
    """Train ``cfg.method`` into ``out_dir`` (resuming from its checkpoint); returns the path
    of ``model.pt``.  ``max_iters``: stop (with a checkpoint, without ``model.pt``) once that
    many iterations are done in total.  ``on_iteration(global_iter)`` is called after each
    iteration's bookkeeping (tests use it to simulate a kill).  A checkpoint written with a
    different training configuration is refused, or, with ``restart_on_change`` (what the
    Snakemake rule uses: it reruns a job when its config changed), moved with the rest of that
    run into ``superseded/<n>/`` before training starts afresh."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = resolve_config(cfg)
    device = resolve_device(cfg.device)
    spec = get_method(cfg.method)
    set_threads(cfg.threads)
    seed_everything(cfg.seed, deterministic=cfg.deterministic and device.type == "cpu")
    # Deterministic mode also fills every new tensor with NaN by default (a debugging aid that
    # changes no result of a correct op) -- ~3% of a CPU step; keep the determinism, skip that.
    torch.utils.deterministic.fill_uninitialized_memory = False
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    elif (cfg.amp_bf16 or cfg.channels_last) and not quiet:
        print("note: amp_bf16/channels_last are CUDA-only and ignored on CPU", file=sys.stderr)
    channels_last = cfg.channels_last and device.type == "cuda"

    # --- a checkpoint of another configuration: refuse, or supersede (before writing) ---------
    ckpt_path = out / CHECKPOINT
    ckpt = None
    if ckpt_path.exists():
        try:
            ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ConfigError(f"cannot load checkpoint {ckpt_path}: {exc}") from exc
        theirs, mine = _comparable(ckpt["config"]), _comparable(cfg.to_dict())
        if theirs != mine:
            diff = sorted(k for k in set(theirs) | set(mine) if theirs.get(k) != mine.get(k))
            if not restart_on_change:
                raise ConfigError(f"{ckpt_path} was written with a different configuration "
                                  f"(keys {diff}); use a new run directory, delete the "
                                  "checkpoint, or pass --restart-on-change")
            dest = _supersede(out, ckpt_path)
            ckpt = None
            if not quiet:
                print(f"configuration changed (keys {diff}): previous run moved to {dest}",
                      file=sys.stderr)

    resolved = cfg.to_dict()
    resolved["provenance"] = provenance(device=device, seed=cfg.seed)
    atomic_write_yaml(out / RESOLVED, resolved)

    dataset = make_train_dataset(cfg, spec.cls.paired)
    ipe = iterations_per_epoch(cfg, len(dataset))
    total_iters = ipe * cfg.total_epochs
    method = spec.cls(cfg, device)

    # --- resume --------------------------------------------------------------------------------
    global_iter, elapsed_before = 0, 0.0
    if ckpt is not None:
        method.load_state_dict(ckpt["method_state"])
        set_rng_state(ckpt["rng"], device)
        global_iter, elapsed_before = int(ckpt["global_iter"]), float(ckpt["seconds"])
        if not quiet:
            print(f"resuming {out} from iteration {global_iter}/{total_iters}", file=sys.stderr)
    log = CsvLog(out / LOG, keep_until_iter=global_iter if ckpt is not None else None)
    samples = sample_batch(cfg, spec.cls.paired)
    (out / "samples").mkdir(exist_ok=True)

    start_epoch, start_iter = divmod(global_iter, ipe)
    sampler = RunBatchSampler(len(dataset), cfg.batch_size, ipe, cfg.seed, cfg.total_epochs,
                              start_epoch, start_iter, one_pass=cfg.iters_per_epoch == 0)
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.num_workers,
                        pin_memory=device.type == "cuda",
                        persistent_workers=cfg.num_workers > 0,
                        # its own generator: creating the loader never touches the global RNG
                        generator=torch.Generator())
    acc = LossAccumulator(device)
    if ckpt_path.exists():
        acc.load_state_dict(ckpt["log_window"], device)
    saved = [global_iter if ckpt_path.exists() else -1]  # iteration of the checkpoint on disk
    t0 = time.perf_counter()

    def save_checkpoint() -> None:
        acc.check()  # never write a checkpoint after a NaN
        atomic_torch_save({
            "format": FORMAT, "method": cfg.method, "config": cfg.to_dict(),
            "global_iter": global_iter, "epoch": global_iter // ipe,
            "iter_in_epoch": global_iter % ipe,
            "seconds": elapsed_before + time.perf_counter() - t0,
            "method_state": method.state_dict(), "rng": rng_state(device),
            "log_window": acc.state_dict(),
        }, ckpt_path)
        saved[0] = global_iter

    epoch = start_epoch
    if global_iter < total_iters:
        method.set_epoch(epoch)
    for batch in loader:
        if max_iters is not None and global_iter >= max_iters:
            break
        losses = method.train_step(_to_device(batch, device, channels_last))
        global_iter += 1
        acc.add(losses, global_iter)
        end_of_epoch = global_iter % ipe == 0
        if global_iter % cfg.log_every == 0 or global_iter == total_iters:
            acc.check()
            row = {"epoch": epoch, "iter": global_iter, "lr": float(method_lr(method, epoch, cfg)),
                   "seconds": round(elapsed_before + time.perf_counter() - t0, 3)}
            row.update(acc.means())
            log.write(row)
            acc.reset()
        if (cfg.sample_every and global_iter % cfg.sample_every == 0) or \
                (not cfg.sample_every and end_of_epoch):
            save_samples(method, samples,
                         out / "samples" / f"epoch{epoch:03d}_iter{global_iter:07d}.png", device)
        if global_iter % cfg.checkpoint_every == 0 or global_iter == total_iters:
            save_checkpoint()
        if on_iteration is not None:
            on_iteration(global_iter)
        if end_of_epoch and global_iter < total_iters:
            epoch += 1
            method.set_epoch(epoch)
        if max_iters is not None and global_iter >= max_iters:
            break

    if global_iter < total_iters:  # stopped early by max_iters
        if saved[0] != global_iter:
            save_checkpoint()
        if not quiet:
            print(f"stopped at iteration {global_iter}/{total_iters}", file=sys.stderr)
        return out / MODEL
    acc.check()
    if saved[0] != global_iter:
        save_checkpoint()
    atomic_torch_save({"format": FORMAT, "method": cfg.method, "config": cfg.to_dict(),
                       "weights": method.inference_state_dict()}, out / MODEL)
    if not quiet:
        print(f"trained {cfg.method} for {total_iters} iterations -> {out / MODEL}",
              file=sys.stderr)
    return out / MODEL


def method_lr(method: Method, epoch: int, cfg: TrainConfig) -> float:
    """The learning rate a method uses in ``epoch`` (its ``current_lr`` when it has one)."""
    fn = getattr(method, "current_lr", None)
    if callable(fn):
        return fn(epoch)
    from cyclegan.schedule import lr_factor

    return cfg.lr * lr_factor(epoch, cfg.n_epochs, cfg.n_epochs_decay)


def load_method(run_dir: str | Path, device: torch.device | str = "cpu") -> Method:
    """Rebuild a trained method from ``run_dir/model.pt`` for translation (eval mode)."""
    path = Path(run_dir) / MODEL
    if not path.exists():
        raise FileNotFoundError(f"no trained model at {path} (train the run first)")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    cfg = TrainConfig.from_dict(payload["config"], source=str(path))
    device = torch.device(device) if not isinstance(device, torch.device) else device
    method = get_method(payload["method"]).cls(cfg, device)
    method.load_inference_state_dict(payload["weights"])
    for net in method.networks().values():
        net.eval()
    return method
