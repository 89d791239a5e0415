"""FID and KID of generated images against the real val images of the target domain.

CycleGAN's Table 1 is a human study (AMT "real vs fake", Section 5.1.1) that cannot be
automated; the harness reports the Frechet Inception Distance (Heusel et al. 2017) and the
Kernel Inception Distance (Binkowski et al. 2018) as machine stand-ins, for every direction of
every task, through torch-fidelity 0.4.0's ``calculate_metrics``.

Feature extractor (``eval.fid_extractor``, named in every row's ``evaluator`` column):

- ``inception-v3-compat``: the standard (torch-fidelity's port of the TF Inception-v3 used by
  the original FID code).  Weights from ``eval.inception_weights`` (a path), else from
  torch-fidelity's download cache (``$TORCH_HOME/hub/checkpoints``), else its download.  A
  missing file or an offline download fails with a message that says where to put the file.
- ``evaluator-features``: for offline profiles, the pooled deepest features of the trained FCN
  evaluator (:mod:`eval.segmenter`), registered once per process as a torch-fidelity
  ``FeatureExtractorBase``; rows name it ``evaluator-features@<evaluator id>``.  The Cityscapes
  evaluator also serves the maps task.  These numbers are *not* comparable with published FIDs.

Real-image features are cached (``eval.fid_cache``) in the folder the rule passes
(``cyclebench score --fid-cache``) with torch-fidelity's atomic cache writes.  Its cache key
is only the name it is given, so the name holds a SHA-256 of the real images' names and bytes
and the extractor id (for the evaluator: its weights hash; for Inception: the weights file's
hash), never a bare dataset name; generated images are never cached.  KID's subset size is
``min(eval.kid_subset_size, n_generated, n_real)``, so small sets work.  FID is clamped at 0
(the eigenvalue formula can return -1e-11 for identical sets).
"""

from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cyclebench.eval.segmenter.checkpoint import Evaluator
from cyclebench.locks import file_lock
from cyclebench.utils import file_sha256 as utils_file_sha256, load_rgb
from cyclebench.errors import DownloadError

INCEPTION = "inception-v3-compat"
EVALUATOR_FEATURES = "evaluator-features"
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"


class ImageListDataset(torch.utils.data.Dataset):
    """uint8 3xHxW tensors from a list of image files (torch-fidelity's input format)."""

    def __init__(self, paths: list[Path]):
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(np.array(load_rgb(self.paths[i]), copy=True)).permute(2, 0, 1)


def _register_evaluator_extractor() -> None:
    """Register ``evaluator-features`` with torch-fidelity (idempotent: once per process)."""
    from torch_fidelity import FeatureExtractorBase, register_feature_extractor
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    if EVALUATOR_FEATURES in FEATURE_EXTRACTORS_REGISTRY:
        return

    class EvaluatorFeatureExtractor(FeatureExtractorBase):
        """Global-average-pooled deepest features of the FCN evaluator (``evaluator.pt``)."""

        def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
            super().__init__(name, features_list)
            if feature_extractor_weights_path is None:
                raise ValueError("evaluator-features needs the evaluator checkpoint as "
                                 "feature_extractor_weights_path")
            ev = Evaluator.load(feature_extractor_weights_path, "cpu")
            self.net = ev.net
            self.input_size = ev.input_size

        @staticmethod
        def get_provided_features_list():
            return ("pooled",)

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return "pooled"

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return torch.zeros(1, 3, 64, 64, dtype=torch.uint8)

        def forward(self, x):
            if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
                raise ValueError(f"expected uint8 Bx3xHxW, got {x.dtype} {tuple(x.shape)}")
            x = x.float() / 127.5 - 1.0
            s = self.input_size
            if tuple(x.shape[-2:]) != (s, s):
                x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False)
            # float64: KID's polynomial kernel on small features is at float32 resolution otherwise
            return (self.net.pooled_features(x).double(),)

    register_feature_extractor(EVALUATOR_FEATURES, EvaluatorFeatureExtractor)


def file_sha256(path: Path, n: int = 16) -> str:
    return utils_file_sha256(path)[:n]


