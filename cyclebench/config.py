"""Typed run configuration.

A *profile* (``config/<name>.yaml``, validated by ``workflow/schemas/config.schema.yaml``)
describes a whole benchmark.  :func:`run_config` turns (profile, task, method, seed) into the
flat :class:`TrainConfig` of one training run.  The same dataclass is what a run writes to
``config.resolved.yaml`` and what ``python -m cyclegan train --config`` reads back, so any run
can be repeated from its resolved config alone.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type (the message names it)."""


@dataclass
class TrainConfig:
    # --- identity ----------------------------------------------------------------------------
    profile: str = "adhoc"            # profile name (results/<profile>/...)
    task: str = "cityscapes"          # cityscapes | maps
    method: str = "cyclegan"          # a registered method or variant name
    seed: int = 0                     # seeds python, numpy, torch and the data order
    data_root: str = ""               # prepared task data: <data_root>/<split>/<domain>/*.png
    # --- data --------------------------------------------------------------------------------
    load_size: int = 143              # resize (bicubic) before the random crop
    crop_size: int = 128              # training crop = network input size
    flip: bool = True                 # random horizontal flip
    max_train_images: int = 0         # 0 = all; otherwise the first N per domain
    # --- networks ----------------------------------------------------------------------------
    ngf: int = 64                     # generator filters in the first conv layer
    ndf: int = 64                     # discriminator filters in the first conv layer
    n_blocks: int = 6                 # residual blocks in the ResNet generator (6 @128, 9 @256)
    n_layers_d: int = 3               # PatchGAN stride-2 layers (3 = 70x70 receptive field)
    init_gain: float = 0.02           # std of N(0, gain) weight initialisation
    # --- optimisation ------------------------------------------------------------------------
    batch_size: int = 1               # paper: 1
    lr: float = 0.0002                # Adam learning rate
    beta1: float = 0.5                # Adam beta1
    beta2: float = 0.999              # Adam beta2
    n_epochs: int = 100               # epochs at the initial learning rate
    n_epochs_decay: int = 100         # epochs of linear decay to zero
    iters_per_epoch: int = 0          # 0 = one pass over the data (max(|X|, |Y|) samples)
    # --- losses (CycleGAN; other methods read what applies) -----------------------------------
    lambda_cycle: float = 10.0        # weight of the cycle-consistency L1 terms
    lambda_identity: float = 0.0      # identity weight, relative to lambda_cycle (0.5 when on)
    pool_size: int = 50               # image history buffer per discriminator (0 = off)
    method_params: dict[str, Any] = field(default_factory=dict)  # resolved method parameters
    # --- runtime -----------------------------------------------------------------------------
    device: str = "auto"              # auto | cpu | cuda | cuda:N
    threads: int = 1                  # torch intra-op threads (Snakemake's {threads})
    num_workers: int = 0              # DataLoader worker processes
    amp_bf16: bool = False            # CUDA only: bf16 autocast for forward passes
    channels_last: bool = False       # CUDA only: channels_last memory format
    deterministic: bool = True        # torch.use_deterministic_algorithms on CPU
    checkpoint_every: int = 500       # iterations between atomic checkpoints (and at the end)
    log_every: int = 10               # iterations between train_log.csv rows
    sample_every: int = 0             # iterations between sample grids (0 = each epoch end)

    # ---------------------------------------------------------------------------------------
    @property
    def total_epochs(self) -> int:
        return self.n_epochs + self.n_epochs_decay

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> "TrainConfig":
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {unknown}; known keys: {sorted(known)}")
        kwargs = {}
        for name, value in data.items():
            kwargs[name] = _coerce(name, known[name], value, source)
        return cls(**kwargs)

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file not found: {path}")
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping at top level")
        data.pop("provenance", None)  # written by runs; not a setting
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--config-json is not valid JSON: {exc}") from None
        return cls.from_dict(data, source="--config-json")


_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _coerce(name: str, f: dataclasses.Field, value: Any, source: str) -> Any:
    tname = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if tname.startswith("dict"):
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: key {name!r} must be a mapping, got {value!r}")
        return dict(value)
    expected = _TYPES.get(tname)
    if expected is None:
        return value
    if expected is bool:
        if isinstance(value, bool):
            return value
    elif expected is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, expected):
        return value
    raise ConfigError(f"{source}: key {name!r} must be of type {tname}, got {value!r}")


# Keys of a profile's ``train`` section that map 1:1 onto TrainConfig fields.
TRAIN_KEYS = {f.name for f in dataclasses.fields(TrainConfig)} - {
    "profile", "task", "method", "seed", "data_root", "method_params", "threads",
}


def data_root(profile: dict[str, Any], task: str) -> Path:
    """Where a profile's prepared data of ``task`` lives."""
    return Path(profile.get("results_dir", "results")) / profile["profile"] / "data" / task


def run_config(profile: dict[str, Any], task: str, method: str, seed: int,
               threads: int = 1) -> TrainConfig:
    """Build the TrainConfig of one run from a validated profile dict.

    Precedence (later wins): TrainConfig defaults < profile ``train`` < profile
    ``tasks.<task>.train`` < method params from the registry < profile
    ``method_params.<method>``.
    """
    from cyclebench.registry import get_method

    values: dict[str, Any] = {}
    for section, src in ((profile.get("train") or {}, "train"),
                         ((profile["tasks"][task].get("train") or {}), f"tasks.{task}.train")):
        for key, value in section.items():
            if key not in TRAIN_KEYS:
                raise ConfigError(f"profile key {src}.{key} is not a training setting")
            values[key] = value
    spec = get_method(method)
    overrides = (profile.get("method_params") or {}).get(method) or {}
    try:
        params = spec.resolved_params(overrides)
    except KeyError as exc:
        raise ConfigError(f"method_params.{method}: {exc.args[0]}") from None
    values.setdefault("device", profile.get("device", "auto"))
    values.update(
        profile=profile["profile"], task=task, method=method, seed=int(seed),
        data_root=str(data_root(profile, task)), method_params=params, threads=int(threads),
    )
    return TrainConfig.from_dict(values, source=f"profile {profile['profile']}")
