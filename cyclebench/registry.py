"""The single registry of methods (CycleGAN, its ablations and every baseline).

A *method* is a class implementing :class:`Method`.  A *variant* is a registered name that
reuses another method's class with different default parameters: the paper's loss ablations
are variants of ``cyclegan`` (Section 5.1.4), never code forks.

Adding a method::

    from cyclebench.registry import Method, register_method

    @register_method("mymethod")
    class MyMethod(Method):
        paired = False                       # True: trained on aligned (x, y) pairs
        default_params = {"lambda_foo": 1.0} # method_params defaults, overridable by config
        def __init__(self, cfg, device): ...
        def train_step(self, batch): ...      # -> dict of named scalar loss tensors
        def translate(self, images, direction): ...

then add ``mymethod`` to a profile's ``methods`` list; Snakemake picks it up.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import torch


class Method:
    """Interface every registered method implements.

    Lifecycle (driven by the shared trainer in ``cyclegan.train``)::

        m = cls(cfg, device)                 # build nets + optimisers; cfg is a TrainConfig
        for epoch ...:
            m.set_epoch(epoch)               # lr schedule, applied at the start of each epoch
            for batch in loader:             # batch = {"x": B3HW, "y": B3HW} in [-1, 1]
                losses = m.train_step(batch) # optimiser steps happen inside; returns named losses
        state = m.state_dict(); m.load_state_dict(state)   # everything needed to resume
        y = m.translate(x, "x2y")            # eval mode, no grad, [-1, 1] in and out

    ``train_step`` returns a dict ``{term_name: 0-dim tensor}`` (detached); the trainer checks
    them for NaN/Inf and logs them.  Use ``cyclebench.registry.Method.networks`` for
    parameter counting and device moves.
    """

    name: str = ""
    paired: bool = False
    default_params: dict[str, Any] = {}
    # A method whose "training" computes a statistic (no optimiser) sets the number of passes
    # it needs; the trainer then runs exactly that many epochs, whatever the profile's schedule
    # (config.resolved.yaml records what ran).  None: the profile's n_epochs + n_epochs_decay.
    fixed_epochs: int | None = None

    @classmethod
    def schedule(cls, params: dict[str, Any], n_epochs: int, n_epochs_decay: int
                 ) -> tuple[int, int]:
        """The (n_epochs, n_epochs_decay) this method trains for, given the profile's (which
        scale CycleGAN's 100 + 100) and the resolved ``params``: a method whose official
        schedule differs from CycleGAN's keeps its ratio to it (CUT: 200 + 200)."""
        if cls.fixed_epochs is not None:
            return int(cls.fixed_epochs), 0
        return int(n_epochs), int(n_epochs_decay)

    @classmethod
    def full_view_from_epoch(cls, n_epochs: int) -> int | None:
        """From this 0-based epoch on the training images are resized to the crop size (no
        random crop); None: always crop (the official CycleGAN loader)."""
        return None

    @classmethod
    def substitutes(cls, params: dict[str, Any]) -> dict[str, str]:
        """What this method, run with the resolved ``method_params`` ``params``, substitutes for
        the paper's setting: ``{what: name of the stand-in}`` (e.g.
        ``{"feature_extractor": "vgg16-random-init"}``); ``{}`` = the paper's setting.

        A pure function of the parameters (no files are read), so the scorer can name the
        substitutes of any finished run from its ``config.resolved.yaml``
        (``get_method(name).cls.substitutes(cfg.method_params)``); every metric row carries
        them (``substitutes`` column).  Keys and values must not contain ``;`` or ``=``."""
        return {}

    def __init__(self, cfg, device: torch.device):  # pragma: no cover - interface
        self.cfg = cfg
        self.device = device

    # --- training -------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Called at the start of every epoch (0-based) before its first step."""

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    # --- inference ------------------------------------------------------------------------
    def translate(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        """Translate a batch; ``direction`` is ``"x2y"`` or ``"y2x"``."""
        raise NotImplementedError

    def sample_images(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Named image batches for the sample grid (default: inputs and both translations)."""
        return {
            "real_x": batch["x"],
            "fake_y": self.translate(batch["x"], "x2y"),
            "real_y": batch["y"],
            "fake_x": self.translate(batch["y"], "y2x"),
        }

    # --- state ----------------------------------------------------------------------------
    def networks(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def inference_state_dict(self) -> dict[str, Any]:
        """Weights needed by :meth:`translate` (default: every network)."""
        return {k: v.state_dict() for k, v in self.networks().items()}

    def load_inference_state_dict(self, state: dict[str, Any]) -> None:
        nets = self.networks()
        for k, sd in state.items():
            nets[k].load_state_dict(sd)


# How a method relates to the paper's comparison; the tables choose their rows by group.
GROUPS = {
    "proposed": "the paper's method (CycleGAN)",
    "baseline": "an unpaired baseline of the paper (Section 5.1.2)",
    "ablation": "a loss ablation of CycleGAN (Section 5.1.4)",
    "paired": "a paired method: the upper bound (pix2pix)",
    "extra": "a method that is not in the 2017 paper",
    "calibration": "a trivial translation without learning: what keeping the layout alone scores",
}


@dataclass(frozen=True)
class MethodSpec:
    name: str
    cls: type
    display_name: str  # the row label in tables and figures
    group: str  # a key of GROUPS
    params: dict[str, Any] = field(default_factory=dict)  # variant defaults over cls.default_params
    base: str | None = None  # for variants: the method they derive from
    description: str = ""

    def resolved_params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        params = dict(getattr(self.cls, "default_params", {}))
        params.update(self.params)
        for key, value in (overrides or {}).items():
            if key not in params:
                raise KeyError(
                    f"unknown parameter {key!r} for method {self.name!r}; "
                    f"known: {sorted(params)}"
                )
            params[key] = value
        return params


_REGISTRY: dict[str, MethodSpec] = {}

# Modules whose import registers methods.  Extend this list to add a module of methods.
METHOD_MODULES = ["cyclebench.cyclegan.model", "cyclebench.baselines"]


def _check_meta(name: str, display_name: str, group: str) -> None:
    if name in _REGISTRY:
        raise ValueError(f"method {name!r} is already registered ({_REGISTRY[name].cls})")
    if not display_name or not isinstance(display_name, str):
        raise ValueError(f"method {name!r}: display_name must be a non-empty string")
    if group not in GROUPS:
        raise ValueError(f"method {name!r}: group {group!r} is not one of {sorted(GROUPS)}")


def register_method(name: str, *, display_name: str, group: str = "extra",
                    description: str = "") -> Callable[[type], type]:
    """Class decorator registering a method under an explicit name; duplicates are rejected.

    ``display_name`` labels its rows in every table and figure; ``group`` (a key of
    :data:`GROUPS`) decides which tables show it."""

    def deco(cls: type) -> type:
        _check_meta(name, display_name, group)
        cls.name = name
        _REGISTRY[name] = MethodSpec(
            name=name, cls=cls, display_name=display_name, group=group,
            description=description or (cls.__doc__ or "").strip().split("\n")[0])
        return cls

    return deco


def register_variant(name: str, base: str, *, display_name: str, group: str = "extra",
                     description: str = "", **params: Any) -> None:
    """Register ``name`` as ``base`` with different default ``method_params``."""
    _check_meta(name, display_name, group)
    spec = _REGISTRY[base]
    unknown = set(params) - set(spec.resolved_params())
    if unknown:
        raise KeyError(f"variant {name!r}: unknown parameters {sorted(unknown)} for {base!r}")
    merged = dict(spec.params)
    merged.update(params)
    _REGISTRY[name] = MethodSpec(name=name, cls=spec.cls, display_name=display_name,
                                 group=group, params=merged, base=base, description=description)


def _load_all() -> None:
    for mod in METHOD_MODULES:
        importlib.import_module(mod)


def get_method(name: str) -> MethodSpec:
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; registered methods: {sorted(_REGISTRY)}") from None


def registered_methods() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def methods_in_group(group: str) -> list[str]:
    """The registered methods of ``group``, in registration order (the paper's order for its
    methods: see ``baselines/__init__.py``)."""
    if group not in GROUPS:
        raise KeyError(f"unknown method group {group!r}; groups: {sorted(GROUPS)}")
    _load_all()
    return [name for name, spec in _REGISTRY.items() if spec.group == group]
