"""Typed, frozen step configurations: what one step of the benchmark needs, and nothing else.

``cyclebench.profile`` validates a profile (``config/<name>.yaml``) once against
``workflow/schemas/config.schema.yaml`` and builds these; the Snakemake rules pass them to the
steps as JSON (``--config-json``) beside explicit input and output paths:

=================  ==============================  ======================================
step config        one per                         built by ``cyclebench.profile``
=================  ==============================  ======================================
``DataConfig``     task                            :func:`~cyclebench.profile.data_config`
``TrainConfig``    run (task, method, seed)        :func:`~cyclebench.profile.train_config`
``EvaluatorConfig``  evaluator (cityscapes)        :func:`~cyclebench.profile.evaluator_config`
``EvalConfig``     profile (the metric protocol)   :func:`~cyclebench.profile.eval_config`
``ClaimsConfig``   profile (the claims' bootstrap)  :func:`~cyclebench.profile.claims_config`
=================  ==============================  ======================================

The schema is the single home of defaults, bounds and descriptions: these classes carry no
defaults, and :meth:`StepConfig.from_dict` checks a dict's keys, types and (through the
schema section named by ``SCHEMA``) bounds, so a step run by hand from a JSON or YAML file gets
the same one-line errors as a profile.  A training run writes its ``TrainConfig`` to
``config.resolved.yaml`` first; ``cyclebench train --config`` reads it back, so any run can be
repeated from its resolved config alone.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from cyclebench import schema
from cyclebench.errors import ConfigError

__all__ = ["ClaimsConfig", "ConfigError", "DataConfig", "EvalConfig", "EvaluatorConfig",
           "StepConfig", "TrainConfig"]


_SCALARS = {"int": int, "float": float, "str": str, "bool": bool}


def _coerce(name: str, tname: str, value: Any, source: str) -> Any:
    """``value`` as the annotated type ``tname`` (a string: the module uses postponed
    annotations), or a ConfigError naming the key."""
    options = [t.strip() for t in tname.split("|")]
    if value is None:
        if "None" in options:
            return None
        raise ConfigError(f"{source}: key {name!r} must be of type {tname}, got None")
    for option in options:
        if option.startswith("dict"):
            if isinstance(value, dict):
                return dict(value)
        elif option.startswith("tuple[int"):
            if isinstance(value, (list, tuple)) and all(
                    isinstance(v, int) and not isinstance(v, bool) for v in value):
                return tuple(value)
        elif option in _SCALARS:
            expected = _SCALARS[option]
            if isinstance(value, bool):
                if expected is bool:
                    return value
            elif expected is float and isinstance(value, (int, float)):
                return float(value)
            elif isinstance(value, expected):
                return value
    raise ConfigError(f"{source}: key {name!r} must be of type {tname}, got {value!r}")


def read_yaml_mapping(path: str | Path, what: str, empty_error: str | None = None
                      ) -> dict[str, Any]:
    """A YAML file holding a mapping (an empty file is an empty one, unless ``empty_error`` is
    given: then it is that ConfigError): a missing, malformed or non-mapping file is one
    ConfigError line naming it (``what``: "profile file", ...)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if data is None:
        if empty_error is not None:
            raise ConfigError(f"{path}: {empty_error}")
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at top level, got {type(data).__name__}")
    return data


