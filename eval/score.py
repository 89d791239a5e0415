"""Every metric of one run's translations in one direction -> tidy rows (CycleGAN Section 5.1).

=================  ===========================================  ==========================
direction          metrics                                      ``evaluator`` column
=================  ===========================================  ==========================
``label2photo``    FCN-score (Table 2): segmentation scores of  ``<arch>@<evaluator id>``
                   the evaluator on the generated photos
``photo2label``    photo -> labels scores (Table 3) after the   ``nearest-palette``
                   nearest-palette mapping
every direction    ``fid``, ``kid_mean``, ``kid_std`` against   ``inception-v3-compat`` or
                   the real val images of the target domain     ``evaluator-features@<id>``
=================  ===========================================  ==========================

Segmentation metrics: ``per_pixel_acc``, ``per_class_acc``, ``class_iou`` (official definition),
``per_class_acc_present``, ``class_iou_present`` and ``iou/<class name>`` (:mod:`eval.seg_metrics`).

The ``substitutes`` column (issue #5: a substitute for the paper's setting is named in every
output row) is read from the run's resolved config,
``<results_dir>/<profile>/runs/<task>/<method>/seed<k>/config.resolved.yaml`` (written first by
``python -m cyclegan train``): ``get_method(method).cls.substitutes(method_params)``, e.g.
``feature_extractor=vgg16-random-init`` for Feature loss + GAN with ``vgg_weights:
random-init``, ``none`` for a run in the paper's setting.  A missing file is an error naming it:
nothing is guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cyclebench.config import ConfigError, TrainConfig
from cyclebench.registry import get_method
from cyclebench.tasks import get_task
from cyclebench.utils import git_commit, resolve_device, set_threads
from eval.profile import EvalConfig, data_root, data_source, read_meta, task_section
from eval.rows import format_substitutes, make_rows, write_rows

FID_METRICS = ("fid", "kid_mean", "kid_std")


def fid_cache_dir(profile: dict[str, Any]) -> Path:
    """Where real-image FID/KID features are cached: ``<results_dir>/<profile>/cache/fid``."""
    return Path(profile["results_dir"]) / profile["profile"] / "cache" / "fid"


def resolved_config_path(profile: dict[str, Any], task: str, method: str, seed: int) -> Path:
    """``<results_dir>/<profile>/runs/<task>/<method>/seed<k>/config.resolved.yaml``."""
    return (Path(profile["results_dir"]) / profile["profile"] / "runs" / task / method
            / f"seed{int(seed)}" / "config.resolved.yaml")


def run_substitutes(profile: dict[str, Any], task: str, method: str, seed: int) -> str:
    """The ``substitutes`` column of the run's rows, from its resolved ``method_params``."""
    path = resolved_config_path(profile, task, method, seed)
    if not path.is_file():
        raise FileNotFoundError(
            f"resolved run config {path} not found: the metric rows' 'substitutes' column is "
            f"read from its method_params, so the run (task {task}, method {method}, seed "
            f"{int(seed)}) must be trained first (python -m cyclegan train ... --out {path.parent})")
    cfg = TrainConfig.load(path)
    for key, want in (("profile", profile["profile"]), ("task", task), ("method", method),
                      ("seed", int(seed))):
        if getattr(cfg, key) != want:
            raise ConfigError(f"{path}: key {key!r} is {getattr(cfg, key)!r}, but the rows being "
                              f"scored are for {key} {want!r}")
    spec = get_method(method)
    try:
        params = spec.resolved_params(cfg.method_params)
    except KeyError as exc:
        raise ConfigError(f"{path}: method_params: {exc.args[0]}") from None
    try:
        return format_substitutes(spec.cls.substitutes(params))
    except ValueError as exc:
        raise ValueError(f"{path}: method {method!r}: {exc}") from None


def score_run(profile: dict[str, Any], task: str, method: str, seed: int, direction: str,
              translations: str | Path, out: str | Path, evaluator_dir: str | Path | None = None,
              threads: int = 1) -> list[dict[str, Any]]:
    """Compute every metric that applies to ``direction`` and write the rows to ``out``."""
    from eval import fid as fid_mod

    set_threads(threads)
    t = get_task(task)
    task_section(profile, task)
    xy = t.resolve_direction(direction)
    direction = t.x2y if xy == "x2y" else t.y2x
    ecfg = EvalConfig.from_profile(profile)
    root = data_root(profile, task)
    meta = read_meta(root)
    substitutes = run_substitutes(profile, task, method, seed)  # fail before any scoring
    translations = Path(translations)
    device = resolve_device(profile.get("device", "auto"))
    context = {"profile": profile["profile"], "task": task, "direction": direction,
               "method": method, "seed": int(seed), "split": "val",
               "data_source": data_source(meta), "substitutes": substitutes,
               "commit": git_commit()}
    rows: list[dict[str, Any]] = []
    ev = None  # the evaluator, once loaded (reused for the FID features)

    if task == "cityscapes" and direction == "label2photo":
        from eval.fcn_score import score_photo_dir
        from eval.segmenter import Evaluator

        if evaluator_dir is None:
            raise ValueError("label2photo FCN-scores need --evaluator EVAL_DIR "
                             "(python -m eval train-evaluator)")
        ev = Evaluator.load(evaluator_dir, device)
        scores, n = score_photo_dir(ev, translations, root, upsample_to_full=ecfg.upsample_to_full,
                                    full_res_mode=ecfg.full_res_mode, batch_size=ecfg.batch_size)
        rows += make_rows(context, scores.as_dict(), n_images=n, evaluator=ev.label)
    elif task == "cityscapes" and direction == "photo2label":
        from eval.photo2label import EVALUATOR_NAME, score_label_dir

        scores, n = score_label_dir(translations, root, upsample_to_full=ecfg.upsample_to_full)
        rows += make_rows(context, scores.as_dict(), n_images=n, evaluator=EVALUATOR_NAME)

    extractor = fid_mod.resolve_extractor(ecfg.fid_extractor, evaluator_path=evaluator_dir,
                                          inception_weights=ecfg.inception_weights,
                                          evaluator=ev)
    real_dir = root / "val" / t.target_domain(xy)
    metrics, n = fid_mod.fid_kid_dirs(
        translations, real_dir, extractor=extractor,
        cache_dir=fid_cache_dir(profile) if ecfg.fid_cache else None,
        kid_subset_size=ecfg.kid_subset_size, kid_subsets=ecfg.kid_subsets,
        batch_size=ecfg.batch_size, device=str(device))
    rows += make_rows(context, {k: metrics[k] for k in FID_METRICS}, n_images=n,
                      evaluator=extractor["label"])
    write_rows(out, rows)
    return rows
