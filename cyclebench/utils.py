"""Small shared utilities: seeding, threads, devices, atomic writes, provenance, image I/O."""

from __future__ import annotations

import hashlib
import io
import os
import platform
import random
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from cyclebench.errors import DeviceUnavailableError


# --- reproducibility ---------------------------------------------------------------------------
def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy and torch; on CPU also enable deterministic algorithms."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def set_threads(threads: int) -> None:
    """Use exactly the threads the scheduler gave this job (no oversubscription)."""
    threads = max(1, int(threads))
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set in this process
        pass


def resolve_device(spec: str = "auto") -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceUnavailableError(f"device {spec!r} requested but CUDA is not available")
    return torch.device(spec)


def cpu_path_tag() -> str:
    """The vector instruction set torch's CPU kernels run with (``AVX2``, ``AVX512``...): the
    smoke DAG's numbers are exact for one such path and drift across them."""
    tag = str(torch.backends.cpu.get_cpu_capability())
    return "".join(c if c.isalnum() else "_" for c in tag) or "unknown"


def use_interpreter_for_jobs(executable: str) -> None:
    """Put ``executable``'s folder first on PATH, so that the jobs' ``python3 -m cyclebench``
    is the interpreter that runs Snakemake (no environment activation needed)."""
    folder = str(Path(executable).parent)
    os.environ["PATH"] = os.pathsep.join([folder, os.environ.get("PATH", "")])


def openmp_wait_policy(local: bool, cores: int | None, job_threads: int,
                       cpus: int | None) -> str | None:
    """The ``OMP_WAIT_POLICY`` a workflow's jobs should run with, or None to leave OpenMP's
    default.  Idle OpenMP worker threads spin by default: fastest while every thread has a core
    (a 2-thread step on a quiet machine: 3.5-4x faster than with ``PASSIVE`` at 64x64, 1.1x at
    128x128), much slower once the threads outnumber the cores (1.5-1.7x slower than
    ``PASSIVE`` next to one busy process; README "OpenMP's wait policy").  Snakemake gives
    local jobs their own cores unless ``--cores`` exceeds the machine's ``cpus``; cluster jobs
    get their own allocation; a 1-thread job has no worker threads."""
    if not local or cores is None or cpus is None or job_threads <= 1 or cores <= cpus:
        return None
    return "PASSIVE"


def parse_key_paths(specs, flag: str, key: str) -> dict[str, Path]:
    """Command-line ``KEY=PATH`` values (``flag`` for the messages, ``key`` their key's name,
    e.g. ``TASK``) -> ``{key: Path}`` in the given order; a malformed or repeated key is a
    ValueError naming the value."""
    out: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"{flag} {spec!r}: expected {key}=DIR")
        if name in out:
            raise ValueError(f"{flag}: {key.lower()} {name} given twice")
        out[name] = Path(path)
    return out


# --- atomic writes -----------------------------------------------------------------------------
def _file_mode() -> int:
    """Permissions of a newly created file under the current umask (mkstemp would give 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_replace(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    _atomic_replace(Path(path), lambda fh: fh.write(data))


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temp file in the same folder, then rename: never a torn checkpoint."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def atomic_write_yaml(path: str | Path, data: Any) -> None:
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- provenance --------------------------------------------------------------------------------
_PACKAGES = ["torch", "torchvision", "torch-fidelity", "numpy", "pandas", "snakemake",
             "scikit-image", "cyclebench"]


def git_commit(default: str = "unknown") -> str:
    """The project's git commit (with ``-dirty`` when the tree has changes)."""
    env = os.environ.get("CYCLEBENCH_COMMIT")
    if env:
        return env
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root,
                             capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return default
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return default


def package_versions() -> dict[str, str]:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(device: torch.device | str | None = None, seed: int | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
    }
    if device is not None:
        info["device"] = str(device)
        if str(device).startswith("cuda") and torch.cuda.is_available():
            info["device_name"] = torch.cuda.get_device_name(torch.device(device))
    if seed is not None:
        info["seed"] = seed
    return info


# --- images ------------------------------------------------------------------------------------
def tensor_to_uint8(img: torch.Tensor) -> np.ndarray:
    """CxHxW tensor in [-1, 1] -> HxWxC uint8 array."""
    arr = ((img.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return arr.permute(1, 2, 0).numpy()


def uint8_to_tensor(arr: np.ndarray) -> torch.Tensor:
    """HxWxC uint8 array -> CxHxW float tensor in [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).float()
    return t / 127.5 - 1.0


def save_png(arr: np.ndarray, path: str | Path) -> None:
    """Atomically write a uint8 HxW or HxWxC array as PNG."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def load_rgb(path: str | Path) -> np.ndarray:
    """Read an image as HxWx3 uint8; a corrupt file raises an error naming it."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except Exception as exc:  # PIL raises many types
        raise ValueError(f"cannot read image {path}: {exc}") from exc


def load_label(path: str | Path) -> np.ndarray:
    """Read a single-channel label PNG (train ids / label ids) as HxW uint8.

    Every accepted mode (L, P, I, I;16) must hold values in the uint8 label range 0..255: a
    16-bit or 32-bit image with larger (or negative) values -- e.g. an ``*_instanceIds.png``
    saved under the labelIds name (26001 = car instance 1) -- is refused with an error naming
    the file and the offending values, never wrapped to 8 bits.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P", "I", "I;16"):
                raise ValueError(f"expected a single-channel label image, got mode {im.mode}")
            mode = im.mode
            arr = np.asarray(im)
    except Exception as exc:
        raise ValueError(f"cannot read label image {path}: {exc}") from exc
    bad = (arr < 0) | (arr > 255) if arr.dtype != np.uint8 else None
    if bad is not None and bad.any():
        values = np.unique(arr[bad])
        shown = ", ".join(str(int(v)) for v in values[:8]) + (", ..." if len(values) > 8 else "")
        raise ValueError(
            f"label image {path} (mode {mode}) has values outside the label range 0..255: "
            f"{shown} ({int(bad.sum())} of {arr.size} pixels); an instance-id map "
            f"(*_instanceIds.png) or another 16-bit image? labels must be 8-bit ids")
    return arr.astype(np.uint8)
