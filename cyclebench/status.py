"""``cyclebench status [FILE...]``: where every long job of a profile stands.

Reads what the jobs leave in their folders, nothing else: ``model.pt`` / ``evaluator.pt`` /
an evaluate job's metric CSVs (done), the run lock (a live process holds it: running, with its
PID; the evaluator and the evaluate jobs, which have no lock, count as running while the
process their progress names is alive), ``progress.json`` (written by
:mod:`cyclebench.progress` about every 30 s: steps, rate, ETA, latest losses).
A job with progress but neither a model nor a live lock was stopped (killed, preempted,
failed): the table shows its log's last line (the error of a failed job), and rerunning the
workflow resumes it from its checkpoint.

The profile files are the ones given to ``snakemake --configfile`` (default: the embedded
default profile), so the table lists every long job of the profile (the evaluator, every
training run, every run's evaluate job and every learning-curve snapshot's), also those that
have not started.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any, Sequence

from cyclebench.locks import LOCK_NAME, lock_holder
from cyclebench.profile import (load_profile, profile_runs, profile_tasks, results_root,
                                run_snapshot_epochs)
from cyclebench.progress import PROGRESS_FILE, format_duration, read_progress
from cyclebench.tasks import get_task

DONE, RUNNING, STOPPED, WAITING = "done", "running", "stopped", "waiting"


def _alive(pid: Any) -> bool:
    """Whether a process of that PID exists on this machine."""
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def last_line(path: Path | None) -> str:
    """The last non-empty line of a log ("" when there is none)."""
    if path is None:
        return ""
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln]
    return lines[-1][:160] if lines else ""


def job_status(folder: Path, product: str | Sequence[str], now: float | None = None,
               log: Path | None = None) -> dict[str, Any]:
    """The state of one job folder (``product``: the file, or files, in the folder that exist
    once it is done; ``log``: the job's log, whose last line a stopped job shows)."""
    now = time.time() if now is None else now
    progress = read_progress(folder / PROGRESS_FILE) or {}
    holder = lock_holder(folder / LOCK_NAME)
    if holder is None and progress.get("state") == "running" and _alive(progress.get("pid")):
        holder = str(progress["pid"])  # a job without a lock (the evaluator), still alive
    products = [product] if isinstance(product, str) else list(product)
    if all((folder / p).exists() for p in products):
        state = DONE
    elif holder is not None:
        state = RUNNING
    elif progress:
        state = STOPPED
    else:
        state = WAITING
    updated = progress.get("updated_unix")
    return {
        "state": state, "pid": holder, "done": progress.get("done"),
        "total": progress.get("total"), "rate_per_s": progress.get("rate_per_s"),
        "eta_s": progress.get("eta_s") if state == RUNNING else None,
        "updated_s_ago": None if updated is None else max(0.0, now - float(updated)),
        "log_line": last_line(log) if state == STOPPED else "",
    }


def _row(name: str, st: dict[str, Any]) -> list[str]:
    steps = (f"{st['done']}/{st['total']}" if st["done"] is not None and st["total"] else "")
    pct = (f"{100 * st['done'] / st['total']:.0f}%" if steps else "")
    rate = f"{st['rate_per_s']:.2f}/s" if st["rate_per_s"] else ""
    eta = format_duration(st["eta_s"]) if st["eta_s"] is not None else ""
    ago = f"{format_duration(st['updated_s_ago'])} ago" if st["updated_s_ago"] is not None else ""
    state = st["state"] + (f" (pid {st['pid']})" if st["state"] == RUNNING else "")
    return [name, state, steps, pct, rate, eta, ago, st["log_line"]]


def status_table(profile: dict[str, Any], now: float | None = None) -> tuple[list[list[str]],
                                                                             dict[str, int]]:
    """Rows (job, state, steps, %, rate, ETA, last update, last log line of a stopped job) and
    the count per state."""
    root = results_root(profile)
    jobs = []
    # the log paths are the workflow's (workflow/rules/train.smk, eval.smk)
    if "cityscapes" in profile_tasks(profile):
        jobs.append(("evaluator cityscapes", root / "evaluator" / "cityscapes", "evaluator.pt",
                     root / "logs" / "evaluator" / "cityscapes.log"))
    runs = profile_runs(profile)
    jobs += [(f"train {t}/{m}/seed{s}", root / "runs" / t / m / f"seed{s}", "model.pt",
              root / "logs" / "train" / t / m / f"seed{s}.log") for t, m, s in runs]
    # translate + score of each run (and of each learning-curve snapshot): one CSV per direction
    jobs += [(f"evaluate {t}/{m}/seed{s}", root / "metrics" / t / m / f"seed{s}",
              [f"{d}.csv" for d in get_task(t).directions],
              root / "logs" / "evaluate" / t / m / f"seed{s}.log") for t, m, s in runs]
    jobs += [(f"curve {t}/{m}/seed{s}/epoch{e:03d}",
              root / "curves" / "metrics" / t / m / f"seed{s}" / f"epoch{e:03d}",
              [f"{d}.csv" for d in get_task(t).directions],
              root / "logs" / "curve" / t / m / f"seed{s}" / f"epoch{e:03d}.log")
             for t, m, s in runs for e in run_snapshot_epochs(profile, t, m)]
    rows, counts = [], {DONE: 0, RUNNING: 0, STOPPED: 0, WAITING: 0}
    for name, folder, product, log in jobs:
        st = job_status(folder, product, now, log)
        counts[st["state"]] += 1
        rows.append(_row(name, st))
    return rows, counts


def render(rows: list[list[str]]) -> str:
    head = ["job", "state", "steps", "%", "rate", "ETA", "last update", "last log line"]
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head] + rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cyclebench status",
        description="Where every long job of a profile stands (done, running with its ETA, "
                    "stopped and resumable, waiting).")
    parser.add_argument("files", nargs="*", metavar="FILE", default=["config/default.yaml"],
                        help="the profile files given to snakemake --configfile "
                             "(default: config/default.yaml)")
    parser.add_argument("--all", action="store_true", help="also list the jobs that are done")
    args = parser.parse_args(argv)
    profile = load_profile(*args.files)
    rows, counts = status_table(profile)
    order = {RUNNING: 0, STOPPED: 1, WAITING: 2, DONE: 3}
    rows = sorted(rows, key=lambda r: order[r[1].split(" ")[0]])  # stable: profile order
    shown = rows if args.all else [r for r in rows if not r[1].startswith(DONE)]
    print(f"{results_root(profile)}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if shown:
        print(render(shown))
    return 0
