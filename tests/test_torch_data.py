"""torch Datasets (datasets/torch_data.py): disjoint unpaired halves, paired same crop,
official preprocessing, determinism from (seed, epoch, position, index), clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from cyclebench.profile import default_train_config
from cyclebench.datasets.torch_data import (DataError, ImageFolderDataset, PairedDataset, UnpairedDataset)


def write_task(root, n_train=8, n_val=3, size=36, same_content=False, seed=0):
    """Tiny data in the contract layout <root>/<split>/<domain>/NAME.png (cityscapes domains)."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        for i in range(n):
            base = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            for dom in ("label", "photo"):
                d = root / split / dom
                d.mkdir(parents=True, exist_ok=True)
                img = base if same_content else rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                Image.fromarray(img).save(d / f"n{i:03d}.png")
    return root


def cfg(**kw):
    base = dict(load_size=36, crop_size=32, seed=0)
    base.update(kw)
    return default_train_config(**base)


def test_unpaired_disjoint_halves(tmp_path):
    root = write_task(tmp_path, n_train=9)
    ds = UnpairedDataset(root, "cityscapes", "train", cfg())
    xs = {p.name for p in ds.x_files}
    ys = {p.name for p in ds.y_files}
    names = sorted(f"n{i:03d}.png" for i in range(9))
    assert sorted(xs) == names[:4] and sorted(ys) == names[4:]
    assert not xs & ys
    assert len(ds) == 5  # max(|X|, |Y|), as the official unaligned loader
    assert [p.parent.name for p in ds.x_files] == ["label"] * 4
    item = ds[0]
    assert item["x"].shape == (3, 32, 32) and item["y"].shape == (3, 32, 32)
    # val: all images (no halving) unless asked
    assert len(UnpairedDataset(root, "cityscapes", "val", cfg(), train=False)) == 3
    # max_train_images limits each domain
    small = UnpairedDataset(root, "cityscapes", "train", cfg(max_train_images=2))
    assert len(small.x_files) == 2 and len(small.y_files) == 2


def test_unpaired_y_index_is_random_and_seeded(tmp_path):
    root = write_task(tmp_path, n_train=16)
    ds = UnpairedDataset(root, "cityscapes", "train", cfg(flip=False, load_size=32))
    ys = {tuple(ds[(0, p, 0)]["y"].flatten()[:8].tolist()) for p in range(20)}
    assert len(ys) > 2  # Y drawn at random, not tied to the X index
    again = UnpairedDataset(root, "cityscapes", "train", cfg(flip=False, load_size=32))
    for key in [(0, 1, 1), (3, 2, 5), 4]:
        a, b = ds[key], again[key]
        assert torch.equal(a["x"], b["x"]) and torch.equal(a["y"], b["y"])
    other_seed = UnpairedDataset(root, "cityscapes", "train", cfg(flip=False, load_size=32, seed=1))
    assert any(not torch.equal(ds[(0, p, 0)]["y"], other_seed[(0, p, 0)]["y"]) for p in range(5))


def test_paired_same_crop_and_flip(tmp_path):
    root = write_task(tmp_path, same_content=True)
    ds = PairedDataset(root, "cityscapes", "train", cfg(load_size=36))
    assert len(ds) == 8
    for e in range(3):
        for i in range(8):
            item = ds[(e, i, i)]
            assert torch.equal(item["x"], item["y"])
    # unpaired x/y crops of identical content are independent
    ud = UnpairedDataset(root, "cityscapes", "train", cfg(load_size=36), disjoint=False)
    assert any(not torch.equal(ud[(0, i, i)]["x"], ud[(0, i, i)]["y"]) for i in range(8))


