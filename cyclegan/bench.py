"""Training-speed benchmark of CycleGAN (the paper's Section 7.1 training configurations).

Times full CycleGAN iterations (G step + D step with image pools, exactly what the trainer
runs) on synthetic tensors (no disk), after a warm-up, on whatever device is available.
Configurations:

===========  ==========  ========  ===========  ========================================
name         image size  n_blocks  ngf / ndf    what
===========  ==========  ========  ===========  ========================================
``small``    64x64       2         16 / 16      a quick CPU configuration
``default``  64x64       6         16 / 16      the default profile (34x34 PatchGAN)
``128``      128x128     6         64 / 64      the paper's Cityscapes setting
``256``      256x256     9         64 / 64      the paper's maps setting
``pix2pix``  256x256     U-Net-256 64 / 64      pix2pix at the paper's maps setting
===========  ==========  ========  ===========  ========================================

``pix2pix`` times one direction of the method (``G: X -> Y`` and its conditional
discriminator: one official pix2pix iteration); the registered method trains two such
independent one-way models per step (``baselines.common.DirectionalMethod``).

Per configuration: seconds per iteration (min and median over ``repeats`` timed blocks of
``iters`` iterations), images/s (``batch_size`` x,y pairs per iteration), the FLOP count of one
iteration (torch's FLOP counter: convolutions and matmuls, forward and backward), the achieved
GFLOP/s at the best block, the fraction of the device's measured matmul peak (a square matmul
in the step's dtype, fp32 or bf16), the rate of one 3x3 convolution in the same dtype (its FLOPs
counted as a direct convolution, like the step's) and the peak memory (CUDA: allocated; CPU:
the process's maximum resident set).  ``--json`` prints one JSON object per configuration.
A fraction above 100 % is possible and is not a counting error: on an AMD EPYC with AVX-512,
one thread, the fp32 matmul ran at 91 GFLOP/s and the 3x3 convolution at 205 (why is not
established: a slower matmul library path on that CPU, or convolution algorithms doing fewer
FLOPs than a direct convolution), so the step's conv-dominated rate can exceed the matmul's.
The 3x3 rate is the better yardstick for these conv nets.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field

import torch
from torch.utils.flop_counter import FlopCounterMode

from cyclebench.profile import default_train_config
from cyclebench.config import ConfigError
from cyclebench.registry import get_method
from cyclebench.utils import resolve_device, set_threads

CONFIGS = {
    "small": dict(crop_size=64, n_blocks=2, ngf=16, ndf=16),
    "default": dict(crop_size=64, n_blocks=6, ngf=16, ndf=16, n_layers_d=2),
    "128": dict(crop_size=128, n_blocks=6, ngf=64, ndf=64),
    "256": dict(crop_size=256, n_blocks=9, ngf=64, ndf=64),
    "pix2pix": dict(crop_size=256, ngf=64, ndf=64),
}
# configurations of another method than CycleGAN, and how one of their iterations is timed
METHOD_OF = {"pix2pix": "pix2pix"}


@dataclass
class BenchResult:
    config: str
    device: str
    threads: int
    batch_size: int
    amp_bf16: bool
    channels_last: bool
    iters: int
    block_seconds: list[float] = field(default_factory=list)  # per timed block of `iters`
    gflop_per_iter: float = 0.0
    matmul_peak_gflops: float = 0.0
    peak_memory_mib: float = 0.0
    conv3x3_gflops: float = 0.0  # one 3x3 convolution's rate, direct-convolution FLOPs

    @property
    def s_per_iter_min(self) -> float:
        return min(self.block_seconds) / self.iters

    @property
    def s_per_iter_median(self) -> float:
        return statistics.median(self.block_seconds) / self.iters

    @property
    def iters_per_s(self) -> float:
        return 1.0 / self.s_per_iter_min

    @property
    def images_per_s(self) -> float:
        return self.iters_per_s * self.batch_size

    @property
    def achieved_gflops(self) -> float:
        return self.gflop_per_iter / self.s_per_iter_min

    @property
    def fraction_of_peak(self) -> float:
        return self.achieved_gflops / self.matmul_peak_gflops if self.matmul_peak_gflops else 0.0

    @property
    def fraction_of_conv3x3(self) -> float:
        return self.achieved_gflops / self.conv3x3_gflops if self.conv3x3_gflops else 0.0

    def to_dict(self) -> dict:
        out = asdict(self)
        for name in ("s_per_iter_min", "s_per_iter_median", "iters_per_s", "images_per_s",
                     "achieved_gflops", "fraction_of_peak", "fraction_of_conv3x3"):
            out[name] = round(getattr(self, name), 6)
        return out

    def line(self) -> str:
        opts = "".join([" bf16" if self.amp_bf16 else "", " channels_last"
                        if self.channels_last else ""])
        return (f"{self.config:>7}  device={self.device} threads={self.threads}{opts}  "
                f"{1000 * self.s_per_iter_min:.1f} ms/iter (median "
                f"{1000 * self.s_per_iter_median:.1f})  {self.images_per_s:.3f} images/s  "
                f"{self.gflop_per_iter:.1f} GFLOP/iter  {self.achieved_gflops:.1f} GFLOP/s "
                f"({100 * self.fraction_of_peak:.0f}% of the {self.matmul_peak_gflops:.0f} "
                f"GFLOP/s matmul peak, {100 * self.fraction_of_conv3x3:.0f}% of the "
                f"{self.conv3x3_gflops:.0f} GFLOP/s of a 3x3 conv)  "
                f"peak memory {self.peak_memory_mib:.0f} MiB")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _best_seconds(fn, device: torch.device, repeats: int) -> float:
    """Fastest of ``repeats`` timed calls of ``fn`` after one untimed call (device-synced)."""
    fn()
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_peak_gflops(device: torch.device, dtype: torch.dtype, n: int = 2048,
                       repeats: int = 5) -> float:
    """Best GFLOP/s of an n x n matmul on ``device`` in ``dtype`` (the step's compute dtype)."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    return 2 * n ** 3 / _best_seconds(lambda: a @ b, device, repeats) / 1e9


def conv3x3_gflops(device: torch.device, dtype: torch.dtype, channels: int = 256,
                   size: int = 32, repeats: int = 5) -> float:
    """Best GFLOP/s of one 3x3, stride-1 convolution (a ResNet block's, at the paper's 128x128
    Cityscapes scale), with its FLOPs counted as a direct convolution, as the step's are."""
    x = torch.randn(1, channels, size, size, device=device).to(dtype)
    w = torch.randn(channels, channels, 3, 3, device=device).to(dtype)
    best = _best_seconds(lambda: torch.nn.functional.conv2d(x, w, padding=1), device, repeats)
    return 2 * channels * channels * 9 * size * size / best / 1e9


def _peak_memory_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / (2 ** 20 if sys.platform == "darwin" else 2 ** 10)


def _step_and_batches(name: str, device: torch.device, batch_size: int, amp_bf16: bool,
                      channels_last: bool):
    """The one-iteration step function of configuration ``name``'s method and a few distinct
    synthetic batches already on ``device`` (no disk, no host->device copy)."""
    if name not in CONFIGS:
        raise ConfigError(f"unknown bench config {name!r}; known: {sorted(CONFIGS)}")
    method_name = METHOD_OF.get(name, "cyclegan")
    spec = get_method(method_name)
    cfg = default_train_config(method=method_name, batch_size=batch_size, amp_bf16=amp_bf16,
                               channels_last=channels_last, device=str(device),
                               method_params=spec.resolved_params(), **CONFIGS[name])
    torch.manual_seed(0)
    method = spec.cls(cfg, device)
    if method_name == "pix2pix":  # one official pix2pix iteration: one direction
        step = lambda b: method.direction_step("x2y", b["x"], b["y"])  # noqa: E731
    else:
        step = method.train_step
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
    return step, batches


def bench_config(name: str, device: torch.device, iters: int = 10, warmup: int = 3,
                 batch_size: int = 1, amp_bf16: bool = False, channels_last: bool = False,
                 repeats: int = 3, threads: int = 1, peak: float | None = None,
                 conv_rate: float | None = None) -> BenchResult:
    step, batches = _step_and_batches(name, device, batch_size, amp_bf16, channels_last)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats(device)
    for i in range(warmup):
        step(batches[i % len(batches)])
    counter = FlopCounterMode(display=False)
    with counter:  # one counted step, outside the timed blocks
        step(batches[0])
    _sync(device)
    blocks = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(iters):
            losses = step(batches[i % len(batches)])
        _sync(device)
        blocks.append(time.perf_counter() - t0)
    for k, v in losses.items():  # one check at the end, outside the timed loop
        if not torch.isfinite(v):
            raise RuntimeError(f"bench {name}: loss {k} is not finite")
    dtype = torch.bfloat16 if amp_bf16 else torch.float32
    if peak is None:
        peak = matmul_peak_gflops(device, dtype)
    if conv_rate is None:
        conv_rate = conv3x3_gflops(device, dtype)
    return BenchResult(name, str(device), threads, batch_size, amp_bf16, channels_last, iters,
                       blocks, counter.get_total_flops() / 1e9, peak, _peak_memory_mib(device),
                       conv_rate)


# torch.profiler op name -> where the time of a training step goes (first matching prefix wins).
# Backward ops go with their forward op (convolution_backward is "convolution"); transposed
# convolutions share aten's convolution ops, forward and backward, so they are not told apart.
OP_CATEGORIES = (
    ("convolution (incl. transposed)", ("conv", "mkldnn_convolution", "slow_conv")),
    ("instance/batch norm", ("instance_norm", "batch_norm", "native_batch_norm", "_batch_norm")),
    ("padding", ("reflection_pad", "replication_pad", "constant_pad", "pad")),
    ("optimizer", ("optimizer.", "_foreach", "_fused_adam", "adam", "lerp", "addcdiv",
                   "addcmul")),
    ("activations", ("relu", "leaky_relu", "tanh", "sigmoid", "threshold", "hardtanh",
                     "dropout", "native_dropout")),
    ("elementwise and reductions", ("add", "sub", "mul", "div", "mean", "sum", "pow", "sqrt",
                                    "abs", "neg", "mse_loss", "l1_loss", "where", "clamp",
                                    "exp", "log", "rsub")),
    ("memory (copies, allocations)", ("copy_", "empty", "zero", "fill_", "clone", "cat",
                                      "stack", "to", "_to_copy", "contiguous", "resize",
                                      "view", "reshape", "as_strided", "detach")),
)


def op_category(name: str) -> str:
    """The :data:`OP_CATEGORIES` entry of a profiler event name (``aten::`` stripped)."""
    op = name.split("::")[-1].lower()
    for category, prefixes in OP_CATEGORIES:
        if op.startswith(prefixes):
            return category
    return "other"


def profile_config(name: str, device: torch.device, steps: int = 3, warmup: int = 2,
                   batch_size: int = 1, amp_bf16: bool = False, channels_last: bool = False,
                   top: int = 12) -> dict:
    """Where one training step's time goes: ``steps`` steps under torch.profiler (after
    ``warmup`` and the same steps timed unprofiled), the self time of every op summed by
    :func:`op_category` (self times partition the ops' time: nothing is counted twice), the
    ``top`` ops by self time, and the unprofiled wall time the ops do not cover.  CPU self
    times on CPU; device self times on CUDA."""
    from torch.profiler import ProfilerActivity, profile

    step, batches = _step_and_batches(name, device, batch_size, amp_bf16, channels_last)
    for i in range(warmup):
        step(batches[i % len(batches)])
    _sync(device)
    t0 = time.perf_counter()  # the same steps unprofiled: wall time, for the overhead line
    for i in range(steps):
        step(batches[i % len(batches)])
    _sync(device)
    wall_ms = (time.perf_counter() - t0) * 1e3 / steps
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for i in range(steps):
            step(batches[i % len(batches)])
        _sync(device)
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    ops = [(e.key, getattr(e, attr) / 1e3 / steps, e.count // steps)
           for e in prof.key_averages()]
    total = sum(ms for _, ms, _ in ops) or 1.0
    by_category: dict[str, float] = {}
    for key, ms, _ in ops:
        category = op_category(key)
        by_category[category] = by_category.get(category, 0.0) + ms
    # wall time the ops' self times do not cover: Python, autograd bookkeeping, dispatch
    overhead = max(0.0, wall_ms - total)
    return {"config": name, "device": str(device), "amp_bf16": amp_bf16,
            "channels_last": channels_last, "wall_ms_per_step": round(wall_ms, 3),
            "op_ms_per_step": round(total, 3), "overhead_ms_per_step": round(overhead, 3),
            "categories": {k: {"ms": round(v, 3), "fraction": round(v / total, 4)}
                           for k, v in sorted(by_category.items(), key=lambda kv: -kv[1])},
            "top_ops": [{"op": k, "ms": round(ms, 3), "calls": n, "fraction": round(ms / total, 4)}
                        for k, ms, n in sorted(ops, key=lambda o: -o[1])[:top]]}


def print_profile(result: dict) -> None:
    print(f"{result['config']}: {result['wall_ms_per_step']:.1f} ms per step unprofiled, "
          f"{result['op_ms_per_step']:.1f} ms of op self time under the profiler "
          f"(device={result['device']}{' bf16' if result['amp_bf16'] else ''}"
          f"{' channels_last' if result['channels_last'] else ''}); outside the ops "
          f"(Python, autograd, dispatch): {result['overhead_ms_per_step']:.1f} ms")
    for cat, v in result["categories"].items():
        print(f"  {cat:<30} {v['ms']:9.1f} ms  {100 * v['fraction']:5.1f}%")
    print("  top ops:")
    for o in result["top_ops"]:
        print(f"    {o['op']:<44} {o['ms']:9.1f} ms  {100 * o['fraction']:5.1f}%  "
              f"x{o['calls']}")


def run_bench(configs: list[str], device: str = "auto", iters: int = 10, warmup: int = 3,
              threads: int = 1, batch_size: int = 1, amp_bf16: bool = False,
              channels_last: bool = False, repeats: int = 3,
              as_json: bool = False) -> list[BenchResult]:
    set_threads(threads)
    dev = resolve_device(device)
    dtype = torch.bfloat16 if amp_bf16 else torch.float32
    peak, conv_rate = matmul_peak_gflops(dev, dtype), conv3x3_gflops(dev, dtype)
    results = []
    for name in configs:
        r = bench_config(name, dev, iters=iters, warmup=warmup, batch_size=batch_size,
                         amp_bf16=amp_bf16, channels_last=channels_last, repeats=repeats,
                         threads=threads, peak=peak, conv_rate=conv_rate)
        print(json.dumps(r.to_dict()) if as_json else r.line(), flush=True)
        results.append(r)
    return results
