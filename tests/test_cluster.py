"""The smoke DAG through the SLURM executor plugin on a real one-node SLURM cluster.

Run with ``make test-cluster`` (it installs slurm-wlm and munge, starts the cluster with
tests/cluster/start.sh and runs ``pytest --cluster``); without ``--cluster`` this test is
deselected, so ``make test`` never needs a cluster.  Every job of the DAG that has a shell
command is submitted with sbatch, runs on the node through srun and the jobstep plugin, and
the results pass the same regression check as the local smoke run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from test_workflow import override, snakemake

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def slurm_cluster():
    """Fails (never skips) when the cluster of tests/cluster/start.sh is not up."""
    # the default path: inside a job the jobstep plugin drops SLURM_CONF before calling srun
    conf = Path("/etc/slurm/slurm.conf")
    if not conf.is_file() or shutil.which("sbatch") is None:
        pytest.fail(f"no SLURM cluster: {conf} missing or sbatch not on PATH; start one with "
                    "`make test-cluster` (or tests/cluster/start.sh as root)")
    env = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
    info = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True)
    if info.returncode != 0 or not set(info.stdout.split()) & {"idle", "mixed"}:
        pytest.fail(f"SLURM at {conf} has no idle node: sinfo said {info.stdout!r} "
                    f"{info.stderr!r}; restart it with tests/cluster/start.sh")


def test_smoke_dag_through_slurm(tmp_path, slurm_cluster, monkeypatch):
    monkeypatch.delenv("SLURM_CONF", raising=False)
    results, logs = tmp_path / "results", tmp_path / "slurm_logs"
    start = time.time()
    res = snakemake("--profile", "workflow/profiles/slurm-local",
                    "--configfile", "config/smoke.yaml",
                    override(tmp_path, results_dir=str(results)),
                    "--slurm-logdir", str(logs), "--slurm-keep-successful-logs",
                    "tables", timeout=3600)
    elapsed = time.time() - start
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    print(f"smoke DAG through SLURM: {elapsed:.0f} s wall")
    root = results / "smoke"
    for name in ["table1", "table2", "table3", "table4", "table5", "claims"]:
        assert (root / "tables" / f"{name}.csv").stat().st_size > 0
    # every training run was a SLURM job: one plugin log per run, named by its job id
    runs = sorted(p for p in (root / "runs").glob("*/*/seed*"))
    assert len(runs) == 22
    train_logs = list((logs / "rule_train").rglob("*.log"))
    assert len(train_logs) == len(runs), sorted(p.name for p in train_logs)
    ids = {p.stem for p in train_logs}
    assert all(i.isdigit() for i in ids) and len(ids) == len(runs)  # %j: one SLURM job id each
    # the jobs' numbers are the local run's: the same regression check passes
    reg = snakemake("regress", "--cores", "1", "--configfile", "config/smoke.yaml",
                    override(tmp_path, results_dir=str(results)))
    log = root / "logs" / "regress.log"
    assert reg.returncode == 0, (log.read_text() if log.exists() else "") + reg.stderr[-3000:]
    timings = pd.read_csv(root / "tables" / "timings_summary.csv")
    assert set(timings["stage"]) >= {"train", "evaluate", "evaluator"}
