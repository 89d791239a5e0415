"""Safe extraction of downloaded archives (.zip and .tar, possibly compressed).

Used for the pix2pix archives (maps, pix2pix Cityscapes) and the Cityscapes packages.  Every
member is checked before anything is written: absolute paths, ``..`` components, links that
point outside the target, members written through a link, and device / FIFO members are
refused with :class:`UnsafeArchiveError`, so an archive can only ever write inside its
extraction folder.

Size limits (also checked before anything is written, on the members that are extracted):
``max_total_bytes`` (all members together), ``max_member_bytes`` (one member) and
``max_ratio`` (uncompressed / compressed size: per member for zip, over the whole archive for
tar, whose scan also stops as soon as the declared sizes exceed that ratio, so a compression
bomb is never decompressed in full).  A breach raises :class:`ArchiveTooLargeError` (an
:class:`UnsafeArchiveError`) naming the archive, the member and the limit.  The defaults fit
the Cityscapes packages (leftImg8bit is ~11 GiB); :data:`PIX2PIX_LIMITS` fit the pix2pix
archives (maps is ~250 MB).  ``include`` (e.g. :func:`image_members`) extracts only the members
that are used.

A truncated, short or otherwise corrupt archive raises :class:`CorruptArchiveError`: one line
naming the archive (and the member when known) and what to do.
"""

from __future__ import annotations

import lzma
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable

GiB, MiB = 1 << 30, 1 << 20
DEFAULT_MAX_TOTAL_BYTES = 16 * GiB  # the Cityscapes leftImg8bit package is ~11 GiB
DEFAULT_MAX_MEMBER_BYTES = 64 * MiB
DEFAULT_MAX_RATIO = 200.0
RATIO_SLACK_BYTES = 1 * MiB  # below this much data a high ratio is harmless (small text files)
# The pix2pix archives: maps.tar.gz is ~250 MB of JPEGs (cityscapes.tar.gz ~100 MB).
PIX2PIX_LIMITS = {"max_total_bytes": 4 * GiB, "max_member_bytes": 64 * MiB,
                  "max_ratio": DEFAULT_MAX_RATIO}
