"""``cyclebench timings``: known answers from benchmark files with chosen durations and ends."""

import os
from pathlib import Path

import pandas as pd
import pytest

from cyclebench import cli
from cyclebench.eval.timings import busy_cores, job_table, summary_table

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _bench(root: Path, rel: str, seconds: float, cpu: float, end: float) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:00\t100.5\t0\t0\t0\t0\t0\t0\t{cpu}\n")
    os.utime(path, (end, end))
    return path


def _two_stages(root: Path) -> list[Path]:
    t0 = 1_000_000.0
    # two 1-thread trainings side by side (0-100 s and 0-60 s), then a 10 s evaluate job
    # that waits half the time (0.5 cores) starting at 100 s
    return [_bench(root, "train/cityscapes/cyclegan/seed0.tsv", 100, 100, t0 + 100),
            _bench(root, "train/cityscapes/simgan/seed0.tsv", 60, 60, t0 + 60),
            _bench(root, "evaluate/cityscapes/cyclegan/seed0.tsv", 10, 5, t0 + 110)]


def test_stages_durations_and_busy_cores(tmp_path):
    root = tmp_path / "benchmarks"
    jobs = job_table(_two_stages(root), root)
    assert list(jobs["stage"]) == ["train", "train", "evaluate"]
    assert list(jobs["start"]) == [0.0, 0.0, 100.0] and list(jobs["end"]) == [100.0, 60.0, 110.0]
    assert jobs.loc[0, "job"] == "cityscapes/cyclegan/seed0"
    t, busy = busy_cores(jobs)
    assert busy[t == 30].item() == 2.0 and busy[t == 80].item() == 1.0
    assert busy[t == 105].item() == 0.5
    summary = summary_table(jobs).set_index("stage")
    assert list(summary.index) == ["train", "evaluate", "all"]  # stage order, then all
    assert summary.loc["train", "job_seconds"] == 160 and summary.loc["train", "jobs"] == 2
    assert summary.loc["evaluate", "cpu_seconds"] == 5
    assert summary.loc["train", "share_of_job_seconds"] == pytest.approx(160 / 170, abs=1e-4)
    assert summary.loc["all", "span_seconds"] == 110
    # busy core-seconds 100 + 60 + 5 over a 110 s makespan
    assert summary.loc["all", "mean_busy_cores"] == pytest.approx(165 / 110, abs=0.01)
    # jobs running: 170 job-seconds over the 110 s makespan, whatever the CPU samples say
    assert summary.loc["all", "mean_running_jobs"] == pytest.approx(170 / 110, abs=0.01)


def test_cli_writes_tables_markdown_and_figure(tmp_path):
    root = tmp_path / "benchmarks"
    files = _two_stages(root)
    out = tmp_path / "out"
    argv = ["timings", *map(str, files), "--benchmark-root", str(root), "--out",
            str(out / "t.csv"), "--summary", str(out / "s.csv"), "--markdown",
            str(out / "t.md"), "--figure", str(out / "t.png")]
    assert cli.main(argv) == 0
    assert len(pd.read_csv(out / "t.csv")) == 3
    assert "makespan 1.8 min" in (out / "t.md").read_text()
    assert (out / "t.png").read_bytes()[:4] == b"\x89PNG"


def test_a_file_outside_the_root_or_not_a_benchmark_is_named(tmp_path, capsys):
    root = tmp_path / "benchmarks"
    stray = _bench(tmp_path, "elsewhere/x.tsv", 1, 1, 1e6)
    bad = root / "train" / "bad.tsv"
    bad.parent.mkdir(parents=True)
    bad.write_text("not\ta benchmark\n")
    for f, msg in ((stray, "not under --benchmark-root"), (bad, "not a Snakemake benchmark")):
        rc = cli.main(["timings", str(f), "--benchmark-root", str(root), "--out",
                       str(tmp_path / "a.csv"), "--summary", str(tmp_path / "b.csv")])
        err = capsys.readouterr().err
        assert rc == 2 and str(f) in err and msg in err


def test_the_figure_draws_every_stage_of_a_full_dag(tmp_path):
    """Eleven stages (every rule of a profile with learning curves): more than one palette."""
    from cyclebench.eval.timings import STAGE_ORDER, render_figure

    root = tmp_path / "benchmarks"
    files = [_bench(root, f"{stage}/job.tsv", 2, 1, 1_000_000 + 3 * i)
             for i, stage in enumerate(STAGE_ORDER)]
    jobs = job_table(files, root)
    render_figure(jobs, summary_table(jobs), tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
