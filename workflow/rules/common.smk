# Shared helpers: profile validation, paths, target lists and parameter views.
import json
from pathlib import Path

from cyclebench.config import ConfigError, run_config
from cyclebench.profile import data_view, eval_view, validate_profile
from cyclebench.tasks import TASKS, all_directions

try:
    validate_profile(config, source="snakemake config")
except ConfigError as exc:
    raise ValueError(str(exc)) from None

R = f"{config['results_dir']}/{config['profile']}"
RES = config["resources"]
ENV = "../../environment.yml"
SEEDS = config["seeds"]
USES_EVALUATOR = "cityscapes" in config["tasks"]
FEATURES_FROM_EVALUATOR = config["eval"]["fid_extractor"] == "evaluator-features"


wildcard_constraints:
    task="|".join(TASKS),
    method="[a-z0-9_]+",
    seed=r"\d+",
    direction="|".join(all_directions()),


def runs():
    """(task, method, seed) of every training run in the profile."""
    return [(t, m, s) for t, tcfg in config["tasks"].items() for m in tcfg["methods"]
            for s in SEEDS]


def run_dir(task, method, seed):
    return f"{R}/runs/{task}/{method}/seed{seed}"


def data_marker(task):
    return f"{R}/data/{task}/meta.json"


def train_config_json(wildcards):
    """The run's TrainConfig as JSON. Threads are passed separately (--threads), so that a
    different --cores does not change params and trigger a rerun."""
    cfg = run_config(config, wildcards.task, wildcards.method, int(wildcards.seed))
    return json.dumps(cfg.to_dict(), sort_keys=True)


def evaluator_inputs(wildcards):
    """The evaluator a score job needs: for segmentation scores and evaluator features."""
    needs = (wildcards.task == "cityscapes") or FEATURES_FROM_EVALUATOR
    return [f"{R}/evaluator/cityscapes/evaluator.pt"] if needs and USES_EVALUATOR else []


def metric_files():
    return [f"{R}/metrics/{t}/{m}/seed{s}/{d}.csv" for t, m, s in runs()
            for d in TASKS[t].directions]


def ground_truth_files():
    return [f"{R}/evaluator/cityscapes/ground_truth.csv"] if USES_EVALUATOR else []


def view_json(view):
    return json.dumps(view, sort_keys=True)


def study_translations(wildcards):
    """Translations shown on a maps real-vs-fake study page (lowest seed of each method)."""
    return [f"{R}/translations/maps/{m}/seed{min(SEEDS)}/{wildcards.direction}"
            for m in config["tasks"]["maps"]["methods"]]


def study_pages():
    """The Table 1 protocol pages (maps directions), when the profile has the maps task."""
    if "maps" not in config["tasks"]:
        return []
    return [f"{R}/study/{d}.html" for d in TASKS["maps"].directions]