REMEDY = "delete it and download it again (or pass a good copy)"
# what a damaged compressed stream raises while it is read
_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError,
                OSError)


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the extraction folder (or is too large)."""


class ArchiveTooLargeError(UnsafeArchiveError):
    """An archive exceeds a size or compression-ratio limit (the message names the limit)."""


class CorruptArchiveError(ValueError):
    """An archive is truncated, short or corrupt (the message names it and the member)."""


def image_members(folders: Iterable[str] = ("train", "val", "test"),
                  exts: Iterable[str] = (".jpg", ".jpeg", ".png")) -> Callable[[str], bool]:
    """An ``include`` for :func:`safe_extract`: image files directly inside those folders."""
    folders, exts = frozenset(folders), tuple(e.lower() for e in exts)

    def include(name: str) -> bool:
        p = PurePosixPath(name)
        return p.parent.name in folders and p.name.lower().endswith(exts)
    return include


def _check_member_name(name: str, archive: Path) -> PurePosixPath:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path")
    if ".." in p.parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} contains '..'")
    return p


def _inside(base: Path, target: Path) -> bool:
    base, target = os.path.realpath(base), os.path.realpath(target)
    return target == base or target.startswith(base + os.sep)


def _corrupt(archive: Path, exc: BaseException, where: str | None = None) -> CorruptArchiveError:
    """``where``: e.g. "member 'a/b.png' of the archive" (default: "the archive")."""
    detail = (str(exc).strip().splitlines() or [""])[0][:160] or type(exc).__name__
    return CorruptArchiveError(f"{archive}: cannot read {where or 'the archive'}, it is "
                               f"truncated or corrupt ({type(exc).__name__}: {detail}); {REMEDY}")


def _member(name: str | None) -> str | None:
    return f"member {name!r} of the archive" if name else None


class _Budget:
    """The size limits, checked member by member before anything is written."""

    def __init__(self, archive: Path, max_total_bytes, max_member_bytes, max_ratio):
        self.archive, self.max_total, self.max_member = archive, max_total_bytes, max_member_bytes
        self.max_ratio = max_ratio
        self.total = 0

    def _too_large(self, what: str, limit: str) -> ArchiveTooLargeError:
        return ArchiveTooLargeError(f"{self.archive}: {what} exceeds the {limit} limit; refused "
                                    "(a damaged or hostile archive? raise the limit only for a "
                                    "trusted one)")

    def member(self, name: str, size: int, compressed: int | None = None) -> None:
        if self.max_member is not None and size > self.max_member:
            raise self._too_large(f"member {name!r} ({size} bytes)",
                                  f"per-member {self.max_member}-byte")
        if self.max_ratio is not None and compressed is not None and size > RATIO_SLACK_BYTES \
                and size > self.max_ratio * max(compressed, 1):
            raise self._too_large(f"member {name!r} (compression ratio "
                                  f"{size / max(compressed, 1):.0f})",
                                  f"compression-ratio {self.max_ratio:g}")
        self.total += size
        if self.max_total is not None and self.total > self.max_total:
            raise self._too_large(f"the extracted size (at member {name!r}: {self.total} bytes)",
                                  f"total {self.max_total}-byte")

    def scanned(self, name: str, declared_so_far: int, archive_bytes: int) -> None:
        """Whole-archive ratio (tar): declared sizes so far against the archive's size."""
        if self.max_ratio is not None and declared_so_far > RATIO_SLACK_BYTES and \
                declared_so_far > self.max_ratio * max(archive_bytes, 1):
            raise self._too_large(f"the declared size ({declared_so_far} bytes at member "
                                  f"{name!r}, ratio {declared_so_far / max(archive_bytes, 1):.0f})",
                                  f"compression-ratio {self.max_ratio:g}")


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike, *,
                 include: Callable[[str], bool] | None = None,
                 max_total_bytes: int | None = DEFAULT_MAX_TOTAL_BYTES,
                 max_member_bytes: int | None = DEFAULT_MAX_MEMBER_BYTES,
                 max_ratio: float | None = DEFAULT_MAX_RATIO) -> Path:
    """Extract a .tar(.gz/.bz2/.xz) or .zip into ``dest``, refusing anything unsafe.

    Every member is checked before anything is written: an unsafe or oversized archive leaves
    ``dest`` untouched.  ``include(name)`` (member name, ``/``-separated) selects the regular
    files (and links) to extract; folders are created as needed; the size limits count only
    those members (``None``: no limit).  A truncated or corrupt archive raises
    :class:`CorruptArchiveError` naming it (and the member).
    """
    archive, dest = Path(archive), Path(dest)
    budget = _Budget(archive, max_total_bytes, max_member_bytes, max_ratio)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with open(archive, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise CorruptArchiveError(f"{archive}: cannot open the archive ({exc})") from None
    if zipfile.is_zipfile(archive):
        return _extract_zip(archive, dest, include, budget)
    if magic.startswith(b"PK\x03\x04") or archive.suffix.lower() == ".zip":
        raise CorruptArchiveError(f"{archive}: truncated or corrupt zip archive (its central "
                                  f"directory is missing); {REMEDY}")
    return _extract_tar(archive, dest, include, budget)


def _extract_zip(archive: Path, dest: Path, include, budget: _Budget) -> Path:
    member = None
    try:
        with zipfile.ZipFile(archive) as zf:
            chosen = []
            for info in zf.infolist():
                member = info.filename
                p = _check_member_name(info.filename, archive)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    target = zf.read(info).decode("utf-8", "replace")
                    if not _inside(dest, (dest / p).parent / target) or target.startswith("/"):
                        raise UnsafeArchiveError(
                            f"{archive}: symlink {info.filename!r} -> {target!r} leaves {dest}")
                if info.is_dir():
                    if include is None:
                        chosen.append((info, p))
                    continue
                if include is not None and not include(str(p)):
                    continue
                budget.member(info.filename, info.file_size, info.compress_size)
                chosen.append((info, p))
            for info, p in chosen:  # zipfile writes links as plain files: nothing can escape
                member = info.filename
                target = dest.joinpath(*p.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    # ZipExtFile stops at the declared size, which the budget has accepted
                    shutil.copyfileobj(src, out, MiB)
    except (UnsafeArchiveError, CorruptArchiveError):
        raise
    except _READ_ERRORS as exc:
        if isinstance(exc, OSError) and exc.filename is not None and \
                not str(exc.filename).startswith(str(archive)):
            raise  # writing into dest failed (disk full, permissions): not the archive's fault
        raise _corrupt(archive, exc, _member(member)) from None
    return dest


def _extract_tar(archive: Path, dest: Path, include, budget: _Budget) -> Path:
    try:
        tf = tarfile.open(archive)
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
        detail = (str(exc).strip().splitlines() or [""])[0][:160] or type(exc).__name__
        raise CorruptArchiveError(f"{archive} is neither a zip nor a tar archive, or it is "
                                  f"truncated ({detail}); {REMEDY}") from None
    where = None  # what was being read: named in the error
    archive_bytes = archive.stat().st_size
    filter_error = getattr(tarfile, "FilterError", ())
    try:
        with tf:
            members, declared = [], 0
            while True:  # member by member: a bomb is refused before it is read in full
                if members:  # reading the next header skips the data of the last member
                    where = (f"the archive after the header of member {members[-1].name!r} "
                             "(its data or the next header)")
                m = tf.next()
                if m is None:
                    break
                members.append(m)
                if m.isfile():
                    declared += m.size
                    budget.scanned(m.name, declared, archive_bytes)
            where = None
            for m in members:
                p = _check_member_name(m.name, archive)
                if m.issym() or m.islnk():
                    link = m.linkname
                    base = (dest / p).parent if m.issym() else dest
                    if link.startswith("/") or not _inside(dest, base / link):
                        kind = "symlink" if m.issym() else "hard link"
                        raise UnsafeArchiveError(f"{archive}: {kind} {m.name!r} -> {link!r} "
                                                 f"leaves {dest}")
                elif not (m.isfile() or m.isdir()):
                    raise UnsafeArchiveError(f"{archive}: member {m.name!r} is a device or FIFO")
            # a symlink extracted earlier could redirect a later member: reject paths through links
            links = {PurePosixPath(m.name) for m in members if m.issym()}
            for m in members:
                for parent in PurePosixPath(m.name).parents:
                    if parent in links:
                        raise UnsafeArchiveError(f"{archive}: member {m.name!r} is written "
                                                 f"through the symlink {str(parent)!r}")
            if include is not None:
                members = [m for m in members if not m.isdir()
                           and include(str(PurePosixPath(m.name)))]
            for m in members:
                if m.isfile():
                    budget.member(m.name, m.size)
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            for m in members:  # one by one: an error names its member
                where = _member(m.name)
                tf.extract(m, dest, **kwargs)
    except (UnsafeArchiveError, CorruptArchiveError):
        raise
    except filter_error as exc:
        raise UnsafeArchiveError(f"{archive}: {where or 'a member'} refused: {exc}") from None
    except _READ_ERRORS as exc:
        if isinstance(exc, OSError) and not isinstance(exc, tarfile.TarError) and \
                exc.filename is not None and not str(exc.filename).startswith(str(archive)):
            raise  # writing into dest failed (disk full, permissions): not the archive's fault
        raise _corrupt(archive, exc, where) from None
    return dest


def name_in_archive(exc: BaseException, tmp: str | os.PathLike,
                    archive: str | os.PathLike) -> BaseException:
    """``exc`` re-worded for a file extracted from ``archive`` into the temporary folder
    ``tmp`` (deleted by then): its paths become member names, prefixed by the archive and the
    first member.  An error that does not mention ``tmp`` is returned unchanged."""
    import re

    msg, folder = str(exc), str(tmp).rstrip("/")
    if folder not in msg:
        return exc
    members: list[str] = []

    def sub(m: re.Match) -> str:
        if m.group(1):
            members.append(m.group(1)[1:])
            return m.group(1)[1:]
        return "the archive's contents"
    text = re.sub(re.escape(folder) + r"(/[^\s'\":,]+)?", sub, msg)
    where = f"{archive}" + (f", member {members[0]}" if members else "")
    new_msg = f"{where}: {text}"
    try:
        new = type(exc)(new_msg)
    except Exception:
        new = ValueError(new_msg)
    return new
