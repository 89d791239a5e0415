"""Metric regression check: compare a profile's tidy metric rows with committed reference values.

The smoke profile's numbers do not reproduce the paper (CycleGAN, Zhu et al. 2017, Section 5.1);
they pin down the pipeline.  Any change of code that moves a metric beyond its stated tolerance
fails CI with a table of what moved; an intended change is accepted by regenerating the
reference (``--update``, or ``make reference``) and committing it with the change.

Rows are keyed by ``task, direction, method, seed, metric``.  A row passes when

    |current - reference| <= abs + rel * |reference|

with the metric's ``abs`` / ``rel`` from the tolerance YAML (a bare number means ``abs`` only;
NaN equals NaN).  A row also fails when it is missing from the current run, new (not in the
reference; with ``--allow-unreferenced-methods``, rows of a method the reference has no row of
at all are listed as not checked instead, for a reference from another numeric path), or when its
``n_images``, ``data_source``, ``substitutes`` (what the method's run used in place of the
paper's setting) or evaluator *kind* changed (the part of ``evaluator`` before ``@``: the hash
after it identifies trained weights, which may differ in the last bits across machines).

Tolerance YAML::

    metrics:
      per_pixel_acc: 0.02            # abs
      "iou/*": 0.1                   # fnmatch pattern; the first exact or matching key wins
      fid: {abs: 2.0, rel: 0.1}

References are kept per numeric path.  The smoke DAG is exact on one machine's numeric path and
drifts across paths far beyond a useful tolerance (tiny networks amplify float rounding), and
neither the vector instruction set nor the vendor names a path (two AVX-512 machines trained
different evaluators).  What does is the evaluator a run trains: its id's hash is a content hash
of the weights (``eval.segmenter.checkpoint.weights_id``), an exact fingerprint of everything
upstream.  With ``--reference-dir`` the check therefore reads ``<profile>.<path>.csv`` of this
run's path (``numeric_path``); a run on a path with no file (a new machine, or a change to the
evaluator or its data) is checked against the nearest of the profile's other references, and
rows of methods that reference lacks are listed as not checked.  ``--update`` writes this path's.

CLI::

    cyclebench regress --metrics-csv results/smoke/metrics/<task>/<method>/seed<k>/<dir>.csv ... \\
        [--evaluator-csv results/smoke/evaluator/cityscapes/ground_truth.csv] \\
        (--reference-dir results/reference | --reference results/reference/smoke.<path>.csv) \\
        --tolerances results/reference/tolerances.yaml [--update]

reads exactly the listed CSVs (the Snakemake rule ``regress`` lists the profile's metric files:
``snakemake --configfile config/smoke.yaml regress``; ``make reference`` updates), so a dropped
method or seed is reported as missing, never read from a stale file.

Exit status: 0 all within tolerance (or reference updated), 1 regression (table printed),
2 the check could not run (missing/invalid reference, tolerance or metric files).
"""

from __future__ import annotations

import argparse
import fnmatch
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from cyclebench.config import read_yaml_mapping
from cyclebench.utils import atomic_write_text
from cyclebench.eval.metrics import get_metric
from cyclebench.eval.table_build import KEY, collect_metric_rows

REFERENCE_COLUMNS = ["profile"] + KEY + ["value", "n_images", "evaluator", "data_source",
                                          "substitutes", "commit"]
REPORT_COLUMNS = ["status"] + KEY + ["reference", "current", "diff", "tolerance", "detail"]
UNREFERENCED = "unreferenced"  # listed, not failed (--allow-unreferenced-methods)


@dataclass(frozen=True)
class Tolerance:
    abs: float = 0.0
    rel: float = 0.0

    def allowed(self, reference: float) -> float:
        return self.abs + self.rel * abs(reference)

    def __str__(self) -> str:
        return f"{self.abs:g}" + (f"+{self.rel:g}*|ref|" if self.rel else "")


