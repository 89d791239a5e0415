"""``cyclebench score``: known answers with real data standing in for translations; every
input is an explicit path (translations, data root, run config, evaluator, FID cache)."""

import copy
import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from cyclebench.profile import eval_config, evaluator_config, train_config, validate_profile
from cyclebench.utils import atomic_write_yaml, load_label, save_png
from cyclebench.datasets.palette import CLASS_COLORS, CLASS_IDS
from cyclebench.datasets.prepare import prepare_synthetic
from cyclebench import cli
from cyclebench.eval.cli import score_main
from cyclebench.eval.photo2label import resize_ids
from cyclebench.eval.rows import COLUMNS, read_rows
from cyclebench.eval.seg_metrics import ConfusionMatrix

torch.set_num_threads(1)


def _profile(res, **eval_overrides):
    ev = {"upsample_to_full": False, "fid_extractor": "evaluator-features",
          "kid_subset_size": 1000, "kid_subsets": 10, "batch_size": 16}
    ev.update(eval_overrides)
    return {
        "profile": "t", "results_dir": str(res), "device": "cpu", "seeds": [0],
        "tasks": {"cityscapes": {"source": "synthetic", "n_train": 12, "n_val": 6, "size": 32,
                                 "full_size": [64, 128]},
                  "maps": {"source": "synthetic", "n_train": 4, "n_val": 6, "size": 32}},
        "evaluator": {"arch": "small_fcn", "width": 8, "input_size": 32, "epochs": 5,
                      "batch_size": 6, "lr": 0.002},
        "eval": ev,
    }


def _validated(profile):
    """The profile as the Snakefile sees it (validated, defaults filled)."""
    prof = copy.deepcopy(profile)
    for task in prof["tasks"].values():
        task.setdefault("methods", ["cyclegan"])
    return validate_profile(prof, source="test profile")


def _data_root(profile, task) -> Path:
    return Path(profile["results_dir"]) / profile["profile"] / "data" / task


def _run_config(profile, task, method, seed) -> Path:
    """Where the test keeps the run's config.resolved.yaml (any path: it is passed explicitly)."""
    return (Path(profile["results_dir"]) / profile["profile"] / "runs" / task / method
            / f"seed{int(seed)}" / "config.resolved.yaml")


def _write_resolved(profile, task, method, seed):
    """What `cyclebench train` writes first into its run dir (config + provenance)."""
    resolved = train_config(_validated(profile), task, method, seed,
                            data_root=_data_root(profile, task)).to_dict()
    resolved["provenance"] = {"commit": "abc"}
    path = _run_config(profile, task, method, seed)
    atomic_write_yaml(path, resolved)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    res = tmp_path_factory.mktemp("res")
    prepare_synthetic("cityscapes", res / "t/data/cityscapes", 12, 6, 32, full_size=(64, 128))
    prepare_synthetic("maps", res / "t/data/maps", 4, 6, 32)
    for task in ("cityscapes", "maps"):
        _write_resolved(_profile(res), task, "cyclegan", 3)
    eval_dir = res / "t/evaluator/cityscapes"
    prof = _validated(_profile(res))
    assert cli.main(["evaluator", "--config-json", evaluator_config(prof).to_json(),
                     "--eval-config-json", eval_config(prof).to_json(),
                     "--data-root", str(_data_root(prof, "cityscapes")),
                     "--task", "cityscapes", "--out", str(eval_dir)]) == 0
    return res, eval_dir


def _score(res, eval_dir, task, direction, translations, out, profile=None, evaluator=True,
           method="cyclegan"):
    profile = profile or _profile(res)
    argv = ["score", "--config-json", eval_config(_validated(profile)).to_json(),
            "--task", task, "--method", method, "--seed", "3", "--direction", direction,
            "--translations", str(translations), "--data-root", str(_data_root(profile, task)),
            "--run-config", str(_run_config(_profile(res), task, method, 3)),
            "--fid-cache", str(res / "t" / "cache" / "fid"), "--out", str(out)]
    if evaluator:
        argv += ["--evaluator", str(eval_dir)]
    assert score_main(argv[1:]) == 0  # the entry point raises; `cyclebench` prints
    return {r["metric"]: r for r in read_rows(out)}


