"""``cyclebench bench gpu-check``: the GPU paths, proven in a few minutes on one GPU.

``make gpu-check`` trains the paper's 128x128 CycleGAN (ResNet-6, ngf = ndf = 64) and pix2pix
with the U-Net-256 generator at 256x256 for a few hundred iterations in each mode:

==================  ======================================================================
mode                what changes
==================  ======================================================================
``fp32``            the reference: fp32, eager
``bf16``            bf16 autocast of every forward pass (``amp_bf16``)
``channels_last``   channels_last nets and inputs (``channels_last``)
``compile``         every network wrapped in ``torch.compile`` (``--compile-backend``)
==================  ======================================================================

Every mode starts from the same weights and sees the same batches, served by a real
``DataLoader`` (``--workers`` processes, pinned memory on CUDA, ``prefetch_factor`` 4) that
decodes uint8 images and applies the training crop and flip, so the check shows whether data
loading keeps the GPU fed: the time the step waited for its next batch is reported.

Checks: every loss of every iteration is finite, and each non-reference mode *tracks* fp32:
for every loss term, the mean over the last half of the iterations differs from fp32's by at
most ``--tolerance`` (relative, default 0.25, with a floor of 0.05 on the denominator). bf16
and compiled kernels change rounding, and GAN training amplifies rounding differences, so the
trajectories are not expected to agree iteration by iteration; the means of the loss terms
are. A mode that fails a check is marked and the exit code is 1.

Reported per configuration and mode: pairs/s (one x, y pair per iteration; pix2pix trains its
two one-way models on each pair), s/iteration, the data loader's wait per batch, peak GPU
memory and the speed-up over fp32 eager; a table and, with ``--json``, one JSON object per
line. Unit tests run the same code on CPU with tiny networks (``--configs tiny``).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from cyclebench.config import ConfigError
from cyclebench.profile import default_train_config
from cyclebench.registry import get_method
from cyclebench.utils import resolve_device, set_threads
from cyclebench.cyclegan.bench import _peak_memory_mib, _sync

# name -> (method, TrainConfig overrides): the paper's settings, and tiny ones for CPU tests
CHECK_CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "cyclegan128": ("cyclegan", dict(load_size=143, crop_size=128, n_blocks=6, ngf=64, ndf=64)),
    "pix2pix256": ("pix2pix", dict(load_size=286, crop_size=256, ngf=64, ndf=64)),
    "tiny": ("cyclegan", dict(load_size=36, crop_size=32, n_blocks=1, ngf=4, ndf=4)),
    "tiny_pix2pix": ("pix2pix", dict(load_size=36, crop_size=32, ngf=4, ndf=4)),
}
MODES: dict[str, dict[str, Any]] = {
    "fp32": {},
    "bf16": {"amp_bf16": True},
    "channels_last": {"channels_last": True},
    "compile": {"compile": True},
}


class SyntheticPairs(Dataset):
    """uint8 image pairs decoded, randomly cropped and flipped per item like the training data
    (``datasets.torch_data``); deterministic per index."""

    def __init__(self, n: int, load_size: int, crop_size: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.images = rng.integers(0, 256, size=(n, 2, load_size, load_size, 3), dtype=np.uint8)
        self.crop = crop_size

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(i)
        load = self.images.shape[2]
        top, left = rng.integers(0, load - self.crop + 1, size=2)
        out = {}
        for k, key in enumerate(("x", "y")):
            img = self.images[i, k, top:top + self.crop, left:left + self.crop]
            if rng.random() < 0.5:
                img = img[:, ::-1]
            t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float()
            out[key] = t / 127.5 - 1.0
        return out


@dataclass
class ModeResult:
    config: str
    mode: str
    device: str
    iters: int
    seconds: float
    loader_wait_ms: float
    peak_memory_mib: float
    losses: dict[str, list[float]] = field(default_factory=dict, repr=False)
    speedup: float = 1.0
    max_rel_diff: float = 0.0
    status: str = "ok"

    @property
    def pairs_per_s(self) -> float:
        return self.iters / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "losses"}
        d["pairs_per_s"] = round(self.pairs_per_s, 3)
        d["s_per_iter"] = round(self.seconds / self.iters, 5) if self.iters else None
        return d


def compare_losses(ref: dict[str, list[float]], other: dict[str, list[float]]) -> float:
    """Largest relative difference, over loss terms, between the means of the last half of
    the iterations (denominator floored at 0.05: a term near 0 is compared absolutely)."""
    worst = 0.0
    for term, values in ref.items():
        if term not in other:
            raise ValueError(f"loss term {term!r} missing from the compared mode")
        half = max(1, len(values) // 2)
        a, b = float(np.mean(values[-half:])), float(np.mean(other[term][-half:]))
        worst = max(worst, abs(b - a) / max(abs(a), 0.05))
    return worst


def run_mode(config: str, mode: str, device: torch.device, iters: int, warmup: int,
             workers: int, compile_backend: str, seed: int = 0) -> ModeResult:
    method_name, overrides = CHECK_CONFIGS[config]
    flags = dict(MODES[mode])
    do_compile = flags.pop("compile", False)
    spec = get_method(method_name)
    cfg = default_train_config(method=method_name, device=str(device), seed=seed,
                               method_params=spec.resolved_params(), **overrides, **flags)
    torch.manual_seed(seed)
    method = spec.cls(cfg, device)
    if do_compile:
        for name, net in list(method.nets.items()):
            method.nets[name] = torch.compile(net, backend=compile_backend)
    data = SyntheticPairs(max(8, min(64, iters + warmup)), cfg.load_size, cfg.crop_size, seed)
    loader = DataLoader(data, batch_size=1, shuffle=False, num_workers=workers,
                        pin_memory=device.type == "cuda",
                        prefetch_factor=4 if workers > 0 else None,
                        persistent_workers=workers > 0)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats(device)
    losses: dict[str, list[torch.Tensor]] = {}
    waits: list[float] = []
    done = 0
    t_start = time.perf_counter()  # reset after the warm-up
    it = iter(loader)
    while done < warmup + iters:
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        if method.channels_last:
            batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
        if done >= warmup:
            waits.append(time.perf_counter() - t0)
        out = method.train_step(batch)
        done += 1
        if done == warmup:  # compilation and cudnn autotuning happen in the warm-up
            _sync(device)
            t_start = time.perf_counter()
        if done > warmup:
            for k, v in out.items():  # stay on the device: no host sync inside the timed loop
                losses.setdefault(k, []).append(v)
    _sync(device)
    seconds = time.perf_counter() - t_start
    values = {k: torch.stack(v).float().cpu().tolist() for k, v in losses.items()}
    result = ModeResult(config, mode, str(device), iters, seconds,
                        1000 * statistics.mean(waits) if waits else 0.0,
                        _peak_memory_mib(device), values)
    bad = [k for k, v in values.items() if not np.all(np.isfinite(v))]
    if bad:
        result.status = f"loss not finite: {', '.join(sorted(bad))}"
    return result


def run_gpu_check(configs: Sequence[str], modes: Sequence[str], device: str = "auto",
                  iters: int = 200, warmup: int = 20, workers: int = 4,
                  tolerance: float = 0.25, compile_backend: str = "inductor", threads: int = 1,
                  as_json: bool = False, print_fn=print) -> list[ModeResult]:
    for c in configs:
        if c not in CHECK_CONFIGS:
            raise ConfigError(f"unknown gpu-check config {c!r}; known: {sorted(CHECK_CONFIGS)}")
    for m in modes:
        if m not in MODES:
            raise ConfigError(f"unknown gpu-check mode {m!r}; known: {list(MODES)}")
    if "fp32" not in modes:
        raise ConfigError("gpu-check needs the fp32 mode: it is the reference of every check")
    if iters < 2 or warmup < 0:
        raise ConfigError("--iters must be >= 2 and --warmup >= 0")
    set_threads(threads)
    dev = resolve_device(device)
    ordered = ["fp32"] + [m for m in modes if m != "fp32"]
    results = []
    header = (f"{'config':<13} {'mode':<14} {'pairs/s':>8} {'s/iter':>8} {'loader ms':>9} "
              f"{'peak MiB':>9} {'speed-up':>8} {'loss drift':>10}  status")
    if not as_json:
        print_fn(f"gpu-check on {dev}: {iters} timed iterations after {warmup} warm-up, "
                 f"tolerance {tolerance:.2f} on the loss means")
        print_fn(header)
    for config in configs:
        ref = None
        for mode in ordered:
            r = run_mode(config, mode, dev, iters, warmup, workers, compile_backend)
            if ref is None:
                ref = r
            else:
                r.speedup = ref.seconds / r.seconds if r.seconds > 0 else 0.0
                r.max_rel_diff = compare_losses(ref.losses, r.losses)
                if r.status == "ok" and r.max_rel_diff > tolerance:
                    r.status = f"drift {r.max_rel_diff:.2f} > {tolerance:.2f}"
            results.append(r)
            if as_json:
                print_fn(json.dumps(r.to_dict()))
            else:
                print_fn(f"{config:<13} {mode:<14} {r.pairs_per_s:>8.2f} "
                         f"{r.seconds / r.iters:>8.4f} {r.loader_wait_ms:>9.2f} "
                         f"{r.peak_memory_mib:>9.0f} {r.speedup:>7.2f}x {r.max_rel_diff:>10.3f}"
                         f"  {r.status}")
    return results
