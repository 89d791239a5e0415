"""``cyclebench <verb>``: one command for every step of the benchmark, one error policy.

Each verb is a module-level ``main(argv) -> int`` that owns its own flags (so every step is
testable without Snakemake); this module only dispatches and applies the error policy:

- a user error (bad configuration, missing or corrupt input file, a value out of range, a
  training run that diverged) prints one line ``cyclebench <verb>: error: <message>`` naming
  the file, key or value, and exits with code 2 (argparse usage errors exit 2 as well);
- a failed check (``regress`` outside tolerance) exits 1;
- anything else is a bug and keeps its traceback.  ``CYCLEBENCH_TRACEBACK=1`` shows the
  traceback of user errors too.

The Snakemake rules call ``<the interpreter running Snakemake> -m cyclebench <verb> ...``.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Callable, Sequence

from cyclebench.errors import UserError

# verb -> ("module:function", one-line help).  Modules are imported only when their verb runs:
# ``cyclebench --help`` must not pay for torch.
VERBS: dict[str, tuple[str, str]] = {
    "check": ("cyclebench.check:main",
              "validate profile files (names a malformed or empty --configfile)"),
    "data": ("cyclebench.datasets.cli:main",
             "prepare a task's data (synthetic, Cityscapes layout or pix2pix archive)"),
    "train": ("cyclebench.cyclegan.cli:train_main",
              "train one run of any registered method (resumable)"),
    "translate": ("cyclebench.cyclegan.cli:translate_main",
                  "translate a split with a trained run"),
    "evaluator": ("cyclebench.eval.cli:evaluator_main",
                  "train the fixed FCN evaluator and score it on real photos"),
    "score": ("cyclebench.eval.cli:score_main",
              "every metric of one run's translations -> tidy CSV"),
    "evaluate": ("cyclebench.eval.cli:evaluate_main",
                 "translate + score every direction of one run (the workflow's per-run job)"),
    "sanity": ("cyclebench.eval.sanity:main",
               "score stand-ins without a method: the metrics' floor and leniency"),
    "tables": ("cyclebench.eval.tables:main", "Tables 1-5 and the agreement table"),
    "plots": ("cyclebench.eval.plots:main", "seaborn figures of tables, losses and samples"),
    "study": ("cyclebench.eval.report_page:main",
              "a local real-vs-fake study page (the Table 1 protocol)"),
    "claims": ("cyclebench.eval.claims_render:main",
               "verdicts of the paper's claims, with bootstrap intervals"),
    "regress": ("cyclebench.eval.regress:main",
                "compare metric rows with committed reference values"),
    "curves": ("cyclebench.eval.curves:main",
               "learning curves and best-vs-final checkpoint scores (train.snapshots)"),
    "timings": ("cyclebench.eval.timings:main",
                "where a DAG's wall time went, from Snakemake's benchmark files"),
    "steganography": ("cyclebench.eval.steganography:main",
                      "off-palette signal in photo -> labels maps (a diagnostic for claim A3)"),
    "status": ("cyclebench.status:main",
               "where every long job of a profile stands (done, running + ETA, stopped)"),
    "bench": ("cyclebench.cyclegan.cli:bench_main",
              "time training steps (`bench train`) or the data generators (`bench data`)"),
}

USAGE = "usage: cyclebench [-h] <verb> [options]   (cyclebench <verb> --help for its options)"


# ValueError and OSError cover bad values (ConfigError is one), missing, unreadable and corrupt
# files; KeyError an unknown method, task, direction or metric (the registries name what
# exists); UserError the project's own (a diverged run, a missing device, a failed download).
USER_ERRORS = (UserError, ValueError, OSError, KeyError)


def _help() -> str:
    width = max(map(len, VERBS))
    lines = [__doc__.split("\n")[0].replace("``", ""), "", USAGE, "", "verbs:"]
    lines += [f"  {verb:<{width}}  {text}" for verb, (_, text) in VERBS.items()]
    return "\n".join(lines)


def resolve(verb: str) -> Callable[[Sequence[str]], int]:
    """The entry point of ``verb`` (``KeyError`` for an unknown verb)."""
    target, _ = VERBS[verb]
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_help())
        return 0 if argv else 2
    verb, rest = argv[0], argv[1:]
    if verb not in VERBS:
        print(f"cyclebench: error: unknown verb {verb!r}; verbs: {', '.join(VERBS)}",
              file=sys.stderr)
        return 2
    entry = resolve(verb)
    try:
        return int(entry(rest) or 0)
    except USER_ERRORS as exc:
        if os.environ.get("CYCLEBENCH_TRACEBACK"):
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"cyclebench {verb}: error: {' '.join(str(message).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
