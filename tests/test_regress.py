"""eval/regress.py: tolerances, the table of what moved, missing/new rows, --update round trip."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cyclebench.eval import regress as R
from cyclebench.eval.rows import write_rows

REPO = Path(__file__).resolve().parent.parent


def row(method, seed, metric, value, *, direction="label2photo", task="cityscapes",
        evaluator="small_fcn@1a2b3c4d", n_images=8, source="synthetic-cityscapes",
        substitutes="none"):
    return dict(profile="smoke", task=task, direction=direction, method=method, seed=seed,
                split="val", metric=metric, value=value, n_images=n_images,
                evaluator=evaluator, data_source=source, substitutes=substitutes, commit="abc")


def write_run(root: Path, rows_by_file: dict[str, list[dict]]):
    for rel, rows in rows_by_file.items():
        write_rows(root / "metrics" / rel, rows)


def base_rows():
    return {
        "cityscapes/cyclegan/seed0/label2photo.csv": [
            row("cyclegan", 0, "per_pixel_acc", 0.50),
            row("cyclegan", 0, "iou/road", 0.30),
            row("cyclegan", 0, "fid", 40.0, evaluator="evaluator-features@1a2b3c4d")],
        "cityscapes/pix2pix/seed0/label2photo.csv": [
            row("pix2pix", 0, "per_pixel_acc", 0.70)],
    }


TOL = """metrics:
  per_pixel_acc: 0.02
  "iou/*": 0.1
  fid: {abs: 1.0, rel: 0.05}
