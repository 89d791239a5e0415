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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cyclebench.tasks import get_task
from cyclebench.utils import git_commit, resolve_device, set_threads
from eval.profile import EvalConfig, data_root, data_source, read_meta, task_section
from eval.rows import make_rows, write_rows

FID_METRICS = ("fid", "kid_mean", "kid_std")


def fid_cache_dir(profile: dict[str, Any]) -> Path:
    """Where real-image FID/KID features are cached: ``<results_dir>/<profile>/cache/fid``."""
    return Path(profile["results_dir"]) / profile["profile"] / "cache" / "fid"


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
    translations = Path(translations)
    device = resolve_device(profile.get("device", "auto"))
    context = {"profile": profile["profile"], "task": task, "direction": direction,
               "method": method, "seed": int(seed), "split": "val",
               "data_source": data_source(meta), "commit": git_commit()}
    rows: list[dict[str, Any]] = []

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
                                          inception_weights=ecfg.inception_weights)
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
