"""``cyclebench timings``: where the wall time of a profile's DAG went, from the per-job
benchmark files Snakemake writes (``benchmark:`` of every rule).

Snakemake's benchmark TSV gives a job's wall seconds (``s``) and CPU seconds (``cpu_time``)
but not when it ran; the file is written the moment the job ends, so its modification time is
the job's end and ``end - s`` its start. From those intervals: a per-stage table (jobs, wall
seconds summed, CPU seconds, share of all job time) and the number of busy cores over time
(each running job counts ``cpu_time / s`` cores: a 1-thread job ~1, an idle wait ~0), whose
mean over the makespan says how well the cores were used.

Snakemake samples a job's CPU time (every 0.5 s for its first 15 s, then every 30 s) and takes
no sample when the job ends, so ``cpu_time`` misses up to the last 30 s of every job: CPU
minutes and busy cores are lower bounds (a 92 s training job that used one core throughout
reports ~72 CPU seconds).  The exact measure of how full the schedule was is the mean number
of jobs running (summed job seconds over the makespan), which the summary gives beside it.

    cyclebench timings --benchmark-root R/benchmarks FILE.tsv ... --out timings.csv \\
        --summary timings_summary.csv [--markdown timings.md] [--figure timings.png]

A file's stage is its first folder under ``--benchmark-root`` (``train``, ``evaluate``...).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from cyclebench.errors import ConfigError
from cyclebench.utils import atomic_write_text

# the order stages run in (unknown stages follow, alphabetically)
STAGE_ORDER = ["data", "evaluator", "train", "evaluate", "curve", "sanity", "claims", "tables",
               "figures", "study", "curves"]


def read_benchmark(path: Path, root: Path) -> dict:
    """One job: stage, job name, wall/CPU seconds, peak memory, start and end (epoch s)."""
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        raise ConfigError(f"{path}: not under --benchmark-root {root}") from None
    if len(rel.parts) < 2:
        raise ConfigError(f"{path}: a benchmark file must sit in a stage folder of {root}")
    try:
        df = pd.read_csv(path, sep="\t")
        row = df.iloc[-1]  # --benchmark-repeats writes one row per repeat: the last ran last
        wall, cpu = float(row["s"]), float(row.get("cpu_time", np.nan))
    except (KeyError, IndexError, ValueError, pd.errors.ParserError) as exc:
        raise ConfigError(f"{path}: not a Snakemake benchmark file ({exc})") from None
    end = path.stat().st_mtime
    rss = row.get("max_rss", np.nan)
    return {"stage": rel.parts[0], "job": str(Path(*rel.parts[1:]).with_suffix("")),
            "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
            "max_rss_mb": pd.to_numeric(rss, errors="coerce"),
            "start": round(end - wall, 3), "end": round(end, 3)}


def job_table(files: Sequence[Path], root: Path) -> pd.DataFrame:
    if not files:
        raise ConfigError("no benchmark files given")
    df = pd.DataFrame([read_benchmark(Path(f), root) for f in files])
    t0 = df["start"].min()
    df["start"] = (df["start"] - t0).round(3)
    df["end"] = (df["end"] - t0).round(3)
    return df.sort_values(["start", "stage", "job"], kind="stable").reset_index(drop=True)


def _stage_key(stage: str) -> tuple[int, str]:
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), stage)


def busy_cores(jobs: pd.DataFrame, step: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(times, cores busy at each time): every job adds ``cpu_seconds / seconds`` cores over
    [start, end)."""
    span = float(jobs["end"].max()) if len(jobs) else 0.0
    t = np.arange(0.0, max(span, step), step)
    busy = np.zeros_like(t)
    for _, j in jobs.iterrows():
        if j["seconds"] <= 0:
            continue
        load = j["cpu_seconds"] / j["seconds"] if np.isfinite(j["cpu_seconds"]) else 1.0
        busy[(t >= j["start"]) & (t < j["end"])] += load
    return t, busy


