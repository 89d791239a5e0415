"""The profile schema (``workflow/schemas/config.schema.yaml``): the single home of every
setting's type, bounds, default and description.

:func:`validate` checks a whole profile and fills its defaults; :func:`check_section` checks the
values of one step config against the section of the schema they come from, so a step config
given by hand (``--config-json``, a ``config.resolved.yaml``) meets the same bounds.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators

from cyclebench.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"

# A section marked ``x-defaults: per-run`` keeps its defaults out of validation: they are
# applied once per run (cyclebench.profile.train_config), beneath the profile's ``train``
# and ``tasks.<task>.train`` sections, so that filling one section cannot override another.
PER_RUN = "per-run"


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict) and schema.get("x-defaults") != PER_RUN:
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_DefaultFilling = _with_defaults(Draft202012Validator)


@functools.lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def load_schema() -> dict[str, Any]:
    """A copy of the schema (callers may not change the cached one)."""
    return copy.deepcopy(_schema())


def _key_path(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _number_hint(value: Any) -> str:
    """YAML 1.1 (PyYAML, Snakemake) reads ``1e-3`` as a string: say how to write it."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return f" (YAML reads {value!r} as text: write it with a decimal point, e.g. 1.0e-3)"
    return ""


def _origin(path: list, files: list[tuple[str, dict]]) -> str:
    """`` (set in FILE)``: the last of the merged files that sets the key at ``path``."""
    for name, data in reversed(files):
        node: Any = data
        for part in path:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                break
        else:
            return f" (set in {name})"
    return ""


def validate(config: dict[str, Any], source: str,
             files: list[tuple[str, dict]] | None = None) -> dict[str, Any]:
    """Validate ``config`` in place, filling defaults; ConfigError lists the first problems.
    ``files``: the ``(name, content)`` of the files merged into ``config``, so that each
    problem names the file that set the key."""
    errors = sorted(_DefaultFilling(_schema()).iter_errors(config),
                    key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  - {_key_path(e)}: {e.message}{_number_hint(e.instance)}"
                 f"{_origin(list(e.absolute_path), files or [])}" for e in errors[:10]]
        raise ConfigError(f"{source}: invalid profile:\n" + "\n".join(lines))
    return config


def section(pointer: str) -> dict[str, Any]:
    """The schema object at a JSON pointer such as ``#/$defs/task``."""
    node: Any = _schema()
    for part in pointer.lstrip("#/").split("/"):
        node = node[part]
    return node


def defaults(pointer: str) -> dict[str, Any]:
    """``{key: default}`` of the properties of a schema section."""
    return {k: copy.deepcopy(v["default"]) for k, v in section(pointer)["properties"].items()
            if isinstance(v, dict) and "default" in v}


def check_section(pointer: str, values: dict[str, Any], source: str) -> None:
    """Check each value against its property in the section at ``pointer`` (``profile`` and
    ``device`` against the profile's top-level ones); keys the schema does not describe (a
    run's identity, resolved method parameters) are the step config's own."""
    root = _schema()
    props = section(pointer).get("properties", {})
    for key, value in values.items():
        prop = props.get(key)
        if prop is None and key in ("profile", "device"):
            prop = root["properties"][key]
        if prop is None:
            continue
        sub = {**prop, "$defs": root["$defs"]}
        if isinstance(value, tuple):
            value = list(value)
        error = next(iter(Draft202012Validator(sub).iter_errors(value)), None)
        if error is not None:
            raise ConfigError(f"{source}: key {key!r}: {error.message}")
