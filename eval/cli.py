"""``cyclebench evaluator`` and ``cyclebench score`` (tables, plots, study and regress live in
their own modules).

    cyclebench evaluator --config-json EVALUATOR_CFG --eval-config-json EVAL_CFG \\
        --data-root DATA --out EVAL_DIR [--task cityscapes] [--threads N]
    cyclebench score --config-json EVAL_CFG --task T --method M --seed K --direction D \\
        --translations DIR --data-root DATA --run-config RUN/config.resolved.yaml \\
        [--evaluator EVAL_DIR] [--fid-cache DIR] --out metrics.csv [--stats stats.npz] \\
        [--threads N]
    cyclebench evaluate --config-json EVAL_CFG --task T --method M --seed K --run RUN \
        --data-root DATA --directions D1 D2 --translations DIR1 DIR2 --out CSV1 CSV2 \
        [--stats NPZ1 NPZ2] [--model RUN/snapshots/epochNNN.pt] [--evaluator EVAL_DIR] \
        [--fid-cache DIR] [--threads N]

``evaluate`` is ``translate`` then ``score`` for every listed direction of one run, in one
process: the workflow's per-run job (one interpreter start-up and one import of torch instead
of four; the outputs are the same files the two verbs write).

Step configs (``--config-json``, ``--eval-config-json``) are JSON text (what the rules pass)
or a JSON/YAML file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from cyclebench.config import EvalConfig, EvaluatorConfig
from cyclebench.errors import ConfigError
from cyclebench.progress import PROGRESS_FILE, Progress
from cyclebench.eval.score import score_run
from cyclebench.eval.segmenter.training import train_evaluator


def evaluator_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="cyclebench evaluator",
                                description="Train the FCN evaluator on real train photos.")
    p.add_argument("--config-json", required=True,
                   help="the evaluator: EvaluatorConfig as JSON text or a JSON/YAML file")
    p.add_argument("--eval-config-json", required=True,
                   help="the metric protocol of its Ground-truth row: EvalConfig (JSON or file)")
    p.add_argument("--data-root", required=True, help="the cityscapes task's prepared data")
    p.add_argument("--task", default="cityscapes")
    p.add_argument("--out", required=True, help="EVAL_DIR (evaluator.pt, ground_truth.csv, ...)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    ev = train_evaluator(EvaluatorConfig.from_arg(args.config_json),
                         EvalConfig.from_arg(args.eval_config_json, "--eval-config-json"),
                         args.data_root, args.out, task=args.task, threads=args.threads)
    print(f"evaluator {ev.label} -> {args.out}")
    return 0


def score_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="cyclebench score",
                                description="Every metric of one run's translations -> tidy CSV.")
    p.add_argument("--config-json", required=True,
                   help="the metric protocol: EvalConfig as JSON text or a JSON/YAML file")
    p.add_argument("--task", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--direction", required=True)
    p.add_argument("--translations", required=True, help="folder of the run's translated PNGs")
    p.add_argument("--data-root", required=True, help="the task's prepared data (meta.json)")
    p.add_argument("--run-config", required=True,
                   help="the run's config.resolved.yaml (read for the substitutes column)")
    p.add_argument("--evaluator", default=None, help="EVAL_DIR of `cyclebench evaluator`")
    p.add_argument("--fid-cache", default=None,
                   help="real-image FID/KID feature cache folder (used when eval.fid_cache)")
    p.add_argument("--out", required=True, help="the tidy metric rows (CSV)")
    p.add_argument("--stats", default=None,
                   help="also write every score's per-image statistics here (.npz; the claims' "
                        "bootstrap resamples them)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    rows = score_run(EvalConfig.from_arg(args.config_json), args.task, args.method, args.seed,
                     args.direction, translations=args.translations, data_root=args.data_root,
                     run_config=args.run_config, out=args.out, evaluator_dir=args.evaluator,
                     fid_cache=args.fid_cache, stats_out=args.stats, threads=args.threads)
    print(f"{len(rows)} metric rows -> {args.out}")
    return 0


def evaluate_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="cyclebench evaluate",
                                description="Translate the val split with one run and score it, "
                                            "for each listed direction (one process).")
    p.add_argument("--config-json", required=True,
                   help="the metric protocol: EvalConfig as JSON text or a JSON/YAML file")
    p.add_argument("--task", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--run", required=True, help="the run folder (model.pt, config.resolved.yaml)")
    p.add_argument("--data-root", required=True, help="the task's prepared data (meta.json)")
    p.add_argument("--directions", nargs="+", required=True)
    p.add_argument("--translations", nargs="+", required=True,
                   help="one output folder of translated PNGs per direction")
    p.add_argument("--out", nargs="+", required=True, help="one metric CSV per direction")
    p.add_argument("--stats", nargs="+", default=None,
                   help="one per-image statistics .npz per direction")
    p.add_argument("--model", default=None,
                   help="weights to translate with instead of RUN/model.pt (a learning-curve "
                        "snapshot, RUN/snapshots/epochNNN.pt)")
    p.add_argument("--evaluator", default=None, help="EVAL_DIR of `cyclebench evaluator`")
    p.add_argument("--fid-cache", default=None, help="real-image FID/KID feature cache folder")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=8, help="translation batch size")
    args = p.parse_args(argv)
    n = len(args.directions)
    stats_files = args.stats if args.stats is not None else [None] * n
    for flag in ("translations", "out", "stats"):
        if getattr(args, flag) is not None and len(getattr(args, flag)) != n:
            raise ConfigError(f"--{flag} lists {len(getattr(args, flag))} path(s) for "
                              f"{n} direction(s) {args.directions}: give one per direction")
    from cyclebench.cyclegan.translate import translate

    ecfg = EvalConfig.from_arg(args.config_json)
    run_config = f"{args.run}/config.resolved.yaml"
    # beside the metric CSVs, for `cyclebench status` (a killed job shows as stopped)
    what = f"evaluate {args.task}/{args.method}/seed{args.seed}" + (
        f" ({Path(args.model).stem})" if args.model else "")
    progress = Progress(what, n, unit="direction", stream=None,
                        path=Path(args.out[0]).parent / PROGRESS_FILE)
    progress.update(0, force=True)
    for i, (direction, tdir, out, stats) in enumerate(zip(args.directions, args.translations,
                                                          args.out, stats_files)):
        paths = translate(args.run, direction, "val", tdir, data_root=args.data_root,
                          device=ecfg.device, threads=args.threads, batch_size=args.batch_size,
                          model_file=args.model)
        rows = score_run(ecfg, args.task, args.method, args.seed, direction, translations=tdir,
                         data_root=args.data_root, run_config=run_config, out=out,
                         evaluator_dir=args.evaluator, fid_cache=args.fid_cache,
                         stats_out=stats, threads=args.threads)
        print(f"{direction}: {len(paths)} translations -> {tdir}; {len(rows)} metric rows -> {out}",
              flush=True)
        progress.update(i + 1, force=True)
    progress.finish()
    return 0
