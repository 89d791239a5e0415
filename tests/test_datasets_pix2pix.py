"""pix2pix-format archives (datasets/pix2pix_archive.py): download with checksum (offline
errors name the URL), safe extraction against malicious, truncated and oversized archives
(size / ratio limits, only the used members), A|B split and resize, train-id recovery from
colour labels."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cyclebench.datasets import palette
from cyclebench.datasets.extract import (ArchiveTooLargeError, CorruptArchiveError,
                                         UnsafeArchiveError, image_members, safe_extract)
from cyclebench.datasets.pix2pix_archive import fetch, prepare_pix2pix, split_ab
from cyclebench.datasets.writer import resize_label, resize_photo

SIDE = 24  # each half is SIDE x SIDE (600x600 for maps, 256x256 for cityscapes)


def _png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _png(path):
    with Image.open(path) as im:
        return np.asarray(im)


def _ab_images(task: str, n: int, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a = rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
        if task == "cityscapes":
            ids = np.kron(rng.integers(0, 19, (SIDE // 4, SIDE // 4)), np.ones((4, 4), int))
            ids = ids.astype(np.uint8)
            ids[:4, :4] = 255  # a void area (black in the colour labels)
            b = palette.colorize(ids).astype(int)
            b = np.clip(b + rng.integers(-5, 6, b.shape), 0, 255).astype(np.uint8)  # JPEG-ish
            out.append((a, b, ids))
        else:
            out.append((a, rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8), None))
    return out


def build_archive(path: Path, task: str, fmt: str = "tar.gz", val_name: str = "val",
                  counts=(("train", 3), ("val", 2))) -> dict:
    """A pix2pix archive <task>/{train,val}/<i>.png of A|B images; returns the arrays."""
    data = {}
    members = {}
    for seed, (split, n) in enumerate(counts):
        for i, (a, b, ids) in enumerate(_ab_images(task, n, seed), start=1):
            folder = val_name if split == "val" else split
            members[f"{task}/{folder}/{i}.png"] = _png_bytes(np.concatenate([a, b], 1))
            data[(split, i)] = (a, b, ids)
    if fmt == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            for name, blob in members.items():
                zf.writestr(name, blob)
    else:
        with tarfile.open(path, "w:gz") as tf:
            for name, blob in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(blob)
                tf.addfile(info, io.BytesIO(blob))
    return data


def test_split_ab():
    img = np.arange(2 * 6 * 3, dtype=np.uint8).reshape(2, 6, 3)
    a, b = split_ab(img)
    assert np.array_equal(a, img[:, :3]) and np.array_equal(b, img[:, 3:])
    with pytest.raises(ValueError, match="odd.png.*not even"):
        split_ab(np.zeros((2, 5, 3), np.uint8), "odd.png")


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_maps_archive_split_and_resize(tmp_path, fmt):
    arch = tmp_path / f"maps.{fmt}"
    data = build_archive(arch, "maps", fmt)
    out = tmp_path / "data" / "maps"
    meta = prepare_pix2pix("maps", out, 0, 0, 16, url=str(arch))
    assert (meta["n_train"], meta["n_val"], meta["source"]) == (3, 2, "pix2pix")
    assert meta["data_source"] == "maps" and meta["archive_side_size"] == [SIDE, SIDE]
    for split, n in (("train", 3), ("val", 2)):
        names = sorted(p.name for p in (out / split / "map").glob("*.png"))
        assert names == sorted(p.name for p in (out / split / "photo").glob("*.png"))
        assert len(names) == n
        for i, name in enumerate(names, start=1):
            a, b, _ = data[(split, i)]
            assert name.endswith(f"_{i}.png")
            # aerial (A, left) -> photo (Y); map (B, right) -> map (X)
            assert np.array_equal(_png(out / split / "photo" / name), resize_photo(a, (16, 16)))
            assert np.array_equal(_png(out / split / "map" / name), resize_photo(b, (16, 16)))
    # the temporary extraction folder is gone
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["maps"]


def test_cityscapes_archive_recovers_train_ids(tmp_path):
    arch = tmp_path / "cityscapes.tar.gz"
    data = build_archive(arch, "cityscapes", val_name="test")  # val missing: test is used
    out = tmp_path / "cs"
    meta = prepare_pix2pix("cityscapes", out, 0, 0, 12, url=f"file://{arch}")
    assert meta["full_size"] == [SIDE, SIDE] and "trainid_full_note" in meta
    for split in ("train", "val"):
        for i, path in enumerate(sorted((out / split / "trainid").glob("*.png")), start=1):
            a, b, ids = data[(split, i)]
            got = _png(path)
            assert np.array_equal(got, resize_label(ids, (12, 12)))
            assert np.array_equal(_png(out / split / "label" / path.name), palette.colorize(got))
            assert np.array_equal(_png(out / split / "photo" / path.name),
                                  resize_photo(a, (12, 12)))
            if split == "val":
                assert np.array_equal(_png(out / "val" / "trainid_full" / path.name), ids)


def test_extracted_root_and_subset(tmp_path):
    arch = tmp_path / "maps.tar.gz"
    build_archive(arch, "maps", counts=(("train", 5), ("val", 3)))
    safe_extract(arch, tmp_path / "x")
    meta = prepare_pix2pix("maps", tmp_path / "o", 2, 1, 16, root=tmp_path / "x")
    assert (meta["n_train"], meta["n_val"]) == (2, 1)
    assert sorted(p.name for p in (tmp_path / "o" / "train" / "map").glob("*")) == \
        ["00000_1.png", "00001_5.png"]
    with pytest.raises(FileNotFoundError, match="no pix2pix train/"):
        prepare_pix2pix("maps", tmp_path / "o2", 0, 0, 16, root=tmp_path / "x" / "maps" / "val")


# --- download -----------------------------------------------------------------------------------
@pytest.fixture
def http_dir(tmp_path):
    """A local HTTP server (127.0.0.1) serving tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_with_checksum(tmp_path, http_dir):
    www, base = http_dir
    build_archive(www / "maps.tar.gz", "maps")
    digest = hashlib.sha256((www / "maps.tar.gz").read_bytes()).hexdigest()
    out = tmp_path / "res" / "maps"
    meta = prepare_pix2pix("maps", out, 0, 0, 16, url=f"{base}/maps.tar.gz", sha256=digest)
    assert meta["n_train"] == 3 and meta["sha256"] == digest
    cached = tmp_path / "res" / ".downloads" / "maps.tar.gz"
    assert cached.is_file() and not cached.with_name("maps.tar.gz.part").exists()
    with pytest.raises(ValueError, match="sha256 mismatch .*maps.tar.gz"):
        fetch(f"{base}/maps.tar.gz", tmp_path / "cache2", sha256="0" * 64)
    assert not list((tmp_path / "cache2").iterdir())  # bad download not kept


