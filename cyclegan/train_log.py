"""What a training run logs (CycleGAN paper, Section 7.1 "Training details").

- :class:`CsvLog`: ``train_log.csv`` -- ``epoch,iter,lr,seconds,<loss terms>``, one row per
  ``log_every`` iterations; on resume the rows after the checkpoint's iteration are dropped.
- :class:`LossAccumulator`: the loss terms summed on the device between rows (no host sync per
  iteration); the host reads them, and checks them for NaN/Inf, only when asked.  A NaN/Inf
  raises :class:`NonFiniteLossError` naming the first bad iteration and term.
- :func:`sample_batch`, :func:`save_samples`: ``samples/*.png`` -- grids of fixed val (or
  train) images and their translations, drawn without touching the training randomness.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import torch

from cyclebench.config import TrainConfig
from cyclebench.cyclegan.data_order import make_train_dataset
from cyclebench.errors import UserError
from cyclebench.registry import Method
from cyclebench.utils import atomic_write_bytes, atomic_write_text


class NonFiniteLossError(UserError, RuntimeError):
    """A loss term became NaN or Inf (the message names the iteration and the term)."""


# --- train_log.csv ---------------------------------------------------------------------------
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
