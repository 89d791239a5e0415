"""``meta.json`` of a prepared data root: what was prepared, from which source, and (real
sources) a content hash of the prepared files.

Content hash (:func:`write_manifest`, :func:`verify`): a data root prepared from a real source
(Cityscapes original layout, pix2pix archive) also holds :data:`MANIFEST`, one
``<sha256>  <relative path>`` line per prepared file (``sha256sum -c`` reads it), and its
``meta.json`` records the manifest's own sha256 under ``"content"``.  :func:`verify` re-hashes
every file and fails naming the folder and the first changed, missing or extra file; the torch
datasets call it when a run starts.  Hashing the actual bytes is cheap enough for the full
Cityscapes preparation (about 11,000 small PNGs, a few hundred MB: well under a few seconds);
within one process a root that verified once is re-checked by names + sizes + mtimes only.
Synthetic data roots have no manifest (their meta.json bytes are unchanged; the images are a
pure function of the seed): :func:`verify` returns False for them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cyclebench.errors import UserError
from cyclebench.utils import file_sha256

META = "meta.json"
MANIFEST = "content.sha256"
_NOT_CONTENT = (META, MANIFEST)  # top-level files that are not part of the hashed content


class DataChangedError(UserError, ValueError):
    """A prepared data root no longer holds the files it was prepared with (names the file)."""


def read_meta(root: str | Path) -> dict[str, Any]:
    """The prepared data's ``meta.json`` (written last by ``cyclebench data``)."""
    path = Path(root) / META
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


# --- content hash ------------------------------------------------------------------------------
def content_files(root: str | Path) -> list[str]:
    """Sorted POSIX paths (relative to ``root``) of every file of the data root except
    ``meta.json`` and the manifest."""
    root = Path(root)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = Path(dirpath).relative_to(root)
        for name in filenames:
            rel = (rel_dir / name).as_posix()
            if rel not in _NOT_CONTENT:
                out.append(rel)
    return sorted(out)


def _manifest_text(root: Path, files: list[str]) -> str:
    return "".join(f"{file_sha256(root / rel)}  {rel}\n" for rel in files)


def write_manifest(root: str | Path) -> dict[str, Any]:
    """Hash every content file of ``root`` into ``root/MANIFEST``; returns the
    ``meta["content"]`` record (``{"algorithm", "manifest", "files", "sha256"}``)."""
    root = Path(root)
    files = content_files(root)
    data = _manifest_text(root, files).encode("utf-8")
    with open(root / MANIFEST, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return {"algorithm": "sha256", "manifest": MANIFEST, "files": len(files),
            "sha256": hashlib.sha256(data).hexdigest()}


def _parse_manifest(path: Path, data: bytes) -> dict[str, str]:
    entries = {}
    for i, line in enumerate(data.decode("utf-8").splitlines(), 1):
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64:
            raise DataChangedError(f"{path}: line {i} is not '<sha256>  <path>': {line!r}; "
                                   "prepare the data again")
        entries[rel] = digest
    return entries


def _signature(root: Path, files: list[str]) -> tuple:
    out = []
    for rel in files:
        st = (root / rel).stat()
        out.append((rel, st.st_size, st.st_mtime_ns))
    return tuple(out)


_VERIFIED: dict[str, tuple] = {}  # resolved root -> (meta bytes, file signature) that verified


def verify(root: str | Path) -> bool:
    """Check that the prepared files of ``root`` are the ones its meta.json recorded.

    Returns True when verified, False when meta.json records no content hash (synthetic data,
    or a root prepared before content hashes existed).  Raises :class:`DataChangedError`
    naming the folder and the first (sorted) changed, missing or extra file, or a changed
    manifest; :class:`FileNotFoundError` when meta.json is missing.  A root that verified in
    this process is re-checked by names, sizes and mtimes only (no re-hashing).
    """
    root = Path(root)
    meta_bytes = (root / META).read_bytes() if (root / META).is_file() else None
    if meta_bytes is None:
        raise FileNotFoundError(f"{root / META} not found: prepare the data first "
                                "(cyclebench data)")
    meta = read_meta(root)
    content = meta.get("content")
    if not content:
        return False
    again = f"; prepare the data again (delete {root} and rerun cyclebench data)"
    manifest = root / str(content.get("manifest", MANIFEST))
    if not manifest.is_file():
        raise DataChangedError(f"prepared data {root} changed: its manifest {manifest.name} "
                               f"is missing{again}")
    data = manifest.read_bytes()
    if hashlib.sha256(data).hexdigest() != content.get("sha256"):
        raise DataChangedError(f"prepared data {root} changed: {manifest.name} does not match "
                               f"the sha256 recorded in {META}{again}")
    expected = _parse_manifest(manifest, data)
    actual = content_files(root)
    key = str(root.resolve())
    signature = (meta_bytes, _signature(root, actual))
    if _VERIFIED.get(key) == signature:
        return True
    problems = []
    actual_set = set(actual)
    for rel in sorted(actual_set | set(expected)):
        if rel not in actual_set:
            problems.append(f"{rel} is missing")
        elif rel not in expected:
            problems.append(f"{rel} is not part of the prepared data (extra file)")
        elif file_sha256(root / rel) != expected[rel]:
            problems.append(f"{rel} was modified (sha256 differs)")
    if problems:
        more = f" (and {len(problems) - 1} more difference(s))" if len(problems) > 1 else ""
        _VERIFIED.pop(key, None)
        raise DataChangedError(f"prepared data {root} changed since it was prepared: "
                               f"{problems[0]}{more}{again}")
    _VERIFIED[key] = signature
    return True
