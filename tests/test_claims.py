"""The paper's claims: resampled scores, bootstrap intervals and verdicts with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from cyclebench.cli import main
from cyclebench.config import ClaimsConfig, ConfigError
from cyclebench.eval import resample
from cyclebench.eval.claims import (CLAIMS_FILE, bootstrap_difference, claim_verdict, evaluate,
                                    load_claims, summary, verdict)
from cyclebench.eval.rows import write_rows
from cyclebench.eval.score import read_stats, write_stats
from cyclebench.eval.seg_metrics import confusion_matrix, scores_from_counts

CFG = ClaimsConfig(profile="t", bootstrap=2000, confidence=0.95, seed=0)


# --- resampled scores equal the pipeline's scores ------------------------------------------
def test_segmentation_scores_of_all_ones_weights_are_the_official_scores():
    rng = np.random.default_rng(0)
    counts = np.stack([confusion_matrix(rng.integers(0, 19, (8, 8)), rng.integers(0, 21, (8, 8)))
                       for _ in range(6)])
    want = scores_from_counts(counts.sum(0))
    got = resample.seg_scores(counts, np.ones((1, 6)))
    for name in ("per_pixel_acc", "per_class_acc", "class_iou"):
        assert got[name][0] == pytest.approx(getattr(want, name), rel=1e-12)
    # a resample = the scores of the multiset of images it draws
    w = np.array([[2, 0, 1, 0, 3, 0]])
    again = scores_from_counts(2 * counts[0] + counts[2] + 3 * counts[4])
    assert resample.seg_scores(counts, w)["class_iou"][0] == pytest.approx(again.class_iou)


def test_fid_and_kid_of_all_ones_weights_match_torch_fidelity():
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric

    rng = np.random.default_rng(1)
    gen, real = rng.normal(0, 1, (20, 7)), rng.normal(0.5, 1.2, (20, 7))
    ones = np.ones((1, 20))
    want = fid_statistics_to_metric(fid_features_to_statistics(torch.from_numpy(gen)),
                                    fid_features_to_statistics(torch.from_numpy(real)), False)
    assert resample.fid(gen, real, ones)[0] == pytest.approx(
        want["frechet_inception_distance"], rel=1e-6)
    # wider than the sample count (as Inception's 2048 features on a small val set)
    wide_g, wide_r = rng.normal(0, 1, (12, 40)), rng.normal(0.2, 1, (12, 40))
    want = fid_statistics_to_metric(fid_features_to_statistics(torch.from_numpy(wide_g)),
                                    fid_features_to_statistics(torch.from_numpy(wide_r)), False)
    assert resample.fid(wide_g, wide_r, np.ones((1, 12)))[0] == pytest.approx(
        want["frechet_inception_distance"], rel=1e-6)
    kid = kid_features_to_metric(torch.from_numpy(gen), torch.from_numpy(real),
                                 kid_subset_size=20, kid_subsets=3, verbose=False)
    assert resample.kid(gen, real, ones)[0] == pytest.approx(
        kid["kernel_inception_distance_mean"], rel=1e-9)


def test_a_resample_is_the_multiset_it_draws():
    """FID of a resample = FID of the images it draws (duplicates included); KID pairs only
    distinct images, so a duplicated image is never compared with itself."""
    rng = np.random.default_rng(2)
    gen, real = rng.normal(0, 1, (5, 3)), rng.normal(1, 1, (5, 3))
    w = np.array([[2, 0, 1, 1, 1]])
    idx = np.array([0, 0, 2, 3, 4])
    assert resample.fid(gen, real, w)[0] == pytest.approx(
        resample.fid(gen[idx], real[idx], np.ones((1, 5)))[0], rel=1e-9)

    def k(a, b):
        return (a @ b / 3 + 1.0) ** 3

    distinct = [(p, q) for p in range(5) for q in range(5) if idx[p] != idx[q]]
    want = (np.mean([k(gen[idx[p]], gen[idx[q]]) for p, q in distinct])
            + np.mean([k(real[idx[p]], real[idx[q]]) for p, q in distinct])
            - 2 * np.mean([k(gen[idx[p]], real[idx[q]]) for p in range(5) for q in range(5)]))
    assert resample.kid(gen, real, w)[0] == pytest.approx(want, rel=1e-12)


# --- bootstrap and verdicts ----------------------------------------------------------------
def _seg_stats(correct: np.ndarray, pixels: int = 100) -> dict:
    """Per-image confusion counts of a 2-class toy: ``correct[i]`` of ``pixels`` right."""
    counts = np.zeros((len(correct), 19, 20))
    counts[:, 0, 0] = correct
    counts[:, 0, 1] = pixels - correct
    return {"seg_counts": counts, "seg_names": np.array([f"{i:03d}.png" for i in range(len(correct))])}


def test_bootstrap_interval_of_a_known_difference():
    """Per-image accuracy differences with mean 0.1 and sd 0.05 over 400 images: the 95 %
    interval of the mean difference is 0.1 +- 1.96 * 0.05 / sqrt(400) = 0.1 +- 0.0049."""
    rng = np.random.default_rng(3)
    n = 400
    d = rng.normal(0, 1, n)
    d = 0.1 + 0.05 * (d - d.mean()) / d.std()
    a, b = _seg_stats(1000 * (0.5 + d), 1000), _seg_stats(np.full(n, 500.0), 1000)
    estimate, reps = bootstrap_difference([a], [b], "per_pixel_acc", 4000,
                                          np.random.default_rng(0))
    lo, hi = np.quantile(reps, [0.025, 0.975])
    half = 1.96 * 0.05 / math.sqrt(n)
    assert estimate == pytest.approx(0.1, abs=1e-12) and reps.mean() == pytest.approx(0.1)
    assert lo == pytest.approx(0.1 - half, abs=0.1 * half + 2e-4)
    assert hi == pytest.approx(0.1 + half, abs=0.1 * half + 2e-4)


def test_bootstrap_resamples_seeds_too():
    """Two seeds whose differences are +0.2 and 0.0 (no image noise): replicates are means of
    two draws with replacement, i.e. 0.0, 0.1 or 0.2 with probabilities 1/4, 1/2, 1/4."""
    n = 10
    a = [_seg_stats(np.full(n, 70.0)), _seg_stats(np.full(n, 50.0))]
    b = [_seg_stats(np.full(n, 50.0)), _seg_stats(np.full(n, 50.0))]
    estimate, reps = bootstrap_difference(a, b, "per_pixel_acc", 4000, np.random.default_rng(1))
    assert estimate == pytest.approx(0.1)
    # centring moves the replicates by |mean - 0.1| (about 0.001 here), not between the values
    values, counts = np.unique(np.round(reps, 2), return_counts=True)
    assert values.tolist() == [0.0, 0.1, 0.2]
    assert counts / counts.sum() == pytest.approx([0.25, 0.5, 0.25], abs=0.03)


def test_images_are_shared_by_the_seeds_of_a_replicate():
    """Seeds and val images are crossed: an image effect common to every seed (here the
    methods differ on the first half of the images only, identically for both seeds) must
    keep its full variance, as with one seed, not shrink as if each seed had its own images."""
    n = 40
    better = np.r_[np.full(n // 2, 90.0), np.full(n // 2, 50.0)]
    worse = np.full(n, 50.0)
    one = bootstrap_difference([_seg_stats(better)], [_seg_stats(worse)], "per_pixel_acc",
                               4000, np.random.default_rng(2))[1]
    three = bootstrap_difference([_seg_stats(better)] * 3, [_seg_stats(worse)] * 3,
                                 "per_pixel_acc", 4000, np.random.default_rng(2))[1]
    assert three.std() == pytest.approx(one.std(), rel=0.05)


def test_interval_is_centred_on_the_full_set_difference_despite_resampling_bias():
    """FID of a resample is biased upwards (fewer distinct images); the interval is centred on
    the full-set difference, so it contains the reported estimate."""
    rng = np.random.default_rng(3)
    n, d = 30, 6
    real = rng.normal(0, 1, (n, d))
    a = {"gen_features": real + rng.normal(0, 0.3, (n, d)), "real_features": real,
         "feature_names": np.array([f"{i}" for i in range(n)])}
    b = {"gen_features": real * 1.5 + rng.normal(0, 0.8, (n, d)), "real_features": real,
         "feature_names": a["feature_names"]}
    estimate, reps = bootstrap_difference([a], [b], "fid", 1000, np.random.default_rng(4))
    full = resample.fid(a["gen_features"], real, np.ones((1, n)))[0] \
        - resample.fid(b["gen_features"], real, np.ones((1, n)))[0]
    assert estimate == pytest.approx(full)
    lo, hi = np.quantile(reps, [0.025, 0.975])
    assert lo < estimate < hi and reps.mean() == pytest.approx(estimate)


def test_verdicts():
    assert verdict(0.01, 0.2, higher=True) == "reproduced"
    assert verdict(-0.2, -0.01, higher=True) == "contradicted"
    assert verdict(-0.1, 0.1, higher=True) == "inconclusive"
    # FID: lower is better, so a negative difference (better - worse) is the paper's side
    assert verdict(-5.0, -1.0, higher=False) == "reproduced"
    assert verdict(1.0, 5.0, higher=False) == "contradicted"
    assert verdict(math.nan, math.nan, higher=True) == "not run"
    assert claim_verdict(["reproduced", "reproduced"]) == "reproduced"
    assert claim_verdict(["reproduced", "inconclusive"]) == "inconclusive"
    assert claim_verdict(["reproduced", "contradicted", "inconclusive"]) == "contradicted"
    assert claim_verdict(["not run", "not run"]) == "not run"
    assert claim_verdict(["reproduced", "not run"]) == "inconclusive"


# --- the claims file -------------------------------------------------------------------------
def test_the_paper_claims_file():
    claims = {c.id: c for c in load_claims()}
    assert list(claims) == ["T1", "T2", "T3", "T2p", "T3p", "A1", "A2", "A3", "X1"]
    assert len(claims["T1"].comparisons) == 4 * 2 * 2  # baselines x directions x (FID, KID)
    assert {(c.better, c.worse, c.direction) for c in claims["A3"].comparisons} == {
        ("cyclegan", "gan_forward", "photo2label"), ("cyclegan", "gan_backward", "label2photo")}
    paper = [c for c in claims.values() if c.origin == "paper"]
    assert len(paper) == 8 and all("Zhu et al. 2017" in c.source for c in paper)
    # the extra claim: the CUT paper's, on the extra row, sourced to that paper
    x1 = claims["X1"]
    assert x1.origin == "extra" and "Park" in x1.source and "CUT" in x1.source
    assert {(c.better, c.worse, c.direction, c.metric) for c in x1.comparisons} == {
        ("cut", "cyclegan", "label2photo", m)
        for m in ("per_pixel_acc", "per_class_acc", "class_iou", "fid")}


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["claims"][0]["comparisons"][0].update(better="cyclegann"), "cyclegann"),
    (lambda c: c["claims"][1].update(metrics=["per_pixel_accuracy"]), "per_pixel_accuracy"),
    (lambda c: c["claims"][1]["comparisons"][0].update(directions=["map2photo"]), "map2photo"),
    (lambda c: c["claims"][2].update(id="T2"), "duplicate"),
    (lambda c: c["claims"][0].pop("source"), "source"),
    (lambda c: c["claims"][0].update(metrics=["per_pixel_acc"]), "not scored on maps"),
    (lambda c: c["claims"][0].update(extra="yes"), "'extra' must be true or false"),
])
def test_a_bad_claims_file_fails_naming_the_culprit(tmp_path, mutate, message):
    data = yaml.safe_load(CLAIMS_FILE.read_text())
    mutate(data)
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=message):
        load_claims(path)


# --- evaluation from exactly the given files ------------------------------------------------
def _run(tmp_path, method, seed, correct):
    """A photo2label score of ``method``: metric rows and per-image statistics."""
    stats = _seg_stats(np.asarray(correct, float))
    acc = resample.seg_scores(stats["seg_counts"], np.ones((1, len(correct))))
    keys = {"profile": "t", "task": "cityscapes", "direction": "photo2label", "method": method,
            "seed": seed}
    rows = [dict(keys, split="val", metric=m, value=float(acc[m][0]), n_images=len(correct),
                 evaluator="nearest-palette", data_source="synthetic-cityscapes",
                 substitutes="none", commit="x") for m in acc]
    csv = tmp_path / f"{method}-{seed}.csv"
    write_rows(csv, rows)
    npz = write_stats(tmp_path / f"{method}-{seed}.npz", keys, stats)
    return csv, npz


def test_claims_from_exactly_the_given_files(tmp_path):
    rng = np.random.default_rng(4)
    files = {}
    for seed in (0, 1):
        files[("cyclegan", seed)] = _run(tmp_path, "cyclegan", seed, 60 + rng.integers(0, 5, 30))
        files[("pix2pix", seed)] = _run(tmp_path, "pix2pix", seed, 80 + rng.integers(0, 5, 30))
        files[("gan_forward", seed)] = _run(tmp_path, "gan_forward", seed,
                                            40 + rng.integers(0, 5, 30))
    from cyclebench.eval.table_build import collect_metric_rows

    csvs = [c for c, _ in files.values()]
    stats = [read_stats(s) for _, s in files.values()]
    table = evaluate(load_claims(), collect_metric_rows(csvs), stats, CFG)
    comp = table[table["level"] == "comparison"].set_index(["claim", "comparison", "metric"])
    row = comp.loc[("T3p", "pix2pix > cyclegan", "per_pixel_acc")]
    assert row["verdict"] == "reproduced" and row["n_seeds"] == 2 and row["n_images"] == 30
    assert row["ci_low"] < row["difference"] < row["ci_high"]
    assert comp.loc[("A3", "cyclegan > gan_forward", "per_pixel_acc"), "verdict"] == "reproduced"
    # label2photo, the baselines and the maps task were not given: not run, never invented
    assert comp.loc[("A3", "cyclegan > gan_backward", "class_iou"), "verdict"] == "not run"
    claims = table[table["level"] == "claim"].set_index("claim")["verdict"]
    assert claims["T3p"] == "reproduced" and claims["T1"] == "not run"
    assert claims["A3"] == "inconclusive"  # one comparison reproduced, one not run
    assert summary(table).startswith("1 of 8 claims reproduced, 0 contradicted")
    # the extra claim is counted apart, never in the paper's eight
    assert summary(table).endswith("; 0 of 1 extra claims reproduced, 0 contradicted (1 not run)")
    assert claims["X1"] == "not run"
    assert set(table.loc[table["claim"] == "X1", "origin"]) == {"extra"}
    assert set(table.loc[table["claim"] != "X1", "origin"]) == {"paper"}
    # a file that is not given does not count, even if it exists on disk
    only = [s for (m, _), (_, s) in files.items() if m != "pix2pix"]
    again = evaluate(load_claims(), collect_metric_rows(csvs), [read_stats(s) for s in only], CFG)
    assert again.set_index(["claim", "comparison", "metric"]).loc[
        ("T3p", "pix2pix > cyclegan", "per_pixel_acc"), "verdict"] == "not run"
    # deterministic: the same inputs give the same intervals
    pd.testing.assert_frame_equal(table, evaluate(load_claims(), collect_metric_rows(csvs),
                                                  stats, CFG))


def test_cli_writes_the_tables_and_the_figure(tmp_path, capsys):
    rng = np.random.default_rng(5)
    inputs = [_run(tmp_path, m, 0, base + rng.integers(0, 5, 20))
              for m, base in (("cyclegan", 60), ("pix2pix", 50))]
    out = tmp_path / "tables"
    rc = main(["claims", "--config-json", CFG.replace(bootstrap=200).to_json(),
               "--metrics-csv", *[str(c) for c, _ in inputs],
               "--stats", *[str(s) for _, s in inputs],
               "--out-dir", str(out), "--figure", str(tmp_path / "claims.png")])
    assert rc == 0
    assert "0 of 8 claims reproduced, 1 contradicted" in capsys.readouterr().out
    table = pd.read_csv(out / "claims.csv")
    assert table.loc[(table["level"] == "claim") & (table["claim"] == "T3p"),
                     "verdict"].item() == "contradicted"
    assert "0 of 8 claims reproduced" in (out / "claims.md").read_text()
    assert "<h3>Comparisons</h3>" in (out / "claims.html").read_text()
    assert (tmp_path / "claims.png").stat().st_size > 1000
    # a corrupt statistics file is one line naming it
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    rc = main(["claims", "--config-json", CFG.to_json(), "--metrics-csv", str(inputs[0][0]),
               "--stats", str(bad), "--out-dir", str(out), "--figure", str(tmp_path / "c.png")])
    assert rc == 2 and "bad.npz" in capsys.readouterr().err