def test_offline_download_names_the_url(tmp_path, http_dir):
    _, base = http_dir
    url = f"{base}/missing.tar.gz"  # 404
    with pytest.raises(RuntimeError, match=f"cannot download {url}"):
        prepare_pix2pix("maps", tmp_path / "o", 0, 0, 16, url=url)
    dead = "http://127.0.0.1:9/maps.tar.gz"  # nothing listens on the discard port
    with pytest.raises(RuntimeError, match="cannot download http://127.0.0.1:9/maps.tar.gz"):
        fetch(dead, tmp_path / "c", timeout=5)
    with pytest.raises(FileNotFoundError, match="archive not found"):
        fetch(str(tmp_path / "nope.zip"), tmp_path / "c")


# --- malicious archives -------------------------------------------------------------------------
def _tar(path: Path, entries):
    """entries: (name, kind, payload) with kind file|symlink|hardlink|fifo."""
    with tarfile.open(path, "w:gz") as tf:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tf.addfile(info, io.BytesIO(payload))
                continue
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, payload
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, payload
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            tf.addfile(info)
    return path


@pytest.mark.parametrize("entries, match", [
    ([("/tmp/evil.txt", "file", b"x")], "absolute path"),
    ([("maps/../../evil.txt", "file", b"x")], r"contains '\.\.'"),
    ([("maps/link", "symlink", "../../outside")], "symlink .* leaves"),
    ([("maps/link", "symlink", "/etc/passwd")], "symlink .* leaves"),
    ([("maps/hard", "hardlink", "../outside")], r"contains|hard link .* leaves"),
    ([("maps/dir", "symlink", "."), ("maps/dir/x.txt", "file", b"x")], "through the symlink"),
    ([("maps/pipe", "fifo", None)], "device or FIFO"),
])
def test_malicious_tar_is_rejected(tmp_path, entries, match):
    arch = _tar(tmp_path / "evil.tar.gz", [("maps/ok.txt", "file", b"fine")] + entries)
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError, match=match):
        safe_extract(arch, dest)
    assert list(dest.iterdir()) == []  # checked before anything was written
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def test_symlink_inside_the_target_is_allowed(tmp_path):
    arch = _tar(tmp_path / "ok.tar.gz", [("maps/a.txt", "file", b"A"),
                                         ("maps/b.txt", "symlink", "a.txt")])
    safe_extract(arch, tmp_path / "d")
    assert (tmp_path / "d" / "maps" / "b.txt").read_bytes() == b"A"


