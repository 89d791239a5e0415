"""``cyclebench data``: write a prepared task data root (``docs/CONTRACTS.md``, "Prepared data").

    cyclebench data --task cityscapes --source synthetic \\
        --out results/<profile>/data/cityscapes --n-train 100 --n-val 20 --size 128 \\
        [--full-size 256 512] [--root PATH] [--url URL] [--sha256 HEX] [--seed 0] [--download]
    cyclebench data --config-json '<DataConfig as JSON>' --out DIR

``--config-json`` is the task's :class:`~cyclebench.config.DataConfig` (what the Snakemake rule
passes, built from the profile's ``tasks.<task>`` section and its ``data_seed``); flags given
explicitly win over it.  Without it, ``--task``, ``--source``, ``--n-train``, ``--n-val`` and
``--size`` are required.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Sequence

from cyclebench.config import ConfigError, DataConfig
from cyclebench.datasets.prepare import prepare, synthetic_pair


def _parser() -> argparse.ArgumentParser:
    pr = argparse.ArgumentParser(prog="cyclebench data", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    pr.add_argument("--config-json", help="the task's DataConfig as JSON")
    pr.add_argument("--task", choices=["cityscapes", "maps"])
    pr.add_argument("--out", required=True, help="data root, e.g. results/<profile>/data/<task>")
    pr.add_argument("--source", choices=["synthetic", "cityscapes", "pix2pix"])
    pr.add_argument("--n-train", type=int, help="train images (real data: 0 = all)")
    pr.add_argument("--n-val", type=int, help="val images (real data: 0 = all)")
    pr.add_argument("--size", type=int, help="square image size written to disk")
    pr.add_argument("--full-size", type=int, nargs=2, metavar=("H", "W"),
                    help="render / original resolution (synthetic: render size; cityscapes: "
                         "the expected original size, default 1024 2048)")
    pr.add_argument("--root", help="Cityscapes root (else $CITYSCAPES_DATASET) or archive dir")
    pr.add_argument("--url", help="pix2pix archive URL (or a local file path)")
    pr.add_argument("--sha256", help="expected sha256 of the archive")
    pr.add_argument("--seed", type=int, default=None,
                    help="synthetic data seed (default: the profile's data_seed, else 0)")
    pr.add_argument("--download", action=argparse.BooleanOptionalAction, default=None,
                    help="cityscapes: download with cityscapesscripts when the data is missing "
                         "(default: only when $CITYSCAPES_USERNAME and $CITYSCAPES_PASSWORD "
                         "are set)")
    return pr


_FLAGS = ("task", "source", "n_train", "n_val", "size", "full_size", "root", "url", "sha256",
          "seed")


def data_config_from_args(args: argparse.Namespace) -> DataConfig:
    """``--config-json`` with the flags given explicitly over it."""
    values: dict = {"full_size": None, "root": None, "url": None, "sha256": None, "seed": 0}
    if args.config_json:
        values = DataConfig.from_json(args.config_json).to_dict()
    values.update({k: getattr(args, k) for k in _FLAGS if getattr(args, k) is not None})
    missing = [k for k in ("task", "source", "n_train", "n_val", "size") if k not in values]
    if missing:
        raise ConfigError("missing setting(s) " + ", ".join("--" + k.replace("_", "-")
                                                          for k in missing)
                          + " (give them as flags or through --config-json)")
    return DataConfig.from_dict(values, source="data settings (--config-json and flags)")


def bench_generator(task: str, n: int, size: int, full_size=None) -> None:
    """Print one JSON line: images/s of the synthetic generator of ``task``."""
    t0 = time.perf_counter()
    for i in range(n):
        synthetic_pair(task, "train", i, size, full_size)
    dt = time.perf_counter() - t0
    print(json.dumps({"task": task, "n": n, "size": size, "full_size": full_size,
                      "seconds": round(dt, 3), "images_per_s": round(n / dt, 2)}))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    meta = prepare(data_config_from_args(args), args.out, download=args.download)
    print(json.dumps({"out": args.out, **meta}))
    return 0
