"""``cyclebench tables``: the paper's Tables 1-5 and the agreement table (CycleGAN, Zhu et al.
2017, Section 5.1) from tidy metric rows.

    cyclebench tables --metrics-csv results/<p>/metrics/<task>/<method>/seed<k>/<dir>.csv ... \\
        [--evaluator-csv results/<p>/evaluator/cityscapes/ground_truth.csv] \\
        --profile <p> --out-dir results/<p>/tables

reads exactly the listed CSVs (nothing is globbed; the rows carry their own keys) and writes
``table1.csv`` ... ``table5.csv`` and ``agreement.csv`` (tidy, full precision) plus a paper-like
wide rendering of each as ``<name>.md`` and ``<name>.html``, all atomically.

The code lives by concern: :mod:`eval.table_specs` (what each table shows: task, directions,
metric columns, method groups), :mod:`eval.table_build` (rows, seed statistics, the paper join,
rank agreement) and :mod:`eval.table_render` (captions, wide layout, markdown/HTML).

- Table 1 (Section 5.1.2, maps): the paper's AMT "% Turkers labelled real" study cannot be
  automated; FID and KID (lower is better) stand in for it, with the paper's AMT column kept
  beside them for reference.
- Table 2 (Section 5.1.2): FCN-scores for labels -> photo on Cityscapes, plus the evaluator's
  own "Ground truth" row (real val photos); FID/KID as extra columns.
- Table 3 (Section 5.1.2): photo -> labels scores.
- Tables 4 and 5 (Section 5.1.4): the loss ablations and CycleGAN.
- ``agreement``: per table and metric, the Spearman and Kendall (tau-b) rank correlation between
  our ordering of the methods and the paper's, and the mean absolute difference of the values.
"""

from __future__ import annotations

import argparse
from typing import Sequence

from cyclebench.eval.table_build import PAPER_CSV, build_tables, collect_metric_rows, load_paper
from cyclebench.eval.table_render import write_tables
from cyclebench.eval.table_specs import TABLES


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cyclebench tables", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--metrics-csv", action="extend", nargs="+", default=[], metavar="CSV",
                   help="the metric CSVs to read (exactly these; repeatable)")
    p.add_argument("--evaluator-csv", action="extend", nargs="+", default=[], metavar="CSV",
                   help="the evaluator's ground_truth.csv (repeatable)")
    p.add_argument("--profile", required=True, help="profile name (must match the rows)")
    p.add_argument("--paper-csv", default=str(PAPER_CSV),
                   help="the paper's numbers (default: the copy shipped in eval/data)")
    p.add_argument("--out-dir", required=True, help="results/<profile>/tables")
    args = p.parse_args(argv)
    rows = collect_metric_rows(args.metrics_csv, args.evaluator_csv)
    tables = build_tables(rows, load_paper(args.paper_csv), args.profile)
    written = write_tables(tables, args.out_dir)
    print(f"{len(rows)} metric rows -> {len(written)} files in {args.out_dir}")
    for name in TABLES:
        t = tables[name]
        have = int((t["n_seeds"] > 0).sum())
        print(f"  {name}: {have}/{len(t)} rows with reproduced values")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