class StepConfig:
    """Loading, checking and saving of a frozen step-config dataclass."""

    # JSON pointer into the profile schema of the section whose bounds apply to this config
    SCHEMA: ClassVar[str] = ""
    # keys added after files were written, with the value such files meant: an older
    # config.resolved.yaml, checkpoint or model file still loads
    ADDED_KEYS: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config"):
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping, got {type(data).__name__}")
        data = {**cls.ADDED_KEYS, **data}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {unknown}; known keys: {sorted(fields)}")
        missing = sorted(set(fields) - set(data))
        if missing:
            raise ConfigError(f"{source}: missing key(s) {missing} (a step config is complete: "
                              "build it with cyclebench.profile, or start from a "
                              "config.resolved.yaml)")
        values = {k: _coerce(k, str(fields[k].type), v, source) for k, v in data.items()}
        if cls.SCHEMA:
            schema.check_section(cls.SCHEMA, values, source)
        return cls(**values)

    @classmethod
    def from_json(cls, text: str, source: str = "--config-json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source} is not valid JSON: {exc}") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_arg(cls, text: str, flag: str = "--config-json"):
        """A command-line value: JSON text (what the rules pass) or a JSON/YAML file."""
        if not text.lstrip().startswith("{") and Path(text).is_file():
            return cls.load(text)
        return cls.from_json(text, source=flag)

    @classmethod
    def load(cls, path: str | Path):
        """A YAML (or JSON) file; a ``provenance`` key (written by runs) is not a setting."""
        data = read_yaml_mapping(path, "config file")
        data.pop("provenance", None)
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        # tuples are lists in JSON and YAML
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def replace(self, **changes: Any):
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class DataConfig(StepConfig):
    """How one task's data is prepared (``tasks.<task>`` of the profile, plus its data seed)."""

    SCHEMA: ClassVar[str] = "#/$defs/task"

    task: str                          # cityscapes | maps
    source: str                        # synthetic | cityscapes | pix2pix
    n_train: int                       # train pairs (synthetic) or at most N (real)
    n_val: int                         # val pairs (synthetic) or at most N (real)
    size: int                          # prepared square image size
    full_size: tuple[int, int] | None  # [H, W] kept for the full-resolution protocol
    root: str | None                   # dataset folder (real sources)
    url: str | None                    # pix2pix archive URL or path
    sha256: str | None                 # expected archive sha256
    seed: int                          # synthetic generator seed (the profile's data_seed)


def snapshot_epochs(total_epochs: int, n: int) -> list[int]:
    """``n`` evenly spaced epochs strictly between 0 and ``total_epochs`` (the end is the final
    model): round(total * i / (n + 1)) for i = 1..n, without repeats; fewer when the schedule
    is too short (a 2-epoch run has one)."""
    points = {int(round(total_epochs * i / (n + 1))) for i in range(1, n + 1)}
    return sorted(e for e in points if 0 < e < total_epochs)


@dataclass(frozen=True)
class TrainConfig(StepConfig):
    """One training run: a registered method on one task with one seed."""

    SCHEMA: ClassVar[str] = "#/$defs/train_settings"
    ADDED_KEYS: ClassVar[dict[str, Any]] = {"snapshots": 0}

    # --- identity ----------------------------------------------------------------------------
    profile: str                      # profile name (labels the run's outputs)
    task: str                         # cityscapes | maps
    method: str                       # a registered method or variant name
    seed: int                         # seeds python, numpy, torch and the data order
    data_root: str                    # prepared task data: <data_root>/<split>/<domain>/*.png
    # --- data --------------------------------------------------------------------------------
    load_size: int                    # resize (bicubic) before the random crop
    crop_size: int                    # training crop = network input size
    flip: bool                        # random horizontal flip
    max_train_images: int             # 0 = all; otherwise the first N per domain
    # --- networks ----------------------------------------------------------------------------
    ngf: int                          # generator filters in the first conv layer
    ndf: int                          # discriminator filters in the first conv layer
    n_blocks: int                     # residual blocks in the ResNet generator (6 @128, 9 @256)
    n_layers_d: int                   # PatchGAN stride-2 layers (3 = 70x70 receptive field)
    init_gain: float                  # std of N(0, gain) weight initialisation
    # --- optimisation ------------------------------------------------------------------------
    batch_size: int                   # paper: 1
    lr: float                         # Adam learning rate
    beta1: float                      # Adam beta1
    beta2: float                      # Adam beta2
    n_epochs: int                     # epochs at the initial learning rate
    n_epochs_decay: int               # epochs of linear decay to zero
    iters_per_epoch: int              # 0 = one pass over the data (max(|X|, |Y|) samples)
    # --- losses (CycleGAN; other methods read what applies) -----------------------------------
    lambda_cycle: float               # weight of the cycle-consistency L1 terms
    lambda_identity: float            # identity weight, relative to lambda_cycle (0.5 when on)
    pool_size: int                    # image history buffer per discriminator (0 = off)
    method_params: dict[str, Any]     # the method's resolved parameters (registry)
    # --- runtime -----------------------------------------------------------------------------
    device: str                       # auto | cpu | cuda | cuda:N
    threads: int                      # torch intra-op threads (Snakemake's {threads})
    num_workers: int                  # DataLoader worker processes
    amp_bf16: bool                    # CUDA only: bf16 autocast for forward passes
    channels_last: bool               # CUDA only: channels_last memory format
    deterministic: bool               # torch.use_deterministic_algorithms on CPU
    checkpoint_every: int             # iterations between atomic checkpoints (and at the end)
    log_every: int                    # iterations between train_log.csv rows
    sample_every: int                 # iterations between sample grids (0 = each epoch end)
    # --- learning curves -----------------------------------------------------------------------
    snapshots: int                    # inference weights kept at this many evenly spaced epochs

    def snapshot_epochs(self) -> list[int]:
        """The epochs after which the trainer keeps inference weights (``snapshots/``)."""
        return snapshot_epochs(self.total_epochs, self.snapshots)

    @property
    def total_epochs(self) -> int:
        return self.n_epochs + self.n_epochs_decay