def test_label2photo_on_real_photos_reproduces_the_ground_truth_row(setup, tmp_path):
    res, eval_dir = setup
    data = res / "t/data/cityscapes"
    rows = _score(res, eval_dir, "cityscapes", "label2photo", data / "val/photo", tmp_path / "m.csv")
    gt = {r["metric"]: r for r in read_rows(eval_dir / "ground_truth.csv")}
    assert set(gt) <= set(rows)
    for metric, row in gt.items():
        assert rows[metric]["value"] == row["value"]
        assert rows[metric]["evaluator"] == row["evaluator"]
    assert rows["fid"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert rows["fid"]["evaluator"].startswith("evaluator-features@")
    r = rows["per_pixel_acc"]
    assert (r["profile"], r["task"], r["direction"], r["method"], r["seed"], r["split"],
            r["n_images"], r["data_source"]) == ("t", "cityscapes", "label2photo", "cyclegan", 3,
                                                  "val", 6, "synthetic-cityscapes")
    # CycleGAN runs in the paper's setting: every row (FCN-scores and FID/KID) says so
    assert {row["substitutes"] for row in rows.values()} == {"none"}
    assert {row["substitutes"] for row in gt.values()} == {"none"}  # the evaluator's rows
    with open(tmp_path / "m.csv") as fh:
        assert tuple(next(csv.reader(fh))) == COLUMNS


def test_photo2label_known_answers(setup, tmp_path):
    res, eval_dir = setup
    data = res / "t/data/cityscapes"
    rows = _score(res, eval_dir, "cityscapes", "photo2label", data / "val/label", tmp_path / "a.csv")
    assert rows["per_pixel_acc"]["value"] == 1.0  # the real colour maps are perfect labels
    assert rows["class_iou_present"]["value"] == pytest.approx(1.0)
    assert rows["per_pixel_acc"]["evaluator"] == "nearest-palette"
    assert rows["fid"]["value"] == pytest.approx(0.0, abs=1e-6)
    # an all-"road" generator: per-pixel accuracy = road's share of the labelled pixels
    fake = tmp_path / "road"
    for p in sorted((data / "val/label").glob("*.png")):
        save_png(np.broadcast_to(CLASS_COLORS[CLASS_IDS["road"]], (32, 32, 3)).copy(), fake / p.name)
    rows = _score(res, eval_dir, "cityscapes", "photo2label", fake, tmp_path / "b.csv")
    gt = np.concatenate([load_label(p).ravel() for p in sorted((data / "val/trainid").glob("*.png"))])
    gt = gt[gt != 255]
    share = np.mean(gt == CLASS_IDS["road"])
    assert rows["per_pixel_acc"]["value"] == pytest.approx(share)
    assert rows["per_class_acc"]["value"] == pytest.approx(1 / 19)  # road acc 1, others 0
    assert rows["iou/road"]["value"] == pytest.approx(share)
    assert rows["fid"]["value"] > 0


def test_full_resolution_protocol(setup, tmp_path):
    res, eval_dir = setup
    data = res / "t/data/cityscapes"
    prof = _profile(res, upsample_to_full=True)
    rows = _score(res, eval_dir, "cityscapes", "photo2label", data / "val/label", tmp_path / "f.csv",
                  profile=prof)
    cm = ConfusionMatrix()  # by hand: palette ids upsampled (nearest) vs val/trainid_full
    for p in sorted((data / "val/trainid").glob("*.png")):
        full = load_label(data / "val/trainid_full" / p.name)
        assert full.shape == (64, 128)
        cm.update(full, resize_ids(load_label(p), full.shape))
    assert rows["per_pixel_acc"]["value"] == pytest.approx(cm.scores().per_pixel_acc)
    assert rows["per_pixel_acc"]["value"] < 1.0  # detail lost at 32x32 shows at full size
    for mode in ("logits", "image"):
        prof = _profile(res, upsample_to_full=True, full_res_mode=mode)
        rows = _score(res, eval_dir, "cityscapes", "label2photo", data / "val/photo",
                      tmp_path / f"{mode}.csv", profile=prof)
        assert rows["per_pixel_acc"]["n_images"] == 6
        assert 0 < rows["per_pixel_acc"]["value"] < 1


def test_maps_direction_has_fid_only(setup, tmp_path):
    res, eval_dir = setup
    data = res / "t/data/maps"
    rows = _score(res, eval_dir, "maps", "map2photo", data / "val/photo", tmp_path / "m.csv")
    assert set(rows) == {"fid", "kid_mean", "kid_std"}
    assert rows["fid"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert rows["fid"]["data_source"] == "synthetic-maps" and rows["fid"]["direction"] == "map2photo"
    rows = _score(res, eval_dir, "maps", "photo2map", data / "val/photo", tmp_path / "p.csv")
    assert rows["fid"]["value"] > 0  # photos are not maps


def test_errors_are_clear(setup, tmp_path):
    res, eval_dir = setup
    data = res / "t/data/cityscapes"
    partial = tmp_path / "partial"
    shutil.copytree(data / "val/photo", partial)
    next(iter(sorted(partial.glob("*.png")))).unlink()
    with pytest.raises(ValueError, match="1 missing"):
        _score(res, eval_dir, "cityscapes", "label2photo", partial, tmp_path / "x.csv")
    with pytest.raises(ValueError, match="--evaluator"):
        _score(res, eval_dir, "cityscapes", "label2photo", data / "val/photo", tmp_path / "x.csv",
               evaluator=False)
    with pytest.raises(ValueError, match="unknown direction"):
        _score(res, eval_dir, "cityscapes", "map2photo", data / "val/photo", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_command_line_reports_user_errors_in_one_line(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "cyclebench", "score", "--config-json",
                           '{"profile": "x"}', "--task", "cityscapes", "--method", "m", "--seed",
                           "0", "--direction", "label2photo", "--translations", str(tmp_path),
                           "--data-root", str(tmp_path), "--run-config", str(tmp_path / "c.yaml"),
                           "--out", str(tmp_path / "m.csv")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("cyclebench score: error:") and "--config-json" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = subprocess.run([sys.executable, "-m", "cyclebench", "score", "--task", "cityscapes"],
                          capture_output=True, text=True)
    assert proc.returncode == 2  # every path is a required flag
    for flag in ("--config-json", "--translations", "--data-root", "--run-config", "--out"):
        assert flag in proc.stderr


def test_feature_gan_random_init_rows_name_the_substitute(setup, tmp_path):
    res, eval_dir = setup
    data = res / "t/data/cityscapes"
    prof = _profile(res)
    prof["method_params"] = {"feature_gan": {"vgg_weights": "random-init"}}
    _write_resolved(prof, "cityscapes", "feature_gan", 3)
    rows = _score(res, eval_dir, "cityscapes", "photo2label", data / "val/label",
                  tmp_path / "f.csv", profile=prof, method="feature_gan")
    assert "per_pixel_acc" in rows and "fid" in rows
    assert {r["substitutes"] for r in rows.values()} == {"feature_extractor=vgg16-random-init"}
    assert {r["method"] for r in rows.values()} == {"feature_gan"}
    # the column comes from the run's resolved config, not from the profile given to `score`
    rows = _score(res, eval_dir, "cityscapes", "photo2label", data / "val/label",
                  tmp_path / "g.csv", profile=_profile(res), method="feature_gan")
    assert {r["substitutes"] for r in rows.values()} == {"feature_extractor=vgg16-random-init"}
    # ImageNet VGG-16 (the paper's network) substitutes nothing
    _write_resolved(_profile(res), "cityscapes", "feature_gan", 3)
    rows = _score(res, eval_dir, "cityscapes", "photo2label", data / "val/label",
                  tmp_path / "h.csv", method="feature_gan")
    assert {r["substitutes"] for r in rows.values()} == {"none"}


def test_missing_or_mismatched_resolved_config_is_a_clear_error(setup, tmp_path):
    res, eval_dir = setup
    data = res / "t/data/maps"
    missing = _run_config(_profile(res), "maps", "simgan", 3)
    assert not missing.exists()
    with pytest.raises(FileNotFoundError, match="resolved run config .*config.resolved.yaml") as ei:
        _score(res, eval_dir, "maps", "map2photo", data / "val/photo", tmp_path / "x.csv",
               method="simgan")
    assert str(missing) in str(ei.value) and "trained first" in str(ei.value)
    assert not (tmp_path / "x.csv").exists()
    # a config of another run at that path (here: another seed) is refused, naming the key
    path = _write_resolved(_profile(res), "maps", "simgan", 4)
    missing.parent.mkdir(parents=True)
    shutil.copy(path, missing)
    with pytest.raises(ValueError, match=r"config.resolved.yaml: key 'seed' is 4.*seed 3"):
        _score(res, eval_dir, "maps", "map2photo", data / "val/photo", tmp_path / "x.csv",
               method="simgan")
    assert not (tmp_path / "x.csv").exists()


def test_command_line_names_the_missing_resolved_config(setup, tmp_path):
    import subprocess
    import sys

    res, eval_dir = setup
    run_cfg = tmp_path / "anywhere" / "config.resolved.yaml"  # the path given, nothing derived
    proc = subprocess.run([sys.executable, "-m", "cyclebench", "score", "--config-json",
                           eval_config(_validated(_profile(res))).to_json(), "--task", "maps",
                           "--method", "bigan", "--seed", "3", "--direction", "map2photo",
                           "--translations", str(res / "t/data/maps/val/photo"),
                           "--data-root", str(res / "t/data/maps"), "--run-config", str(run_cfg),
                           "--evaluator", str(eval_dir), "--out", str(tmp_path / "m.csv")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(run_cfg) in proc.stderr


def test_wrong_size_prepared_data_is_refused_naming_the_file(setup, tmp_path):
    """A ground-truth label map or real photo of another size than meta.json records would
    change the metric silently (or fail deep in torch): one line naming the file."""
    from PIL import Image

    res, eval_dir = setup
    data = res / "t/data/cityscapes"
    copy_root = tmp_path / "data"
    shutil.copytree(data, copy_root)
    prof = _profile(res)
    victim = sorted((copy_root / "val/trainid").glob("*.png"))[0]
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(victim)
    argv = ["--config-json", eval_config(_validated(prof)).to_json(), "--task", "cityscapes",
            "--method", "cyclegan", "--seed", "3", "--direction", "photo2label",
            "--translations", str(copy_root / "val/label"), "--data-root", str(copy_root),
            "--run-config", str(_run_config(prof, "cityscapes", "cyclegan", 3)),
            "--evaluator", str(eval_dir), "--out", str(tmp_path / "x.csv")]
    with pytest.raises(ValueError, match=rf"{victim.name}: label map is 16x16 .* says 32x32"):
        score_main(argv)
    shutil.copy(data / "val/trainid" / victim.name, victim)
    photo = sorted((copy_root / "val/photo").glob("*.png"))[1]
    Image.fromarray(np.zeros((20, 24, 3), np.uint8)).save(photo)
    argv[argv.index("photo2label")] = "label2photo"
    argv[argv.index(str(copy_root / "val/label"))] = str(data / "val/photo")
    with pytest.raises(ValueError, match=rf"{photo.name}: real image is 24x20, expected 32x32"):
        score_main(argv)
    assert not (tmp_path / "x.csv").exists()


def test_score_writes_per_image_statistics(setup, tmp_path):
    """The claims' bootstrap input: per-image confusion counts summing to the scored matrix,
    and per-image features whose FID is the reported FID."""
    from cyclebench.eval import resample
    from cyclebench.eval.score import read_stats

    res, eval_dir = setup
    data = res / "t/data/cityscapes"
    prof = _profile(res)
    out, stats = tmp_path / "m.csv", tmp_path / "m.npz"
    assert score_main(["--config-json", eval_config(_validated(prof)).to_json(), "--task",
                       "cityscapes", "--method", "cyclegan", "--seed", "3", "--direction",
                       "photo2label", "--translations", str(data / "val/label"),
                       "--data-root", str(data),
                       "--run-config", str(_run_config(prof, "cityscapes", "cyclegan", 3)),
                       "--evaluator", str(eval_dir), "--out", str(out),
                       "--stats", str(stats)]) == 0
    rows = {r["metric"]: r["value"] for r in read_rows(out)}
    st = read_stats(stats)
    assert st["keys"] == {"profile": "t", "task": "cityscapes", "direction": "photo2label",
                          "method": "cyclegan", "seed": 3}
    assert st["seg_counts"].shape == (6, 19, 20) and len(st["seg_names"]) == 6
    ones = np.ones((1, 6))
    for metric in ("per_pixel_acc", "per_class_acc", "class_iou"):
        assert resample.score(metric, st, ones)[0] == pytest.approx(rows[metric], rel=1e-12)
    assert st["gen_features"].shape == st["real_features"].shape
    assert resample.score("fid", st, ones)[0] == pytest.approx(rows["fid"], abs=1e-6)


# --- cyclebench sanity: stand-ins scored like translations -------------------------------------
def test_sanity_stand_ins_have_known_answers(setup, tmp_path):
    """real_other_scenes of a data folder whose first training photos ARE the val photos must
    give the Ground-truth row and FID 0; input_as_output must equal scoring the label maps
    themselves as the translations."""
    from cyclebench.eval.sanity import build_stand_in, main as sanity_main

    res, eval_dir = setup
    data = tmp_path / "data"
    shutil.copytree(res / "t/data/cityscapes", data)
    val = sorted((data / "val/photo").iterdir())
    train = sorted((data / "train/photo").iterdir())
    for v, t in zip(val, train):
        shutil.copyfile(v, t)
    folder = tmp_path / "stand_in"
    assert build_stand_in("real_other_scenes", data, "label", "photo", folder) == len(val)
    assert [p.name for p in sorted(folder.iterdir())] == [p.name for p in val]
    out = tmp_path / "sanity.csv"
    argv = ["--config-json", eval_config(_validated(_profile(res))).to_json(),
            "--data-root", f"cityscapes={data}", "--evaluator", str(eval_dir),
            "--evaluator-csv", str(eval_dir / "ground_truth.csv"),
            "--out", str(out), "--markdown", str(tmp_path / "sanity.md")]
    assert sanity_main(argv) == 0
    rows = read_rows(out)
    got = {(r["direction"], r["method"], r["metric"]): r["value"] for r in rows}
    gt = {r["metric"]: r["value"] for r in read_rows(eval_dir / "ground_truth.csv")}
    for metric, value in gt.items():
        assert got[("label2photo", "real_other_scenes", metric)] == value
    assert got[("label2photo", "real_other_scenes", "fid")] == pytest.approx(0.0, abs=1e-6)
    as_labels = _score(res, eval_dir, "cityscapes", "label2photo", data / "val/label",
                       tmp_path / "labels.csv")
    for metric, row in as_labels.items():
        assert got[("label2photo", "input_as_output", metric)] == row["value"], metric
    assert {r["method"] for r in rows} == {"real_other_scenes", "input_as_output"}
    assert {r["direction"] for r in rows} == {"label2photo", "photo2label"}
    md = (tmp_path / "sanity.md").read_text()
    assert "## cityscapes: label2photo" in md and "ground_truth (real photos)" in md


def test_sanity_refuses_too_few_training_images(tmp_path):
    from cyclebench.eval.sanity import build_stand_in

    for split, n in (("train", 1), ("val", 2)):
        (tmp_path / split / "photo").mkdir(parents=True)
        for i in range(n):
            save_png(np.zeros((4, 4, 3), np.uint8), tmp_path / split / "photo" / f"{i}.png")
    with pytest.raises(ValueError, match="1 training images, fewer than the 2 val"):
        build_stand_in("real_other_scenes", tmp_path, "label", "photo", tmp_path / "out")
    with pytest.raises(KeyError, match="unknown sanity check 'nope'"):
        build_stand_in("nope", tmp_path, "label", "photo", tmp_path / "out")


def test_evaluate_is_translate_then_score_for_each_direction(setup, tmp_path):
    """`cyclebench evaluate` (the workflow's per-run job) writes exactly what `translate` and
    `score` write separately, for both directions, and refuses mismatched path lists."""
    from cyclebench.cyclegan.train import train
    from cyclebench.cyclegan.translate import translate
    from cyclebench.eval.cli import evaluate_main

    res, eval_dir = setup
    prof = _validated(_profile(res))
    data = _data_root(prof, "cityscapes")
    run = tmp_path / "run"
    train(train_config(prof, "cityscapes", "colour_lookup", 3, data_root=data), run, quiet=True)
    dirs = ["label2photo", "photo2label"]
    one = {d: (tmp_path / "one" / d, tmp_path / "one" / f"{d}.csv", tmp_path / "one" / f"{d}.npz")
           for d in dirs}
    argv = ["--config-json", eval_config(prof).to_json(), "--task", "cityscapes",
            "--method", "colour_lookup", "--seed", "3", "--run", str(run), "--data-root",
            str(data), "--directions", *dirs,
            "--translations", *(str(one[d][0]) for d in dirs),
            "--out", *(str(one[d][1]) for d in dirs), "--stats", *(str(one[d][2]) for d in dirs),
            "--evaluator", str(eval_dir), "--fid-cache", str(res / "t" / "cache" / "fid")]
    assert evaluate_main(argv) == 0
    # its progress record, beside the CSVs, for `cyclebench status`
    from cyclebench.progress import read_progress
    rec = read_progress(tmp_path / "one" / "progress.json")
    assert (rec["state"], rec["done"], rec["total"], rec["unit"]) == ("done", 2, 2, "direction")
    for d in dirs:
        sep = tmp_path / "sep" / d
        translate(run, d, "val", sep, data_root=data)
        assert sorted(p.name for p in one[d][0].glob("*.png")) == sorted(
            p.name for p in sep.glob("*.png")) and len(list(sep.glob("*.png"))) == 6
        for a in sep.glob("*.png"):
            assert a.read_bytes() == (one[d][0] / a.name).read_bytes()
        ref = tmp_path / "sep" / f"{d}.csv"
        score_main(["--config-json", eval_config(prof).to_json(), "--task", "cityscapes",
                    "--method", "colour_lookup", "--seed", "3", "--direction", d,
                    "--translations", str(sep), "--data-root", str(data),
                    "--run-config", str(run / "config.resolved.yaml"),
                    "--evaluator", str(eval_dir), "--fid-cache", str(res / "t" / "cache" / "fid"),
                    "--out", str(ref)])
        got = {r["metric"]: r["value"] for r in read_rows(one[d][1])}
        want = {r["metric"]: r["value"] for r in read_rows(ref)}
        assert got == want and len(got) >= 3
        assert one[d][2].exists()
    bad = argv[:argv.index("--out")] + ["--out", str(tmp_path / "x.csv")] + \
        argv[argv.index("--stats"):]
    with pytest.raises(ValueError, match="--out lists 1 path"):
        evaluate_main(bad)
