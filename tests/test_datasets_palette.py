"""The Cityscapes train-id palette (datasets/palette.py) against cityscapesscripts."""

from __future__ import annotations

import time

import numpy as np
import pytest
from cityscapesscripts.helpers.labels import labels, name2label

from cyclebench.datasets import palette


def test_nineteen_classes_in_official_order_and_colours():
    assert palette.NUM_CLASSES == 19
    assert palette.CLASS_NAMES[:3] == ("road", "sidewalk", "building")
    assert palette.CLASS_NAMES[-1] == "bicycle"
    for tid, name in enumerate(palette.CLASS_NAMES):
        lab = name2label[name]
        assert lab.trainId == tid and not lab.ignoreInEval
        assert tuple(palette.CLASS_COLORS[tid]) == lab.color
    assert len({tuple(c) for c in palette.CLASS_COLORS}) == 19  # colours are distinct


def test_labelid_lookup_matches_cityscapesscripts():
    for lab in labels:
        if lab.id < 0:
            continue
        expected = lab.trainId if 0 <= lab.trainId < 255 else 255
        assert palette.LABELID_TO_TRAINID[lab.id] == expected, lab.name
    assert palette.LABELID_TO_TRAINID[34:].tolist() == [255] * (256 - 34)
    ids = np.array([[7, 8, 0], [26, 33, 1]], dtype=np.uint8)
    assert palette.labelids_to_trainids(ids).tolist() == [[0, 1, 255], [13, 18, 255]]
    assert palette.LABEL_IDS == frozenset(range(34))
    # an id that is no Cityscapes label (200) used to become void (255) silently: refused now
    ids[1, 2] = 200
    with pytest.raises(ValueError, match=r"frame\.png: unknown Cityscapes label ids 200 \(1 of 6"):
        palette.labelids_to_trainids(ids, source="frame.png")


def test_colorize_and_ignore_is_black():
    ids = np.array([[0, 10, 255], [13, 18, 2]], dtype=np.uint8)
    rgb = palette.colorize(ids)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == (128, 64, 128)  # road
    assert tuple(rgb[0, 1]) == (70, 130, 180)  # sky
    assert tuple(rgb[0, 2]) == (0, 0, 0)  # ignore
    assert tuple(rgb[1, 0]) == (0, 0, 142)  # car
    with pytest.raises(ValueError, match="outside 0..18 and 255"):
        palette.colorize(np.array([[19]], dtype=np.uint8))


def test_nearest_palette_roundtrip_and_noise():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 19, (64, 64)).astype(np.uint8)
    rgb = palette.colorize(ids)
    assert np.array_equal(palette.nearest_palette(rgb), ids)
    noisy = np.clip(rgb.astype(int) + rng.integers(-6, 7, rgb.shape), 0, 255).astype(np.uint8)
    assert np.array_equal(palette.nearest_palette(noisy), ids)  # palette gaps are > 12


def test_nearest_palette_is_the_brute_force_nearest():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (500, 3))
    d = ((rgb[:, None, :] - palette.CLASS_COLORS[None].astype(int)) ** 2).sum(-1)
    expected = d.argmin(1)
    got = palette.nearest_palette(rgb.astype(np.uint8), chunk=97)  # several chunks
    assert np.array_equal(got, expected)
    # float input and arbitrary leading shape
    assert palette.nearest_palette(rgb.reshape(5, 100, 3).astype(np.float32)).shape == (5, 100)
    with pytest.raises(ValueError, match="RGB"):
        palette.nearest_palette(np.zeros((4, 4)))


def test_nearest_palette_with_void_colours():
    void = np.array([[[0, 0, 0], [250, 170, 160], [81, 0, 81], [153, 153, 153], [0, 0, 142]]],
                    dtype=np.uint8)  # unlabeled, parking, ground, pole, car
    assert palette.nearest_palette(void, include_void=True).tolist() == [[255, 255, 255, 5, 13]]
    # without void candidates black goes to the nearest train colour (truck, 0,0,70)
    assert palette.nearest_palette(void)[0, 0] == palette.CLASS_IDS["truck"]


def test_nearest_palette_is_fast():
    rgb = np.random.default_rng(2).integers(0, 256, (512, 1024, 3)).astype(np.uint8)
    t0 = time.perf_counter()
    out = palette.nearest_palette(rgb)
    dt = time.perf_counter() - t0
    assert out.shape == (512, 1024)
    assert dt < 2.0, f"nearest_palette took {dt:.2f}s for 0.5 Mpixel"
