"""Benchmark profiles: loading, schema validation (with defaults) and semantic checks.

The schema is ``workflow/schemas/config.schema.yaml``; the Snakefile and the tests call
:func:`validate_profile`, so a wrong key or value fails before any job starts, naming the key.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators

from cyclebench.config import ConfigError, TrainConfig
from cyclebench.tasks import TASKS

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _with_defaults(Draft202012Validator)


def load_schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _key_path(error) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    return path or "<top level>"


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge (lists and scalars are replaced), as Snakemake merges configfiles."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def validate_profile(config: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate ``config`` in place (filling defaults) and return it; raise ConfigError."""
    validator = _DefaultFillingValidator(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  - {_key_path(e)}: {e.message}" for e in errors[:10]]
        raise ConfigError(f"{source}: invalid profile:\n" + "\n".join(lines))
    check_semantics(config, source)
    return config


def check_semantics(config: dict[str, Any], source: str = "config") -> None:
    """Checks the schema cannot express: registered methods, task/source combinations..."""
    from cyclebench.registry import get_method, registered_methods

    known = set(registered_methods())
    for task_name, task in config["tasks"].items():
        unknown = [m for m in task["methods"] if m not in known]
        if unknown:
            raise ConfigError(
                f"{source}: tasks.{task_name}.methods: unknown method(s) {unknown}; "
                f"registered: {sorted(known)}"
            )
        if task["source"] == "cityscapes" and task_name != "cityscapes":
            raise ConfigError(f"{source}: tasks.{task_name}.source: 'cityscapes' is only valid "
                              "for the cityscapes task")
        if task["source"] == "pix2pix" and not task.get("url"):
            raise ConfigError(f"{source}: tasks.{task_name}.url is required when source is pix2pix")
        train = {**config.get("train", {}), **task.get("train", {})}
        load = train.get("load_size", TrainConfig.load_size)
        crop = train.get("crop_size", TrainConfig.crop_size)
        if crop > load:
            raise ConfigError(f"{source}: tasks.{task_name}.train.crop_size ({crop}) must not "
                              f"exceed load_size ({load})")
        for method in task["methods"]:
            overrides = config.get("method_params", {}).get(method) or {}
            try:
                get_method(method).resolved_params(overrides)
            except KeyError as exc:
                raise ConfigError(f"{source}: method_params.{method}: {exc.args[0]}") from None
    for method in config.get("method_params", {}):
        if method not in known:
            raise ConfigError(f"{source}: method_params.{method}: unknown method; "
                              f"registered: {sorted(known)}")
    if (config.get("eval", {}).get("fid_extractor") == "evaluator-features"
            and "cityscapes" not in config["tasks"]):
        raise ConfigError(f"{source}: eval.fid_extractor 'evaluator-features' needs the "
                          "cityscapes task (its evaluator provides the features)")
    unknown_tasks = set(config["tasks"]) - set(TASKS)
    if unknown_tasks:  # pragma: no cover - the schema already rejects these
        raise ConfigError(f"{source}: unknown tasks {sorted(unknown_tasks)}")


def load_profile(*paths: str | Path) -> dict[str, Any]:
    """Load and merge YAML profile files (later files override earlier), then validate."""
    config: dict[str, Any] = {}
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"profile file not found: {path}")
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping at top level")
        config = deep_merge(config, data)
    return validate_profile(config, source=", ".join(str(p) for p in paths))


def data_view(config: dict[str, Any], task: str) -> dict[str, Any]:
    """The part of a profile that determines a task's prepared data (for rerun triggers)."""
    section = {k: v for k, v in config["tasks"][task].items() if k not in ("methods", "train")}
    return {"profile": config["profile"], "results_dir": config["results_dir"],
            "data_seed": config["data_seed"], "tasks": {task: section}}


def eval_view(config: dict[str, Any], task: str) -> dict[str, Any]:
    """The part of a profile that determines evaluation results of ``task``."""
    view = data_view(config, task)
    if "cityscapes" in config["tasks"]:
        view["tasks"].update(data_view(config, "cityscapes")["tasks"])
    view.update(device=config["device"], evaluator=config["evaluator"], eval=config["eval"])
    return view
