"""Progress a person can watch: a line in the job's log at a steady cadence, and a small
``progress.json`` beside the job's outputs that ``cyclebench status`` reads.

A paper-profile training run lasts a day; its log must say where it is without waiting for
the end.  :class:`Progress` prints, about every ``every_s`` seconds and whenever asked (at
each checkpoint, at the end)::

    train cityscapes/cyclegan/seed0: iteration 4000/595000 (0.7%), 4.21 it/s, ETA 1d 15h 5m, G_adv 0.41 ...

On a terminal the lines become a tqdm progress bar (the same numbers; logs get plain lines).
The rate is measured over this process's own iterations (a resumed run does not count the
iterations of the process before it), so the ETA is that of the machine it runs on now.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, TextIO

from cyclebench.utils import atomic_write_text

PROGRESS_FILE = "progress.json"
EVERY_S = 30.0


def format_duration(seconds: float) -> str:
    """``93784`` -> ``1d 2h 3m``; ``125`` -> ``2m 5s``; ``7.2`` -> ``7s``."""
    if seconds != seconds or seconds == float("inf"):  # NaN or no rate yet
        return "unknown"
    s = int(round(max(0.0, seconds)))
    days, rem = divmod(s, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


class Progress:
    """Progress of one job of ``total`` steps (``start``: steps done before this process)."""

    def __init__(self, what: str, total: int, *, start: int = 0, unit: str = "iteration",
                 every_s: float = EVERY_S, stream: TextIO | None = sys.stderr,
                 path: str | Path | None = None, clock: Callable[[], float] = time.monotonic):
        self.what, self.total, self.start, self.unit = what, int(total), int(start), unit
        self.every_s, self.stream, self.clock = float(every_s), stream, clock
        self.path = None if path is None else Path(path)
        self.t0 = self.last = clock()
        self.done = self.start
        self.bar = None  # interactive runs (a terminal) get a progress bar instead of lines
        if stream is not None and getattr(stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, initial=self.start, desc=what, file=stream,
                            unit="it" if unit == "iteration" else unit, dynamic_ncols=True)

    def rate(self) -> float:
        """Steps per second of this process (0 before its first step)."""
        elapsed = self.clock() - self.t0
        steps = self.done - self.start
        return steps / elapsed if elapsed > 0 and steps > 0 else 0.0

    def eta_s(self) -> float:
        rate = self.rate()
        return (self.total - self.done) / rate if rate > 0 else float("inf")

    def line(self, extra: Mapping[str, float] | None = None) -> str:
        pct = 100.0 * self.done / self.total if self.total else 100.0
        per = "it" if self.unit == "iteration" else self.unit
        parts = [f"{self.what}: {self.unit} {self.done}/{self.total} ({pct:.1f}%)",
                 f"{self.rate():.2f} {per}/s", f"ETA {format_duration(self.eta_s())}"]
        if extra:
            parts.append(" ".join(f"{k} {v:.4g}" for k, v in extra.items()))
        return ", ".join(parts)

    def update(self, done: int, extra: Mapping[str, float] | None = None, *,
               force: bool = False, state: str = "running") -> bool:
        """Record ``done`` steps; report when forced or when ``every_s`` has passed."""
        self.done = int(done)
        if self.bar is not None:
            self.bar.update(self.done - self.bar.n)
        now = self.clock()
        if not force and now - self.last < self.every_s:
            return False
        self.last = now
        if self.bar is not None:
            if extra:
                self.bar.set_postfix({k: f"{v:.4g}" for k, v in extra.items()})
        elif self.stream is not None:
            print(self.line(extra), file=self.stream, flush=True)
        if self.path is not None:
            self._write(state, extra)
        return True

    def finish(self, extra: Mapping[str, float] | None = None) -> None:
        self.update(self.done, extra, force=True, state="done")
        if self.bar is not None:
            self.bar.close()

    def _write(self, state: str, extra: Mapping[str, float] | None) -> None:
        record: dict[str, Any] = {
            "what": self.what, "state": state, "done": self.done, "total": self.total,
            "unit": self.unit, "rate_per_s": round(self.rate(), 4),
            "eta_s": None if self.eta_s() == float("inf") else round(self.eta_s(), 1),
            "updated_unix": round(time.time(), 1), "pid": os.getpid(),
            "latest": {k: float(v) for k, v in (extra or {}).items()},
        }
        try:
            atomic_write_text(self.path, json.dumps(record, indent=1) + "\n")
        except OSError as exc:  # progress is a courtesy: never fail a job for it
            print(f"warning: cannot write {self.path}: {exc}", file=sys.stderr)


def read_progress(path: str | Path) -> dict[str, Any] | None:
    """A ``progress.json`` (None when missing or unreadable: status shows 'unknown')."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
