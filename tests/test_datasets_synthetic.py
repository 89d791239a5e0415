"""Synthetic data (datasets/synthetic_*.py, datasets/prepare.py): format, determinism,
class coverage, pairing, nearest label resizing, and that colour alone is not the label."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cyclebench.datasets import palette
from cyclebench.datasets.prepare import image_rng, prepare_synthetic, synthetic_pair
from cyclebench.datasets.synthetic_cityscapes import render_scene
from cyclebench.datasets.synthetic_maps import render_tile
from cyclebench.datasets.writer import resize_label

SMALL = dict(n_train=6, n_val=3, size=32, full_size=(48, 96))


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.png"))}


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


@pytest.fixture(scope="module")
def cs_root(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "cityscapes"
    prepare_synthetic("cityscapes", out, seed=3, **SMALL)
    return out


def test_cityscapes_layout_and_meta(cs_root):
    meta = json.loads((cs_root / "meta.json").read_text())
    assert meta["task"] == "cityscapes" and meta["source"] == "synthetic"
    assert meta["data_source"] == "synthetic-cityscapes"
    assert meta["domains"] == ["label", "photo"]
    assert (meta["n_train"], meta["n_val"], meta["size"]) == (6, 3, 32)
    assert meta["full_size"] == [48, 96] and meta["palette"] == "cityscapes-trainid"
    for split, n in (("train", 6), ("val", 3)):
        names = {d: sorted(p.name for p in (cs_root / split / d).glob("*.png"))
                 for d in ("label", "photo", "trainid")}
        assert len(names["label"]) == n
        assert names["label"] == names["photo"] == names["trainid"]  # same NAME = a pair
    assert sorted(p.name for p in (cs_root / "val" / "trainid_full").glob("*.png")) == \
        sorted(p.name for p in (cs_root / "val" / "label").glob("*.png"))
    assert not (cs_root / "train" / "trainid_full").exists()
    # nothing but the data root is left next to it (temp folders were renamed / removed)
    assert [p.name for p in cs_root.parent.iterdir()] == ["cityscapes"]


def test_cityscapes_images_sizes_and_label_values(cs_root):
    pal = {tuple(c) for c in palette.CLASS_COLORS} | {(0, 0, 0)}
    for split in ("train", "val"):
        for path in sorted((cs_root / split / "photo").glob("*.png")):
            photo = _png(path)
            label = _png(cs_root / split / "label" / path.name)
            ids = _png(cs_root / split / "trainid" / path.name)
            assert photo.shape == label.shape == (32, 32, 3) and photo.dtype == np.uint8
            assert ids.shape == (32, 32) and ids.dtype == np.uint8
            assert set(np.unique(ids).tolist()) <= set(range(19)) | {255}
            # the colour labels are exactly the palette drawing of the train ids:
            # only palette colours, no blended boundary colours (NEAREST resize)
            assert np.array_equal(label, palette.colorize(ids))
            assert {tuple(c) for c in label.reshape(-1, 3)} <= pal
            if split == "val":
                full = _png(cs_root / "val" / "trainid_full" / path.name)
                assert full.shape == (48, 96)
                assert np.array_equal(resize_label(full, (32, 32)), ids)


def test_single_image_regeneration(cs_root):
    s = synthetic_pair("cityscapes", "val", 2, 32, (48, 96), seed=3)
    name = "00002.png"
    assert np.array_equal(s["x"], _png(cs_root / "val" / "label" / name))
    assert np.array_equal(s["y"], _png(cs_root / "val" / "photo" / name))
    assert np.array_equal(s["trainid_full"], _png(cs_root / "val" / "trainid_full" / name))


def test_determinism_same_seed_identical_bytes(tmp_path, cs_root):
    again = tmp_path / "again"
    prepare_synthetic("cityscapes", again, seed=3, **SMALL)
    assert _digest(again) == _digest(cs_root)
    # an image depends on (seed, split, index) only, not on how many are generated
    fewer = tmp_path / "fewer"
    prepare_synthetic("cityscapes", fewer, n_train=2, n_val=1, size=32, full_size=(48, 96),
                      seed=3)
    d_few, d_all = _digest(fewer), _digest(cs_root)
    assert d_few and all(d_all[k] == v for k, v in d_few.items())


def test_different_seed_or_split_differs(tmp_path, cs_root):
    other = tmp_path / "other"
    prepare_synthetic("cityscapes", other, seed=4, **SMALL)
    a, b = _digest(cs_root), _digest(other)
    photos = [k for k in a if "/photo/" in k]
    assert all(a[k] != b[k] for k in photos)
    # train index 0 and val index 0 are different scenes
    assert a["train/photo/00000.png"] != a["val/photo/00000.png"]
    r1, r2 = image_rng(3, "cityscapes", "train", 0), image_rng(3, "maps", "train", 0)
    assert r1.random() != r2.random()


def test_class_coverage_over_a_modest_set():
    """All 19 train classes (and the ego-vehicle ignore region) appear over 30 scenes."""
    counts = np.zeros(256, dtype=np.int64)
    images_with = np.zeros(256, dtype=np.int64)
    for i in range(30):
        ids, _ = render_scene(image_rng(0, "cityscapes", "train", i), (96, 192))
        b = np.bincount(ids.ravel(), minlength=256)
        counts += b
        images_with += b > 0
    missing = [palette.CLASS_NAMES[c] for c in range(19) if counts[c] == 0]
    assert not missing, f"classes never generated: {missing}"
    assert images_with[255] > 0  # ignore (ego vehicle) exists, as in Cityscapes
    assert set(np.flatnonzero(counts).tolist()) <= set(range(19)) | {255}
    # the big stuff classes are present in (nearly) every scene
    for name in ("road", "sidewalk", "building", "sky", "car"):
        assert images_with[palette.CLASS_IDS[name]] >= 27, name


def _scenes(n, seed, size=(96, 192)):
    out = [render_scene(image_rng(seed, "cityscapes", "train", i), size) for i in range(n)]
    return [o[0] for o in out], [o[1] for o in out]


def test_colour_alone_does_not_identify_the_class():
    """Per-pixel colour classifiers stay far from 100%; texture and position add information.

    (1) nearest class mean in RGB; (2) the best colour-only classifier (a 8x8x8 colour
    histogram, argmax class per bin) fitted on 20 scenes, scored on 10 others; (3) the same
    with a local-contrast bin and the image row added (texture + context) must do clearly
    better: the information is there, but not in the colour alone.
    """
    from scipy import ndimage

    labs, photos = _scenes(30, seed=11)
    L = np.concatenate([l.ravel() for l in labs])
    P = np.concatenate([p.reshape(-1, 3) for p in photos]).astype(np.float32)
    valid = L < 19
    means = np.stack([P[valid & (L == c)].mean(0) if (valid & (L == c)).any()
                      else np.full(3, 1e6, np.float32) for c in range(19)])
    nearest_mean = np.argmin(((P[:, None, :] - means[None]) ** 2).sum(-1), 1)
    acc_mean = float((nearest_mean[valid] == L[valid]).mean())

    def keys(photo, extra):
        q = (photo // 32).reshape(-1, 3).astype(np.int64)
        k = q[:, 0] * 64 + q[:, 1] * 8 + q[:, 2]
        if not extra:
            return k
        g = photo.astype(np.float32).mean(2)
        m = ndimage.uniform_filter(g, 5)
        sd = np.sqrt(np.maximum(ndimage.uniform_filter(g * g, 5) - m * m, 0))
        t = np.digitize(sd.ravel(), [3, 8, 16])
        h, w = g.shape
        row = np.repeat(np.arange(h) * 6 // h, w)
        return (k * 4 + t) * 6 + row

    def held_out(extra):
        table = np.zeros((512 * 24, 256))
        for l, p in zip(labs[:20], photos[:20]):
            np.add.at(table, (keys(p, extra), l.ravel()), 1)
        best = table[:, :19].argmax(1)
        k = np.concatenate([keys(p, extra) for p in photos[20:]])
        lt = np.concatenate([l.ravel() for l in labs[20:]])
        ok = lt < 19
        return float((best[k][ok] == lt[ok]).mean())

    acc_colour, acc_context = held_out(False), held_out(True)
    print(f"nearest-mean {acc_mean:.3f}, colour histogram {acc_colour:.3f}, "
          f"+texture+row {acc_context:.3f}")
    assert acc_mean < 0.5
    assert 0.25 < acc_colour < 0.7  # better than chance, far from identifying the class
    assert acc_context > acc_colour + 0.06


def test_maps_layout_pairs_and_flat_map_style(tmp_path):
    out = tmp_path / "maps"
    meta = prepare_synthetic("maps", out, n_train=4, n_val=2, size=32, seed=1)
    assert meta["domains"] == ["map", "photo"] and meta["data_source"] == "synthetic-maps"
    assert meta["palette"] is None and meta["full_size"] is None
    for split, n in (("train", 4), ("val", 2)):
        m = sorted(p.name for p in (out / split / "map").glob("*.png"))
        ph = sorted(p.name for p in (out / split / "photo").glob("*.png"))
        assert m == ph and len(m) == n
        for name in m:
            assert _png(out / split / "map" / name).shape == (32, 32, 3)
            assert _png(out / split / "photo" / name).shape == (32, 32, 3)
    assert not (out / "train" / "trainid").exists()
    # at render resolution the map is flat colours, the aerial photo is textured
    map_full, photo_full = render_tile(np.random.default_rng(0), (128, 128))
    n_map = len({tuple(c) for c in map_full.reshape(-1, 3)})
    n_photo = len({tuple(c) for c in photo_full.reshape(-1, 3)})
    assert n_map <= 12 and n_photo > 1000
    # same layout: water / park / road regions of the map are where the photo says so
    assert map_full.shape == photo_full.shape == (128, 128, 3)


def test_maps_determinism(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for root, seed in ((a, 0), (b, 0), (c, 1)):
        prepare_synthetic("maps", root, n_train=2, n_val=1, size=32, seed=seed)
    assert _digest(a) == _digest(b)
    assert _digest(a)["train/photo/00000.png"] != _digest(c)["train/photo/00000.png"]


def test_layouts_vary_between_images():
    """Different tiles/scenes have different layouts (not one template recoloured)."""
    ids = [render_scene(image_rng(0, "cityscapes", "train", i), (48, 96))[0] for i in range(4)]
    assert all(not np.array_equal(ids[0], o) for o in ids[1:])
    maps = [render_tile(image_rng(0, "maps", "train", i), (64, 64))[0] for i in range(4)]
    assert all(not np.array_equal(maps[0], o) for o in maps[1:])


def test_failure_leaves_previous_data_untouched(tmp_path, monkeypatch):
    out = tmp_path / "cs"
    prepare_synthetic("cityscapes", out, n_train=2, n_val=1, size=16, full_size=(32, 64))
    before = _digest(out)
    import cyclebench.datasets.prepare as prep

    real = prep.synthetic_pair
    calls = {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom")
        return real(*a, **k)

    monkeypatch.setattr(prep, "synthetic_pair", flaky)
    with pytest.raises(RuntimeError, match="boom"):
        prepare_synthetic("cityscapes", out, n_train=4, n_val=2, size=16, full_size=(32, 64),
                          seed=9)
    assert _digest(out) == before  # old data intact, no half-written folder
    assert [p.name for p in tmp_path.iterdir()] == ["cs"]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n_train"):
        prepare_synthetic("cityscapes", "/nonexistent/x", n_train=0, n_val=1, size=32)
    with pytest.raises(ValueError, match="size"):
        prepare_synthetic("cityscapes", "/nonexistent/x", n_train=1, n_val=1, size=4)
    with pytest.raises(KeyError, match="unknown task"):
        prepare_synthetic("horses", "/nonexistent/x", n_train=1, n_val=1, size=32)
    with pytest.raises(ValueError, match="full_size"):
        render_scene(np.random.default_rng(0), (8, 8))


def test_generation_speed():
    """Report images/s at the smoke setting; a loose bound catches accidental slow paths."""
    t0 = time.perf_counter()
    for i in range(20):
        synthetic_pair("cityscapes", "train", i, 32, (64, 128))
    dt = time.perf_counter() - t0
    print(f"synthetic cityscapes: {20 / dt:.1f} images/s at 64x128 -> 32")
    assert dt < 10.0
