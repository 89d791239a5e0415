"""Colour lookup: the calibration row of the tables (no learning of texture or context).

Each output pixel depends on the colour of the same input pixel only, through a table counted
from the aligned training pairs:

- ``statistic: mean`` -- the mean target colour of the training pixels whose input colour
  falls in the same bin.  For labels -> photo this paints each class of the label map in that
  class's mean photo colour (a label colour is one bin: 8 levels per channel separate the 19
  Cityscapes train-id colours and void);
- ``statistic: mode`` -- the most frequent target colour bin (its mean colour): for
  photo -> labels a per-pixel colour classifier.

It is not a method of the paper and gets no paper value.  It answers one question about the
benchmark, not about the methods: how much of a score a translation earns by keeping the
input's layout, with no realism at all.  If this row scores near the learned methods, the task
(data and evaluator) rewards layout more than realism, and a method that stays close to its
input (SimGAN's pixel L1 to the label map) is favoured for that reason.

Trained on aligned pairs like pix2pix (``paired = True``); the "training" counts pixels, with
the profile's crops and flips, for a fixed two epochs (``fixed_epochs``) whatever the profile's
schedule, and has no optimiser.  Unseen input bins take the entry of the
nearest seen bin.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cyclebench.config import ConfigError
from cyclebench.gan import resolve_method_params
from cyclebench.registry import Method, register_method

LEVELS = 8              # bins per channel
N_BINS = LEVELS ** 3
STATISTICS = ("mean", "mode")


def colour_bins(images: torch.Tensor) -> torch.Tensor:
    """B3HW images in [-1, 1] -> BHW bin indices in [0, N_BINS)."""
    q = ((images.float() + 1) * (LEVELS / 2)).long().clamp_(0, LEVELS - 1)
    return (q[:, 0] * LEVELS + q[:, 1]) * LEVELS + q[:, 2]


def bin_centres() -> torch.Tensor:
    """N_BINS x 3 colours in [-1, 1]: the centre of each bin."""
    idx = torch.arange(N_BINS)
    q = torch.stack([idx // (LEVELS * LEVELS), (idx // LEVELS) % LEVELS, idx % LEVELS], 1)
    return (q.float() + 0.5) * (2 / LEVELS) - 1


class ColourTable(nn.Module):
    """Counts of (input bin, target bin) and target colour sums per target bin."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("counts", torch.zeros(N_BINS, N_BINS, dtype=torch.float64))
        self.register_buffer("target_sums", torch.zeros(N_BINS, 3, dtype=torch.float64))
        self.register_buffer("mean_sums", torch.zeros(N_BINS, 3, dtype=torch.float64))

    @torch.no_grad()
    def add(self, src: torch.Tensor, tgt: torch.Tensor) -> None:
        i, j = colour_bins(src).reshape(-1), colour_bins(tgt).reshape(-1)
        colours = tgt.float().permute(0, 2, 3, 1).reshape(-1, 3).double()
        self.counts.index_put_((i, j), torch.ones_like(i, dtype=torch.float64), accumulate=True)
        self.target_sums.index_add_(0, j, colours)
        self.mean_sums.index_add_(0, i, colours)

    def seen(self) -> torch.Tensor:
        return self.counts.sum(1) > 0

    @torch.no_grad()
    def table(self, statistic: str) -> torch.Tensor:
        """N_BINS x 3 output colour per input bin (float32, [-1, 1])."""
        per_input = self.counts.sum(1)
        if statistic == "mean":
            out = self.mean_sums / per_input.clamp(min=1)[:, None]
        else:
            mode = self.counts.argmax(1)
            out = (self.target_sums / self.counts.sum(0).clamp(min=1)[:, None])[mode]
        seen = per_input > 0
        if seen.any() and not seen.all():
            centres = bin_centres().double().to(out.device)
            nearest = torch.cdist(centres[~seen], centres[seen]).argmin(1)
            out[~seen] = out[seen][nearest]
        return out.float()


@register_method("colour_lookup", display_name="Colour lookup (calibration)", group="calibration",
                 description="calibration: per-pixel colour table from the training pairs; "
                             "no texture, no context, no learning")
class ColourLookup(Method):
    """Per-pixel colour lookup in both directions (see the module docstring)."""

    paired = True
    default_params = {"x2y": "mean", "y2x": "mode"}
    fixed_epochs = 2  # two passes of random crops and flips: each pixel counted twice or so

    def __init__(self, cfg, device: torch.device):
        self.cfg, self.device = cfg, device
        self.params: dict[str, Any] = resolve_method_params(cfg)
        for direction in ("x2y", "y2x"):
            if self.params[direction] not in STATISTICS:
                raise ConfigError(f"method_params.{cfg.method}.{direction} must be one of "
                                  f"{', '.join(STATISTICS)}, got {self.params[direction]!r}")
        self.tables = {"x2y": ColourTable().to(device), "y2x": ColourTable().to(device)}

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x, y = batch["x"], batch["y"]
        self.tables["x2y"].add(x, y)
        self.tables["y2x"].add(y, x)
        # logged: the fraction of input colour bins seen so far (no loss is minimised)
        return {f"{d}_bins_seen": t.seen().double().mean().float() for d, t in self.tables.items()}

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        table = self.tables[direction].table(self.params[direction]).to(images.device)
        return table[colour_bins(images)].permute(0, 3, 1, 2).contiguous()

    def networks(self) -> dict[str, nn.Module]:
        return dict(self.tables)

    def state_dict(self) -> dict[str, Any]:
        return {"nets": {k: v.state_dict() for k, v in self.tables.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, sd in state["nets"].items():
            self.tables[k].load_state_dict(sd)