"""


@pytest.fixture
def setup(tmp_path):
    tol = tmp_path / "tolerances.yaml"
    tol.write_text(TOL)
    ref = tmp_path / "reference" / "smoke.csv"
    run = tmp_path / "run"
    write_run(run, base_rows())
    gt = run / "ground_truth.csv"
    write_rows(gt, [row("ground_truth", 0, "per_pixel_acc", 0.8)])

    def args():  # the metric CSVs as listed now (what the rule lists: exactly these files)
        return ["--metrics-csv", *map(str, sorted((run / "metrics").rglob("*.csv"))),
                "--evaluator-csv", str(gt), "--reference", str(ref), "--tolerances", str(tol)]

    assert R.main(args() + ["--update"]) == 0
    return tmp_path, run, ref, args


def test_update_round_trip_passes(setup, capsys):
    _, _, ref, args = setup
    df = pd.read_csv(ref)
    assert list(df.columns) == R.REFERENCE_COLUMNS and len(df) == 5
    assert set(df.method) == {"cyclegan", "pix2pix", "ground_truth"}
    capsys.readouterr()
    assert R.main(args()) == 0
    assert "passed" in capsys.readouterr().out
    # --update is idempotent: same rows, same bytes
    before = ref.read_bytes()
    assert R.main(args() + ["--update"]) == 0
    assert ref.read_bytes() == before


def test_within_tolerance_passes_and_outside_fails_with_table(setup, capsys):
    _, run, _, args = setup
    rows = base_rows()
    rows["cityscapes/cyclegan/seed0/label2photo.csv"][0]["value"] = 0.515  # within 0.02
    rows["cityscapes/cyclegan/seed0/label2photo.csv"][2]["value"] = 42.9   # 1 + 0.05*40 = 3
    write_run(run, rows)
    assert R.main(args()) == 0
    rows["cityscapes/cyclegan/seed0/label2photo.csv"][0]["value"] = 0.45   # moved by 0.05
    rows["cityscapes/cyclegan/seed0/label2photo.csv"][2]["value"] = 43.5   # beyond 3.0
    write_run(run, rows)
    capsys.readouterr()
    assert R.main(args()) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "2 moved" in out
    lines = [l for l in out.splitlines() if l.strip().startswith("moved")]
    assert len(lines) == 2
    acc = next(l for l in lines if "per_pixel_acc" in l)
    for token in ["cyclegan", "label2photo", "0.5", "0.45", "-0.05", "0.02"]:
        assert token in acc
    fid = next(l for l in lines if "fid" in l)
    assert "40" in fid and "43.5" in fid and "1+0.05*|ref|" in fid
    assert "--update" in out  # the documented command to accept an intended change


def test_missing_and_new_rows_fail(setup, capsys):
    _, run, _, args = setup
    (run / "metrics" / "cityscapes" / "pix2pix" / "seed0" / "label2photo.csv").unlink()
    write_run(run, {"cityscapes/cogan/seed0/label2photo.csv": [row("cogan", 0, "per_pixel_acc", 0.4)]})
    capsys.readouterr()
    assert R.main(args()) == 1
    out = capsys.readouterr().out
    assert "1 missing" in out and "1 new" in out
    assert any(l.strip().startswith("missing") and "pix2pix" in l for l in out.splitlines())
    assert any(l.strip().startswith("new") and "cogan" in l for l in out.splitlines())


def test_methods_absent_from_another_paths_reference_are_listed_not_failed(setup, capsys):
    """--allow-unreferenced-methods (the workflow's flag for a reference from another CPU path):
    rows of a method the reference has no row of are listed as not checked; a new row of a
    method it does have, a missing row and a moved value still fail."""
    _, run, _, args = setup
    write_run(run, {"cityscapes/cut/seed0/label2photo.csv": [row("cut", 0, "per_pixel_acc", 0.4)]})
    capsys.readouterr()
    assert R.main(args()) == 1  # without the flag: a new row
    assert R.main(args() + ["--allow-unreferenced-methods"]) == 0
    out = capsys.readouterr().out.splitlines()[-2:]
    assert out[0].startswith("NOT CHECKED: 1 rows of 1 method(s)") and "cityscapes/cut" in out[0]
    assert out[1].startswith("regression check passed")
    write_run(run, {"cityscapes/pix2pix/seed1/label2photo.csv": [
        row("pix2pix", 1, "per_pixel_acc", 0.7)]})  # a seed the reference lacks: still new
    capsys.readouterr()
    assert R.main(args() + ["--allow-unreferenced-methods"]) == 1
    out = capsys.readouterr().out
    assert "1 new" in out and "unreferenced" not in out.split("FAILED", 1)[1].split("\n", 1)[0]


def _rehash(rows, new_hash):
    for file_rows in rows.values():
        for r in file_rows:
            r["evaluator"] = r["evaluator"].replace("1a2b3c4d", new_hash)
    return rows


def test_reference_dir_uses_this_numeric_paths_file_and_update_writes_it(tmp_path, capsys):
    """--reference-dir: the file is named by the hash of the evaluator the run trained (the
    numeric path); --update writes it, the check reads it back exactly."""
    tol = tmp_path / "tolerances.yaml"
    tol.write_text(TOL)
    run, refs = tmp_path / "run", tmp_path / "reference"
    write_run(run, base_rows())
    csvs = ["--metrics-csv", *map(str, sorted((run / "metrics").rglob("*.csv")))]
    argv = csvs + ["--reference-dir", str(refs), "--tolerances", str(tol)]
    assert R.numeric_path(R.collect_metric_rows(csvs[1:], [])) == "1a2b3c4d"
    with pytest.raises(FileNotFoundError, match=r"no reference of profile 'smoke'.*make reference"):
        R.main(argv)
    assert R.main(argv + ["--update"]) == 0
    assert sorted(p.name for p in refs.iterdir()) == ["smoke.1a2b3c4d.csv"]
    capsys.readouterr()
    assert R.main(argv) == 0
    out = capsys.readouterr().out
    assert "no reference of this run" not in out
    assert out.startswith(f"regression check passed: 4 rows, all within tolerance of {refs}/smoke.1a2b3c4d.csv")


def test_another_numeric_path_is_checked_against_the_nearest_reference(tmp_path, capsys):
    """A run on a path with no file of its own: every committed reference of the profile is
    compared, the one that confirms the most current rows within tolerance is used (not one
    that lacks methods and so checks less), methods it lacks are listed as not checked; a moved
    value still fails."""
    tol = tmp_path / "tolerances.yaml"
    tol.write_text(TOL)
    run, refs = tmp_path / "run", tmp_path / "reference"
    rows = base_rows()
    write_run(run, rows)
    csvs = ["--metrics-csv", *map(str, sorted((run / "metrics").rglob("*.csv")))]
    argv = csvs + ["--reference-dir", str(refs), "--tolerances", str(tol)]
    assert R.main(argv + ["--update"]) == 0  # path 1a2b3c4d
    rows["cityscapes/pix2pix/seed0/label2photo.csv"][0]["value"] = 0.2  # far from path 1a2b3c4d
    write_run(run, _rehash(rows, "00000000"))
    assert R.main(argv + ["--update"]) == 0  # path 00000000
    (refs / "other.1a2b3c4d.csv").write_bytes((refs / "smoke.1a2b3c4d.csv").read_bytes())
    partial = pd.read_csv(refs / "smoke.1a2b3c4d.csv", dtype=str)  # exact but for one method
    partial[partial["method"] == "pix2pix"].to_csv(refs / "smoke.22222222.csv", index=False)
    rows = _rehash(base_rows(), "ffffffff")  # a third path, close to 1a2b3c4d's values
    rows["cityscapes/cut/seed0/label2photo.csv"] = [row("cut", 0, "per_pixel_acc", 0.4,
                                                        evaluator="small_fcn@ffffffff")]
    write_run(run, rows)
    csvs = ["--metrics-csv", *map(str, sorted((run / "metrics").rglob("*.csv")))]
    argv = csvs + ["--reference-dir", str(refs), "--tolerances", str(tol)]
    capsys.readouterr()
    assert R.main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("no reference of this run's numeric path ffffffff") and \
        "nearest of 3 other paths' references" in out[0] and "smoke.1a2b3c4d.csv" in out[0]
    assert out[1].startswith("NOT CHECKED: 1 rows of 1 method(s)") and "cityscapes/cut" in out[1]
    assert out[2].startswith("regression check passed: 4 rows")
    rows["cityscapes/cyclegan/seed0/label2photo.csv"][0]["value"] = 0.6  # moved on every path
    write_run(run, rows)
    capsys.readouterr()
    assert R.main(argv) == 1
    out = capsys.readouterr().out
    assert "FAILED against" in out and "smoke.1a2b3c4d.csv" in out and "1 moved" in out
    assert f"make reference   (it writes {refs}/smoke.ffffffff.csv" in out


def test_numeric_path_without_a_trained_evaluator_and_one_profile_per_check():
    from cyclebench.utils import cpu_path_tag

    rows = pd.DataFrame([row("cyclegan", 0, "per_pixel_acc", 0.5, evaluator="nearest-palette")])
    assert R.numeric_path(rows) == cpu_path_tag()
    rows = pd.DataFrame([row("a", 0, "per_pixel_acc", 0.5, evaluator="small_fcn@2"),
                         row("b", 0, "fid", 1.0, evaluator="evaluator-features@1"),
                         row("c", 0, "fid", 1.0, evaluator="evaluator-features@2")])
    assert R.numeric_path(rows) == "1-2"
    rows.loc[0, "profile"] = "default"
    with pytest.raises(ValueError, match="2 profiles.*one profile"):
        R.profile_of(rows)


def test_committed_references_are_named_by_a_numeric_path_their_rows_carry():
    """results/reference/<profile>.<path>.csv: the path is the hash of an evaluator its rows
    were measured with (a mistyped or stale name would never be chosen as exact)."""
    files = sorted((REPO / "results" / "reference").glob("*.csv"))
    assert files
    for path in files:
        profile, fingerprint = path.name[:-len(".csv")].split(".", 1)
        ref = R.load_reference(path)
        assert set(ref["profile"]) == {profile}, path
        hashes = {e.split("@", 1)[1] for e in ref["evaluator"] if "@" in e}
        assert set(fingerprint.split("-")) <= hashes, path


def test_changed_image_count_or_evaluator_kind_fails_but_weight_hash_does_not(setup, capsys):
    _, run, _, args = setup
    rows = base_rows()
    for r in rows["cityscapes/cyclegan/seed0/label2photo.csv"]:
        r["evaluator"] = r["evaluator"].replace("1a2b3c4d", "ffffffff")  # other weights hash
    write_run(run, rows)
    assert R.main(args()) == 0
    rows["cityscapes/pix2pix/seed0/label2photo.csv"][0]["n_images"] = 7
    rows["cityscapes/cyclegan/seed0/label2photo.csv"][2]["evaluator"] = "inception-v3-compat"
    write_run(run, rows)
    capsys.readouterr()
    assert R.main(args()) == 1
    out = capsys.readouterr().out
    assert "n_images 8 -> 7" in out and "evaluator-features@1a2b3c4d -> inception-v3-compat" in out


def test_nan_equals_nan_but_not_a_number(tmp_path):
    tol = R.Tolerances({"x": R.Tolerance(abs=0.1)})
    ref = pd.DataFrame([dict(profile="p", task="maps", direction="map2photo", method="m",
                             seed="0", metric="x", value=float("nan"), n_images=1,
                             evaluator="e", data_source="d", substitutes="none",
                             commit="c")])
    assert R.compare(ref, ref, tol).empty
    cur = ref.assign(value=0.5)
    assert list(R.compare(cur, ref, tol).status) == ["moved"]


def test_tolerance_file_errors_name_the_key(tmp_path, capsys):
    bad = tmp_path / "tol.yaml"
    bad.write_text("metrics:\n  fid: {abs: -1}\n")
    with pytest.raises(ValueError, match=r"metrics.fid.abs"):
        R.Tolerances.load(bad)
    bad.write_text("metrics:\n  fid: {absolute: 1}\n")
    with pytest.raises(ValueError, match=r"metrics.fid"):
        R.Tolerances.load(bad)
    tol = R.Tolerances.load(_write(tmp_path / "ok.yaml", TOL))
    assert tol.for_metric("iou/sidewalk").abs == 0.1
    with pytest.raises(KeyError, match="kid_mean.*no tolerance"):
        tol.for_metric("kid_mean")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_metric_without_tolerance_or_absent_reference_cannot_run(setup, capsys):
    tmp, run, ref, args = setup
    write_run(run, {"maps/cyclegan/seed0/map2photo.csv": [
        row("cyclegan", 0, "kid_mean", 0.1, task="maps", direction="map2photo")]})
    from cyclebench import cli

    with pytest.raises(ValueError, match="kid_mean.*no tolerance"):
        R.main(args())
    capsys.readouterr()
    assert cli.main(["regress", *args()]) == 2  # one line through `cyclebench`, exit 2
    err = capsys.readouterr().err
    assert "kid_mean" in err and err.startswith("cyclebench regress: error:")
    (run / "metrics" / "maps" / "cyclegan" / "seed0" / "map2photo.csv").unlink()
    ref.unlink()
    with pytest.raises(FileNotFoundError, match="--update"):
        R.main(args())


def test_committed_tolerances_cover_every_metric_name():
    tol = R.Tolerances.load(REPO / "results" / "reference" / "tolerances.yaml")
    for metric in ["per_pixel_acc", "per_class_acc", "class_iou", "per_class_acc_present",
                   "class_iou_present", "iou/road", "iou/bicycle", "fid", "kid_mean", "kid_std"]:
        t = tol.for_metric(metric)
        assert t.abs > 0
    # tight enough to catch a real regression of the segmentation scores
    assert tol.for_metric("per_pixel_acc").allowed(0.5) < 0.05
    assert tol.for_metric("class_iou").allowed(0.2) < 0.05


def test_reference_has_substitutes_and_a_change_of_them_fails(setup, capsys):
    _, run, ref, args = setup
    df = pd.read_csv(ref, keep_default_na=False)
    assert R.REFERENCE_COLUMNS.index("substitutes") == R.REFERENCE_COLUMNS.index("data_source") + 1
    assert set(df.substitutes) == {"none"}
    rows = base_rows()
    for r in rows["cityscapes/cyclegan/seed0/label2photo.csv"]:
        r["substitutes"] = "feature_extractor=vgg16-random-init"  # same values, other setting
    write_run(run, rows)
    capsys.readouterr()
    assert R.main(args()) == 1
    out = capsys.readouterr().out
    assert "3 changed" in out
    assert "substitutes none -> feature_extractor=vgg16-random-init" in out
    assert R.main(args() + ["--update"]) == 0  # accepted: the reference now names it
    df = pd.read_csv(ref, keep_default_na=False)
    assert set(df[df.method == "cyclegan"].substitutes) == {"feature_extractor=vgg16-random-init"}
    capsys.readouterr()
    assert R.main(args()) == 0


def test_only_the_listed_csvs_are_checked(setup, capsys):
    """A metric CSV left on disk by a dropped method is not read: only the listed files are."""
    _, run, _, args = setup
    listed = args()
    write_run(run, {"cityscapes/cogan/seed0/label2photo.csv": [row("cogan", 0, "per_pixel_acc", 0.4)]})
    capsys.readouterr()
    assert R.main(listed) == 0  # the stale cogan file is not among the listed ones
    assert R.main(args()) == 1 and "1 new" in capsys.readouterr().out
    # a dropped method's rows no longer listed: reported missing
    dropped = [a for a in listed if "pix2pix" not in a]
    assert R.main(dropped) == 1 and "1 missing" in capsys.readouterr().out


def test_unregistered_metric_is_an_error(setup):
    _, run, _, args = setup
    write_run(run, {"cityscapes/cyclegan/seed1/label2photo.csv": [
        row("cyclegan", 1, "sharpness", 0.4)]})
    with pytest.raises(ValueError, match="unknown metric 'sharpness'"):
        R.main(args())