class Tolerances:
    """Per-metric tolerances read from YAML; exact names win over fnmatch patterns."""

    def __init__(self, table: dict[str, Tolerance], source: str = "<dict>"):
        self.table = table
        self.source = source

    @classmethod
    def load(cls, path: str | Path) -> "Tolerances":
        path = Path(path)
        data = read_yaml_mapping(path, "tolerance file")
        if not isinstance(data.get("metrics"), dict):
            raise ValueError(f"{path}: expected a mapping with a 'metrics' mapping")
        unknown = sorted(set(data) - {"metrics"})
        if unknown:
            raise ValueError(f"{path}: unknown top-level keys {unknown}")
        table = {}
        for name, spec in data["metrics"].items():
            where = f"{path}: metrics.{name}"
            if isinstance(spec, bool):
                raise ValueError(f"{where}: expected a number or {{abs, rel}}, got {spec!r}")
            if isinstance(spec, (int, float)):
                spec = {"abs": spec}
            if not isinstance(spec, dict) or set(spec) - {"abs", "rel"} or not spec:
                raise ValueError(f"{where}: expected a number or {{abs, rel}}, got {spec!r}")
            vals = {}
            for k, v in spec.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 \
                        or math.isnan(v):
                    raise ValueError(f"{where}.{k}: expected a number >= 0, got {v!r}")
                vals[k] = float(v)
            table[str(name)] = Tolerance(**vals)
        return cls(table, str(path))

    def for_metric(self, metric: str) -> Tolerance:
        if metric in self.table:
            return self.table[metric]
        for pattern, tol in self.table.items():
            if fnmatch.fnmatchcase(metric, pattern):
                return tol
        raise KeyError(f"metric {metric!r} has no tolerance in {self.source}: add an entry "
                       f"under 'metrics' (known: {sorted(self.table)})")


def _kind(evaluator: str) -> str:
    return str(evaluator).split("@", 1)[0]


def reference_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The reference CSV's content for ``rows`` (sorted, stable column order)."""
    if rows.empty:
        return pd.DataFrame(columns=REFERENCE_COLUMNS)
    ref = rows[REFERENCE_COLUMNS].copy()
    ref["seed"] = ref["seed"].astype(str)
    return ref.sort_values(KEY, kind="mergesort").reset_index(drop=True)


def write_reference(rows: pd.DataFrame, path: str | Path) -> Path:
    ref = reference_frame(rows)
    text = ref.to_csv(index=False, lineterminator="\n", float_format="%.10g")
    atomic_write_text(path, text)
    return Path(path)


def load_reference(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"reference {path} does not exist; generate it with `cyclebench regress "
            f"--metrics-csv ... --reference {path} --tolerances ... --update` (make reference)")
    ref = pd.read_csv(path, dtype={"seed": str, "evaluator": str, "data_source": str,
                                   "substitutes": str, "commit": str, "profile": str})
    if list(ref.columns) != REFERENCE_COLUMNS:
        raise ValueError(f"{path}: columns {list(ref.columns)} != expected {REFERENCE_COLUMNS}")
    dup = ref[ref.duplicated(KEY, keep=False)]
    if len(dup):
        raise ValueError(f"{path}: duplicate reference rows for {dict(dup.iloc[0][KEY])}")
    return ref


