# Shared helpers: profile validation, paths, target lists and parameter views.
import json
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

from cyclebench.errors import ConfigError
from cyclebench.profile import (claims_config, data_config, eval_config, evaluator_config,
                                profile_runs, read_profile_file, run_epochs,
                                run_snapshot_epochs, train_config, validate_profile)
from cyclebench.utils import openmp_wait_policy, use_interpreter_for_jobs
from cyclebench.tasks import TASKS, all_directions

try:
    _files = [(str(f), read_profile_file(f)) for f in workflow.configfiles]
    validate_profile(config, source="snakemake config", files=_files)
except ConfigError as exc:
    raise ValueError(str(exc)) from None

R = f"{config['results_dir']}/{config['profile']}"
RES = config["resources"]
ENV = "../../environment.yml"
# Jobs run `python3 -m cyclebench <verb>` with the interpreter that runs Snakemake (its folder
# goes first on the jobs' PATH), so `.venv/bin/snakemake` works without activating the
# environment; --use-conda jobs activate their own environment on top of it.
use_interpreter_for_jobs(sys.executable)
# Local jobs inherit this process's environment: when --cores exceeds the machine's CPUs, jobs
# oversubscribe the cores and get a passive OpenMP wait policy (cyclebench.utils.
# openmp_wait_policy); a value the user exported wins.
try:
    _cores = workflow.cores
except WorkflowError:  # no --cores (cluster executors, some dry runs): jobs get their own cores
    _cores = None
_policy = openmp_wait_policy(workflow.local_exec, _cores,
                             max(int(RES["train_threads"]), int(RES["eval_threads"])),
                             len(os.sched_getaffinity(0)))
if _policy is not None:
    os.environ.setdefault("OMP_WAIT_POLICY", _policy)
SEEDS = config["seeds"]
USES_EVALUATOR = "cityscapes" in config["tasks"]


wildcard_constraints:
    task="|".join(TASKS),
    method="[a-z0-9_]+",
    seed=r"\d+",
    direction="|".join(all_directions()),
    epoch=r"\d{3}",


def runs():
    """(task, method, seed) of every training run in the profile."""
    return profile_runs(config)


def curve_points():
    """(task, method, seed, epoch) of every learning-curve snapshot (train.snapshots)."""
    return [(t, m, s, e) for t, m, s in runs() for e in run_snapshot_epochs(config, t, m)]


CURVES = bool(curve_points())


def curve_metric_file(task, method, seed, epoch, direction):
    """``epoch``: a number, or the ``"{epoch}"`` wildcard in a rule's output pattern."""
    e = epoch if isinstance(epoch, str) else f"{int(epoch):03d}"
    return f"{R}/curves/metrics/{task}/{method}/seed{seed}/epoch{e}/{direction}.csv"


def curve_point_args():
    """``--point EPOCH CSV`` of every snapshot's and every final model's metric rows."""
    pts = [(e, curve_metric_file(t, m, s, e, d)) for t, m, s, e in curve_points()
           for d in TASKS[t].directions]
    pts += [(run_epochs(config, t, m), f"{R}/metrics/{t}/{m}/seed{s}/{d}.csv")
            for t, m, s in runs() for d in TASKS[t].directions]
    return pts


def run_dir(task, method, seed):
    return f"{R}/runs/{task}/{method}/seed{seed}"


def data_dir(task):
    return f"{R}/data/{task}"


def data_marker(task):
    return f"{data_dir(task)}/meta.json"


# Step configs as JSON, passed as params: a changed setting reruns exactly the jobs it affects.
def data_config_json(wildcards):
    return data_config(config, wildcards.task).to_json()


def train_config_json(wildcards):
    """The run's TrainConfig. Threads are passed separately (--threads), so that a different
    --cores does not change params and trigger a rerun."""
    return train_config(config, wildcards.task, wildcards.method, int(wildcards.seed),
                        data_root=data_dir(wildcards.task)).to_json()


def evaluator_config_json(wildcards):
    return evaluator_config(config, "cityscapes").to_json()


def eval_config_json(wildcards):
    return eval_config(config).to_json()


def claims_config_json(wildcards):
    return claims_config(config).to_json()