@dataclass(frozen=True)
class EvaluatorConfig(StepConfig):
    """The fixed segmentation network standing in for the paper's Cityscapes FCN-8s
    (Section 5.1.1); sizes are resolved (no 0 = "the task's size" placeholders)."""

    SCHEMA: ClassVar[str] = "#/properties/evaluator"

    arch: str                         # small_fcn (CPU profiles) | fcn8s_vgg16 (paper profile)
    width: int                        # small_fcn: channels of the first stage (x2 per stage)
    input_size: int                   # network input / training crop
    load_size: int                    # resize before the random crop
    epochs: int                       # passes over the real train photos
    batch_size: int                   # images per step
    lr: float                         # Adam learning rate, poly(0.9) decay to 0 over training
    weight_decay: float               # Adam (L2) weight decay
    seed: int                         # seeds initialisation, data order and augmentation
    imagenet_weights: str | None      # fcn8s_vgg16: null (scratch) | auto | torchvision | PATH


@dataclass(frozen=True)
class EvalConfig(StepConfig):
    """The metric protocol (Section 5.1.1): resolution of the segmentation scores and the
    FID/KID feature extractor, plus who is measured (profile) and where (device)."""

    SCHEMA: ClassVar[str] = "#/properties/eval"

    profile: str                      # profile name (the rows' profile column)
    device: str                       # auto | cpu | cuda | cuda:N
    upsample_to_full: bool            # score at val/trainid_full resolution (official protocol)
    full_res_mode: str                # logits: upsample class scores | image: upsample the image
    fid_extractor: str                # evaluator-features (offline) | inception-v3-compat
    inception_weights: str | None     # path to torch-fidelity's Inception weights (.pth)
    kid_subset_size: int              # upper bound; lowered to min(n_generated, n_real)
    kid_subsets: int                  # KID subsets (torch-fidelity default)
    batch_size: int                   # images per forward pass when scoring
    fid_cache: bool                   # cache real-image features (key: content hash + extractor)

    def protocol(self) -> dict[str, Any]:
        """The metric settings alone (what the evaluator's resolved config records)."""
        d = self.to_dict()
        del d["profile"], d["device"]
        return d


@dataclass(frozen=True)
class ClaimsConfig(StepConfig):
    """How the paper's claims are checked: the bootstrap behind every verdict."""

    SCHEMA: ClassVar[str] = "#/properties/claims"

    profile: str                      # profile name (the rows' profile column)
    bootstrap: int                    # replicates per comparison
    confidence: float                 # coverage of the intervals (0.95)
    seed: int                         # seed of the bootstrap
