"""A benchmark profile, validated once, and the typed step configs built from it.

A profile (``config/<name>.yaml``; several files merge, later ones win, as Snakemake merges
``--configfile``\\ s) describes a whole benchmark.  :func:`validate_profile` checks it against
the schema (filling its defaults) and adds the checks the schema cannot express; the Snakefile
calls it before any job starts, so a wrong key or value fails naming the key.  Only this
module reads the raw profile: every step receives its own frozen config
(``cyclebench.config``) from one of the builders below, and explicit paths from its rule.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any


from cyclebench import schema
from cyclebench.config import (ClaimsConfig, DataConfig, EvalConfig, EvaluatorConfig, TrainConfig,
                               read_yaml_mapping, snapshot_epochs)
from cyclebench.errors import ConfigError
from cyclebench.registry import get_method, registered_methods
from cyclebench.tasks import get_task

# Keys of a TrainConfig that are not training settings of the schema: a run's identity, its
# resolved method parameters and the runtime thread count.
RUN_KEYS = ("profile", "task", "method", "seed", "data_root", "method_params", "threads")
TRAIN_SETTINGS = "#/$defs/train_settings"
DATA_KEYS = ("source", "n_train", "n_val", "size", "full_size", "root", "url", "sha256")
# data keys that apply to some sources only (the schema describes each)
SOURCE_KEYS = {"full_size": ("synthetic",), "root": ("cityscapes", "pix2pix"),
               "url": ("pix2pix",), "sha256": ("pix2pix",)}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge (lists and scalars are replaced), as Snakemake merges configfiles."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# Snakemake refuses an empty --configfile (with a message that does not name it).
SNAKEMAKE_EMPTY = "empty config file; Snakemake refuses it: write {} in it or drop it from " \
                  "--configfile"


def read_profile_file(path: str | Path, allow_empty: bool = True) -> dict[str, Any]:
    """One profile (or override) file as a mapping; a missing, malformed or non-mapping file
    (and, unless ``allow_empty``, an empty one) is one line naming it."""
    return read_yaml_mapping(path, "profile file",
                             empty_error=None if allow_empty else SNAKEMAKE_EMPTY)


def load_profile(*paths: str | Path, allow_empty: bool = True) -> dict[str, Any]:
    """Load and merge YAML profile files (later files override earlier), then validate.
    ``allow_empty=False`` refuses an empty file, as Snakemake does."""
    config: dict[str, Any] = {}
    files = []
    for path in paths:
        data = read_profile_file(path, allow_empty)
        files.append((str(path), data))
        config = deep_merge(config, data)
    return validate_profile(config, source=", ".join(str(p) for p in paths), files=files)


def profile_runs(profile: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(task, method, seed) of every training run of a validated profile, in profile order."""
    return [(t, m, int(s)) for t, tcfg in profile["tasks"].items() for m in tcfg["methods"]
            for s in profile["seeds"]]


def run_epochs(profile: dict[str, Any], task: str, method: str) -> int:
    """Epochs a run of ``method`` on ``task`` trains for (``Method.schedule``: the colour
    lookup's fixed passes, CUT's official ratio to CycleGAN's schedule)."""
    spec = get_method(method)
    values = _train_settings(profile, task)
    params = _method_params(profile, method, f"profile {profile['profile']}")
    n, d = spec.cls.schedule(params, int(values["n_epochs"]), int(values["n_epochs_decay"]))
    return n + d


def run_snapshot_epochs(profile: dict[str, Any], task: str, method: str) -> list[int]:
    """The epochs whose snapshots a run keeps and the learning curves score (``snapshots``)."""
    return snapshot_epochs(run_epochs(profile, task, method),
                           int(_train_settings(profile, task)["snapshots"]))


def profile_tasks(profile: dict[str, Any]) -> list[str]:
    """The task names of a validated profile, in profile order."""
    return list(profile["tasks"])


