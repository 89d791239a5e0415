"""Command line of the CycleGAN package (see docs/CONTRACTS.md)::

    python -m cyclegan train (--config RUN.yaml | --config-json JSON) --out RUN_DIR [--max-iters N]
                             [--threads N] [--restart-on-change]
    python -m cyclegan translate --run RUN_DIR --direction label2photo --split val --out DIR
                                 [--data-root PATH] [--device auto] [--threads N] [--batch-size B]
    python -m cyclegan bench [--device auto] [--iters N] [--warmup N] [--configs small,128,256]
                             [--threads N] [--restart-on-change] [--batch-size B] [--amp-bf16] [--channels-last]

Configuration, data and numerical errors are printed as one line (no traceback), exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from cyclebench.config import ConfigError, TrainConfig


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cyclegan", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one run (any registered method); resumes")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="TrainConfig YAML (e.g. a config.resolved.yaml)")
    src.add_argument("--config-json", help="TrainConfig as a JSON object")
    t.add_argument("--out", required=True, help="run directory")
    t.add_argument("--max-iters", type=int, default=None,
                   help="stop after this many iterations in total (checkpointed; resumable)")
    t.add_argument("--restart-on-change", action="store_true",
                   help="if the run directory holds a checkpoint of another configuration, move "
                        "that run to superseded/<n>/ and start afresh (default: refuse)")
    t.add_argument("--threads", type=int, default=None,
                   help="torch threads (overrides the config's 'threads'; a runtime setting)")

    r = sub.add_parser("translate", help="translate a split with a trained run")
    r.add_argument("--run", required=True, help="run directory with model.pt")
    r.add_argument("--direction", required=True, help="label2photo, photo2label, map2photo, "
                   "photo2map, x2y or y2x")
    r.add_argument("--split", default="val")
    r.add_argument("--out", required=True, help="output folder (created)")
    r.add_argument("--data-root", default=None, help="prepared data (default: the run's)")
    r.add_argument("--device", default="auto")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--batch-size", type=int, default=8)

    b = sub.add_parser("bench", help="iterations/s and images/s of CycleGAN training")
    b.add_argument("--device", default="auto")
    b.add_argument("--iters", type=int, default=10)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--configs", default="small,128,256")
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--batch-size", type=int, default=1)
    b.add_argument("--amp-bf16", action="store_true")
    b.add_argument("--channels-last", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    from cyclegan.train import NonFiniteLossError

    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            from cyclegan.train import train

            cfg = (TrainConfig.load(args.config) if args.config
                   else TrainConfig.from_json(args.config_json))
            if args.threads is not None:
                if args.threads < 1:
                    raise ConfigError(f"--threads must be >= 1, got {args.threads}")
                cfg.threads = args.threads
            train(cfg, args.out, max_iters=args.max_iters,
                  restart_on_change=args.restart_on_change)
        elif args.command == "translate":
            from cyclegan.translate import translate

            paths = translate(args.run, args.direction, args.split, args.out,
                              data_root=args.data_root, device=args.device,
                              threads=args.threads, batch_size=args.batch_size)
            print(f"wrote {len(paths)} images to {args.out}", file=sys.stderr)
        else:
            from cyclegan.bench import run_bench

            if args.iters < 1 or args.warmup < 0:
                raise ConfigError("--iters must be >= 1 and --warmup >= 0")
            run_bench([c for c in args.configs.split(",") if c], device=args.device,
                      iters=args.iters, warmup=args.warmup, threads=args.threads,
                      batch_size=args.batch_size, amp_bf16=args.amp_bf16,
                      channels_last=args.channels_last)
    except (ConfigError, FileNotFoundError, NonFiniteLossError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        if "CUDA is not available" in str(exc):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
