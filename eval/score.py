"""Every metric of one run's translations in one direction -> tidy rows (CycleGAN Section 5.1).

Which metrics apply where, and which function computes them, is the metric registry's
(:mod:`eval.metrics`: ``scorers_for(task, direction)``): FCN-scores of cityscapes
``label2photo`` by the evaluator, the nearest-palette label scores of cityscapes
``photo2label``, FID/KID of every direction.  Segmentation rows include ``iou/<class name>``
(:mod:`eval.seg_metrics`).

Every input is a path the caller names (the Snakemake rule lists them): the translations, the
task's prepared data, the run's ``config.resolved.yaml`` (written first by ``cyclebench
train``), the evaluator folder and the FID feature cache; nothing is derived from a results
layout.

The ``substitutes`` column (a substitute for the paper's setting is named in every output
row) is read from the run's resolved config:
``get_method(method).cls.substitutes(method_params)``, e.g.
``feature_extractor=vgg16-random-init`` for Feature loss + GAN with ``vgg_weights:
random-init``, ``none`` for a run in the paper's setting.  A missing file is an error naming it:
nothing is guessed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from cyclebench.config import ConfigError, EvalConfig, TrainConfig
from cyclebench.registry import get_method
from cyclebench.tasks import get_task
from cyclebench.utils import atomic_write_bytes, git_commit, resolve_device, set_threads
from cyclebench.eval.metrics import ScoreContext, scorers_for
from cyclebench.datasets.meta import data_source, read_meta
from cyclebench.eval.rows import format_substitutes, make_rows, write_rows


def run_substitutes(run_config: str | Path, profile: str, task: str, method: str,
                    seed: int) -> str:
    """The ``substitutes`` column of the run's rows, from its resolved ``method_params``."""
    path = Path(run_config)
    if not path.is_file():
        raise FileNotFoundError(
            f"resolved run config {path} not found: the metric rows' 'substitutes' column is "
            f"read from its method_params, so the run (task {task}, method {method}, seed "
            f"{int(seed)}) must be trained first (cyclebench train ... --out {path.parent})")
    cfg = TrainConfig.load(path)
    for key, want in (("profile", profile), ("task", task), ("method", method),
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


def score_run(ecfg: EvalConfig, task: str, method: str, seed: int, direction: str, *,
              translations: str | Path, data_root: str | Path, run_config: str | Path,
              out: str | Path, evaluator_dir: str | Path | None = None,
              fid_cache: str | Path | None = None, stats_out: str | Path | None = None,
              threads: int = 1) -> list[dict[str, Any]]:
    """Compute every metric that applies to ``direction`` and write the rows to ``out`` (and,
    with ``stats_out``, the per-image statistics of every score to that ``.npz``: see
    :func:`write_stats`).

    ``ecfg``: the metric protocol; ``data_root``: the task's prepared data (``meta.json``,
    ``val/...``); ``run_config``: the run's ``config.resolved.yaml``; ``fid_cache``: the
    real-image feature cache folder (used when ``ecfg.fid_cache``; None: no cache)."""
    set_threads(threads)
    t = get_task(task)
    xy = t.resolve_direction(direction)
    direction = t.x2y if xy == "x2y" else t.y2x
    root = Path(data_root)
    meta = read_meta(root)
    substitutes = run_substitutes(run_config, ecfg.profile, task, method, seed)  # fail early
    ctx = ScoreContext(task=t, direction=direction, translations=Path(translations),
                       data_root=root, eval_config=ecfg, device=resolve_device(ecfg.device),
                       evaluator_dir=None if evaluator_dir is None else Path(evaluator_dir),
                       fid_cache=None if fid_cache is None else Path(fid_cache),
                       keep_stats=stats_out is not None)
    rows, stats = score_context(ctx, method=method, seed=seed, meta=meta,
                               substitutes=substitutes)
    if stats_out is not None:
        write_stats(stats_out, {"profile": ecfg.profile, "task": task, "direction": direction,
                                "method": method, "seed": int(seed)}, stats)
    write_rows(out, rows)
    return rows


def score_context(ctx: ScoreContext, *, method: str, seed: int, meta: dict[str, Any],
                  substitutes: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every scorer that applies to ``ctx``'s task and direction: (tidy rows labelled
    ``method``/``seed``, per-image statistics when ``ctx.keep_stats``)."""
    context = {"profile": ctx.eval_config.profile, "task": ctx.task.name,
               "direction": ctx.direction, "method": method, "seed": int(seed), "split": "val",
               "data_source": data_source(meta), "substitutes": substitutes,
               "commit": git_commit()}
    rows: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    for scorer in scorers_for(ctx.task.name, ctx.direction):
        metrics, n, label, per_image = scorer.compute(ctx)
        rows += make_rows(context, metrics, n_images=n, evaluator=label)
        stats.update(per_image)
    return rows, stats


# What identifies a per-image statistics file (its rows' keys; nothing is parsed from paths).
STATS_KEYS = ("profile", "task", "direction", "method", "seed")


def write_stats(path: str | Path, keys: dict[str, Any], stats: dict[str, Any]) -> Path:
    """Atomically write per-image statistics as ``.npz``: the ``STATS_KEYS`` as 0-d arrays,
    then each statistic (``seg_counts``/``seg_names``, ``gen_features``/``real_features``/
    ``feature_names``)."""
    buf = io.BytesIO()
    arrays = {f"key_{k}": np.asarray(str(v)) for k, v in keys.items()}
    arrays.update({k: np.asarray(v) for k, v in stats.items()})
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def read_stats(path: str | Path) -> dict[str, Any]:
    """A file of :func:`write_stats`: ``{"keys": {...}, <statistic>: array, ...}``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files if not k.startswith("key_")}
            keys = {k[4:]: str(data[k]) for k in data.files if k.startswith("key_")}
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable per-image statistics file ({exc}); score the "
                         "run again") from None
    missing = [k for k in STATS_KEYS if k not in keys]
    if missing:
        raise ValueError(f"{path}: per-image statistics lack the keys {missing}")
    keys["seed"] = int(keys["seed"])
    out["keys"] = keys
    return out