def metric_files():
    return [f"{R}/metrics/{t}/{m}/seed{s}/{d}.csv" for t, m, s in runs()
            for d in TASKS[t].directions]


def stats_files():
    """Every score's per-image statistics (the claims' bootstrap input)."""
    return [f"{R}/stats/{t}/{m}/seed{s}/{d}.npz" for t, m, s in runs()
            for d in TASKS[t].directions]


def ground_truth_files():
    return [f"{R}/evaluator/cityscapes/ground_truth.csv"] if USES_EVALUATOR else []


def study_translations(wildcards):
    """Translations shown on a maps real-vs-fake study page (lowest seed of each method)."""
    return [f"{R}/translations/maps/{m}/seed{min(SEEDS)}/{wildcards.direction}"
            for m in config["tasks"]["maps"]["methods"]]


def study_pages():
    """The Table 1 protocol pages (maps directions), when the profile has the maps task."""
    if "maps" not in config["tasks"]:
        return []
    return [f"{R}/study/{d}.html" for d in TASKS["maps"].directions]


# --- Explicit inputs of the score, tables, figures, study and regress steps -------------------
# (every path is built here, from the profile; no Python module reconstructs a results path)


def fid_cache_dir():
    """The real-image FID/KID feature cache shared by the score jobs."""
    return f"{R}/cache/fid"


def score_evaluator_inputs(task):
    """The evaluator a task's score jobs need (the metric registry decides, per direction:
    FCN-scores, evaluator features for FID/KID)."""
    from cyclebench.eval.metrics import needs_evaluator

    fid = config["eval"]["fid_extractor"]
    needs = any(needs_evaluator(task, d, fid) for d in TASKS[task].directions)
    return [f"{R}/evaluator/cityscapes/evaluator.pt"] if needs and USES_EVALUATOR else []


def translation_dir(task, method, seed, direction):
    return f"{R}/translations/{task}/{method}/seed{seed}/{direction}"


def run_config_files():
    """Every run's config.resolved.yaml (a train output): the runs the figures read."""
    return [f"{run_dir(t, m, s)}/config.resolved.yaml" for t, m, s in runs()]


def grid_translations():
    """``{"<task>:<direction>:<method>": folder}`` of the translation grids (lowest seed)."""
    seed = min(SEEDS)
    return {f"{t}:{d}:{m}": translation_dir(t, m, seed, d)
            for t, tcfg in config["tasks"].items() for d in TASKS[t].directions
            for m in tcfg["methods"]}


def benchmark_files():
    """Every job's benchmark file upstream of the tables target (the timings step's input)."""
    files = [f"{R}/benchmarks/data/{t}.tsv" for t in config["tasks"]]
    files += [f"{R}/benchmarks/evaluator/cityscapes.tsv"] if USES_EVALUATOR else []
    for t, m, s in runs():
        files += [f"{R}/benchmarks/train/{t}/{m}/seed{s}.tsv",
                  f"{R}/benchmarks/evaluate/{t}/{m}/seed{s}.tsv"]
    files += [f"{R}/benchmarks/curve/{t}/{m}/seed{s}/epoch{e:03d}.tsv"
              for t, m, s, e in curve_points()]
    names = ["sanity", "claims", "tables", "figures"] + (["curves"] if CURVES else [])
    files += [f"{R}/benchmarks/{name}/{name}.tsv" for name in names]
    if "maps" in config["tasks"]:
        files += [f"{R}/benchmarks/study/{d}.tsv" for d in TASKS["maps"].directions]
    return files


def data_root_args():
    """``<task>=<data dir>`` of every task of the profile (plots --data-root)."""
    return [f"{t}={data_dir(t)}" for t in config["tasks"]]


def study_translation_args(wildcards):
    """``<method>=<folder>`` of a study page, in the profile's method order."""
    return [f"{m}={p}" for m, p in zip(config["tasks"]["maps"]["methods"],
                                       study_translations(wildcards))]


def reference_dir():
    """The committed references, one per numeric path: <profile>.<evaluator hash>.csv.  Which
    one applies is known only once the evaluator has trained, so `cyclebench regress` picks it."""
    return "results/reference"


def tolerances_yaml():
    return "results/reference/tolerances.yaml"
