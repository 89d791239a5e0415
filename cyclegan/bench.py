"""Training-speed benchmark of CycleGAN (the paper's Section 7.1 training configurations).

Times full CycleGAN iterations (G step + D step with image pools, exactly what the trainer
runs) on synthetic tensors (no disk), after a warm-up, on whatever device is available.
Configurations:

=========  ==========  ========  ===========  ===========================================
name       image size  n_blocks  ngf / ndf    what
=========  ==========  ========  ===========  ===========================================
``small``  64x64       2         16 / 16      a quick CPU configuration
``128``    128x128     6         64 / 64      the paper's Cityscapes setting
``256``    256x256     9         64 / 64      the paper's maps setting
=========  ==========  ========  ===========  ===========================================

Prints one line per configuration: iterations/s and images/s (``batch_size`` x,y pairs per
iteration, i.e. training samples per second).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from cyclebench.profile import default_train_config
from cyclebench.config import ConfigError
from cyclebench.cyclegan.model import CycleGAN
from cyclebench.utils import resolve_device, set_threads

CONFIGS = {
    "small": dict(crop_size=64, n_blocks=2, ngf=16, ndf=16),
    "128": dict(crop_size=128, n_blocks=6, ngf=64, ndf=64),
    "256": dict(crop_size=256, n_blocks=9, ngf=64, ndf=64),
}


@dataclass
class BenchResult:
    config: str
    device: str
    iters: int
    seconds: float
    batch_size: int

    @property
    def iters_per_s(self) -> float:
        return self.iters / self.seconds

    @property
    def images_per_s(self) -> float:
        return self.iters_per_s * self.batch_size

    def line(self) -> str:
        return (f"{self.config:>6}  device={self.device}  iters={self.iters}  "
                f"{self.iters_per_s:8.3f} it/s  {self.images_per_s:8.3f} images/s  "
                f"({1000 * self.seconds / self.iters:.1f} ms/iter)")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_config(name: str, device: torch.device, iters: int = 10, warmup: int = 3,
                 batch_size: int = 1, amp_bf16: bool = False,
                 channels_last: bool = False) -> BenchResult:
    if name not in CONFIGS:
        raise ConfigError(f"unknown bench config {name!r}; known: {sorted(CONFIGS)}")
    cfg = default_train_config(method="cyclegan", batch_size=batch_size, amp_bf16=amp_bf16,
                               channels_last=channels_last, device=str(device),
                               method_params=dict(CycleGAN.default_params), **CONFIGS[name])
    torch.manual_seed(0)
    method = CycleGAN(cfg, device)
    size = cfg.crop_size
    gen = torch.Generator().manual_seed(0)
    # A few distinct synthetic batches, already on the device (no disk, no host->device copy).
    batches = []
    for _ in range(4):
        b = {k: (torch.rand(batch_size, 3, size, size, generator=gen) * 2 - 1).to(device)
             for k in ("x", "y")}
        if method.channels_last:
            b = {k: v.contiguous(memory_format=torch.channels_last) for k, v in b.items()}
        batches.append(b)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    for i in range(warmup):
        method.train_step(batches[i % len(batches)])
    _sync(device)
    t0 = time.perf_counter()
    for i in range(iters):
        losses = method.train_step(batches[i % len(batches)])
    _sync(device)
    seconds = time.perf_counter() - t0
    for k, v in losses.items():  # one check at the end, outside the timed loop
        if not torch.isfinite(v):
            raise RuntimeError(f"bench {name}: loss {k} is not finite")
    return BenchResult(name, str(device), iters, seconds, batch_size)


def run_bench(configs: list[str], device: str = "auto", iters: int = 10, warmup: int = 3,
              threads: int = 1, batch_size: int = 1, amp_bf16: bool = False,
              channels_last: bool = False) -> list[BenchResult]:
    set_threads(threads)
    dev = resolve_device(device)
    results = []
    for name in configs:
        r = bench_config(name, dev, iters=iters, warmup=warmup, batch_size=batch_size,
                         amp_bf16=amp_bf16, channels_last=channels_last)
        print(r.line(), flush=True)
        results.append(r)
    return results