def compare(current: pd.DataFrame, reference: pd.DataFrame, tolerances: Tolerances,
            allow_unreferenced: bool = False) -> pd.DataFrame:
    """Every problem as a row of ``REPORT_COLUMNS`` (empty frame: all within tolerance).

    ``allow_unreferenced``: rows of a (task, method) with no row at all in the reference are
    reported as ``unreferenced`` (not a failure) instead of ``new``: for a reference measured
    on another numeric path, which cannot hold the methods added since (see ``main``)."""
    cur = current.copy()
    cur["seed"] = cur["seed"].astype(str)
    ref = reference.copy()
    ref["seed"] = ref["seed"].astype(str)
    referenced = set(zip(ref["task"], ref["method"]))
    merged = ref.merge(cur, on=KEY, how="outer", suffixes=("_ref", "_cur"), indicator="side")
    problems = []
    for r in merged.sort_values(KEY, kind="mergesort").itertuples(index=False):
        rec = {k: getattr(r, k) for k in KEY}
        if r.side == "left_only":
            problems.append(dict(rec, status="missing", reference=r.value_ref, current=math.nan,
                                 diff=math.nan, tolerance="", detail="row not in the current run"))
            continue
        if r.side == "right_only" and allow_unreferenced and \
                (r.task, r.method) not in referenced:
            problems.append(dict(rec, status=UNREFERENCED, reference=math.nan,
                                 current=r.value_cur, diff=math.nan, tolerance="",
                                 detail="method not in this reference (another numeric path's)"))
            continue
        if r.side == "right_only":
            problems.append(dict(rec, status="new", reference=math.nan, current=r.value_cur,
                                 diff=math.nan, tolerance="",
                                 detail="row not in the reference (run --update if intended)"))
            continue
        tol = tolerances.for_metric(r.metric)
        a, b = float(r.value_ref), float(r.value_cur)
        details = []
        if math.isnan(a) or math.isnan(b):
            moved = math.isnan(a) != math.isnan(b)
            diff = math.nan
        else:
            diff = b - a
            moved = abs(diff) > tol.allowed(a) + 1e-12
        if int(r.n_images_ref) != int(r.n_images_cur):
            details.append(f"n_images {r.n_images_ref} -> {r.n_images_cur}")
        if str(r.data_source_ref) != str(r.data_source_cur):
            details.append(f"data_source {r.data_source_ref} -> {r.data_source_cur}")
        if str(r.substitutes_ref) != str(r.substitutes_cur):
            details.append(f"substitutes {r.substitutes_ref} -> {r.substitutes_cur}")
        if _kind(r.evaluator_ref) != _kind(r.evaluator_cur):
            details.append(f"evaluator {r.evaluator_ref} -> {r.evaluator_cur}")
        if moved or details:
            problems.append(dict(rec, status="moved" if moved else "changed", reference=a,
                                 current=b, diff=diff,
                                 tolerance=(f"{tol.allowed(a):.4g} ({tol})" if tol.rel and
                                            not math.isnan(a) else str(tol)),
                                 detail="; ".join(details)))
    return pd.DataFrame(problems, columns=REPORT_COLUMNS)


def numeric_path(rows: pd.DataFrame) -> str:
    """The numeric path ``rows`` were computed on: the weight hashes of the evaluators the run
    trained (``small_fcn@0f904975`` -> ``0f904975``), joined with ``-``; a run that trains none
    (nearest-palette scores only) falls back to torch's CPU capability (``AVX512``...)."""
    hashes = sorted({str(e).split("@", 1)[1] for e in rows["evaluator"].dropna() if "@" in str(e)})
    if hashes:
        return "-".join(hashes)
    from cyclebench.utils import cpu_path_tag

    return cpu_path_tag()


def profile_of(rows: pd.DataFrame) -> str:
    profiles = sorted(set(rows["profile"].astype(str)))
    if len(profiles) != 1:
        raise ValueError(f"the metric rows come from {len(profiles)} profiles {profiles}: check "
                         "one profile's files at a time")
    return profiles[0]


def path_reference(folder: str | Path, rows: pd.DataFrame) -> Path:
    """``<folder>/<profile>.<numeric path>.csv``: the reference of ``rows``' own path."""
    return Path(folder) / f"{profile_of(rows)}.{numeric_path(rows)}.csv"


@dataclass(frozen=True)
class Choice:
    path: Path
    exact: bool  # this run's own numeric path's reference
    problems: pd.DataFrame
    others: int = 0  # how many other paths' references were compared (not exact)


def check_against_folder(current: pd.DataFrame, folder: str | Path,
                         tolerances: Tolerances) -> Choice:
    """Compare with this path's reference in ``folder``; without one, with the nearest of the
    profile's other references, methods it lacks not checked.  Nearest: the one that confirms
    the most current rows within tolerance, so neither a reference that lacks methods (it
    checks less) nor one far from this path wins."""
    own = path_reference(folder, current)
    if own.is_file():
        return Choice(own, True, compare(current, load_reference(own), tolerances))
    profile = profile_of(current)
    candidates = sorted(Path(folder).glob(f"{profile}.*.csv"))
    if not candidates:
        raise FileNotFoundError(
            f"{folder}: no reference of profile {profile!r} ({own.name} or another "
            f"path's); write this path's with `make reference` (or --update)")
    scored = []
    for path in candidates:
        problems = compare(current, load_reference(path), tolerances, allow_unreferenced=True)
        confirmed = len(current) - int((problems["status"] != "missing").sum())
        scored.append(((-confirmed, str(path)), path, problems))
    _, path, problems = min(scored, key=lambda t: t[0])
    return Choice(path, False, problems, len(candidates))