def results_root(profile: dict[str, Any]) -> Path:
    """``<results_dir>/<profile>``: where every output of the profile goes."""
    return Path(profile["results_dir"]) / profile["profile"]


def profile_summary(profile: dict[str, Any]) -> str:
    """One line about a validated profile: its name and how much it runs."""
    counts = [(len(profile["tasks"]), "task"), (len(profile["seeds"]), "seed"),
              (len(profile_runs(profile)), "training run")]
    return (f"profile {profile['profile']!r} is valid ("
            + ", ".join(f"{n} {what}{'' if n == 1 else 's'}" for n, what in counts) + ")")


def validate_profile(config: dict[str, Any], source: str = "config",
                     files: list[tuple[str, dict]] | None = None) -> dict[str, Any]:
    """Validate ``config`` in place (filling defaults) and return it; raise ConfigError.
    ``files``: the ``(name, content)`` of the merged files, so that an error names the file
    that set the bad key."""
    schema.validate(config, source, files)
    _check_semantics(config, source)
    return config


def _check_semantics(config: dict[str, Any], source: str) -> None:
    """What the schema cannot express: registered methods and their parameters, task/source
    combinations, crop within load size, the evaluator features' task; and every step config
    of the profile builds (so a bad value fails before any job starts)."""
    known = set(registered_methods())
    for method in config.get("method_params", {}):
        if method not in known:
            raise ConfigError(f"{source}: method_params.{method}: unknown method; "
                              f"registered: {sorted(known)}")
    for task_name, task in config["tasks"].items():
        unknown = [m for m in task["methods"] if m not in known]
        if unknown:
            raise ConfigError(f"{source}: tasks.{task_name}.methods: unknown method(s) {unknown}; "
                              f"registered: {sorted(known)}")
        if task["source"] == "cityscapes" and task_name != "cityscapes":
            raise ConfigError(f"{source}: tasks.{task_name}.source: 'cityscapes' is only valid "
                              "for the cityscapes task")
        if task["source"] == "pix2pix" and not task.get("url"):
            raise ConfigError(f"{source}: tasks.{task_name}.url is required when source is pix2pix")
        train = _train_settings(config, task_name)
        if train["crop_size"] > train["load_size"]:
            raise ConfigError(f"{source}: tasks.{task_name}.train.crop_size "
                              f"({train['crop_size']}) must not exceed load_size "
                              f"({train['load_size']})")
        for method in task["methods"]:
            _method_params(config, method, source)
    if (config["eval"]["fid_extractor"] == "evaluator-features"
            and "cityscapes" not in config["tasks"]):
        raise ConfigError(f"{source}: eval.fid_extractor 'evaluator-features' needs the "
                          "cityscapes task (its evaluator provides the features): add the "
                          "cityscapes task, or set eval.fid_extractor: inception-v3-compat with "
                          "eval.inception_weights: <path to torch-fidelity's "
                          "weights-inception-2015-12-05-6726825d.pth>")
    if "cityscapes" in config["tasks"]:
        evaluator_config(config)
    claims_config(config)


def _train_settings(profile: dict[str, Any], task: str) -> dict[str, Any]:
    """Schema defaults < profile ``train`` < ``tasks.<task>.train`` (the device defaults to
    the profile's)."""
    values = schema.defaults(TRAIN_SETTINGS)
    values["device"] = profile["device"]
    values.update(profile.get("train") or {})
    values.update(profile["tasks"][task].get("train") or {})
    return values


def _method_params(profile: dict[str, Any], method: str, source: str) -> dict[str, Any]:
    """The registry's parameters of ``method`` with the profile's ``method_params`` over them."""
    overrides = (profile.get("method_params") or {}).get(method) or {}
    try:
        return get_method(method).resolved_params(overrides)
    except KeyError as exc:
        raise ConfigError(f"{source}: method_params.{method}: {exc.args[0]}") from None


def _task(profile: dict[str, Any], task: str) -> dict[str, Any]:
    try:
        return profile["tasks"][task]
    except KeyError:
        raise ConfigError(f"profile {profile.get('profile')!r} has no task {task!r} "
                          f"(tasks: {sorted(profile.get('tasks', {}))})") from None


