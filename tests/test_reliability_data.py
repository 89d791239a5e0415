"""Reliability faults of the data path, each reproduced first (the old, silent answer) and then
shown refused or recorded: name-based unpaired split (1), 16-bit label maps (2), unknown label
ids (3), clamped counts (6), content hash of the prepared files (10), data root mode (16)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cyclebench.datasets import cityscapes, meta, palette, synthetic_cityscapes
from cyclebench.datasets.pix2pix_archive import prepare_pix2pix
from cyclebench.datasets.prepare import prepare_synthetic
from cyclebench.datasets.torch_data import DataError, PairedDataset, UnpairedDataset
from cyclebench.datasets.writer import RESIZE_RULES
from cyclebench.profile import default_train_config
from cyclebench.utils import load_label

FULL = (32, 64)  # stands in for 1024x2048
CITIES = {"train": {"aachen": 3, "bochum": 2}, "val": {"frankfurt": 2}}


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch):
    for var in ("CITYSCAPES_USERNAME", "CITYSCAPES_PASSWORD", "CITYSCAPES_DATASET"):
        monkeypatch.delenv(var, raising=False)


def build_cityscapes(root: Path) -> list[Path]:
    """A tiny Cityscapes tree (original layout); returns the labelIds paths."""
    rng = np.random.default_rng(0)
    labels = []
    for split, per_city in CITIES.items():
        for city, n in per_city.items():
            for k in range(n):
                name = f"{city}_{k:06d}_{19 + k:06d}"
                pdir = root / "leftImg8bit" / split / city
                gdir = root / "gtFine" / split / city
                pdir.mkdir(parents=True, exist_ok=True)
                gdir.mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 256, FULL + (3,), dtype=np.uint8)).save(
                    pdir / f"{name}_leftImg8bit.png")
                ids = np.kron(rng.integers(0, 34, (FULL[0] // 4, FULL[1] // 4)),
                              np.ones((4, 4), int)).astype(np.uint8)
                path = gdir / f"{name}_gtFine_labelIds.png"
                Image.fromarray(ids, mode="L").save(path)
                labels.append(path)
    return labels


def prepared_cityscapes(tmp_path: Path, n_train: int = 0, n_val: int = 0) -> Path:
    root = tmp_path / "cs"
    build_cityscapes(root)
    out = tmp_path / "out"
    cityscapes.prepare_cityscapes(out, n_train, n_val, 16, root=root, full_size=FULL)
    return out


def cfg(**kw):
    base = dict(load_size=16, crop_size=16, seed=0)
    base.update(kw)
    return default_train_config(**base)


def write_task(root: Path, names: dict[str, list[str]], size: int = 16) -> Path:
    """<root>/train/<domain>/<name> for the cityscapes domains."""
    rng = np.random.default_rng(1)
    for dom, files in names.items():
        d = root / "train" / dom
        d.mkdir(parents=True, exist_ok=True)
        for f in files:
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(d / f)
    return root


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


# --- 1. pairing by position ---------------------------------------------------------------------
def test_unpaired_split_refuses_folders_whose_names_differ(tmp_path):
    names = [f"n{i:03d}.png" for i in range(8)]
    root = write_task(tmp_path, {"label": names, "photo": names[:7]})  # one photo deleted
    x = sorted(p.name for p in (root / "train" / "label").iterdir())
    y = sorted(p.name for p in (root / "train" / "photo").iterdir())
    # the fault (known answer): the old position split gave X and Y a shared NAME = a pair
    assert set(x[: len(x) // 2]) & set(y[len(y) // 2:]) == {"n003.png"}
    with pytest.raises(DataError) as exc:
        UnpairedDataset(root, "cityscapes", "train", cfg())
    msg = str(exc.value)
    assert str(root / "train") in msg and "same image names" in msg
    assert f"only in {root / 'train' / 'label'}: n007.png" in msg
    # an added image is named as well (here on the Y side)
    write_task(tmp_path, {"photo": ["n100.png"]})
    with pytest.raises(DataError) as exc:
        UnpairedDataset(root, "cityscapes", "train", cfg())
    assert f"only in {root / 'train' / 'photo'}: n100.png" in str(exc.value)
    assert "n007.png" in str(exc.value)
    # val (no halving) draws from all images of each folder as before
    write_task(tmp_path / "v", {"label": names, "photo": names[:7]})
    (tmp_path / "v" / "train").rename(tmp_path / "v" / "val")
    ds = UnpairedDataset(tmp_path / "v", "cityscapes", "val", cfg(), train=False)
    assert (len(ds.x_files), len(ds.y_files)) == (8, 7)


def test_unpaired_split_of_a_consistent_folder_is_unchanged(tmp_path):
    # names whose stem order differs from the file-name order ("a-b.png" < "a.png" by name,
    # "a" < "a-b" by stem): the halves must still be the old position halves, same order
    names = ["a.png", "a-b.png", "a_c.png", "b.png", "c.png", "c0.png", "d.png"]
    root = write_task(tmp_path, {"label": names, "photo": names})
    x_all = sorted((root / "train" / "label").iterdir())
    y_all = sorted((root / "train" / "photo").iterdir())
    ds = UnpairedDataset(root, "cityscapes", "train", cfg())
    assert ds.x_files == x_all[: len(x_all) // 2]
    assert ds.y_files == y_all[len(y_all) // 2:]
    assert [p.name for p in ds.x_files] == ["a-b.png", "a.png", "a_c.png"]
    assert [p.name for p in ds.y_files] == ["b.png", "c.png", "c0.png", "d.png"]
    assert not {p.stem for p in ds.x_files} & {p.stem for p in ds.y_files}


def test_unpaired_split_refuses_two_images_with_one_name(tmp_path):
    root = write_task(tmp_path, {"label": ["n0.png", "n1.png", "n1.jpg"],
                                 "photo": ["n0.png", "n1.png"]})
    with pytest.raises(DataError, match=r"two images named 'n1'"):
        UnpairedDataset(root, "cityscapes", "train", cfg())


# --- 2. 16-bit label maps ---------------------------------------------------------------------
def test_16bit_label_map_is_refused_not_wrapped(tmp_path):
    # an _instanceIds.png (stuff ids < 1000, car instance 26001) saved under the labelIds name
    inst = np.full((8, 8), 7, np.uint16)
    inst[2:5, 2:5] = 26001
    path = tmp_path / "x_gtFine_labelIds.png"
    Image.fromarray(inst).save(path)
    with Image.open(path) as im:
        assert im.mode == "I;16"
    # the fault (known answer): the old astype(uint8) wrapped 26001 to 145, i.e. void
    assert int(np.uint16(26001).astype(np.uint8)) == 145 and palette.LABELID_TO_TRAINID[145] == 255
    with pytest.raises(ValueError, match=r"x_gtFine_labelIds\.png \(mode I;16\) has values "
                                         r"outside the label range 0\.\.255: 26001 \(9 of 64"):
        load_label(path)
    # signed 32-bit maps: negative values are refused too
    Image.fromarray(np.array([[-3, 7]], np.int32)).save(tmp_path / "neg.tif")
    with pytest.raises(ValueError, match=r"neg\.tif \(mode I\) .*: -3 "):
        load_label(tmp_path / "neg.tif")


def test_16bit_label_map_within_range_is_read_as_before(tmp_path):
    ids = (np.arange(64) % 34).reshape(8, 8)
    Image.fromarray(ids.astype(np.uint16)).save(tmp_path / "a16.png")
    Image.fromarray(ids.astype(np.uint8), mode="L").save(tmp_path / "a8.png")
    a16, a8 = load_label(tmp_path / "a16.png"), load_label(tmp_path / "a8.png")
    assert a16.dtype == a8.dtype == np.uint8 and np.array_equal(a16, a8)
    assert np.array_equal(a8, ids)


def test_cityscapes_preparation_refuses_a_16bit_label_map(tmp_path):
    root = tmp_path / "cs"
    labels = build_cityscapes(root)
    victim = labels[1]
    inst = load_label(victim).astype(np.uint16)
    inst[:4, :8] = 26001
    Image.fromarray(inst).save(victim)
    with pytest.raises(ValueError, match=rf"{victim.name} \(mode I;16\).*26001"):
        cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16, root=root, full_size=FULL)
    assert not (tmp_path / "o").exists()


# --- 3. unknown label ids -----------------------------------------------------------------------
def test_cityscapes_preparation_refuses_unknown_label_ids(tmp_path):
    root = tmp_path / "cs"
    labels = build_cityscapes(root)
    victim = labels[-1]  # a val frame
    ids = load_label(victim)
    ids[0, :3] = 200
    ids[1, 0] = 34
    Image.fromarray(ids, mode="L").save(victim)
    # the fault (known answer): the lookup table sends both to void without a word
    assert palette.LABELID_TO_TRAINID[200] == palette.LABELID_TO_TRAINID[34] == 255
    with pytest.raises(ValueError) as exc:
        cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16, root=root, full_size=FULL)
    msg = str(exc.value)
    assert str(victim) in msg and "unknown Cityscapes label ids 34, 200 (4 of" in msg
    assert not (tmp_path / "o").exists()


# --- 6. requested counts clamped -----------------------------------------------------------------
def test_cityscapes_more_frames_than_exist_warns_and_records_both(tmp_path, capsys):
    out = prepared_cityscapes(tmp_path, n_train=50, n_val=1)
    m = json.loads((out / "meta.json").read_text())
    assert (m["n_train"], m["n_train_requested"]) == (5, 50)  # used vs asked for
    assert (m["n_val"], m["n_val_requested"]) == (1, 1)
    err = capsys.readouterr().err
    assert "warning: cityscapes train frames: 50 requested but only 5 exist" in err
    assert "using 5" in err and "val frames" not in err


def test_cityscapes_all_frames_records_zero_requested_without_warning(tmp_path, capsys):
    out = prepared_cityscapes(tmp_path)
    m = json.loads((out / "meta.json").read_text())
    assert (m["n_train"], m["n_train_requested"], m["n_val"], m["n_val_requested"]) == (5, 0, 2, 0)
    assert "warning" not in capsys.readouterr().err


def _pix2pix_root(base: Path, n_train: int = 3, n_val: int = 2) -> Path:
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("val", n_val)):
        d = base / "maps" / split
        d.mkdir(parents=True)
        for i in range(1, n + 1):
            Image.fromarray(rng.integers(0, 256, (24, 48, 3), dtype=np.uint8)).save(d / f"{i}.png")
    return base


def test_pix2pix_more_images_than_exist_warns_and_records_both(tmp_path, capsys):
    src = _pix2pix_root(tmp_path / "x")
    m = prepare_pix2pix("maps", tmp_path / "o", 2, 9, 16, root=src)
    assert (m["n_train"], m["n_train_requested"], m["n_val"], m["n_val_requested"]) == (2, 2, 2, 9)
    err = capsys.readouterr().err
    assert "warning: pix2pix maps val images: 9 requested but only 2 exist" in err
    assert "train images" not in err


def test_synthetic_meta_bytes_are_unchanged(tmp_path):
    out = tmp_path / "cityscapes"
    prepare_synthetic("cityscapes", out, n_train=3, n_val=2, size=16, full_size=(32, 64), seed=4)
    # meta.json exactly as before these changes: no requested counts, no content hash
    expected = {"source": "synthetic", "data_source": "synthetic-cityscapes", "size": 16,
                "full_size": [32, 64], "seed": 4,
                "generator": synthetic_cityscapes.GENERATOR_VERSION, "resize": RESIZE_RULES,
                "palette": "cityscapes-trainid", "task": "cityscapes", "n_train": 3,
                "n_val": 2, "domains": ["label", "photo"]}
    text = json.dumps(expected, indent=2, sort_keys=True) + "\n"
    assert (out / "meta.json").read_bytes() == text.encode()
    assert not (out / meta.MANIFEST).exists()
    assert meta.verify(out) is False  # nothing recorded to verify
    UnpairedDataset(out, "cityscapes", "train", cfg())  # a synthetic root still loads


# --- 10. content hash -------------------------------------------------------------------------
def test_content_hash_is_recorded_and_verifies(tmp_path):
    out = prepared_cityscapes(tmp_path)
    m = meta.read_meta(out)
    content = m["content"]
    files = meta.content_files(out)
    assert content["files"] == len(files) == 5 * 3 + 2 * 4  # label, photo, trainid (+ full)
    assert content["manifest"] == meta.MANIFEST
    lines = (out / meta.MANIFEST).read_text().splitlines()
    assert [ln.split("  ", 1)[1] for ln in lines] == files
    assert meta.verify(out) is True
    assert meta.verify(out) is True  # second call: names + sizes + mtimes only
    UnpairedDataset(out, "cityscapes", "train", cfg())
    PairedDataset(out, "cityscapes", "val", cfg(), train=False)


def test_changed_prepared_file_is_named(tmp_path):
    out = prepared_cityscapes(tmp_path)
    victim = out / "train" / "photo" / "bochum_000000_000019.png"
    # the fault (known answer): before, meta.json held counts only -- they still match
    m = meta.read_meta(out)
    assert m["n_train"] == len(list((out / "train" / "photo").glob("*.png")))
    arr = _png(victim).copy()
    arr[0, 0] ^= 1
    Image.fromarray(arr).save(victim)
    with pytest.raises(meta.DataChangedError) as exc:
        UnpairedDataset(out, "cityscapes", "train", cfg())
    msg = str(exc.value)
    assert str(out) in msg and "train/photo/bochum_000000_000019.png was modified" in msg


def test_changed_file_after_a_successful_verify_is_found(tmp_path):
    out = prepared_cityscapes(tmp_path)
    assert meta.verify(out) is True
    victim = out / "val" / "trainid_full" / "frankfurt_000000_000019.png"
    ids = _png(victim).copy()
    ids[0, 0] = 255 if ids[0, 0] != 255 else 0
    Image.fromarray(ids).save(victim)
    st = victim.stat()
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # coarse mtime clocks
    with pytest.raises(meta.DataChangedError, match="val/trainid_full/frankfurt_000000_000019"):
        meta.verify(out)


def test_missing_extra_and_manifest_changes_are_named(tmp_path):
    out = prepared_cityscapes(tmp_path)
    (out / "train" / "label" / "aachen_000001_000020.png").unlink()
    (out / "train" / "photo" / "zz_extra.png").write_bytes(b"x")
    with pytest.raises(meta.DataChangedError) as exc:
        meta.verify(out)
    msg = str(exc.value)
    assert "train/label/aachen_000001_000020.png is missing (and 1 more" in msg
    (out / "train" / "label" / "aachen_000001_000020.png").write_bytes(b"x")
    (out / "train" / "photo" / "zz_extra.png").unlink()
    with pytest.raises(meta.DataChangedError, match="aachen_000001_000020.png was modified"):
        meta.verify(out)
    with open(out / meta.MANIFEST, "a") as fh:
        fh.write("0" * 64 + "  train/photo/new.png\n")
    with pytest.raises(meta.DataChangedError, match=f"{meta.MANIFEST} does not match"):
        meta.verify(out)
    (out / meta.MANIFEST).unlink()
    with pytest.raises(meta.DataChangedError, match="manifest content.sha256 is missing"):
        meta.verify(out)


def test_pix2pix_root_records_content_hash(tmp_path):
    src = _pix2pix_root(tmp_path / "x")
    out = tmp_path / "o"
    m = prepare_pix2pix("maps", out, 0, 0, 16, root=src)
    assert m["content"]["files"] == (3 + 2) * 2 and meta.verify(out) is True
    (out / "val" / "map" / sorted(os.listdir(out / "val" / "map"))[0]).unlink()
    with pytest.raises(meta.DataChangedError, match="val/map/.* is missing"):
        meta.verify(out)


# --- 16. data root mode -----------------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_data_root_mode_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        out = tmp_path / "maps"
        prepare_synthetic("maps", out, n_train=2, n_val=1, size=16)
    finally:
        os.umask(old)
    mode = stat.S_IMODE(out.stat().st_mode)
    # the fault (known answer): the root kept mkdtemp's 0700 while its contents were 0755/0644
    assert mode == 0o777 & ~umask != 0o700
    assert stat.S_IMODE((out / "train").stat().st_mode) == mode
    assert stat.S_IMODE((out / "meta.json").stat().st_mode) == 0o666 & ~umask
