"""The shared trainer of every method (CycleGAN paper, Section 7.1 "Training details").

``train(cfg, out_dir)`` trains any registered :class:`cyclebench.registry.Method` (CycleGAN,
its ablations, the baselines) and writes, in ``out_dir``:

* ``config.resolved.yaml`` -- first, before anything else: the TrainConfig (method parameters
  resolved) plus ``provenance`` (commit, package versions, seed, device);
* ``train_log.csv`` -- ``epoch,iter,lr,seconds,<loss terms>``, the mean of each term over the
  last ``log_every`` iterations (``cyclegan.train_log``);
* ``samples/*.png`` -- grids of fixed val (or train) images and their translations;
* ``checkpoint.pt`` -- atomically, every ``checkpoint_every`` iterations and at the end:
  nets, optimisers, image pools, python/numpy/torch RNG states, epoch and position in it
  (``cyclegan.checkpoint``);
* ``model.pt`` -- at the end: inference weights, resolved config and method name (only
  tensors and primitive containers: loads with ``torch.load(weights_only=True)``);
* ``snapshots/epochNNN.pt`` -- with ``snapshots`` > 0: the same after each of that many evenly
  spaced epochs (:meth:`TrainConfig.snapshot_epochs`), for the learning curves.

Running it again on the same ``out_dir`` resumes from ``checkpoint.pt`` (only the runtime keys
in ``RUNTIME_KEYS`` -- device, threads, workers, logging/checkpoint intervals, data_root -- may
differ; any other change is refused with a :class:`ConfigError` naming the keys).  Data order and
augmentation are pure functions of ``(seed, epoch, position)`` (``cyclegan.data_order``,
``datasets.torch_data``), the lr is a pure function of the epoch (``cyclegan.schedule``) and
every RNG state is saved, so on CPU a resumed run ends with weights identical to an
uninterrupted one.

Speed: the loss values stay on the device and are accumulated there; the host reads them (and
checks for NaN/Inf) only every ``log_every``/``checkpoint_every`` iterations.  A NaN/Inf stops
training with :class:`NonFiniteLossError` naming the first bad iteration and term, before any
checkpoint is written, so the last good checkpoint stays.  Before each checkpoint write the
weights and optimiser state are checked too (one host sync per checkpoint): a NaN/Inf there
stops training with :class:`NonFiniteStateError` naming the tensor (net/optimiser + parameter)
and the iteration, and the good checkpoint on disk is never overwritten.  Data loading runs in
``num_workers`` processes with pinned memory on CUDA.

Reliability: ``train`` holds an exclusive lock on ``out_dir/.lock`` (``cyclebench.locks``) for
its whole duration: a second trainer of the same run directory (e.g. a workflow started from
another working directory) fails at once naming the holder's PID; a lock file left by a killed
process does not block.  An unreadable ``checkpoint.pt`` is refused with
:class:`CorruptCheckpointError` naming the file and the remedy, or, with ``restart_on_change``,
moved aside to ``checkpoint.pt.corrupt-<n>`` (kept) before training starts afresh.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.data import DataLoader

from cyclebench.config import ConfigError, TrainConfig
from cyclebench.cyclegan.checkpoint import (CHECKPOINT, FORMAT, LOG, MODEL, RESOLVED,
                                            snapshot_path,
                                            CorruptCheckpointError, NonFiniteStateError,
                                            check_finite_state, comparable,
                                            corrupt_checkpoint_message, first_non_finite,
                                            load_checkpoint, move_aside, rng_state,
                                            set_rng_state, supersede)
from cyclebench.cyclegan.data_order import RunBatchSampler, iterations_per_epoch, make_train_dataset
from cyclebench.cyclegan.schedule import lr_factor
from cyclebench.cyclegan.train_log import (CsvLog, LossAccumulator, NonFiniteLossError,
                                           sample_batch, save_samples)
from cyclebench.gan import resolve_method_params
from cyclebench.locks import LockHeldError, run_lock
from cyclebench.progress import PROGRESS_FILE, Progress
from cyclebench.registry import Method, get_method
from cyclebench.utils import (atomic_torch_save, atomic_write_yaml, provenance, resolve_device,
                              seed_everything, set_threads)

__all__ = ["CorruptCheckpointError", "LockHeldError", "NonFiniteLossError",
           "NonFiniteStateError", "method_lr", "resolve_config", "train"]


# --- configuration ---------------------------------------------------------------------------
def resolve_config(cfg: TrainConfig) -> TrainConfig:
    """Fill the method's parameters (defaults, variant values, then ``cfg.method_params``)."""
    params = resolve_method_params(cfg)
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
    cfg = dataclasses.replace(cfg, method_params=params)
    # the method's schedule: a fixed number of passes (a statistic, not an optimisation), or
    # the profile's scaled by the method's official ratio to CycleGAN's (CUT, FastCUT)
    n, d = get_method(cfg.method).cls.schedule(params, cfg.n_epochs, cfg.n_epochs_decay)
    if n + d < 1:
        raise ConfigError(f"method {cfg.method!r}: its schedule of the profile's "
                          f"{cfg.n_epochs} + {cfg.n_epochs_decay} epochs is {n} + {d} epochs")
    return dataclasses.replace(cfg, n_epochs=n, n_epochs_decay=d)


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


