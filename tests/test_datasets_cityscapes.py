"""Real Cityscapes preparation (datasets/cityscapes.py) on a tiny fixture in the original
layout: train-id mapping, resizing, full-resolution val labels, env variables, download flow
(mocked, offline) and the error messages for missing or broken data."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cyclebench.datasets import cityscapes, palette
from cyclebench.datasets.writer import resize_label, resize_photo

FULL = (32, 64)  # stands in for 1024x2048
CITIES = {"train": {"aachen": 3, "bochum": 2}, "val": {"frankfurt": 2, "lindau": 1}}


def _frame_arrays(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    photo = rng.integers(0, 256, FULL + (3,), dtype=np.uint8)
    # blocky labelIds over all 34 ids (void ids included) so NEAREST resizing is checkable
    labelids = np.kron(rng.integers(0, 34, (FULL[0] // 4, FULL[1] // 4)),
                       np.ones((4, 4), int)).astype(np.uint8)
    return photo, labelids


def build_fixture(root: Path, cities=CITIES, size=FULL) -> dict[str, tuple]:
    """Write a tiny Cityscapes tree; returns {name: (photo, labelids)}."""
    frames = {}
    seed = 0
    for split, per_city in cities.items():
        for city, n in per_city.items():
            for k in range(n):
                name = f"{city}_{k:06d}_{19 + k:06d}"
                photo, labelids = _frame_arrays(seed)
                if size != FULL:
                    photo = photo[: size[0], : size[1]]
                    labelids = labelids[: size[0], : size[1]]
                seed += 1
                pdir = root / "leftImg8bit" / split / city
                gdir = root / "gtFine" / split / city
                pdir.mkdir(parents=True, exist_ok=True)
                gdir.mkdir(parents=True, exist_ok=True)
                Image.fromarray(photo).save(pdir / f"{name}_leftImg8bit.png")
                Image.fromarray(labelids, mode="L").save(gdir / f"{name}_gtFine_labelIds.png")
                # the real tree also has colour / instance files: they must be ignored
                Image.fromarray(photo).save(gdir / f"{name}_gtFine_color.png")
                frames[name] = (photo, labelids)
    return frames


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch):
    """Tests never see the developer's real Cityscapes credentials or root."""
    for var in ("CITYSCAPES_USERNAME", "CITYSCAPES_PASSWORD", "CITYSCAPES_DATASET"):
        monkeypatch.delenv(var, raising=False)


def _png(path):
    with Image.open(path) as im:
        return np.asarray(im)


def test_prepare_from_original_layout(tmp_path):
    root = tmp_path / "cs"
    frames = build_fixture(root)
    out = tmp_path / "out"
    meta = cityscapes.prepare_cityscapes(out, 0, 0, 16, root=root, full_size=FULL)
    assert meta["source"] == "cityscapes" and meta["data_source"] == "cityscapes"
    assert (meta["n_train"], meta["n_val"], meta["full_size"]) == (5, 3, list(FULL))
    val_names = sorted(p.stem for p in (out / "val" / "photo").glob("*.png"))
    assert val_names == ["frankfurt_000000_000019", "frankfurt_000001_000020",
                         "lindau_000000_000019"]
    for split in ("train", "val"):
        for path in (out / split / "photo").glob("*.png"):
            photo, labelids = frames[path.stem]
            trainids_full = palette.LABELID_TO_TRAINID[labelids]
            ids = _png(out / split / "trainid" / path.name)
            assert np.array_equal(ids, resize_label(trainids_full, (16, 16)))
            assert np.array_equal(_png(out / split / "label" / path.name),
                                  palette.colorize(ids))
            assert np.array_equal(_png(path), resize_photo(photo, (16, 16)))
            if split == "val":
                assert np.array_equal(_png(out / "val" / "trainid_full" / path.name),
                                      trainids_full)
    # void labelIds (0..6, 9, 10, 14-16, 18, 29, 30) became 255; only valid ids remain
    all_ids = np.concatenate([_png(p).ravel() for p in (out / "val" / "trainid_full").glob("*")])
    assert 255 in all_ids and set(np.unique(all_ids)) <= set(range(19)) | {255}


def test_subset_spreads_over_cities_and_env_root(tmp_path, monkeypatch):
    root = tmp_path / "cs"
    build_fixture(root)
    monkeypatch.setenv("CITYSCAPES_DATASET", str(root))
    out = tmp_path / "out"
    meta = cityscapes.prepare_cityscapes(out, 2, 1, 16, full_size=FULL)
    assert (meta["n_train"], meta["n_val"]) == (2, 1)
    train = sorted(p.stem for p in (out / "train" / "photo").glob("*.png"))
    assert train == ["aachen_000000_000019", "bochum_000001_000020"]  # first and last


def test_missing_root_explains_how_to_get_the_data(monkeypatch, tmp_path):
    monkeypatch.delenv("CITYSCAPES_DATASET", raising=False)
    with pytest.raises(cityscapes.CityscapesMissingError) as exc:
        cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16)
    msg = str(exc.value)
    for needle in ("--root", "CITYSCAPES_DATASET", "cityscapes-dataset.com/register",
                   "CITYSCAPES_USERNAME", "CITYSCAPES_PASSWORD", "--download"):
        assert needle in msg
    assert not (tmp_path / "o").exists()