def summary_table(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per stage: jobs, summed wall and CPU seconds, share of all job time, first start and
    last end; plus an ``all`` row whose ``span_seconds`` is the makespan."""
    rows = []
    total = float(jobs["seconds"].sum())
    for stage in sorted(jobs["stage"].unique(), key=_stage_key):
        g = jobs[jobs["stage"] == stage]
        rows.append({"stage": stage, "jobs": len(g), "job_seconds": round(g["seconds"].sum(), 1),
                     "cpu_seconds": round(g["cpu_seconds"].sum(), 1),
                     "share_of_job_seconds": round(g["seconds"].sum() / total, 4) if total else 0,
                     "mean_job_seconds": round(g["seconds"].mean(), 2),
                     "first_start": round(g["start"].min(), 1),
                     "last_end": round(g["end"].max(), 1),
                     "span_seconds": round(g["end"].max() - g["start"].min(), 1)})
    span = float(jobs["end"].max() - jobs["start"].min())
    t, busy = busy_cores(jobs)
    rows.append({"stage": "all", "jobs": len(jobs), "job_seconds": round(total, 1),
                 "cpu_seconds": round(jobs["cpu_seconds"].sum(), 1), "share_of_job_seconds": 1.0,
                 "mean_job_seconds": round(jobs["seconds"].mean(), 2), "first_start": 0.0,
                 "last_end": round(span, 1), "span_seconds": round(span, 1),
                 "mean_busy_cores": round(float(busy.mean()), 2) if len(busy) else 0.0,
                 "mean_running_jobs": round(total / span, 2) if span > 0 else 0.0})
    return pd.DataFrame(rows)


def render_markdown(summary: pd.DataFrame) -> str:
    allrow = summary[summary["stage"] == "all"].iloc[0]
    lines = ["# Where the DAG's time went", "",
             f"{int(allrow['jobs'])} jobs; makespan {allrow['span_seconds'] / 60:.1f} min from "
             f"the first job's start to the last job's end; {allrow['job_seconds'] / 60:.1f} "
             f"job-minutes; {allrow['mean_running_jobs']:.2f} jobs running on average "
             f"(job-minutes over the makespan); at least {allrow['mean_busy_cores']:.2f} cores "
             "busy on average (CPU minutes are a lower bound: Snakemake samples a job's CPU "
             "time every 30 s and misses up to its last 30 s).", "",
             "| stage | jobs | job minutes | share | mean s/job | CPU minutes |",
             "|:--|--:|--:|--:|--:|--:|"]
    for _, r in summary[summary["stage"] != "all"].iterrows():
        lines.append(f"| {r['stage']} | {int(r['jobs'])} | {r['job_seconds'] / 60:.1f} | "
                     f"{100 * r['share_of_job_seconds']:.1f} % | {r['mean_job_seconds']:.1f} | "
                     f"{r['cpu_seconds'] / 60:.1f} |")
    lines += ["", "Not counted: the set-up before the first job (venv) and `snakemake --report`."]
    return "\n".join(lines) + "\n"


def render_figure(jobs: pd.DataFrame, summary: pd.DataFrame, path: Path) -> None:
    from cyclebench.eval.plots import save_figure  # the project's PNG writer; sets Agg first
    import matplotlib.pyplot as plt

    stages = [s for s in summary["stage"] if s != "all"]
    colours = {s: plt.get_cmap("tab20")(i % 20) for i, s in enumerate(stages)}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 2]})
    per = summary[summary["stage"] != "all"]
    ax1.barh(per["stage"], per["job_seconds"] / 60, color=[colours[s] for s in per["stage"]])
    ax1.invert_yaxis()
    ax1.set_xlabel("job minutes (summed)")
    ax1.set_title("time per stage")
    t, _ = busy_cores(jobs)
    bottom = np.zeros_like(t)
    for stage in stages:
        _, b = busy_cores(jobs[jobs["stage"] == stage])
        b = np.pad(b, (0, max(0, len(t) - len(b))))[:len(t)]
        ax2.fill_between(t / 60, bottom, bottom + b, step="post", color=colours[stage],
                         label=stage, linewidth=0)
        bottom = bottom + b
    ax2.set_xlabel("minutes since the first job started")
    ax2.set_ylabel("busy cores (CPU s / wall s,\na lower bound)")
    ax2.set_title("core use over time")
    ax2.legend(fontsize=7, ncol=2, loc="upper right")
    fig.tight_layout()
    save_figure(fig, path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cyclebench timings",
                                description="Wall time of a DAG by stage and core use over "
                                            "time, from Snakemake's benchmark files.")
    p.add_argument("benchmarks", nargs="+", type=Path, help="benchmark TSV files")
    p.add_argument("--benchmark-root", type=Path, required=True,
                   help="the folder whose first-level subfolders name the stages")
    p.add_argument("--out", type=Path, required=True, help="one row per job (CSV)")
    p.add_argument("--summary", type=Path, required=True, help="one row per stage (CSV)")
    p.add_argument("--markdown", type=Path, default=None)
    p.add_argument("--figure", type=Path, default=None)
    args = p.parse_args(argv)
    jobs = job_table(args.benchmarks, args.benchmark_root)
    summary = summary_table(jobs)
    atomic_write_text(args.out, jobs.to_csv(index=False))
    atomic_write_text(args.summary, summary.to_csv(index=False))
    if args.markdown is not None:
        atomic_write_text(args.markdown, render_markdown(summary))
    if args.figure is not None:
        render_figure(jobs, summary, args.figure)
    allrow = summary.iloc[-1]
    print(f"{len(jobs)} jobs, makespan {allrow['span_seconds']:.0f} s, "
          f"{allrow['mean_running_jobs']:.2f} jobs running on average (>= "
          f"{allrow['mean_busy_cores']:.2f} cores busy) -> {args.summary}")
    return 0