@pytest.mark.parametrize("name, match", [("../evil.txt", r"contains '\.\.'"),
                                         ("/abs/evil.txt", "absolute path"),
                                         ("C:/evil.txt", "absolute path")])
def test_malicious_zip_is_rejected(tmp_path, name, match):
    arch = tmp_path / "evil.zip"
    with zipfile.ZipFile(arch, "w") as zf:
        zf.writestr("maps/ok.txt", b"fine")
        zf.writestr(zipfile.ZipInfo(name), b"x")
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError, match=match):
        safe_extract(arch, dest)
    assert list(dest.iterdir()) == []


def test_zip_symlink_escaping_is_rejected(tmp_path):
    arch = tmp_path / "evil.zip"
    info = zipfile.ZipInfo("maps/link")
    info.external_attr = (0o120777 << 16)  # S_IFLNK
    with zipfile.ZipFile(arch, "w") as zf:
        zf.writestr(info, "../../etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="symlink"):
        safe_extract(arch, tmp_path / "dest")


def test_unsafe_archive_aborts_preparation(tmp_path):
    arch = _tar(tmp_path / "maps.tar.gz", [("maps/train/../../../evil.png", "file", b"x")])
    with pytest.raises(UnsafeArchiveError):
        prepare_pix2pix("maps", tmp_path / "o", 0, 0, 16, url=str(arch))
    assert not (tmp_path / "o").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["maps.tar.gz"]


def test_not_an_archive(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"definitely not an archive")
    with pytest.raises(ValueError, match="junk.tar.gz is neither a zip nor a tar"):
        safe_extract(junk, tmp_path / "d")


# --- hostile archives: truncated, corrupt, oversized; only the used members -------------------
def _one_line(exc_info):
    msg = str(exc_info.value)
    assert "\n" not in msg
    return msg


def test_truncated_tar_names_the_archive(tmp_path):
    arch = tmp_path / "maps.tar.gz"
    build_archive(arch, "maps", counts=(("train", 6), ("val", 2)))
    data = arch.read_bytes()
    for cut, name in ((len(data) * 2 // 3, "cut.tar.gz"), (20, "short.tar.gz")):
        part = tmp_path / name
        part.write_bytes(data[:cut])
        with pytest.raises(CorruptArchiveError) as exc_info:
            safe_extract(part, tmp_path / f"d-{name}")
        msg = _one_line(exc_info)
        assert str(part) in msg and "truncated" in msg and "download it again" in msg
        if name == "cut.tar.gz":  # the member being read when the data ran out
            assert "member 'maps/" in msg


def test_truncated_and_corrupt_zip_name_archive_and_member(tmp_path):
    arch = tmp_path / "maps.zip"
    build_archive(arch, "maps", fmt="zip")
    data = arch.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptArchiveError, match=r"cut\.zip: truncated or corrupt zip") as e:
        safe_extract(cut, tmp_path / "d1")
    _one_line(e)
    # one member's bytes damaged (stored members: flip a byte in the middle of the first one)
    with zipfile.ZipFile(arch) as zf:
        first = zf.infolist()[0]
        blob = zf.read(first)
    at = data.index(blob) + len(blob) // 2
    bad = tmp_path / "bad.zip"
    bad.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:])
    with pytest.raises(CorruptArchiveError) as e:
        safe_extract(bad, tmp_path / "d2")
    msg = _one_line(e)
    assert str(bad) in msg and repr(first.filename) in msg