def test_missing_folder_is_named(tmp_path):
    root = tmp_path / "cs"
    build_fixture(root)
    import shutil

    shutil.rmtree(root / "gtFine" / "val")
    with pytest.raises(cityscapes.CityscapesMissingError, match=r"gtFine/val"):
        cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16, root=root, full_size=FULL)


def test_frame_without_labels_is_named(tmp_path):
    root = tmp_path / "cs"
    build_fixture(root)
    victim = root / "gtFine" / "train" / "bochum" / "bochum_000000_000019_gtFine_labelIds.png"
    victim.unlink()
    with pytest.raises(cityscapes.CityscapesMissingError, match="bochum_000000_000019"):
        cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16, root=root, full_size=FULL)


def test_wrong_size_and_corrupt_images_are_named(tmp_path):
    root = tmp_path / "cs"
    build_fixture(root)
    bad = root / "leftImg8bit" / "val" / "lindau" / "lindau_000000_000019_leftImg8bit.png"
    Image.fromarray(np.zeros((16, 64, 3), np.uint8)).save(bad)
    with pytest.raises(ValueError, match="lindau_000000_000019_leftImg8bit.png.*expected 64x32"):
        cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16, root=root, full_size=FULL)
    bad.write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="cannot read image .*lindau_000000_000019"):
        cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16, root=root, full_size=FULL)
    # the real default size is 1024x2048: the small fixture is rejected by default
    with pytest.raises(ValueError, match="expected 2048x1024"):
        cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16, root=root)
    assert not (tmp_path / "o").exists()


def test_download_needs_credentials(tmp_path, monkeypatch):
    monkeypatch.delenv("CITYSCAPES_USERNAME", raising=False)
    monkeypatch.delenv("CITYSCAPES_PASSWORD", raising=False)
    with pytest.raises(cityscapes.CityscapesMissingError, match="CITYSCAPES_USERNAME"):
        cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16, root=tmp_path / "cs",
                                      download=True)


def test_download_flow_offline(tmp_path, monkeypatch, capsys):
    """--download logs in with the env credentials, fetches both packages through
    cityscapesscripts' downloader, unzips them and prepares; the password is never shown."""
    staging = tmp_path / "staging"
    build_fixture(staging)
    zips = {}
    for package, top in zip(cityscapes.PACKAGES, ("gtFine", "leftImg8bit")):
        zpath = tmp_path / package
        with zipfile.ZipFile(zpath, "w") as zf:
            for f in sorted((staging / top).rglob("*.png")):
                zf.write(f, f.relative_to(staging).as_posix())
        zips[package] = zpath.read_bytes()
    secret = "s3cr3t-pa55"
    monkeypatch.setenv("CITYSCAPES_USERNAME", "alice")
    monkeypatch.setenv("CITYSCAPES_PASSWORD", secret)
    seen = {}

    def fake_login(user, password):
        seen["login"] = (user, password)
        return "SESSION"

    def fake_download(*, session, package_names, destination_path, resume=False):
        assert session == "SESSION"
        for name in package_names:
            (Path(destination_path) / name).write_bytes(zips[name])
        seen.setdefault("packages", []).extend(package_names)

    from cityscapesscripts.download import downloader

    monkeypatch.setattr(cityscapes, "_login", fake_login)
    monkeypatch.setattr(downloader, "download_packages", fake_download)
    root = tmp_path / "cs"
    # download=None: automatic because both credential variables are set
    meta = cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16, root=root, full_size=FULL)
    assert seen["login"] == ("alice", secret)
    assert sorted(seen["packages"]) == sorted(cityscapes.PACKAGES)
    assert (meta["n_train"], meta["n_val"]) == (5, 3)
    assert not any((root / p).exists() for p in cityscapes.PACKAGES)  # zips removed
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err
    for f in list(root.rglob("*")) + list((tmp_path / "o").rglob("*")):
        if f.is_file() and f.suffix in (".json", ".txt", ".yaml", ""):
            assert secret not in f.read_text(errors="ignore")
    assert secret not in json.dumps(meta)


def test_download_failure_names_packages_not_password(tmp_path, monkeypatch):
    secret = "another-secret"
    monkeypatch.setenv("CITYSCAPES_USERNAME", "bob")
    monkeypatch.setenv("CITYSCAPES_PASSWORD", secret)

    def refuse(user, password):
        raise ConnectionError("network unreachable")

    monkeypatch.setattr(cityscapes, "_login", refuse)
    with pytest.raises(cityscapes.CityscapesMissingError):  # download=False: never fetch
        cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16, root=tmp_path / "cs",
                                      download=False)
    with pytest.raises(RuntimeError) as exc:
        cityscapes.prepare_cityscapes(tmp_path / "o", 0, 0, 16, root=tmp_path / "cs",
                                      download=True)
    assert "gtFine_trainvaltest.zip" in str(exc.value) and "network unreachable" in str(exc.value)
    assert secret not in str(exc.value)
