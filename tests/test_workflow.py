"""The Snakemake workflow: dry runs of every profile, lint, config errors, and the smoke DAG
end to end with the metric regression check against results/reference/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


def snakemake(*args: str, cwd: Path = REPO, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def override(tmp_path: Path, **values) -> str:
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_dry_run_every_profile(tmp_path, profile):
    res = snakemake("-n", "--configfile", f"config/{profile}.yaml",
                    override(tmp_path, results_dir=str(tmp_path / "results")), "tables")
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    for rule in ["prepare_data", "train", "evaluate_", "sanity", "make_tables",
                 "make_figures"]:
        assert rule in out, f"rule {rule} missing from the {profile} dry run"
    cfg = yaml.safe_load((REPO / "config" / f"{profile}.yaml").read_text())
    n_runs = sum(len(t["methods"]) for t in cfg["tasks"].values()) * len(cfg["seeds"])
    # one train job per (task, method, seed) and one evaluate job (translate + score of both
    # directions, one process) per run
    job_table = [line.split() for line in out.splitlines()]
    counts = {row[0]: int(row[1]) for row in job_table if len(row) == 2 and row[1].isdigit()}
    assert counts.get("train") == n_runs
    assert sum(n for rule, n in counts.items() if rule.startswith("evaluate_")) == n_runs
    for task, tcfg in cfg["tasks"].items():
        assert counts.get(f"evaluate_{task}") == len(tcfg["methods"]) * len(cfg["seeds"])


def test_cluster_profiles_name_only_rules_that_exist(tmp_path):
    """set-resources / set-threads of the cluster profiles name rules of this workflow (a
    renamed rule would otherwise silently lose its GPU and threads on the cluster)."""
    # the smoke profile defines every rule (its learning curves add the curve_<task> rules)
    res = snakemake("--list-rules", "--configfile", "config/smoke.yaml",
                    override(tmp_path, results_dir=str(tmp_path / "results")))
    assert res.returncode == 0, res.stderr[-3000:]
    rules = {ln.strip() for ln in res.stdout.splitlines() if ln.strip()}
    assert {"train", "train_evaluator", "evaluate_cityscapes", "curve_maps"} <= rules
    for name in ("slurm", "kubernetes"):
        prof = yaml.safe_load((REPO / "workflow" / "profiles" / name / "config.yaml").read_text())
        for key in ("set-resources", "set-threads"):
            unknown = set(prof.get(key, {})) - rules
            assert not unknown, f"workflow/profiles/{name}: {key} names no rule {unknown}"


def test_evaluate_job_passes_both_directions_explicitly(tmp_path):
    """The per-run job translates and scores both directions of its task, every path on the
    command line, in the same order for --directions, --translations, --out and --stats."""
    res = snakemake("-n", "-p", "--configfile", "config/smoke.yaml",
                    override(tmp_path, results_dir=str(tmp_path / "results")), "--", "metrics")
    assert res.returncode == 0, res.stderr[-3000:]
    cmds = [line for line in (res.stdout + res.stderr).splitlines()
            if "cyclebench evaluate " in line]
    cmd = next(c for c in cmds if "--task cityscapes --method cyclegan --seed 0" in c)
    run = f"{tmp_path}/results/smoke/runs/cityscapes/cyclegan/seed0"
    assert f"--run {run} " in cmd and "--directions label2photo photo2label " in cmd
    for flag, folder, ext in (("--translations", "translations", ""), ("--out", "metrics", ".csv"),
                              ("--stats", "stats", ".npz")):
        base = f"{tmp_path}/results/smoke/{folder}/cityscapes/cyclegan/seed0"
        assert f"{flag} {base}/label2photo{ext} {base}/photo2label{ext} " in cmd
    assert "--evaluator " in cmd and "--fid-cache " in cmd


def test_regress_targets_list_the_metric_files(tmp_path):
    """`snakemake regress` / `update_reference` (make reference) pass every metric CSV of the
    profile explicitly to `cyclebench regress`."""
    for target in (["regress"], ["update_reference", "--forcerun", "update_reference"]):
        res = snakemake(*target, "-n", "-p", "--configfile", "config/smoke.yaml",
                        override(tmp_path, results_dir=str(tmp_path / "results")))
        assert res.returncode == 0, res.stderr[-3000:]
        out = res.stdout + res.stderr
        cmd = next(line for line in out.splitlines() if "cyclebench regress" in line)
        assert cmd.count("--metrics-csv ") == 44 and "--evaluator-csv " in cmd  # 22 runs x 2
        # the folder of per-numeric-path references: which one applies is known only once the
        # evaluator has trained, so `cyclebench regress` picks it
        assert "--reference-dir results/reference " in cmd and "--metrics-dir" not in cmd
        assert ("--update" in cmd) == (target[0] != "regress")


def test_default_target_is_the_tables(tmp_path):
    res = snakemake("-n", "--configfile", "config/smoke.yaml",
                    override(tmp_path, results_dir=str(tmp_path / "results")))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "make_tables" in res.stdout + res.stderr


def test_bad_config_fails_before_any_job(tmp_path):
    res = snakemake("-n", "--configfile", "config/smoke.yaml",
                    override(tmp_path, train={"lr": "fast"}), "tables")
    assert res.returncode != 0
    assert "train.lr" in res.stdout + res.stderr


def test_lint_is_clean():
    res = snakemake("--lint", "--configfile", "config/smoke.yaml")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


@pytest.mark.slow
def test_smoke_dag_end_to_end_with_regression_check(tmp_path):
    """The whole smoke DAG through Snakemake, then the metric regression check."""
    results = tmp_path / "results"
    start = time.time()
    res = snakemake("--cores", "2", "--configfile", "config/smoke.yaml",
                    override(tmp_path, results_dir=str(results)), "tables", timeout=1800)
    elapsed = time.time() - start
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-5000:]
    print(f"smoke DAG wall time: {elapsed:.0f}s")
    root = results / "smoke"
    for name in ["table1", "table2", "table3", "table4", "table5", "agreement"]:
        assert (root / "tables" / f"{name}.csv").stat().st_size > 0
    assert any((root / "figures").glob("*.png"))
    for direction in ["map2photo", "photo2map"]:  # the Table 1 real-vs-fake study pages
        assert (root / "study" / f"{direction}.html").stat().st_size > 10_000
    # the claims machinery end to end: every comparison of the 8 paper claims and of the extra
    # claim (CUT > CycleGAN) ran (the smoke profile has every method), from per-image
    # statistics of every score
    claims = pd.read_csv(root / "tables" / "claims.csv")
    comps = claims[claims["level"] == "comparison"]
    levels = claims[claims["level"] == "claim"]
    assert len(levels) == 9 and (levels["origin"] == "extra").sum() == 1 and len(comps) == 68
    assert (comps["verdict"] != "not run").all() and (comps["n_seeds"] == 1).all()
    assert (comps["ci_low"] <= comps["ci_high"]).all()
    assert "claims reproduced" in (root / "tables" / "claims.md").read_text()
    assert (root / "claims" / "claims.png").stat().st_size > 10_000
    assert len(list((root / "stats").rglob("*.npz"))) == len(list((root / "metrics").rglob("*.csv")))
    # the calibration row is in the tables, the sanity checks beside them
    assert "Colour lookup (calibration)" in (root / "tables" / "table2.md").read_text()
    sanity = pd.read_csv(root / "tables" / "sanity.csv")
    assert set(sanity["method"]) == {"real_other_scenes", "input_as_output"}
    assert set(sanity["direction"]) == {"label2photo", "photo2label", "map2photo", "photo2map"}
    # learning curves (smoke: train.snapshots 1 -> epoch 1 of 2 and the final model)
    curves = pd.read_csv(root / "tables" / "learning_curves.csv")
    # (CUT and FastCUT keep their official schedules: 2 + 2 and 2 + 1 epochs of the smoke's 1 + 1)
    final = curves.groupby("method")["epoch"].max().to_dict()
    assert final.pop("cut") == 4 and final.pop("fastcut") == 3
    assert set(final.values()) == {2} and curves["epoch"].min() == 1
    assert curves.groupby(["task", "method"])["epoch"].nunique().eq(2).all()
    assert set(curves["method"]) == {p.name for p in (root / "runs").glob("*/*")}
    assert "best checkpoint" in (root / "tables" / "best_vs_final.md").read_text()
    for task in ("cityscapes", "maps"):
        assert (root / "curves" / f"{task}.png").stat().st_size > 10_000
    assert not (root / "curves" / "translations").exists() or not any(
        (root / "curves" / "translations").rglob("*.png"))  # temporary: only the rows stay
    # where the time went: one benchmark file per job, summarised by stage
    timings = pd.read_csv(root / "tables" / "timings_summary.csv").set_index("stage")
    assert timings.loc["train", "jobs"] == 22 and timings.loc["evaluate", "jobs"] == 22
    assert timings.loc["curve", "jobs"] == 22
    assert (root / "benchmarks" / "timings.png").stat().st_size > 10_000
    # every training run reported its progress and finished
    for run in (root / "runs").glob("*/*/seed*"):
        assert json.loads((run / "progress.json").read_text())["state"] == "done"
    # resolved configs are saved next to every result
    for run in (root / "runs").glob("*/*/seed*"):
        assert (run / "config.resolved.yaml").exists()
        assert (run / "train_log.csv").exists()
    # a second invocation, with other --cores, has nothing to do (params do not depend on cores)
    again = snakemake("-n", "--cores", "1", "--configfile", "config/smoke.yaml",
                      override(tmp_path, results_dir=str(results)), "tables")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing to be done" in again.stdout + again.stderr
    # regression check against the committed reference: the `regress` rule lists exactly the
    # profile's metric files (results/reference/smoke.<numeric path>.csv, tolerances.yaml)
    reg = snakemake("regress", "--cores", "1", "--configfile", "config/smoke.yaml",
                    override(tmp_path, results_dir=str(results)))
    log = root / "logs" / "regress.log"
    assert reg.returncode == 0, (log.read_text() if log.exists() else "") + reg.stderr[-3000:]
    assert "regression check passed" in (root / "regress" / "report.txt").read_text()
    # the report renders offline
    rep = snakemake("--configfile", "config/smoke.yaml",
                    override(tmp_path, results_dir=str(results)),
                    "--report", str(tmp_path / "report.html"), "tables")
    assert rep.returncode == 0, rep.stderr[-3000:]
    assert (tmp_path / "report.html").stat().st_size > 10_000