def format_report(problems: pd.DataFrame) -> str:
    shown = problems.copy()
    for col in ("reference", "current", "diff"):
        shown[col] = [("nan" if pd.isna(v) else f"{v:.6g}") for v in shown[col]]
    return shown.to_string(index=False)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cyclebench regress",
                                description="Compare metric rows with committed reference values.")
    p.add_argument("--metrics-csv", action="extend", nargs="+", default=[], metavar="CSV",
                   help="the metric CSVs to check (exactly these; repeatable)")
    p.add_argument("--evaluator-csv", action="extend", nargs="+", default=[], metavar="CSV",
                   help="the evaluator's ground_truth.csv (repeatable)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--reference-dir", metavar="DIR",
                       help="folder of <profile>.<numeric path>.csv references: this run's "
                            "path's is used (else the nearest other path's) and --update "
                            "writes it (results/reference)")
    where.add_argument("--reference", metavar="CSV",
                       help="one reference file, used (or written) whatever the path")
    p.add_argument("--tolerances", required=True, help="results/reference/tolerances.yaml")
    p.add_argument("--update", action="store_true",
                   help="rewrite the reference from the current rows (after an intended change)")
    p.add_argument("--allow-unreferenced-methods", action="store_true",
                   help="with --reference: list, without failing, the rows of methods that "
                        "have no row at all in the reference (one from another numeric path)")
    args = p.parse_args(argv)
    try:
        tolerances = Tolerances.load(args.tolerances)
        current = collect_metric_rows(args.metrics_csv, args.evaluator_csv)
        if current.empty:
            raise ValueError("no metric rows: pass the metric CSVs with --metrics-csv")
        for metric in sorted(set(current["metric"])):
            get_metric(metric)  # a registered metric (eval.metrics) ...
            tolerances.for_metric(metric)  # ... with a stated tolerance
        path_id = numeric_path(current)
        own = Path(args.reference) if args.reference else \
            path_reference(args.reference_dir, current)
        if args.update:
            write_reference(current, own)
            print(f"wrote {len(current)} reference rows to {own} (numeric path "
                  f"{path_id}); commit it with the change that moved them, and "
                  "delete the references that change made stale")
            return 0
        if args.reference:
            choice = Choice(own, True, compare(current, load_reference(own), tolerances,
                                               args.allow_unreferenced_methods))
        else:
            choice = check_against_folder(current, args.reference_dir, tolerances)
    except KeyError as exc:  # a metric without a tolerance: a user error (cyclebench prints it)
        raise ValueError(exc.args[0] if exc.args else str(exc)) from None
    if not choice.exact:
        print(f"no reference of this run's numeric path {path_id} ({own}): "
              f"checked against the nearest of {choice.others} other paths' references, "
              f"{choice.path}; `make reference` on this machine writes this path's own")
    unreferenced = choice.problems[choice.problems["status"] == UNREFERENCED]
    problems = choice.problems[choice.problems["status"] != UNREFERENCED]
    if len(unreferenced):
        methods = sorted({f"{t}/{m}" for t, m in zip(unreferenced["task"],
                                                     unreferenced["method"])})
        print(f"NOT CHECKED: {len(unreferenced)} rows of {len(methods)} method(s) that "
              f"{choice.path} has no values for ({', '.join(methods)})")
    checked = len(current) - len(unreferenced)
    if problems.empty:
        print(f"regression check passed: {checked} rows, all within tolerance of {choice.path} "
              f"({args.tolerances})")
        return 0
    counts = problems["status"].value_counts().to_dict()
    print(f"regression check FAILED against {choice.path} (this run's numeric path: "
          f"{path_id}): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print(format_report(problems))
    print("\nIf the change is intended, regenerate the reference and commit it:\n"
          f"  make reference   (it writes {own}; regenerate it on every machine you can and "
          "delete the references the change made stale)\n"
          "  (or: cyclebench regress --metrics-csv ... "
          + "".join(f"--evaluator-csv {c} " for c in args.evaluator_csv)
          + (f"--reference {args.reference}" if args.reference else
             f"--reference-dir {args.reference_dir}")
          + f" --tolerances {args.tolerances} --update)")
    return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