# --- step configs -------------------------------------------------------------------------
def data_config(profile: dict[str, Any], task: str) -> DataConfig:
    """How ``task``'s data is prepared."""
    section = _task(profile, task)
    values = {k: section[k] for k in DATA_KEYS}
    # Keys of one source are ignored for the others, so that a synthetic base profile pointed
    # at real data by an override file does not leak its render size (or vice versa).
    for key, sources in SOURCE_KEYS.items():
        if section["source"] not in sources:
            values[key] = None
    return DataConfig.from_dict({"task": task, "seed": profile["data_seed"], **values},
                                source=f"profile {profile['profile']}: tasks.{task}")


def train_config(profile: dict[str, Any], task: str, method: str, seed: int, *,
                 data_root: str | Path, threads: int = 1) -> TrainConfig:
    """The TrainConfig of one run.

    Precedence (later wins): schema defaults < profile ``train`` < ``tasks.<task>.train``;
    method parameters: the registry's (variant over class defaults) < profile
    ``method_params.<method>``.  ``data_root`` is the prepared data the rule points the run at.
    """
    _task(profile, task)
    source = f"profile {profile['profile']}"
    values = _train_settings(profile, task)
    values.update(profile=profile["profile"], task=task, method=method, seed=int(seed),
                  data_root=str(data_root), method_params=_method_params(profile, method, source),
                  threads=int(threads))
    return TrainConfig.from_dict(values, source=source)


def default_train_config(**overrides: Any) -> TrainConfig:
    """A TrainConfig from the schema's defaults alone (for benchmarks and tests run outside a
    profile); the method's parameters come from the registry unless given."""
    values = schema.defaults(TRAIN_SETTINGS)
    values.update(profile="adhoc", task="cityscapes", method="cyclegan", seed=0, data_root="",
                  device="auto", threads=1)
    values.update(overrides)
    if "method_params" not in overrides:
        values["method_params"] = get_method(values["method"]).resolved_params()
    return TrainConfig.from_dict(values, source="default_train_config")


def evaluator_config(profile: dict[str, Any], task: str = "cityscapes") -> EvaluatorConfig:
    """The evaluator of ``task`` with its sizes resolved: ``input_size`` 0 = the task's image
    size, ``load_size`` 0 = round(1.125 * input_size)."""
    source = f"profile {profile['profile']}: evaluator"
    if not get_task(task).has_labels:
        raise ConfigError(f"task {task!r} has no segmentation labels: the evaluator is trained "
                          "on cityscapes (it also serves the maps task as an FID feature "
                          "extractor)")
    values = dict(profile["evaluator"])
    if values["input_size"] == 0:
        values["input_size"] = int(_task(profile, task)["size"])
    if values["load_size"] == 0:
        values["load_size"] = int(round(1.125 * values["input_size"]))
    if values["load_size"] < values["input_size"]:
        raise ConfigError(f"{source}.load_size ({values['load_size']}) must be >= "
                          f"evaluator.input_size ({values['input_size']})")
    if values["arch"] == "small_fcn" and values["imagenet_weights"] is not None:
        raise ConfigError(f"{source}.imagenet_weights applies to fcn8s_vgg16 only; set it to "
                          "null for small_fcn")
    return EvaluatorConfig.from_dict(values, source=source)


def eval_config(profile: dict[str, Any]) -> EvalConfig:
    """The metric protocol of the profile."""
    return EvalConfig.from_dict({"profile": profile["profile"], "device": profile["device"],
                                 **profile["eval"]}, source=f"profile {profile['profile']}: eval")


def claims_config(profile: dict[str, Any]) -> ClaimsConfig:
    """How the profile checks the paper's claims."""
    return ClaimsConfig.from_dict({"profile": profile["profile"], **profile["claims"]},
                                  source=f"profile {profile['profile']}: claims")
