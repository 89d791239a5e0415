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
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cyclebench.config import TrainConfig
from cyclebench.registry import Method, get_method

CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"
RESOLVED = "config.resolved.yaml"
LOG = "train_log.csv"
FORMAT = 1
# Settings that may differ between an interrupted run and its resumption.
RUNTIME_KEYS = {"device", "threads", "num_workers", "checkpoint_every", "log_every",
                "sample_every", "data_root"}


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
    """A config dict without :data:`RUNTIME_KEYS`: what must match for a run to resume."""
    return {k: v for k, v in d.items() if k not in RUNTIME_KEYS}


def supersede(out: Path, ckpt_path: Path) -> Path:
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


# --- the trained model ---------------------------------------------------------------------
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
