"""Safe extraction of downloaded archives (.zip and .tar, possibly compressed).

Used for the pix2pix archives (maps, pix2pix Cityscapes) and the Cityscapes packages.  Every
member is checked before anything is written: absolute paths, ``..`` components, links that
point outside the target, members written through a link, and device / FIFO members are
refused with :class:`UnsafeArchiveError`, so an archive can only ever write inside its
extraction folder.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the extraction folder."""


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


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a .tar(.gz/.bz2/.xz) or .zip into ``dest``, refusing anything unsafe.

    Every member is checked before anything is written: an unsafe archive leaves ``dest``
    untouched.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                p = _check_member_name(info.filename, archive)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    target = zf.read(info).decode("utf-8", "replace")
                    if not _inside(dest, (dest / p).parent / target) or target.startswith("/"):
                        raise UnsafeArchiveError(
                            f"{archive}: symlink {info.filename!r} -> {target!r} leaves {dest}")
            zf.extractall(dest)
        return dest
    try:
        tf = tarfile.open(archive)
    except tarfile.TarError as exc:
        raise ValueError(f"{archive} is neither a zip nor a tar archive: {exc}") from None
    with tf:
        members = tf.getmembers()
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
                    raise UnsafeArchiveError(f"{archive}: member {m.name!r} is written through "
                                             f"the symlink {str(parent)!r}")
        kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tf.extractall(dest, members=members, **kwargs)
    return dest
