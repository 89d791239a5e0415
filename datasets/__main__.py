"""Command line of the data package (``docs/CONTRACTS.md``, "Prepared data").

    python -m datasets prepare --task cityscapes --source synthetic \\
        --out results/<profile>/data/cityscapes --n-train 100 --n-val 20 --size 128 \\
        [--full-size 256 512] [--root PATH] [--url URL] [--sha256 HEX] [--seed 0] [--download]
    python -m datasets prepare --task maps --profile-json '<profile as JSON>' --out DIR
    python -m datasets bench --task cityscapes --n 100 --size 128

With ``--profile-json`` the settings come from the profile's ``tasks.<task>`` section
(source, root, url, sha256, n_train, n_val, size, full_size) and the seed from its
``data_seed``; flags given explicitly win.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m datasets", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("prepare", help="write a prepared task data root")
    pr.add_argument("--task", required=True, choices=["cityscapes", "maps"])
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
    pr.add_argument("--profile-json", help="the whole profile dict as JSON")
    be = sub.add_parser("bench", help="time the synthetic generator")
    be.add_argument("--task", default="cityscapes", choices=["cityscapes", "maps"])
    be.add_argument("--n", type=int, default=100)
    be.add_argument("--size", type=int, default=128)
    be.add_argument("--full-size", type=int, nargs=2, metavar=("H", "W"))
    return p


def _prepare(args: argparse.Namespace) -> dict:
    from datasets.prepare import PROFILE_KEYS, prepare_task, task_settings

    settings = {k: None for k in PROFILE_KEYS}
    seed = 0
    if args.profile_json:
        try:
            profile = json.loads(args.profile_json)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"--profile-json is not valid JSON: {exc}")
        seed = int(profile.get("data_seed") or 0) if isinstance(profile, dict) else 0
        try:
            settings.update(task_settings(profile, args.task))
        except KeyError as exc:
            raise SystemExit(f"--profile-json: {exc.args[0]}")
    explicit = {"source": args.source, "root": args.root, "url": args.url,
                "sha256": args.sha256, "n_train": args.n_train, "n_val": args.n_val,
                "size": args.size, "full_size": args.full_size}
    settings.update({k: v for k, v in explicit.items() if v is not None})
    missing = [k for k in ("source", "n_train", "n_val", "size") if settings[k] is None]
    if missing:
        raise SystemExit("missing setting(s) " + ", ".join("--" + k.replace("_", "-")
                                                          for k in missing)
                         + " (give them as flags or through --profile-json)")
    return prepare_task(args.task, settings["source"], args.out, settings["n_train"],
                        settings["n_val"], settings["size"], settings["full_size"],
                        settings["root"], settings["url"], settings["sha256"],
                        seed if args.seed is None else args.seed,
                        download=args.download)


def _bench(args: argparse.Namespace) -> None:
    from datasets.prepare import synthetic_pair

    t0 = time.perf_counter()
    for i in range(args.n):
        synthetic_pair(args.task, "train", i, args.size, args.full_size)
    dt = time.perf_counter() - t0
    print(json.dumps({"task": args.task, "n": args.n, "size": args.size,
                      "full_size": args.full_size, "seconds": round(dt, 3),
                      "images_per_s": round(args.n / dt, 2)}))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "bench":
        _bench(args)
        return 0
    try:
        meta = _prepare(args)
    except (ValueError, FileNotFoundError, RuntimeError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"out": args.out, **meta}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
