"""``cyclebench train``, ``cyclebench translate`` and ``cyclebench bench`` (see docs/CONTRACTS.md).

    cyclebench train (--config RUN.yaml | --config-json JSON) --out RUN_DIR [--max-iters N]
                     [--threads N] [--restart-on-change]
    cyclebench translate --run RUN_DIR --direction label2photo --split val --out DIR
                         [--data-root PATH] [--device auto] [--threads N] [--batch-size B]
    cyclebench bench train [--device auto] [--iters N] [--warmup N] [--configs small,128,256|all]
                           [--threads N] [--batch-size B] [--repeats R] [--amp-bf16] [--channels-last] [--json]
    cyclebench bench data [--task cityscapes] [--n 100] [--size 128] [--full-size H W]

Errors are raised; ``cyclebench.cli`` turns user errors into one line and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from cyclebench.config import ConfigError, TrainConfig
from cyclebench.cyclegan.bench import CONFIGS, print_profile, profile_config, run_bench
from cyclebench.cyclegan.train import train
from cyclebench.cyclegan.translate import translate
from cyclebench.datasets.cli import bench_generator
from cyclebench.utils import resolve_device, set_threads


def train_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="cyclebench train",
                                description="Train one run (any registered method); resumes.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="TrainConfig YAML (e.g. a config.resolved.yaml)")
    src.add_argument("--config-json", help="TrainConfig as a JSON object")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--max-iters", type=int, default=None,
                   help="stop after this many iterations in total (checkpointed; resumable)")
    p.add_argument("--restart-on-change", action="store_true",
                   help="if the run directory holds a checkpoint of another configuration, move "
                        "that run to superseded/<n>/ and start afresh (default: refuse)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (overrides the config's 'threads'; a runtime setting)")
    args = p.parse_args(argv)
    cfg = TrainConfig.load(args.config) if args.config else TrainConfig.from_json(args.config_json)
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        cfg = cfg.replace(threads=args.threads)
    train(cfg, args.out, max_iters=args.max_iters, restart_on_change=args.restart_on_change)
    return 0


def translate_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="cyclebench translate",
                                description="Translate a split with a trained run.")
    p.add_argument("--run", required=True, help="run directory with model.pt")
    p.add_argument("--direction", required=True, help="label2photo, photo2label, map2photo, "
                   "photo2map, x2y or y2x")
    p.add_argument("--split", default="val")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--data-root", default=None, help="prepared data (default: the run's)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=8)
    args = p.parse_args(argv)
    paths = translate(args.run, args.direction, args.split, args.out, data_root=args.data_root,
                      device=args.device, threads=args.threads, batch_size=args.batch_size)
    print(f"wrote {len(paths)} images to {args.out}", file=sys.stderr)
    return 0


def bench_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="cyclebench bench",
                                description="Benchmarks that print numbers (JSON lines).")
    sub = p.add_subparsers(dest="what", required=True)
    b = sub.add_parser("train", help="iterations/s and images/s of CycleGAN training")
    b.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    b.add_argument("--iters", type=int, default=10, help="iterations per timed block")
    b.add_argument("--warmup", type=int, default=3, help="untimed iterations first")
    b.add_argument("--configs", default="small,128,256",
                   help=f"comma-separated, of {', '.join(CONFIGS)}; or all")
    b.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    b.add_argument("--batch-size", type=int, default=1)
    b.add_argument("--repeats", type=int, default=3, help="timed blocks of --iters (min, median)")
    b.add_argument("--amp-bf16", action="store_true", help="bf16 autocast (CPU and CUDA)")
    b.add_argument("--channels-last", action="store_true", help="channels_last (CPU and CUDA)")
    b.add_argument("--json", action="store_true", help="one JSON object per configuration")
    b.add_argument("--profile", action="store_true",
                   help="instead of timing: where one step's time goes (torch.profiler self "
                        "time by op category, the top ops, the time outside ops)")
    g = sub.add_parser("gpu-check", help="train the paper's CycleGAN 128 and pix2pix 256 a few "
                       "hundred iterations per mode (fp32, bf16, channels_last, compile): "
                       "finite losses, bf16/compiled tracking fp32, speed-ups")
    g.add_argument("--device", default="cuda")
    g.add_argument("--configs", default="cyclegan128,pix2pix256",
                   help="comma-separated; tiny and tiny_pix2pix run the logic on CPU")
    g.add_argument("--modes", default="fp32,bf16,channels_last,compile",
                   help="comma-separated; fp32 (the reference) is always run first")
    g.add_argument("--iters", type=int, default=200)
    g.add_argument("--warmup", type=int, default=20)
    g.add_argument("--workers", type=int, default=4, help="DataLoader worker processes")
    g.add_argument("--tolerance", type=float, default=0.25,
                   help="largest relative difference of a loss term's mean from fp32's")
    g.add_argument("--compile-backend", default="inductor")
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--json", action="store_true")
    d = sub.add_parser("data", help="time the synthetic data generators")
    d.add_argument("--task", default="cityscapes", choices=["cityscapes", "maps"])
    d.add_argument("--n", type=int, default=100)
    d.add_argument("--size", type=int, default=128)
    d.add_argument("--full-size", type=int, nargs=2, metavar=("H", "W"))
    args = p.parse_args(argv)
    if args.what == "data":
        bench_generator(args.task, args.n, args.size, args.full_size)
        return 0
    if args.what == "gpu-check":
        from cyclebench.cyclegan.gpu_check import run_gpu_check

        results = run_gpu_check([c for c in args.configs.split(",") if c],
                                [m for m in args.modes.split(",") if m], device=args.device,
                                iters=args.iters, warmup=args.warmup, workers=args.workers,
                                tolerance=args.tolerance, compile_backend=args.compile_backend,
                                threads=args.threads, as_json=args.json)
        return 0 if all(r.status == "ok" for r in results) else 1
    if args.iters < 1 or args.warmup < 0 or args.repeats < 1:
        raise ConfigError("--iters and --repeats must be >= 1 and --warmup >= 0")
    names = (list(CONFIGS) if args.configs == "all"
             else [c for c in args.configs.split(",") if c])
    if args.profile:
        set_threads(args.threads)
        for name in names:
            result = profile_config(name, resolve_device(args.device), steps=args.iters,
                                    warmup=args.warmup, batch_size=args.batch_size,
                                    amp_bf16=args.amp_bf16, channels_last=args.channels_last)
            if args.json:
                print(json.dumps(result))
            else:
                print_profile(result)
        return 0
    run_bench(names, device=args.device, iters=args.iters,
              warmup=args.warmup, threads=args.threads, batch_size=args.batch_size,
              amp_bf16=args.amp_bf16, channels_last=args.channels_last,
              repeats=args.repeats, as_json=args.json)
    return 0
