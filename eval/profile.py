"""Typed ``evaluator`` and ``eval`` sections of a profile, and profile loading for the CLI.

CycleGAN Section 5.1.1 scores every method with one fixed FCN and fixed metrics; these two
sections pin down that evaluator and the metric protocol.  Unknown keys and wrong types fail
with the key's name (the JSON schema checks the same; this is the guard for direct calls).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cyclebench.config import ConfigError


def _check_type(section: str, name: str, value: Any, expected: tuple) -> Any:
    if type(value) is int and float in expected and int not in expected:
        return float(value)
    if value is None and type(None) in expected:
        return None
    if isinstance(value, bool) and bool not in expected:
        raise ConfigError(f"profile key {section}.{name} must be {_names(expected)}, got {value!r}")
    if not isinstance(value, expected):
        raise ConfigError(f"profile key {section}.{name} must be {_names(expected)}, got {value!r}")
    return value


def _names(types: tuple) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


def _from_section(cls, section: str, data: dict[str, Any] | None):
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"profile section {section!r}: unknown key(s) {unknown}; "
                          f"known keys: {sorted(fields)}")
    kwargs = {k: _check_type(section, k, v, cls.TYPES[k]) for k, v in data.items()}
    obj = cls(**kwargs)
    obj.validate()
    return obj


@dataclass
class EvaluatorConfig:
    """The ``evaluator`` section: the FCN that stands in for the paper's Cityscapes FCN-8s."""

    arch: str = "small_fcn"         # small_fcn (CPU profiles) | fcn8s_vgg16 (paper profile)
    width: int = 32                 # small_fcn: channels of the first stage (x2 per stage)
    input_size: int = 0             # network input / training crop; 0 = the task's image size
    load_size: int = 0              # resize before the random crop; 0 = round(1.125 * input_size)
    epochs: int = 20                # passes over the real train photos
    batch_size: int = 8             # images per step
    lr: float = 0.001               # Adam learning rate, poly(0.9) decay to 0 over training
    weight_decay: float = 0.0001    # Adam (L2) weight decay
    seed: int = 0                   # seeds initialisation, data order and augmentation
    imagenet_weights: str | None = None  # fcn8s_vgg16: null (scratch) | auto | torchvision | PATH

    TYPES = {"arch": (str,), "width": (int,), "input_size": (int,), "load_size": (int,),
             "epochs": (int,), "batch_size": (int,), "lr": (float,), "weight_decay": (float,),
             "seed": (int,), "imagenet_weights": (str, type(None))}

    def validate(self) -> None:
        if self.arch not in ("small_fcn", "fcn8s_vgg16"):
            raise ConfigError(f"profile key evaluator.arch must be small_fcn or fcn8s_vgg16, "
                              f"got {self.arch!r}")
        for key in ("width", "epochs", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"profile key evaluator.{key} must be >= 1, got {getattr(self, key)}")
        for key in ("input_size", "load_size"):
            if getattr(self, key) < 0:
                raise ConfigError(f"profile key evaluator.{key} must be >= 0, got {getattr(self, key)}")
        if self.lr <= 0:
            raise ConfigError(f"profile key evaluator.lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise ConfigError(f"profile key evaluator.weight_decay must be >= 0, got {self.weight_decay}")
        if self.arch == "small_fcn" and self.imagenet_weights is not None:
            raise ConfigError("profile key evaluator.imagenet_weights applies to fcn8s_vgg16 only; "
                              "set it to null for small_fcn")

    @classmethod
    def from_profile(cls, profile: dict[str, Any], task_size: int | None = None) -> "EvaluatorConfig":
        cfg = _from_section(cls, "evaluator", profile.get("evaluator"))
        if cfg.input_size == 0:
            if task_size is None:
                raise ConfigError("evaluator.input_size is 0 (= task size) but no task size is known")
            cfg.input_size = int(task_size)
        if cfg.load_size == 0:
            cfg.load_size = int(round(1.125 * cfg.input_size))
        if cfg.load_size < cfg.input_size:
            raise ConfigError(f"profile key evaluator.load_size ({cfg.load_size}) must be >= "
                              f"evaluator.input_size ({cfg.input_size})")
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class EvalConfig:
    """The ``eval`` section: metric protocol (resolution, FID/KID extractor and sample sizes)."""

    upsample_to_full: bool = False  # score at val/trainid_full resolution (official protocol)
    full_res_mode: str = "logits"   # logits: upsample class scores | image: upsample the image
    fid_extractor: str = "evaluator-features"  # evaluator-features (offline) | inception-v3-compat
    inception_weights: str | None = None  # path to torch-fidelity's Inception weights (.pth)
    kid_subset_size: int = 1000     # upper bound; lowered to min(n_generated, n_real)
    kid_subsets: int = 100          # KID subsets (torch-fidelity default)
    batch_size: int = 16            # images per forward pass when scoring
    fid_cache: bool = True          # cache real-image features (key: content hash + extractor)

    TYPES = {"upsample_to_full": (bool,), "full_res_mode": (str,), "fid_extractor": (str,),
             "inception_weights": (str, type(None)), "kid_subset_size": (int,),
             "kid_subsets": (int,), "batch_size": (int,), "fid_cache": (bool,)}

    def validate(self) -> None:
        if self.full_res_mode not in ("logits", "image"):
            raise ConfigError(f"profile key eval.full_res_mode must be logits or image, "
                              f"got {self.full_res_mode!r}")
        if self.fid_extractor not in ("inception-v3-compat", "evaluator-features"):
            raise ConfigError("profile key eval.fid_extractor must be inception-v3-compat or "
                              f"evaluator-features, got {self.fid_extractor!r}")
        if self.kid_subset_size < 2:
            raise ConfigError(f"profile key eval.kid_subset_size must be >= 2, got {self.kid_subset_size}")
        for key in ("kid_subsets", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"profile key eval.{key} must be >= 1, got {getattr(self, key)}")

    @classmethod
    def from_profile(cls, profile: dict[str, Any]) -> "EvalConfig":
        return _from_section(cls, "eval", profile.get("eval"))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_profile(text_or_path: str) -> dict[str, Any]:
    """``--profile-json``: JSON text (what Snakemake passes), or a path to a JSON/YAML file."""
    candidate = Path(text_or_path)
    if not text_or_path.lstrip().startswith("{") and candidate.is_file():
        raw = candidate.read_text()
        data = yaml.safe_load(raw) if candidate.suffix in (".yaml", ".yml") else json.loads(raw)
        source = str(candidate)
    else:
        try:
            data = json.loads(text_or_path)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--profile-json is neither a file nor valid JSON: {exc}") from None
        source = "--profile-json"
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at top level")
    for key in ("profile", "results_dir", "tasks"):
        if key not in data:
            raise ConfigError(f"{source}: missing top-level key {key!r}")
    return data


def data_root(profile: dict[str, Any], task: str) -> Path:
    """``<results_dir>/<profile>/data/<task>`` (the same rule as ``cyclebench.config.run_config``)."""
    return Path(profile["results_dir"]) / profile["profile"] / "data" / task


def task_section(profile: dict[str, Any], task: str) -> dict[str, Any]:
    try:
        return profile["tasks"][task]
    except KeyError:
        raise ConfigError(f"profile {profile.get('profile')!r} has no task {task!r} "
                          f"(tasks: {sorted(profile.get('tasks', {}))})") from None


def read_meta(root: Path) -> dict[str, Any]:
    """The prepared data's ``meta.json`` (written by ``python -m datasets prepare``)."""
    path = Path(root) / "meta.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: prepare the data first (python -m datasets prepare)")
    return json.loads(path.read_text())


def data_source(meta: dict[str, Any]) -> str:
    """``synthetic-cityscapes``, ``cityscapes``, ``synthetic-maps``, ``maps`` from meta.json."""
    if meta.get("data_source"):
        return str(meta["data_source"])
    source, task = meta.get("source"), meta.get("task")
    if not source or not task:
        raise ValueError(f"meta.json lacks 'source' or 'task': {meta}")
    # synthetic data is named as such; every real source (original layout, pix2pix archive)
    # is the task's own dataset
    return f"synthetic-{task}" if source == "synthetic" else str(task)
