"""Tidy metric rows: the one writer every metric CSV goes through (one value per row).

One CSV row per value, with its provenance::

    profile,task,direction,method,seed,split,metric,value,n_images,evaluator,data_source,
    substitutes,commit

``substitutes`` names what the *method's run* used in place of the paper's setting (an
offline substitute is named in every output row): a ``;``-separated ``key=value`` list
sorted by key, e.g. ``feature_extractor=vgg16-random-init``, or ``none`` (:data:`NONE`) when
the run used the paper's setting.  It comes from ``Method.substitutes(method_params)``
(``cyclebench.registry``); :func:`format_substitutes` / :func:`parse_substitutes` convert.
Substitutes of the measuring side are named by ``evaluator`` and of the data by
``data_source``.

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
           "n_images", "evaluator", "data_source", "substitutes", "commit")

NONE = "none"  # the ``substitutes`` value of a row that substitutes nothing
_FORBIDDEN = (";", "=", "\n", "\r")


def format_substitutes(subs: Mapping[str, str]) -> str:
    """``{"b": "y", "a": "x"}`` -> ``"a=x;b=y"``; ``{}`` -> ``"none"``."""
    items = []
    for key, value in sorted(subs.items()):
        for what, text in (("key", key), ("value", value)):
            if not isinstance(text, str) or not text or text != text.strip() \
                    or any(c in text for c in _FORBIDDEN) or text == NONE:
                raise ValueError(f"substitutes: invalid {what} {text!r} in {dict(subs)!r} (a "
                                 f"non-empty string other than {NONE!r}, without spaces at the "
                                 f"ends and without any of {list(_FORBIDDEN)})")
        items.append(f"{key}={value}")
    return ";".join(items) if items else NONE


def parse_substitutes(text: str) -> dict[str, str]:
    """Inverse of :func:`format_substitutes` (``"none"`` -> ``{}``); malformed text fails."""
    text = str(text)
    if text == NONE:
        return {}
    out: dict[str, str] = {}
    for item in text.split(";"):
        key, sep, value = item.partition("=")
        if not sep or key in out:
            raise ValueError(f"substitutes {text!r}: expected {NONE!r} or a ';'-separated list "
                             f"of distinct key=value items")
        out[key] = value
    if format_substitutes(out) != text:
        raise ValueError(f"substitutes {text!r}: not in canonical form "
                         f"(expected {format_substitutes(out)!r})")
    return out


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
    try:
        parse_substitutes(row["substitutes"])
    except ValueError as exc:
        raise ValueError(f"metric row {i} ({row['metric']}): column 'substitutes': {exc}") from None
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
