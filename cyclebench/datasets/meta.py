"""``meta.json`` of a prepared data root: what was prepared, from which source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_meta(root: str | Path) -> dict[str, Any]:
    """The prepared data's ``meta.json`` (written last by ``cyclebench data``)."""
    path = Path(root) / "meta.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: prepare the data first (cyclebench data)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); prepare the data again") from None


def data_source(meta: dict[str, Any]) -> str:
    """``synthetic-cityscapes``, ``cityscapes``, ``synthetic-maps``, ``maps`` from meta.json."""
    if meta.get("data_source"):
        return str(meta["data_source"])
    source, task = meta.get("source"), meta.get("task")
    if not source or not task:
        raise ValueError(f"meta.json lacks 'source' or 'task': {meta}")
    # synthetic data is named as such; every real source (original layout, pix2pix archive)
    # is the task's own dataset
    return f"synthetic-{task}" if source == "synthetic" else str(task)
