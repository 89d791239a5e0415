"""FID/KID through torch-fidelity with the evaluator-features extractor (known behaviour)."""

import urllib.error

import numpy as np
import pytest
import torch

from cyclebench.eval import fid
from cyclebench.config import EvaluatorConfig
from cyclebench.schema import defaults
from cyclebench.eval.segmenter.checkpoint import save_evaluator
from cyclebench.eval.segmenter.networks import SmallFCN
from cyclebench.utils import save_png

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    torch.manual_seed(0)
    cfg = EvaluatorConfig.from_dict({**defaults("#/properties/evaluator"), "width": 8,
                                     "input_size": 32, "load_size": 36})
    path = tmp_path_factory.mktemp("ev") / "evaluator.pt"
    ev_id = save_evaluator(SmallFCN(width=8).eval(), "small_fcn", cfg, path)
    ex = fid.resolve_extractor("evaluator-features", evaluator_path=path.parent)
    assert ex["label"] == f"evaluator-features@{ev_id}"
    return ex


class TensorImages(torch.utils.data.Dataset):
    """uint8 Bx3xHxW tensor as a Dataset (torch-fidelity takes Datasets as inputs)."""

    def __init__(self, images: torch.Tensor):
        assert images.dtype == torch.uint8 and images.dim() == 4 and images.shape[1] == 3
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


def _images(n, seed=0, size=32):
    g = torch.Generator().manual_seed(seed)
    # smooth-ish structured images: low-res noise upsampled, so features vary between images
    low = torch.randint(0, 256, (n, 3, size // 4, size // 4), generator=g).float()
    return torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear").round().to(torch.uint8)


def _noisy(images, sigma, seed=1):
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(images.shape, generator=g) * sigma
    return (images.float() + noise).clamp(0, 255).round().to(torch.uint8)


def _fid(a, b, extractor, **kw):
    kw.setdefault("kid_subsets", 10)
    return fid.compute_fid_kid(TensorImages(a), TensorImages(b), extractor=extractor, **kw)


def test_fid_of_a_set_against_itself_is_zero_and_grows_with_noise(extractor):
    real = _images(24)
    same = _fid(real, real, extractor)
    assert same["fid"] == pytest.approx(0.0, abs=1e-6)
    noisy = [_fid(_noisy(real, s), real, extractor) for s in (10, 40, 120)]
    values = [m["fid"] for m in noisy]
    assert 0 < values[0] < values[1] < values[2], values
    # KID's unbiased estimate of identical sets is <= 0 (it may be slightly negative); it grows too
    kids = [same["kid_mean"]] + [m["kid_mean"] for m in noisy]
    assert kids[0] <= 1e-6 and kids == sorted(kids), kids


def test_fid_does_not_depend_on_batch_size(extractor):
    a, b = _images(20, seed=3), _images(20, seed=4)
    m1 = _fid(a, b, extractor, batch_size=1)
    m7 = _fid(a, b, extractor, batch_size=7)
    assert m1["fid"] > 0
    assert m1["fid"] == pytest.approx(m7["fid"], rel=1e-5)
    assert m1["kid_mean"] == pytest.approx(m7["kid_mean"], rel=1e-5, abs=1e-9)


def test_kid_with_fewer_images_than_default_subset_size(extractor):
    a, b = _images(6, seed=5), _images(9, seed=6)
    m = _fid(a, b, extractor, kid_subset_size=1000)
    assert m["kid_subset_size"] == 6
    assert np.isfinite(m["kid_mean"]) and np.isfinite(m["kid_std"])
    with pytest.raises(ValueError, match="at least 2"):
        _fid(a[:1], b, extractor)


def test_real_feature_cache_is_keyed_by_content_and_extractor(extractor, tmp_path):
    real_dir, gen_dir = tmp_path / "real", tmp_path / "gen"
    for i, img in enumerate(_images(8, seed=7)):
        save_png(img.permute(1, 2, 0).numpy(), real_dir / f"{i}.png")
    for i, img in enumerate(_images(8, seed=8)):
        save_png(img.permute(1, 2, 0).numpy(), gen_dir / f"{i}.png")
    cache = tmp_path / "cache"
    m1, n = fid.fid_kid_dirs(gen_dir, real_dir, extractor=extractor, cache_dir=cache, kid_subsets=5)
    files = sorted(p.name for p in cache.iterdir())
    key = fid.content_hash(sorted(real_dir.glob("*.png")))
    assert n == 8 and files and all(key in f and extractor["cache_id"] in f for f in files)
    m2, _ = fid.fid_kid_dirs(gen_dir, real_dir, extractor=extractor, cache_dir=cache, kid_subsets=5)
    assert m1 == m2
    # changing one real image changes the key: a stale cache is never used
    save_png(np.zeros((32, 32, 3), np.uint8), real_dir / "0.png")
    assert fid.content_hash(sorted(real_dir.glob("*.png"))) != key
    m3, _ = fid.fid_kid_dirs(gen_dir, real_dir, extractor=extractor, cache_dir=cache, kid_subsets=5)
    assert m3["fid"] != m1["fid"]


def test_missing_inception_weights_file_gives_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="eval.inception_weights.*not found"):
        fid.resolve_extractor("inception-v3-compat", inception_weights=tmp_path / "nope.pth")


def test_offline_inception_download_gives_clear_error(monkeypatch, tmp_path):
    import torch_fidelity.feature_extractor_inceptionv3 as inc

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(inc, "load_state_dict_from_url", offline)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ex = fid.resolve_extractor("inception-v3-compat")
    assert ex["label"] == "inception-v3-compat"
    imgs = _images(4)
    with pytest.raises(RuntimeError, match="Offline: put weights-inception-2015-12-05"):
        _fid(imgs, imgs, ex)


def test_unknown_extractor_and_missing_evaluator():
    with pytest.raises(ValueError, match="fid_extractor"):
        fid.resolve_extractor("clip")
    with pytest.raises(ValueError, match="--evaluator"):
        fid.resolve_extractor("evaluator-features")