def test_size_limits_are_checked_before_writing(tmp_path):
    arch = _tar(tmp_path / "a.tar.gz", [("maps/train/1.png", "file", b"x" * 2000),
                                        ("maps/train/2.png", "file", b"y" * 2000)])
    with pytest.raises(ArchiveTooLargeError, match=r"member 'maps/train/1.png' \(2000 bytes\) "
                                                   r"exceeds the per-member 1000-byte limit"):
        safe_extract(arch, tmp_path / "d1", max_member_bytes=1000)
    with pytest.raises(ArchiveTooLargeError, match=r"at member 'maps/train/2.png'.*total "
                                                   r"3000-byte limit"):
        safe_extract(arch, tmp_path / "d2", max_total_bytes=3000)
    assert list((tmp_path / "d1").iterdir()) == list((tmp_path / "d2").iterdir()) == []
    assert issubclass(ArchiveTooLargeError, UnsafeArchiveError)
    safe_extract(arch, tmp_path / "ok", max_total_bytes=4000, max_member_bytes=2000)
    assert (tmp_path / "ok" / "maps" / "train" / "2.png").read_bytes() == b"y" * 2000


def test_compression_bombs_are_refused(tmp_path):
    zeros = bytes(8 << 20)  # 8 MiB of zeros: ratio ~1000 in both formats
    tar = _tar(tmp_path / "bomb.tar.gz", [("maps/train/1.png", "file", zeros)])
    with pytest.raises(ArchiveTooLargeError, match=r"bomb\.tar\.gz: .*compression-ratio 200"):
        safe_extract(tar, tmp_path / "d1")
    zp = tmp_path / "bomb.zip"
    with zipfile.ZipFile(zp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("maps/train/1.png", zeros)
    with pytest.raises(ArchiveTooLargeError,
                       match=r"bomb\.zip: member 'maps/train/1.png' \(compression ratio"):
        safe_extract(zp, tmp_path / "d2")
    assert list((tmp_path / "d1").iterdir()) == list((tmp_path / "d2").iterdir()) == []
    # a small, very compressible file is harmless and allowed
    small = _tar(tmp_path / "small.tar.gz", [("maps/train/notes.txt", "file", bytes(100_000))])
    safe_extract(small, tmp_path / "d3")


def test_only_the_used_image_members_are_extracted(tmp_path):
    entries = [("maps/train/1.png", "file", b"a"), ("maps/val/1.JPG", "file", b"b"),
               ("maps/test/3.jpeg", "file", b"c"), ("maps/README.txt", "file", b"r"),
               ("maps/train/notes.txt", "file", b"n"), ("maps/other/2.png", "file", b"o"),
               ("maps/train/sub/4.png", "file", b"s")]
    for fmt in ("tar.gz", "zip"):
        if fmt == "zip":
            arch = tmp_path / "m.zip"
            with zipfile.ZipFile(arch, "w") as zf:
                for name, _, blob in entries:
                    zf.writestr(name, blob)
        else:
            arch = _tar(tmp_path / "m.tar.gz", entries)
        dest = tmp_path / f"d-{fmt}"
        safe_extract(arch, dest, include=image_members())
        got = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
        assert got == ["maps/test/3.jpeg", "maps/train/1.png", "maps/val/1.JPG"], fmt


def test_bad_image_member_error_names_archive_and_member_not_the_temp_folder(tmp_path):
    arch = tmp_path / "maps.tar.gz"
    build_archive(arch, "maps")
    with tarfile.open(arch) as tf:  # add a member that is not an image
        members = [(m, tf.extractfile(m).read()) for m in tf.getmembers()]
    with tarfile.open(arch, "w:gz") as tf:
        for m, blob in members:
            tf.addfile(m, io.BytesIO(blob))
        info = tarfile.TarInfo("maps/train/9.png")
        info.size = 9
        tf.addfile(info, io.BytesIO(b"not a png"))
    with pytest.raises(ValueError) as e:
        prepare_pix2pix("maps", tmp_path / "out", 0, 0, 16, url=str(arch))
    msg = _one_line(e)
    assert msg.startswith(f"{arch}, member maps/train/9.png: ")
    assert ".extract-" not in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.tar.gz"]  # temp folder removed


def test_truncated_archive_aborts_preparation_with_one_line(tmp_path):
    arch = tmp_path / "maps.tar.gz"
    build_archive(arch, "maps", counts=(("train", 6), ("val", 2)))
    arch.write_bytes(arch.read_bytes()[: arch.stat().st_size // 2])
    with pytest.raises(CorruptArchiveError) as e:
        prepare_pix2pix("maps", tmp_path / "out", 0, 0, 16, url=str(arch))
    assert str(arch) in _one_line(e)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.tar.gz"]