def train(cfg: TrainConfig, out_dir: str | Path, *, max_iters: int | None = None,
          on_iteration: Callable[[int], None] | None = None, quiet: bool = False,
          restart_on_change: bool = False) -> Path:
    """Train ``cfg.method`` into ``out_dir`` (resuming from its checkpoint); returns the path
    of ``model.pt``.  ``max_iters``: stop (with a checkpoint, without ``model.pt``) once that
    many iterations are done in total.  ``on_iteration(global_iter)`` is called after each
    iteration's bookkeeping (tests use it to simulate a kill).  A checkpoint written with a
    different training configuration is refused, or, with ``restart_on_change`` (what the
    Snakemake rule uses: it reruns a job when its config changed), moved with the rest of that
    run into ``superseded/<n>/`` before training starts afresh.  An unreadable checkpoint is
    refused (:class:`CorruptCheckpointError`), or, with ``restart_on_change``, moved aside to
    ``checkpoint.pt.corrupt-<n>`` before training starts afresh.  The run directory is locked
    (``out_dir/.lock``) for the whole call: a second trainer fails at once
    (:class:`LockHeldError`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = resolve_config(cfg)
    kwargs = dict(max_iters=max_iters, on_iteration=on_iteration, quiet=quiet,
                  restart_on_change=restart_on_change)
    with run_lock(out):
        try:
            return _train(cfg, out, **kwargs)
        except _CorruptCheckpoint as exc:
            ckpt_path = out / CHECKPOINT
            if not restart_on_change:
                raise CorruptCheckpointError(corrupt_checkpoint_message(ckpt_path, str(exc))) \
                    from None
            dest = move_aside(ckpt_path)
            if not quiet:
                print(f"checkpoint {ckpt_path} is corrupt ({exc}): moved to {dest}; training "
                      "again from the start", file=sys.stderr)
        return _train(cfg, out, **kwargs)  # no checkpoint now: a fresh, reseeded start


class _CorruptCheckpoint(Exception):
    """Raised by :func:`_train` (message: the reason) when ``checkpoint.pt`` cannot be read or
    restored, before any training step (so a fresh start after moving it aside is exact)."""


def _train(cfg: TrainConfig, out: Path, *, max_iters: int | None,
           on_iteration: Callable[[int], None] | None, quiet: bool,
           restart_on_change: bool) -> Path:
    device = resolve_device(cfg.device)
    spec = get_method(cfg.method)
    set_threads(cfg.threads)
    seed_everything(cfg.seed, deterministic=cfg.deterministic and device.type == "cpu")
    # Deterministic mode also fills every new tensor with NaN by default (a debugging aid that
    # changes no result of a correct op) -- ~3% of a CPU step; keep the determinism, skip that.
    torch.utils.deterministic.fill_uninitialized_memory = False
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    channels_last = cfg.channels_last

    # --- a checkpoint of another configuration: refuse, or supersede (before writing) ---------
    ckpt_path = out / CHECKPOINT
    ckpt = None
    if ckpt_path.exists():
        try:
            ckpt = load_checkpoint(ckpt_path)
        except CorruptCheckpointError as exc:
            raise _CorruptCheckpoint(exc.reason) from None
        # a checkpoint poisoned before the finite check existed: resuming it fails every time
        try:
            bad = first_non_finite(None, ckpt["method_state"])
        except (AttributeError, TypeError, RuntimeError) as exc:
            raise _CorruptCheckpoint(f"its method state is malformed ({exc})") from None
        if bad is not None:
            raise _CorruptCheckpoint(f"{bad} is NaN or Inf")
        theirs, mine = comparable(ckpt["config"]), comparable(cfg.to_dict())
        if theirs != mine:
            diff = sorted(k for k in set(theirs) | set(mine) if theirs.get(k) != mine.get(k))
            if not restart_on_change:
                raise ConfigError(f"{ckpt_path} was written with a different configuration "
                                  f"(keys {diff}); use a new run directory, delete the "
                                  "checkpoint, or pass --restart-on-change")
            dest = supersede(out, ckpt_path)
            ckpt = None
            if not quiet:
                print(f"configuration changed (keys {diff}): previous run moved to {dest}",
                      file=sys.stderr)

    resolved = cfg.to_dict()
    resolved["provenance"] = provenance(device=device, seed=cfg.seed)
    atomic_write_yaml(out / RESOLVED, resolved)

    dataset = make_train_dataset(cfg, spec.cls.paired,
                                 full_view_from=spec.cls.full_view_from_epoch(cfg.n_epochs))
    ipe = iterations_per_epoch(cfg, len(dataset))
    total_iters = ipe * cfg.total_epochs
    method = spec.cls(cfg, device)

    # --- resume --------------------------------------------------------------------------------
    global_iter, elapsed_before = 0, 0.0
    acc = LossAccumulator(device)
    if ckpt is not None:
        try:
            method.load_state_dict(ckpt["method_state"])
            set_rng_state(ckpt["rng"], device)
            global_iter, elapsed_before = int(ckpt["global_iter"]), float(ckpt["seconds"])
            acc.load_state_dict(ckpt["log_window"], device)
        except torch.OutOfMemoryError:  # the device's problem, not the file's: keep it
            raise
        except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
            # parts missing or of the wrong shape (load_state_dict raises RuntimeError); a
            # device error is not a corrupt file: keep the checkpoint and show the error
            if "CUDA" in str(exc) or "device" in str(exc).lower():
                raise
            raise _CorruptCheckpoint(f"cannot restore it: {type(exc).__name__}: "
                                     f"{(str(exc).splitlines() or [''])[0][:120]}") from None
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
    saved = [global_iter if ckpt is not None else -1]  # iteration of the checkpoint on disk
    progress = Progress(f"train {cfg.task}/{cfg.method}/seed{cfg.seed}", total_iters,
                        start=global_iter, stream=None if quiet else sys.stderr,
                        path=out / PROGRESS_FILE)
    latest: dict[str, float] = {}  # the last logged loss means (no extra host sync)
    t0 = time.perf_counter()

    def save_checkpoint() -> None:
        acc.check()  # never write a checkpoint after a NaN loss ...
        state = method.state_dict()
        check_finite_state(method, state, global_iter, ckpt_path, saved[0])  # ... or weights
        atomic_torch_save({
            "format": FORMAT, "method": cfg.method, "config": cfg.to_dict(),
            "global_iter": global_iter, "epoch": global_iter // ipe,
            "iter_in_epoch": global_iter % ipe,
            "seconds": elapsed_before + time.perf_counter() - t0,
            "method_state": state, "rng": rng_state(device),
            "log_window": acc.state_dict(),
        }, ckpt_path)
        saved[0] = global_iter

    snapshot_at = set(cfg.snapshot_epochs())

    def save_snapshot(epoch_done: int) -> None:
        atomic_torch_save({"format": FORMAT, "method": cfg.method, "config": cfg.to_dict(),
                           "weights": method.inference_state_dict(), "epoch": epoch_done,
                           "global_iter": global_iter}, snapshot_path(out, epoch_done))

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
            latest = acc.means()
            row.update(latest)
            log.write(row)
            acc.reset()
        if (cfg.sample_every and global_iter % cfg.sample_every == 0) or \
                (not cfg.sample_every and end_of_epoch):
            save_samples(method, samples,
                         out / "samples" / f"epoch{epoch:03d}_iter{global_iter:07d}.png", device)
        if end_of_epoch and global_iter // ipe in snapshot_at:
            # before the checkpoint of this iteration: a run killed in between retrains the
            # epoch from an earlier checkpoint and writes the same snapshot again
            save_snapshot(global_iter // ipe)
        at_checkpoint = global_iter % cfg.checkpoint_every == 0 or global_iter == total_iters
        if at_checkpoint:
            save_checkpoint()
        progress.update(global_iter, latest, force=at_checkpoint)
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
        progress.update(global_iter, latest, force=True, state="stopped")
        if not quiet:
            print(f"stopped at iteration {global_iter}/{total_iters}", file=sys.stderr)
        return out / MODEL
    acc.check()
    if saved[0] != global_iter:
        save_checkpoint()
    atomic_torch_save({"format": FORMAT, "method": cfg.method, "config": cfg.to_dict(),
                       "weights": method.inference_state_dict()}, out / MODEL)
    progress.finish(latest)
    if not quiet:
        print(f"trained {cfg.method} for {total_iters} iterations -> {out / MODEL}",
              file=sys.stderr)
    return out / MODEL


def method_lr(method: Method, epoch: int, cfg: TrainConfig) -> float:
    """The learning rate a method uses in ``epoch`` (its ``current_lr`` when it has one)."""
    fn = getattr(method, "current_lr", None)
    if callable(fn):
        return fn(epoch)
    return cfg.lr * lr_factor(epoch, cfg.n_epochs, cfg.n_epochs_decay)