def test_crop_flip_and_normalisation(tmp_path):
    root = write_task(tmp_path, n_train=2, size=36)
    ds = PairedDataset(root, "cityscapes", "train", cfg(load_size=36, crop_size=32))
    src = np.asarray(Image.open(root / "train" / "label" / "n000.png").convert("RGB"))
    full = torch.from_numpy(src.copy()).permute(2, 0, 1).float() / 127.5 - 1
    seen_flip, seen_plain, offsets = False, False, set()
    for e in range(12):
        x = ds[(e, 0, 0)]["x"]
        assert x.min() >= -1 and x.max() <= 1
        match = None
        for top in range(5):
            for left in range(5):
                win = full[:, top:top + 32, left:left + 32]
                if torch.allclose(x, win, atol=1e-6):
                    match = (top, left, False)
                elif torch.allclose(x, win.flip(2), atol=1e-6):
                    match = (top, left, True)
        assert match is not None, "item is not a (flipped) crop of the load_size image"
        offsets.add(match[:2])
        seen_flip |= match[2]
        seen_plain |= not match[2]
    assert seen_flip and seen_plain and len(offsets) > 1
    noflip = PairedDataset(root, "cityscapes", "train", cfg(load_size=36, flip=False))
    for e in range(12):
        x = noflip[(e, 0, 0)]["x"]
        assert any(torch.allclose(x, full[:, t:t + 32, l:l + 32], atol=1e-6)
                   for t in range(5) for l in range(5))


def test_train_resizes_bicubically_to_load_size_before_the_crop(tmp_path):
    """Official resize_and_crop: Resize([load_size, load_size], BICUBIC), then RandomCrop."""
    root = write_task(tmp_path, n_train=2, size=24)
    ds = PairedDataset(root, "cityscapes", "train", cfg(load_size=36, crop_size=32, flip=False))
    src = Image.open(root / "train" / "label" / "n000.png").convert("RGB")

    def as_tensor(img):
        return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 127.5 - 1

    bicubic = as_tensor(src.resize((36, 36), Image.BICUBIC))
    bilinear = as_tensor(src.resize((36, 36), Image.BILINEAR))
    for e in range(6):
        x = ds[(e, 0, 0)]["x"]
        assert any(torch.equal(x, bicubic[:, t:t + 32, l:l + 32]) for t in range(5) for l in range(5))
        assert not any(torch.equal(x, bilinear[:, t:t + 32, l:l + 32])
                       for t in range(5) for l in range(5))


def test_eval_resizes_to_crop_size_without_flip(tmp_path):
    root = write_task(tmp_path, n_val=2, size=32)
    ds = UnpairedDataset(root, "cityscapes", "val", cfg(load_size=36, crop_size=32), train=False)
    src = np.asarray(Image.open(root / "val" / "label" / "n000.png").convert("RGB"))
    expected = torch.from_numpy(src.copy()).permute(2, 0, 1).float() / 127.5 - 1
    for e in range(3):  # no randomness on the X side in eval
        assert torch.equal(ds[(e, 0, 0)]["x"], expected)
    small = UnpairedDataset(root, "cityscapes", "val", cfg(load_size=20, crop_size=16), train=False)
    assert small[0]["x"].shape == (3, 16, 16)


def test_image_folder_dataset(tmp_path):
    root = write_task(tmp_path, n_val=3, size=40)
    ds = ImageFolderDataset(root / "val" / "photo", size=32)
    assert [ds[i]["name"] for i in range(len(ds))] == ["n000", "n001", "n002"]
    assert ds[0]["image"].shape == (3, 32, 32)
    assert ImageFolderDataset(root / "val" / "photo")[0]["image"].shape == (3, 40, 40)


def test_missing_or_empty_data_errors_name_the_folder(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path / "nothing")):
        UnpairedDataset(tmp_path / "nothing", "cityscapes", "train", cfg())
    root = write_task(tmp_path / "d", n_train=2)
    (root / "train" / "photo").rename(root / "train" / "photo_gone")
    with pytest.raises(DataError, match="photo"):
        UnpairedDataset(root, "cityscapes", "train", cfg())
    (root / "train" / "photo").mkdir()
    with pytest.raises(DataError, match="empty"):
        PairedDataset(root, "cityscapes", "train", cfg())
    with pytest.raises(FileNotFoundError):  # DataError is a FileNotFoundError
        ImageFolderDataset(tmp_path / "nope")


def test_paired_missing_partner(tmp_path):
    root = write_task(tmp_path, n_train=3)
    (root / "train" / "photo" / "n001.png").unlink()
    with pytest.raises(DataError, match="n001"):
        PairedDataset(root, "cityscapes", "train", cfg())
