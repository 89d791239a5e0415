"""Checkpoints and the files of a run directory (CycleGAN paper, Section 7.1; exact resume).

A run directory holds ``config.resolved.yaml`` (:data:`RESOLVED`), ``train_log.csv``
(:data:`LOG`), ``samples/``, ``checkpoint.pt`` (:data:`CHECKPOINT`: nets, optimisers, image
pools, python/numpy/torch RNG states, epoch and position in it; written atomically) and, at the
end, ``model.pt`` (:data:`MODEL`: inference weights, resolved config and method name).  Both
``.pt`` files hold only tensors and primitive containers, so they load with
``torch.load(weights_only=True)``; the RNG states are stored that way by :func:`rng_state`.

A checkpoint may be resumed only by the same training configuration: :func:`comparable` drops
the runtime keys (:data:`RUNTIME_KEYS`) before the comparison, and :func:`supersede` moves a
run written with another configuration into ``superseded/<n>/``.  :func:`load_method` rebuilds
a trained method from ``model.pt`` for translation.

Reliability: :func:`check_finite_state` (called before every checkpoint write) refuses weights
or optimiser state with NaN/Inf (:class:`NonFiniteStateError`, naming the tensor and the
iteration), so a good checkpoint is never replaced by a poisoned one.  :func:`load_checkpoint`
and :func:`load_method` turn an unreadable file into one line naming it and the remedy
(:class:`CorruptCheckpointError`, :class:`CorruptModelError`); loads stay ``weights_only=True``.
:func:`move_aside` keeps a corrupt checkpoint as ``checkpoint.pt.corrupt-<n>`` (never deleted).
"""

from __future__ import annotations

import pickle
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cyclebench.config import ConfigError, TrainConfig
from cyclebench.errors import UserError
from cyclebench.registry import Method, get_method

CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"
SNAPSHOTS = "snapshots"  # learning curves: snapshots/epochNNN.pt, the format of model.pt
RESOLVED = "config.resolved.yaml"
LOG = "train_log.csv"
FORMAT = 1
# Settings that may differ between an interrupted run and its resumption.
RUNTIME_KEYS = {"device", "threads", "num_workers", "checkpoint_every", "log_every",
                "sample_every", "data_root"}
CHECKPOINT_KEYS = ("config", "global_iter", "seconds", "method_state", "rng", "log_window")


class NonFiniteStateError(UserError, RuntimeError):
    """Weights or optimiser state became NaN/Inf (the message names the tensor and iteration)."""


class CorruptCheckpointError(ConfigError):
    """``checkpoint.pt`` cannot be read (the message names it and the remedy; ``reason``: why)."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


class CorruptModelError(UserError, ValueError):
    """``model.pt`` cannot be read (the message names it and the remedy)."""


def _reason(exc: BaseException) -> str:
    """A short cause for a failed ``torch.load`` -- never torch's advice to drop weights_only."""
    if isinstance(exc, pickle.UnpicklingError) or "weights only" in str(exc).lower():
        return "it is not a file of tensors this project wrote"
    if isinstance(exc, (KeyError, TypeError, AttributeError)):
        return f"it lacks the expected contents ({type(exc).__name__}: {exc})"
    first = (str(exc).strip().splitlines() or [""])[0]
    first = re.split(r"(?<=[.!?])\s", first)[0].rstrip(".")  # torch adds advice after that
    if len(first) > 120:
        first = first[:117] + "..."
    kind = "truncated or not a torch file" if isinstance(exc, (RuntimeError, OSError, EOFError)) \
        else type(exc).__name__
    return f"{kind}: {type(exc).__name__}: {first}" if first else kind


# --- non-finite state (checked before each checkpoint write) --------------------------------
def _param_names(method: Method) -> dict[int, str]:
    names = {}
    for net_name, net in method.networks().items():
        for pname, param in net.named_parameters():
            names.setdefault(id(param), f"{net_name}.{pname}")
    return names


def _finite_tensors(method: Method | None, state: dict[str, Any]):
    """(description, tensor) for every floating tensor of the nets' and optimisers' state."""
    if not isinstance(state, dict):
        raise TypeError(f"method state is a {type(state).__name__}, not a dict")
    for net, sd in state.get("nets", {}).items():
        for name, t in sd.items():
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                yield f"net {net!r} tensor {name!r}", t
    live = (getattr(method, "optimizers", None) or {}) if method is not None else {}
    ids = _param_names(method) if live and state.get("optimizers") else {}
    for opt_name, osd in state.get("optimizers", {}).items():
        # the optimiser's state is keyed by parameter index: name it by the live parameter
        index = {}
        opt = live.get(opt_name)
        if opt is not None:
            params = [p for group in opt.param_groups for p in group["params"]]
            index = {i: ids.get(id(p), f"#{i}") for i, p in enumerate(params)}
        for i, per_param in osd.get("state", {}).items():
            for key, t in per_param.items():
                if isinstance(t, torch.Tensor) and t.is_floating_point():
                    yield (f"optimiser {opt_name!r} state {key!r} of parameter "
                           f"{index.get(i, f'#{i}')!r}"), t


