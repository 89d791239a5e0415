"""Shared plumbing of the baselines (CycleGAN paper, Section 5.1.2: "all baselines use the same
architecture and details as CycleGAN, except CoGAN").

- :func:`require_choice`, :func:`require_number`: parameter checks whose errors name the key.
- :func:`eval_mode`, :func:`forked_rng`: small context helpers.
- Every baseline subclasses :class:`cyclebench.gan.GANMethod` (nets/optimisers/pools dicts,
  Adam, the lr schedule of ``cyclegan.schedule``, state dicts, eval-mode translation, bf16
  autocast and channels_last (any device), and ``self.params`` resolved by the registry), so all
  methods share CycleGAN's training details.
- :class:`DirectionalMethod`: the base of SimGAN, feature loss + GAN and pix2pix.  The paper
  trains *one model per direction* for these; here one registered method holds two
  independent one-way models, ``x2y`` (generator ``G: X -> Y``, discriminator ``D_Y``) and
  ``y2x`` (``F: Y -> X``, ``D_X``), each with its own networks, optimisers, image pool and
  losses, both trained on the same batches.  Nothing is shared between them (a test checks
  that a step of one leaves the other untouched), so this equals two separate runs that see
  the same data order, and one Snakemake run per (method, task, seed) yields both directions.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterable, Iterator

import torch
from torch import nn

from cyclebench.config import ConfigError
from cyclebench.cyclegan.image_pool import ImagePool
from cyclebench.gan import GANMethod

DIRECTIONS = ("x2y", "y2x")
# Paper naming: G: X -> Y judged by D_Y; F: Y -> X judged by D_X.
DIRECTION_NETS = {"x2y": ("G", "D_Y"), "y2x": ("F", "D_X")}


def check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'x2y' or 'y2x', got {direction!r}")
    return direction


def require_choice(params: dict[str, Any], key: str, choices: Iterable[str], method: str) -> str:
    value = params[key]
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"method_params.{method}.{key} must be one of {list(choices)}, "
                          f"got {value!r}")
    return value


def require_number(params: dict[str, Any], key: str, method: str, minimum: float = 0.0,
                   integer: bool = False) -> Any:
    value = params[key]
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"method_params.{method}.{key} must be {kind} >= {minimum}, "
                          f"got {value!r}")
    return value


@contextlib.contextmanager
def eval_mode(*nets: nn.Module) -> Iterator[None]:
    """Temporarily put ``nets`` in eval mode; restore each one's previous mode afterwards."""
    previous = [n.training for n in nets]
    try:
        for n in nets:
            n.eval()
        yield
    finally:
        for n, was in zip(nets, previous):
            n.train(was)


@contextlib.contextmanager
def forked_rng(device: torch.device, seed: int) -> Iterator[None]:
    """Run a block with the global RNGs seeded to ``seed``, restoring them afterwards (so
    translating during training never perturbs the training random stream)."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


class DirectionalMethod(GANMethod):
    """Two independent one-way GANs in one method (see module docstring).

    Subclasses implement :meth:`build_generator`, :meth:`build_discriminator` and
    :meth:`direction_step` (one iteration of one direction, returning named losses); they may
    set ``uses_pool = False`` (pix2pix).  Nets: ``G``, ``D_Y`` (x2y) and ``F``, ``D_X`` (y2x);
    one Adam per net (named like the net); pools ``D_Y``/``D_X``.
    """

    uses_pool = True
    inference_nets = ("G", "F")
    translate_nets = {"x2y": "G", "y2x": "F"}

    def __init__(self, cfg, device) -> None:
        super().__init__(cfg, device)
        self.validate_params()
        for direction in DIRECTIONS:
            g_name, d_name = DIRECTION_NETS[direction]
            self.add_net(g_name, self.build_generator())
            self.add_net(d_name, self.build_discriminator())
        for k, direction in enumerate(DIRECTIONS):
            for name in DIRECTION_NETS[direction]:
                self.optimizers[name] = self.make_adam(self.nets[name].parameters())
            pool_size = cfg.pool_size if self.uses_pool else 0
            self.pools[DIRECTION_NETS[direction][1]] = ImagePool(pool_size,
                                                                 seed=int(cfg.seed) * 2 + k)
        for net in self.nets.values():
            net.train()

    # --- hooks -------------------------------------------------------------------------------
    def validate_params(self) -> None:
        """Check ``self.params``; raise ConfigError naming the key."""

    def build_generator(self) -> nn.Module:
        raise NotImplementedError

    def build_discriminator(self) -> nn.Module:
        raise NotImplementedError

    def direction_step(self, direction: str, src: torch.Tensor, tgt: torch.Tensor
                       ) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    # --- Method interface --------------------------------------------------------------------
    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["x"].to(self.device)
        y = batch["y"].to(self.device)
        losses = {}
        losses.update(self.direction_step("x2y", x, y))
        losses.update(self.direction_step("y2x", y, x))
        return {k: v.detach().float() for k, v in losses.items()}

    def generator(self, direction: str) -> nn.Module:
        return self.nets[DIRECTION_NETS[check_direction(direction)][0]]
