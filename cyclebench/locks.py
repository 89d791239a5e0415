"""Exclusive locks on folders shared by processes (a run directory, a feature cache).

:func:`file_lock` takes ``fcntl.flock`` on a lock file (created if needed) and writes the
holder's PID into it.  The kernel drops the lock when the holder exits or is killed, so a lock
file left behind by a dead process never blocks anyone: only a live holder does.  The file is
left in place on release (unlinking it would let two processes lock two different inodes).

- ``wait=False`` (a training run): a second process fails at once with :class:`LockHeldError`,
  whose one-line message names the holder's PID and the lock file.
- ``wait=True`` (a shared cache): wait for the holder to finish, then go on (``timeout``
  seconds at most, then :class:`LockHeldError`).
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cyclebench.errors import UserError

LOCK_NAME = ".lock"  # the lock file inside a run directory
_UNSUPPORTED = {getattr(errno, n) for n in ("ENOLCK", "EOPNOTSUPP", "ENOTSUP") if hasattr(errno, n)}


class LockHeldError(UserError, RuntimeError):
    """Another live process holds the lock (the message names its PID and the lock file)."""


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"


@contextmanager
def file_lock(path: str | os.PathLike | None, *, wait: bool = False,
              timeout: float | None = None, what: str | None = None) -> Iterator[Path | None]:
    """Hold an exclusive ``flock`` on ``path`` for the ``with`` block (``None``: no lock).

    ``what`` names the guarded thing in the error (default: the lock file's folder).
    """
    if path is None:
        yield None
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait and timeout is None else fcntl.LOCK_NB))
                break
            except OSError as exc:
                if exc.errno in _UNSUPPORTED:  # a file system without flock: go on unlocked
                    print(f"warning: cannot lock {path} ({exc.strerror}); going on without "
                          "the lock", file=sys.stderr)
                    yield path
                    return
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                if wait and deadline is not None and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                target = what or str(path.parent)
                waited = f" after waiting {timeout:g} s" if wait else ""
                raise LockHeldError(
                    f"{target} is in use by process {_holder(fd)} (lock file {path}){waited}: "
                    "wait for that process to finish or stop it, then run again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield path
        finally:
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def run_lock(run_dir: str | os.PathLike):
    """The lock a training run holds on its run directory (``run_dir/.lock``; fails at once)."""
    run_dir = Path(run_dir)
    return file_lock(run_dir / LOCK_NAME, what=f"run directory {run_dir}")


def lock_holder(path: str | os.PathLike) -> str | None:
    """The PID (as text, or "unknown") of the live process holding the lock file ``path``;
    None when nobody holds it or it does not exist.  Probes without creating the file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return _holder(fd)
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