def content_hash(paths: list[Path]) -> str:
    """SHA-256 over the names and bytes of the image files (the real-image cache key)."""
    h = hashlib.sha256()
    for p in sorted(paths, key=lambda p: Path(p).name):
        h.update(Path(p).name.encode())
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def resolve_extractor(fid_extractor: str, *, evaluator_path: str | Path | None = None,
                      inception_weights: str | Path | None = None,
                      evaluator: Any = None) -> dict[str, Any]:
    """torch-fidelity arguments and the row label of the configured feature extractor.
    ``evaluator``: the already loaded :class:`cyclebench.eval.segmenter.checkpoint.Evaluator` of ``evaluator_path``,
    if the caller has it (saves loading and hashing its weights again)."""
    if fid_extractor == EVALUATOR_FEATURES:
        if evaluator_path is None:
            raise ValueError("eval.fid_extractor=evaluator-features needs --evaluator EVAL_DIR "
                             "(the trained evaluator)")
        path = Path(evaluator_path)
        path = path / "evaluator.pt" if path.is_dir() else path
        ev = evaluator if evaluator is not None else Evaluator.load(path)
        _register_evaluator_extractor()
        return {"feature_extractor": EVALUATOR_FEATURES, "weights_path": str(path),
                "label": f"{EVALUATOR_FEATURES}@{ev.id}", "cache_id": f"evaluator-{ev.id}"}
    if fid_extractor != INCEPTION:
        raise ValueError(f"eval.fid_extractor must be {INCEPTION} or {EVALUATOR_FEATURES}, "
                         f"got {fid_extractor!r}")
    if inception_weights is not None:
        path = Path(inception_weights)
        if not path.is_file():
            raise FileNotFoundError(
                f"eval.inception_weights: {path} not found. Download torch-fidelity's "
                f"{INCEPTION_FILE} on a machine with internet access and give its path, or use "
                "eval.fid_extractor: evaluator-features for offline profiles.")
        return {"feature_extractor": INCEPTION, "weights_path": str(path), "label": INCEPTION,
                "cache_id": f"inception-{file_sha256(path)}"}
    cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
    return {"feature_extractor": INCEPTION, "weights_path": None, "label": INCEPTION,
            "cache_id": f"inception-{INCEPTION_FILE}", "download_target": str(cached)}


def compute_fid_kid(generated, real, *, extractor: dict[str, Any], kid_subset_size: int = 1000,
                    kid_subsets: int = 100, batch_size: int = 16, cache_dir: str | Path | None = None,
                    real_cache_key: str | None = None, device: str = "cpu") -> dict[str, float]:
    """FID, KID mean/std between two torch Datasets of uint8 3xHxW images.

    ``real_cache_key`` (content hash of ``real``) turns on caching of the real features in
    ``cache_dir``; the extractor's ``cache_id`` is always part of the key.
    """
    import torch_fidelity

    n1, n2 = len(generated), len(real)
    if n1 < 2 or n2 < 2:
        raise ValueError(f"FID/KID need at least 2 images per set (generated {n1}, real {n2})")
    subset = int(min(kid_subset_size, n1, n2))
    use_cache = real_cache_key is not None and cache_dir is not None
    kwargs: dict[str, Any] = dict(
        input1=generated, input2=real, fid=True, kid=True, cuda=str(device).startswith("cuda"),
        batch_size=int(batch_size), kid_subset_size=subset, kid_subsets=int(kid_subsets),
        feature_extractor=extractor["feature_extractor"],
        feature_extractor_weights_path=extractor["weights_path"],
        save_cpu_ram=True, verbose=False, cache=use_cache,
    )
    if use_cache:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        kwargs.update(cache_root=str(cache_dir),
                      input2_cache_name=f"real-{real_cache_key}-{extractor['cache_id']}")
    # A missing real-feature cache entry is computed by one job at a time (the others wait for
    # it, then read it); an existing entry is only read (torch-fidelity writes it atomically).
    lock = None
    if use_cache and not any(Path(cache_dir).glob(f"{kwargs['input2_cache_name']}*")):
        lock = Path(cache_dir) / f".{kwargs['input2_cache_name']}.lock"
    try:
        with file_lock(lock, wait=True, what=f"FID feature cache {cache_dir}"):
            out = torch_fidelity.calculate_metrics(**kwargs)
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        target = extractor.get("download_target", "torch-fidelity's cache")
        raise DownloadError(
            f"cannot download the Inception weights for FID ({exc}). Offline: put "
            f"{INCEPTION_FILE} at {target} or set eval.inception_weights to its path, or use "
            "eval.fid_extractor: evaluator-features.") from exc
    return {
        "fid": max(0.0, float(out["frechet_inception_distance"])),
        "kid_mean": float(out["kernel_inception_distance_mean"]),
        "kid_std": float(out["kernel_inception_distance_std"]),
        "kid_subset_size": float(subset),
    }


