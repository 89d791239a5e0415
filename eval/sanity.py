"""``cyclebench sanity``: what the metrics say about translations that involve no method.

A score means little until one knows what it gives for things that are not translations. For
every direction of every task, two stand-ins are scored exactly like a method's output (same
scorers, same evaluator, same real-feature cache):

- ``real_other_scenes``: real target-domain images of *other* scenes (the first ``n_val``
  training images, renamed to the val names).  FID/KID: the floor of the extractor at this
  sample size (real against real; it is not 0 with 50 images).  FCN-scores: what the layout
  prior of the data alone earns with perfectly real textures (street scenes share a layout).
- ``input_as_output``: the input image itself, passed through (the label map offered as the
  photo, the photo as the label map).  For labels -> photo this asks whether the evaluator
  reads label colours as the right classes, and where the FID extractor ranks a label map
  against real photos: a lenient evaluator rewards translations that stay close to their
  input (SimGAN's pixel L1 to the label map).

Read them beside the evaluator's "Ground truth" row, the colour lookup's calibration row and
the methods: a method below ``real_other_scenes`` on FCN-scores has learned less of the
input's layout than a random real photo carries; a method whose FID is above
``input_as_output``'s produces images the extractor finds less photo-like than the label map.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from cyclebench.config import EvalConfig
from cyclebench.datasets.meta import read_meta
from cyclebench.tasks import get_task
from cyclebench.utils import atomic_write_text, parse_key_paths, resolve_device, set_threads
from cyclebench.eval.metrics import ScoreContext
from cyclebench.eval.rows import NONE, write_rows
from cyclebench.eval.score import score_context

CHECKS = {
    "real_other_scenes": "real target images of other scenes (training images under the val "
                         "names): FID floor; FCN-score of the layout prior",
    "input_as_output": "the input image passed through unchanged (e.g. the label map as the "
                       "photo): does the metric reward staying close to the input?",
}
HEADLINE = ("per_pixel_acc", "per_class_acc", "class_iou", "fid", "kid_mean")


def _images(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    if not files:
        raise FileNotFoundError(f"no images in {folder}")
    return files


def build_stand_in(check: str, data_root: Path, src_domain: str, tgt_domain: str,
                   out: Path) -> int:
    """Write the images of ``check`` under the val names into ``out``; returns their number."""
    val = _images(data_root / "val" / tgt_domain)
    out.mkdir(parents=True, exist_ok=True)
    if check == "real_other_scenes":
        train = _images(data_root / "train" / tgt_domain)
        if len(train) < len(val):
            raise ValueError(f"{data_root / 'train' / tgt_domain}: {len(train)} training images, "
                             f"fewer than the {len(val)} val images the check needs")
        sources = train[:len(val)]
    elif check == "input_as_output":
        sources = [data_root / "val" / src_domain / p.name for p in val]
    else:
        raise KeyError(f"unknown sanity check {check!r}; known: {', '.join(CHECKS)}")
    for src, name in zip(sources, val):
        shutil.copyfile(src, out / name.name)
    return len(val)


def sanity_rows(ecfg: EvalConfig, task: str, data_root: Path, *,
                evaluator_dir: Path | None, fid_cache: Path | None) -> list[dict[str, Any]]:
    """Metric rows (``method`` = the check) of every check in every direction of ``task``."""
    t = get_task(task)
    meta = read_meta(data_root)
    rows: list[dict[str, Any]] = []
    device = resolve_device(ecfg.device)
    loaded = None
    for direction in (t.x2y, t.y2x):
        src, tgt = (t.x, t.y) if t.resolve_direction(direction) == "x2y" else (t.y, t.x)
        for check in CHECKS:
            with tempfile.TemporaryDirectory(prefix="cyclebench-sanity-") as tmp:
                folder = Path(tmp) / check
                build_stand_in(check, data_root, src, tgt, folder)
                ctx = ScoreContext(task=t, direction=direction, translations=folder,
                                   data_root=data_root, eval_config=ecfg, device=device,
                                   evaluator_dir=evaluator_dir, fid_cache=fid_cache,
                                   _evaluator=loaded)  # one evaluator load for every check
                rows += score_context(ctx, method=check, seed=0, meta=meta,
                                      substitutes=NONE)[0]
                loaded = ctx.loaded_evaluator
    return rows


def render_markdown(rows: pd.DataFrame, ground_truth: pd.DataFrame | None) -> str:
    """A short table per direction (headline metrics), with the Ground-truth row beside."""
    lines = ["# Sanity checks of the metrics", "",
             "Stand-ins scored exactly like a method's translations; none involves a method.", ""]
    lines += [f"- `{name}`: {text}" for name, text in CHECKS.items()]
    for (task, direction), part in rows.groupby(["task", "direction"], sort=False):
        wide = part[part["metric"].isin(HEADLINE)].pivot_table(
            index="method", columns="metric", values="value", sort=False)
        if ground_truth is not None and direction == "label2photo":
            gt = ground_truth[ground_truth["metric"].isin(HEADLINE)]
            if len(gt):
                wide.loc["ground_truth (real photos)"] = gt.groupby("metric")["value"].first()
        wide = wide[[m for m in HEADLINE if m in wide.columns]]
        lines += ["", f"## {task}: {direction}", "", wide.to_markdown(floatfmt=".3f")]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cyclebench sanity",
        description="Score stand-ins that involve no method (real images of other scenes, the "
                    "input passed through) with every metric: the floor and the leniency of "
                    "the metrics.")
    parser.add_argument("--config-json", required=True, help="the EvalConfig (JSON or file)")
    parser.add_argument("--data-root", action="append", required=True, metavar="TASK=DIR",
                        help="a task's prepared data (repeat per task)")
    parser.add_argument("--evaluator", type=Path, default=None, help="the evaluator folder")
    parser.add_argument("--evaluator-csv", type=Path, default=None,
                        help="the evaluator's ground_truth.csv (shown beside, labels -> photo)")
    parser.add_argument("--fid-cache", type=Path, default=None, help="real-feature cache folder")
    parser.add_argument("--out", type=Path, required=True, help="tidy CSV of every row")
    parser.add_argument("--markdown", type=Path, default=None, help="also write this summary")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    ecfg = EvalConfig.from_arg(args.config_json)
    roots = parse_key_paths(args.data_root, "--data-root", "TASK")
    rows: list[dict[str, Any]] = []
    for task, root in roots.items():
        rows += sanity_rows(ecfg, task, Path(root), evaluator_dir=args.evaluator,
                            fid_cache=args.fid_cache)
    write_rows(args.out, rows)
    if args.markdown is not None:
        gt = pd.read_csv(args.evaluator_csv) if args.evaluator_csv else None
        atomic_write_text(args.markdown, render_markdown(pd.DataFrame(rows), gt))
    print(f"{len(rows)} sanity rows -> {args.out}")
    return 0