def first_non_finite(method: Method | None, state: dict[str, Any]) -> str | None:
    """The first tensor of ``state`` (nets, optimisers) with a NaN/Inf, described; else None.

    One host sync for all tensors (runs at checkpoint time only).  Without ``method`` the
    optimisers' entries are named by parameter index."""
    items = list(_finite_tensors(method, state))
    if not items:
        return None
    flags = torch.stack([torch.isfinite(t).all() for _, t in items]).cpu()
    if bool(flags.all()):
        return None
    return items[int((~flags).nonzero()[0])][0]


def check_finite_state(method: Method, state: dict[str, Any], global_iter: int,
                       ckpt_path: Path, saved_iter: int) -> None:
    """Raise :class:`NonFiniteStateError` if the nets' or optimisers' state holds NaN/Inf."""
    bad = first_non_finite(method, state)
    if bad is None:
        return
    kept = (f"{ckpt_path} of iteration {saved_iter} is kept" if saved_iter >= 0
            else f"no checkpoint was written to {ckpt_path}")
    raise NonFiniteStateError(
        f"non-finite state at iteration {global_iter} (first seen at this checkpoint, after "
        f"iteration {max(saved_iter, 0)}): {bad} is NaN or Inf; training stopped, {kept} "
        "(lower the learning rate or check the method's update)")


# --- reading checkpoint.pt ------------------------------------------------------------------
def load_checkpoint(ckpt_path: Path) -> dict[str, Any]:
    """Load ``checkpoint.pt`` (weights_only); an unreadable or incomplete file raises
    :class:`CorruptCheckpointError` naming it and the remedy."""
    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict):
            raise TypeError(f"holds a {type(ckpt).__name__}, not a dict")
        missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
        if missing:
            raise KeyError(f"no {missing}")
        if not isinstance(ckpt["config"], dict):
            raise TypeError("'config' is not a dict")
    except Exception as exc:
        reason = _reason(exc)
        raise CorruptCheckpointError(corrupt_checkpoint_message(ckpt_path, reason),
                                     reason) from None
    return ckpt


def corrupt_checkpoint_message(ckpt_path: Path, reason: str) -> str:
    return (f"checkpoint {ckpt_path} is unreadable or corrupt ({reason}): rerun with "
            f"--restart-on-change to move it aside (kept as {ckpt_path.name}.corrupt-<n>) and "
            "train again from the start, or move/delete it yourself")


def move_aside(path: Path) -> Path:
    """Rename a corrupt ``path`` to ``<name>.corrupt-<n>`` (the first free n); kept, not lost."""
    n = 0
    while (dest := path.with_name(f"{path.name}.corrupt-{n}")).exists():
        n += 1
    path.rename(dest)
    return dest


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


# --- configuration changes ----------------------------------------------------------------
def comparable(d: dict[str, Any]) -> dict[str, Any]:
    """A config dict without :data:`RUNTIME_KEYS`: what must match for a run to resume (a key
    added after the checkpoint was written counts with the value such runs had)."""
    return {k: v for k, v in {**TrainConfig.ADDED_KEYS, **d}.items() if k not in RUNTIME_KEYS}


def supersede(out: Path, ckpt_path: Path) -> Path:
    """Move a run written with another configuration into ``superseded/<n>/`` (kept, not lost)."""
    root = out / "superseded"
    n = 0
    while (root / str(n)).exists():
        n += 1
    dest = root / str(n)
    dest.mkdir(parents=True)
    for name in (CHECKPOINT, MODEL, RESOLVED, LOG, "samples", SNAPSHOTS, "progress.json"):
        if (out / name).exists():
            (out / name).rename(dest / name)
    return dest


def snapshot_path(run_dir: str | Path, epoch: int) -> Path:
    """Inference weights after ``epoch`` epochs (TrainConfig.snapshots), as model.pt holds them."""
    return Path(run_dir) / SNAPSHOTS / f"epoch{int(epoch):03d}.pt"


# --- the trained model ---------------------------------------------------------------------
def load_method(run_dir: str | Path, device: torch.device | str = "cpu",
                model_file: str | Path | None = None) -> Method:
    """Rebuild a trained method from ``run_dir/model.pt`` (or ``model_file``, e.g. a learning
    curve snapshot) for translation (eval mode)."""
    path = Path(run_dir) / MODEL if model_file is None else Path(model_file)
    if not path.exists():
        raise FileNotFoundError(f"no trained model at {path} (train the run first)")
    remedy = (f"retrain the run: delete {path} (or the whole run directory {path.parent}) "
              "and run the training again")
    try:  # never weights_only=False: a model file holds tensors and primitives only
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict):
            raise TypeError(f"holds a {type(payload).__name__}, not a dict")
        config, method_name, weights = payload["config"], payload["method"], payload["weights"]
    except Exception as exc:
        raise CorruptModelError(f"trained model {path} is unreadable or corrupt "
                                f"({_reason(exc)}): {remedy}") from None
    cfg = TrainConfig.from_dict(config, source=str(path))
    device = torch.device(device) if not isinstance(device, torch.device) else device
    method = get_method(method_name).cls(cfg, device)
    try:
        method.load_inference_state_dict(weights)
    except (KeyError, RuntimeError, TypeError, AttributeError) as exc:
        raise CorruptModelError(f"trained model {path} does not fit method {method_name!r} "
                                f"({_reason(exc)}): {remedy}") from None
    for net in method.networks().values():
        net.eval()
    return method
