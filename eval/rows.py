"""Tidy metric rows: the one writer every metric CSV goes through (DESIGN.md, convention 5).

One CSV row per value, with its provenance::

    profile,task,direction,method,seed,split,metric,value,n_images,evaluator,data_source,commit

Tables (``eval/tables.py``) are pivots of these rows; nothing is parsed from prose logs.  The
file is written atomically (temp file + rename), so a killed job never leaves a torn CSV that
Snakemake would take for a finished output.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

from cyclebench.utils import atomic_write_text

COLUMNS = ("profile", "task", "direction", "method", "seed", "split", "metric", "value",
           "n_images", "evaluator", "data_source", "commit")


def make_rows(context: Mapping[str, Any], metrics: Mapping[str, float], *, n_images: int,
              evaluator: str) -> list[dict[str, Any]]:
    """Rows for ``metrics`` (name -> value) sharing ``context`` (every other column)."""
    rows = []
    for metric, value in metrics.items():
        row = dict(context)
        row.update(metric=metric, value=float(value), n_images=int(n_images),
                   evaluator=evaluator)
        rows.append(row)
    return rows


def _check(row: Mapping[str, Any], i: int) -> dict[str, Any]:
    missing = [c for c in COLUMNS if c not in row]
    extra = sorted(set(row) - set(COLUMNS))
    if missing or extra:
        raise ValueError(f"metric row {i}: missing columns {missing}, unknown columns {extra}")
    out = dict(row)
    try:
        out["value"] = float(row["value"])
    except (TypeError, ValueError):
        raise ValueError(f"metric row {i} ({row['metric']}): value {row['value']!r} is not a number") from None
    if math.isinf(out["value"]):
        raise ValueError(f"metric row {i} ({row['metric']}): value is infinite")
    for col in COLUMNS:
        if col != "value" and (row[col] is None or str(row[col]) == ""):
            raise ValueError(f"metric row {i} ({row.get('metric')}): column {col!r} is empty")
    return out


def write_rows(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Validate and atomically write tidy rows (full float precision) to ``path``."""
    checked = [_check(r, i) for i, r in enumerate(rows)]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in checked:
        row = dict(row)
        row["value"] = repr(row["value"])
        writer.writerow(row)
    atomic_write_text(path, buf.getvalue())
    return Path(path)


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read a tidy CSV back (``value`` as float, ``seed``/``n_images`` as int)."""
    path = Path(path)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: columns {reader.fieldnames} != expected {list(COLUMNS)}")
        rows = []
        for row in reader:
            row["value"] = float(row["value"])
            row["n_images"] = int(row["n_images"])
            try:
                row["seed"] = int(row["seed"])
            except ValueError:
                pass  # a non-integer seed (hand-made reference rows) is kept as text
            rows.append(row)
    return rows