def extract_features(images: torch.utils.data.Dataset, *, extractor: dict[str, Any],
                     batch_size: int = 16, device: str = "cpu") -> np.ndarray:
    """Per-image features (n x d, float64) of the layer torch-fidelity uses for FID and KID:
    what lets every FID/KID be resampled over images (the claims' bootstrap)."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
    from torch_fidelity.utils import create_feature_extractor, get_featuresdict_from_dataset

    name = extractor["feature_extractor"]
    layer = FEATURE_EXTRACTORS_REGISTRY[name].get_default_feature_layer_for_metric("fid")
    cuda = str(device).startswith("cuda")
    net = create_feature_extractor(name, [layer], cuda=cuda, verbose=False,
                                   feature_extractor_weights_path=extractor["weights_path"])
    feats = get_featuresdict_from_dataset(images, net, int(batch_size), cuda, True, False)
    return feats[layer].double().numpy()


def features_dirs(generated_dir: Path, real_dir: Path, *, extractor: dict[str, Any],
                  batch_size: int = 16, device: str = "cpu"
                  ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names and per-image features of the generated and the real images of one direction.
    The names must be the same in both folders (a prepared task's val images are pairs), so
    that resampling val images takes the same inputs for every method and its real targets."""
    gen = sorted(Path(generated_dir).glob("*.png"))
    real = sorted(Path(real_dir).glob("*.png"))
    names = [p.name for p in gen]
    if names != [p.name for p in real]:
        raise ValueError(f"{generated_dir} and {real_dir} hold different image names: per-image "
                         "features cannot be paired")
    kw = dict(extractor=extractor, batch_size=batch_size, device=device)
    return (names, extract_features(ImageListDataset(gen), **kw),
            extract_features(ImageListDataset(real), **kw))


def check_sizes(paths: list[Path], size: int | None, what: str) -> None:
    """Every image of a set is ``size x size`` (the prepared data's size; ``None``: they only
    need to agree), else one line naming the first odd file (torch-fidelity batches them)."""
    from PIL import Image

    want = None if size is None else (int(size), int(size))
    for path in paths:
        try:
            with Image.open(path) as im:
                got = im.size
        except OSError as exc:
            raise ValueError(f"cannot read image {path}: {exc}") from None
        if want is None:
            want = got
        elif got != want:
            raise ValueError(f"{path}: {what} image is {got[0]}x{got[1]}, expected "
                             f"{want[0]}x{want[1]} like the rest of the set (prepared data "
                             "size); prepare the data again or translate again")


def fid_kid_dirs(generated_dir: Path, real_dir: Path, *, extractor: dict[str, Any],
                 cache_dir: Path | None = None, real_size: int | None = None,
                 **kwargs) -> tuple[dict[str, float], int]:
    """FID/KID between two folders of PNGs; returns (metrics, number of generated images).
    ``real_size``: the prepared data's image size, which every real image must have."""
    gen = sorted(Path(generated_dir).glob("*.png"))
    real = sorted(Path(real_dir).glob("*.png"))
    if not gen:
        raise FileNotFoundError(f"no PNG images in {generated_dir}")
    if not real:
        raise FileNotFoundError(f"no PNG images in {real_dir}")
    check_sizes(real, real_size, "real")
    check_sizes(gen, None, "generated")
    key = content_hash(real) if cache_dir is not None else None
    metrics = compute_fid_kid(ImageListDataset(gen), ImageListDataset(real), extractor=extractor,
                              cache_dir=cache_dir, real_cache_key=key, **kwargs)
    return metrics, len(gen)
