"""``python -m eval``: train the evaluator, score a run, and (other modules) tables/plots/regress.

    python -m eval train-evaluator --profile-json JSON --task cityscapes --out EVAL_DIR [--threads N]
    python -m eval score --profile-json JSON --task T --method M --seed K --direction D \\
        --translations DIR [--evaluator EVAL_DIR] --out metrics.csv [--threads N]
    python -m eval tables|plots|regress ...   (eval/tables.py, eval/plots.py, eval/regress.py)

``--profile-json`` takes the profile as JSON text (what Snakemake passes) or a JSON/YAML file.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

# subcommands implemented in their own module's ``main(argv)``
DELEGATED = {"tables": "eval.tables", "plots": "eval.plots", "regress": "eval.regress"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train-evaluator", help="train the FCN evaluator on real train photos")
    t.add_argument("--profile-json", required=True)
    t.add_argument("--task", default="cityscapes")
    t.add_argument("--out", required=True, help="EVAL_DIR (evaluator.pt, ground_truth.csv, ...)")
    t.add_argument("--threads", type=int, default=1)
    s = sub.add_parser("score", help="every metric of one run's translations -> tidy CSV")
    s.add_argument("--profile-json", required=True)
    s.add_argument("--task", required=True)
    s.add_argument("--method", required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--direction", required=True)
    s.add_argument("--translations", required=True)
    s.add_argument("--evaluator", default=None, help="EVAL_DIR of train-evaluator")
    s.add_argument("--out", required=True)
    s.add_argument("--threads", type=int, default=1)
    for name, module in DELEGATED.items():
        sub.add_parser(name, help=f"see python -m eval {name} --help ({module})", add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        module = DELEGATED[argv[0]]
        if importlib.util.find_spec(module) is None:
            print(f"error: `{argv[0]}` is implemented in {module}, which is not installed",
                  file=sys.stderr)
            return 2
        return int(importlib.import_module(module).main(argv[1:]) or 0)
    args = _parser().parse_args(argv)
    from eval.profile import load_profile

    profile = load_profile(args.profile_json)
    if args.command == "train-evaluator":
        from eval.segmenter import train_evaluator

        ev = train_evaluator(profile, args.task, args.out, threads=args.threads)
        print(f"evaluator {ev.label} -> {args.out}")
        return 0
    from eval.score import score_run

    rows = score_run(profile, args.task, args.method, args.seed, args.direction,
                     args.translations, args.out, evaluator_dir=args.evaluator,
                     threads=args.threads)
    print(f"{len(rows)} metric rows -> {args.out}")
    return 0


def _run() -> int:
    """Entry point: user errors (config, missing files, bad inputs) print one line, exit 1."""
    from cyclebench.config import ConfigError

    try:
        return main()
    except (ConfigError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"python -m eval: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(_run())
