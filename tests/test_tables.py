"""eval/table_build.py, table_render.py, tables.py: seed statistics, the paper join, rank
agreement, missing rows, the CLI (explicit metric CSVs)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cyclebench.eval import table_build as B
from cyclebench.eval import table_render as RD
from cyclebench.eval import table_specs as S
from cyclebench.eval import tables as T
from cyclebench.eval.rows import write_rows

PAPER = B.load_paper()
# the rows of Tables 1-3, in the paper's order (groups baseline, proposed, paired)
PAPER_METHODS = ("cogan", "bigan", "simgan", "feature_gan", "cyclegan", "pix2pix")


def row(task, direction, method, seed, metric, value, *, profile="fab",
        evaluator="small_fcn@1a2b3c4d", source="synthetic-cityscapes", n_images=8,
        substitutes="none"):
    return dict(profile=profile, task=task, direction=direction, method=method, seed=seed,
                split="val", metric=metric, value=value, n_images=n_images,
                evaluator=evaluator, data_source=source, substitutes=substitutes,
                commit="abc123")


def paper_value(table, direction, method, metric):
    sel = PAPER[(PAPER.table == table) & (PAPER.direction == direction) &
                (PAPER.method == method) & (PAPER.metric == metric)]
    return float(sel.value.iloc[0])


def df(rows):
    return pd.DataFrame(rows)


def test_paper_csv_is_the_shared_copy_and_loads_without_shared_dir():
    assert B.PAPER_CSV.is_file() and B.PAPER_CSV.parent.name == "data"
    # 76 method rows of Tables 1-5 + the 3 published Ground-truth values of Table 2
    # (eval/data/README.md)
    assert len(PAPER) == 76 + 3
    assert paper_value(2, "label2photo", "cyclegan", "per_pixel_acc") == 0.52
    gt = PAPER[PAPER.method == "ground_truth"]
    assert set(zip(gt.table, gt.direction)) == {(2, "label2photo")}
    assert dict(zip(gt.metric, gt.value)) == {"per_pixel_acc": 0.80, "per_class_acc": 0.26,
                                              "class_iou": 0.21}
    shared = Path("/work/shared/paper/paper_tables.csv")
    if shared.exists():  # the shipped copy must not drift from the paper's numbers
        shipped = B.PAPER_CSV.read_text()
        assert shipped.startswith(shared.read_text())
        extra = shipped[len(shared.read_text()):].splitlines()
        assert len(extra) == 3 and all(",ground_truth," in line for line in extra)


def test_mean_std_over_seeds_paper_join_and_difference():
    rows = [row("cityscapes", "label2photo", "cyclegan", s, "per_pixel_acc", v)
            for s, v in [(0, 0.4), (1, 0.5), (2, 0.6)]]
    out = B.build_tables(df(rows), PAPER, "fab")
    t2 = out["table2"]
    r = t2[(t2.method == "cyclegan") & (t2.metric == "per_pixel_acc")].iloc[0]
    assert r.reproduced_mean == pytest.approx(0.5)
    assert r.reproduced_std == pytest.approx(0.1)  # sample std, ddof=1
    assert r.n_seeds == 3 and r.seeds == "0;1;2"
    assert r.paper == 0.52 and r["diff"] == pytest.approx(0.5 - 0.52)
    assert r.method_name == "CycleGAN (ours)"
    assert r.evaluator == "small_fcn@1a2b3c4d" and r.data_source == "synthetic-cityscapes"
    assert r.profile == "fab" and r.n_images == "8"
    # the same run is also CycleGAN's row in the ablation table 4
    t4 = out["table4"]
    r4 = t4[(t4.method == "cyclegan") & (t4.metric == "per_pixel_acc")].iloc[0]
    assert r4.reproduced_mean == pytest.approx(0.5) and r4.paper == 0.52


def test_single_seed_has_nan_std_not_zero():
    out = B.build_tables(df([row("cityscapes", "photo2label", "cogan", 0, "class_iou", 0.1)]),
                         PAPER, "fab")
    r = out["table3"].query("method == 'cogan' and metric == 'class_iou'").iloc[0]
    assert r.reproduced_mean == pytest.approx(0.1) and math.isnan(r.reproduced_std)
    assert r.n_seeds == 1 and r.paper == 0.08


def test_missing_methods_are_nan_never_invented():
    rows = [row("cityscapes", "label2photo", m, 0, "per_pixel_acc", 0.3)
            for m in ["cogan", "cyclegan"]]
    t2 = B.build_tables(df(rows), PAPER, "fab")["table2"]
    assert set(t2.method) == set(PAPER_METHODS) | {"ground_truth"}
    gone = t2[(t2.method == "bigan") & (t2.metric == "per_pixel_acc")].iloc[0]
    assert math.isnan(gone.reproduced_mean) and math.isnan(gone["diff"])
    assert gone.n_seeds == 0 and "missing" in gone.note
    assert gone.paper == 0.19  # the paper's value is still shown beside the gap
    cap = RD.caption(S.TABLES["table2"], t2)
    assert "BiGAN/ALI (per_pixel_acc" in cap


def test_ground_truth_row_from_evaluator_with_papers_value():
    rows = [row("cityscapes", "label2photo", "ground_truth", 0, m, v)
            for m, v in [("per_pixel_acc", 0.7), ("per_class_acc", 0.3), ("class_iou", 0.2)]]
    out = B.build_tables(df(rows), PAPER, "fab")
    gt = out["table2"][out["table2"].method == "ground_truth"].set_index("metric")
    assert gt.at["per_pixel_acc", "reproduced_mean"] == pytest.approx(0.7)
    assert gt.at["per_pixel_acc", "paper"] == 0.80
    assert gt.at["class_iou", "diff"] == pytest.approx(0.2 - 0.21)
    assert gt.at["per_pixel_acc", "method_name"] == "Ground truth"
    # not a method: excluded from the ranking
    assert "ground_truth" not in ",".join(out["agreement"]["methods"])


def test_table1_keeps_paper_amt_beside_fid_kid():
    rows = [row("maps", "map2photo", "cyclegan", 0, "fid", 50.0, evaluator="inception-v3-compat",
                source="synthetic-maps")]
    t1 = B.build_tables(df(rows), PAPER, "fab")["table1"]
    assert set(t1.direction) == {"map2photo", "photo2map"}
    assert set(t1.method) == set(PAPER_METHODS)
    amt = t1[(t1.metric == "amt_real_pct") & (t1.method == "cyclegan")].set_index("direction")
    assert amt.at["map2photo", "paper"] == 26.8 and amt.at["map2photo", "paper_plus_minus"] == 2.8
    assert math.isnan(amt.at["map2photo", "reproduced_mean"])
    assert "paper only" in amt.at["map2photo", "note"]
    fid = t1[(t1.metric == "fid") & (t1.method == "cyclegan") & (t1.direction == "map2photo")]
    assert fid.reproduced_mean.iloc[0] == 50.0 and math.isnan(fid.paper.iloc[0])
    assert not fid.higher_is_better.iloc[0]
    w = RD.wide(S.TABLES["table1"], t1)
    assert "map2photo: AMT % labelled real (paper)" in w.columns
    assert "map2photo: FID" in w.columns
    assert "Mechanical Turk" in RD.caption(S.TABLES["table1"], t1)


def _rows_in_order(direction, metric, methods, values, table_task="cityscapes"):
    return [row(table_task, direction, m, 0, metric, v) for m, v in zip(methods, values)]


def test_rank_agreement_known_orderings():
    methods = list(PAPER_METHODS)
    paper = [paper_value(2, "label2photo", m, "per_pixel_acc") for m in methods]
    # identical ordering (different values) -> rho = tau = 1; reversed -> -1
    same = _rows_in_order("label2photo", "per_pixel_acc", methods, [p / 2 for p in paper])
    rev = _rows_in_order("label2photo", "per_class_acc", methods,
                         [-paper_value(2, "label2photo", m, "per_class_acc") + 1 for m in methods])
    ag = B.build_tables(df(same + rev), PAPER, "fab")["agreement"]
    a2 = ag[ag.table == "table2"].set_index("metric")
    assert a2.at["per_pixel_acc", "spearman"] == pytest.approx(1.0)
    assert a2.at["per_pixel_acc", "kendall"] == pytest.approx(1.0)
    assert a2.at["per_pixel_acc", "n_methods"] == 6
    assert a2.at["per_pixel_acc", "mean_abs_diff"] == pytest.approx(np.mean([p / 2 for p in paper]))
    # the paper has a tie in per-class acc (CoGAN = SimGAN = 0.10): reversed values give -1 for
    # Spearman, and tau-b = -1 as well (ties in both rankings at the same pair)
    assert a2.at["per_class_acc", "spearman"] == pytest.approx(-1.0)
    assert a2.at["per_class_acc", "kendall"] == pytest.approx(-1.0)
    assert math.isnan(a2.at["class_iou", "spearman"]) and a2.at["class_iou", "n_methods"] == 0
    assert a2.at["all", "spearman"] == pytest.approx(0.0)  # mean of +1 and -1


def test_table1_rank_agreement_orients_fid_against_amt():
    methods = ["cogan", "bigan", "simgan", "feature_gan", "cyclegan"]
    amt = [paper_value(1, "map2photo", m, "amt_real_pct") for m in methods]
    # lower FID for methods Turkers found more real -> perfect agreement
    rows = [row("maps", "map2photo", m, 0, "fid", 100 - a, source="synthetic-maps")
            for m, a in zip(methods, amt)]
    ag = B.build_tables(df(rows), PAPER, "fab")["agreement"]
    r = ag[(ag.table == "table1") & (ag.direction == "map2photo") & (ag.metric == "fid")].iloc[0]
    assert r.paper_metric == "amt_real_pct"
    assert r.spearman == pytest.approx(1.0) and r.kendall == pytest.approx(1.0)
    assert math.isnan(r.mean_abs_diff)  # different units: no absolute difference


def test_rank_functions_match_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.integers(0, 4, 7).astype(float)
        b = rng.integers(0, 4, 7).astype(float)
        rho_ref = stats.spearmanr(a, b).statistic
        tau_ref = stats.kendalltau(a, b).statistic
        rho, tau = B.spearman(a, b), B.kendall_tau_b(a, b)
        if np.isnan(rho_ref):
            assert np.isnan(rho)
        else:
            assert rho == pytest.approx(rho_ref)
        if np.isnan(tau_ref):
            assert np.isnan(tau)
        else:
            assert tau == pytest.approx(tau_ref)
    assert B.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1)
    assert B.kendall_tau_b([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert math.isnan(B.spearman([1.0], [2.0]))


def test_rows_of_another_profile_are_rejected():
    with pytest.raises(ValueError, match="profile.*'other'"):
        B.build_tables(df([row("maps", "map2photo", "cyclegan", 0, "fid", 1.0, profile="other")]),
                       PAPER, "fab")


def _write_fixture(root: Path, profile="fab"):
    for m, v in [("cyclegan", 0.5), ("pix2pix", 0.7)]:
        for s in (0, 1):
            write_rows(root / "metrics" / "cityscapes" / m / f"seed{s}" / "label2photo.csv",
                       [row("cityscapes", "label2photo", m, s, "per_pixel_acc", v + 0.01 * s,
                            profile=profile),
                        row("cityscapes", "label2photo", m, s, "fid", 30.0 + s, profile=profile,
                            evaluator="evaluator-features@1a2b3c4d")])
    gt = root / "evaluator" / "cityscapes" / "ground_truth.csv"
    write_rows(gt, [row("cityscapes", "label2photo", "ground_truth", 0, "per_pixel_acc", 0.75,
                        profile=profile)])
    return gt


def _metric_args(root: Path) -> list[str]:
    """``--metrics-csv F ...`` of every metric CSV under ``root/metrics`` (what the rule lists)."""
    return ["--metrics-csv", *map(str, sorted((root / "metrics").rglob("*.csv")))]


def test_cli_writes_all_tables_atomically_with_captions(tmp_path):
    gt = _write_fixture(tmp_path)
    out = tmp_path / "tables"
    rc = T.main([*_metric_args(tmp_path), "--evaluator-csv", str(gt),
                 "--profile", "fab", "--out-dir", str(out)])
    assert rc == 0
    for name in ["table1", "table2", "table3", "table4", "table5", "agreement"]:
        for ext in ("csv", "md", "html"):
            assert (out / f"{name}.{ext}").stat().st_size > 0
    assert not list(out.glob(".*.tmp"))
    t2 = pd.read_csv(out / "table2.csv")
    assert list(t2.columns) == B.TABLE_COLUMNS
    r = t2[(t2.method == "pix2pix") & (t2.metric == "per_pixel_acc")].iloc[0]
    assert r.reproduced_mean == pytest.approx(0.705) and r.paper == 0.71
    md = (out / "table2.md").read_text()
    assert "Profile: fab" in md and "synthetic-cityscapes" in md
    assert "small_fcn@1a2b3c4d" in md and "evaluator-features@1a2b3c4d" in md
    assert "0.705 ± 0.007" in md and "| Ground truth | 0.750 | 0.800 |" in md
    # maps rows are entirely absent: table 1 is still written, with a clear note
    t1md = (out / "table1.md").read_text()
    assert "NOTE: no metric rows were found" in t1md
    t1 = pd.read_csv(out / "table1.csv")
    assert t1.reproduced_mean.isna().all() and len(t1) == 2 * 6 * 4


def test_cli_with_no_rows_at_all_writes_every_table(tmp_path):
    out = tmp_path / "tables"
    assert T.main(["--profile", "fab", "--out-dir", str(out)]) == 0
    for name in S.TABLES:
        assert "NOTE: no metric rows were found" in (out / f"{name}.md").read_text()
    ag = pd.read_csv(out / "agreement.csv")
    assert ag.spearman.isna().all()
    assert "no reproduced values" in (out / "agreement.md").read_text()


def test_cli_rejects_inconsistent_inputs(tmp_path, capsys):
    from cyclebench import cli

    _write_fixture(tmp_path)
    # a metric CSV mixing two runs/directions (rows carry their keys; one file = one run)
    bad = tmp_path / "mixed.csv"
    write_rows(bad, [row("cityscapes", "label2photo", "cyclegan", 5, "class_iou", 0.1),
                     row("cityscapes", "photo2label", "cyclegan", 5, "class_iou", 0.1)])
    with pytest.raises(ValueError, match=r"mixed.csv: column 'direction'.*one run"):
        T.main(["--metrics-csv", str(bad), "--profile", "fab", "--out-dir", str(tmp_path / "t")])
    # through `cyclebench`: one line, exit 2
    rc = cli.main(["tables", "--metrics-csv", str(tmp_path / "nope.csv"), "--profile", "fab",
                   "--out-dir", str(tmp_path / "t")])
    err = capsys.readouterr().err
    assert rc == 2 and "nope.csv does not exist" in err and "Traceback" not in err
    assert err.startswith("cyclebench tables: error:")


def test_duplicate_rows_are_an_error(tmp_path):
    _write_fixture(tmp_path)
    dup = tmp_path / "extra.csv"
    write_rows(dup, [row("cityscapes", "label2photo", "cyclegan", 0, "fid", 1.0)])
    listed = sorted((tmp_path / "metrics").rglob("*.csv"))
    with pytest.raises(ValueError, match="duplicate metric rows.*extra.csv"):
        B.collect_metric_rows(listed + [dup])
    with pytest.raises(ValueError, match="duplicate metric rows"):  # the same file twice
        B.collect_metric_rows(listed + listed[:1])


RANDOM_VGG = "feature_extractor=vgg16-random-init"


def test_substitutes_column_in_every_table_and_caption():
    rows = [row("cityscapes", "label2photo", "feature_gan", s, "per_pixel_acc", 0.3 + 0.1 * s,
                substitutes=RANDOM_VGG) for s in (0, 1)]
    rows += [row("cityscapes", "label2photo", m, 0, "per_pixel_acc", 0.5)
             for m in ("cyclegan", "cogan")]
    rows += [row("maps", "map2photo", "feature_gan", 0, "fid", 60.0, source="synthetic-maps",
                 evaluator="inception-v3-compat", substitutes=RANDOM_VGG)]
    out = B.build_tables(df(rows), PAPER, "fab")
    for name, t in out.items():
        assert "substitutes" in t.columns, name
    t2 = out["table2"].set_index(["method", "metric"])
    assert t2.at[("feature_gan", "per_pixel_acc"), "substitutes"] == RANDOM_VGG
    assert t2.at[("cyclegan", "per_pixel_acc"), "substitutes"] == "none"
    assert t2.at[("bigan", "per_pixel_acc"), "substitutes"] == ""  # no rows: nothing claimed
    assert list(out["table2"].columns) == B.TABLE_COLUMNS
    assert B.TABLE_COLUMNS.index("substitutes") == B.TABLE_COLUMNS.index("data_source") + 1
    cap = RD.caption(S.TABLES["table2"], out["table2"])
    assert f"Feature loss + GAN: {RANDOM_VGG} (in place of the paper's ImageNet-trained VGG-16" \
        in cap
    assert "CycleGAN (ours): " not in cap  # the paper's setting is not listed as a substitute
    t1 = out["table1"]
    r1 = t1[(t1.method == "feature_gan") & (t1.metric == "fid") & (t1.direction == "map2photo")]
    assert r1.substitutes.iloc[0] == RANDOM_VGG
    assert RANDOM_VGG in RD.caption(S.TABLES["table1"], t1)
    # table 4 (ablations) has no feature_gan: no substitute in its caption
    assert "vgg16" not in RD.caption(S.TABLES["table4"], out["table4"])
    ag = out["agreement"]

    def agreed(table, metric):
        return ag[(ag.table == table) & (ag.metric == metric)].substitutes.iloc[0]

    assert agreed("table2", "per_pixel_acc") == f"feature_gan:{RANDOM_VGG}"
    assert agreed("table2", "all") == f"feature_gan:{RANDOM_VGG}"
    assert agreed("table4", "per_pixel_acc") == "none"
    assert list(out["agreement"].columns) == B.AGREEMENT_COLUMNS


def test_substitutes_differing_across_seeds_are_all_named():
    rows = [row("cityscapes", "photo2label", "feature_gan", 0, "class_iou", 0.1,
                substitutes=RANDOM_VGG),
            row("cityscapes", "photo2label", "feature_gan", 1, "class_iou", 0.2)]
    t3 = B.build_tables(df(rows), PAPER, "fab")["table3"]
    r = t3[(t3.method == "feature_gan") & (t3.metric == "class_iou")].iloc[0]
    assert r.substitutes == RANDOM_VGG and r.n_seeds == 2
    # the same key with different values across seeds: both named, in table and caption
    rows.append(row("cityscapes", "photo2label", "feature_gan", 2, "class_iou", 0.3,
                    substitutes="feature_extractor=vgg16-file:w.pth"))
    t3 = B.build_tables(df(rows), PAPER, "fab")["table3"]
    r = t3[(t3.method == "feature_gan") & (t3.metric == "class_iou")].iloc[0]
    assert r.substitutes == f"feature_extractor=vgg16-file:w.pth;{RANDOM_VGG}"
    cap = RD.caption(S.TABLES["table3"], t3)
    assert "feature_extractor=vgg16-file:w.pth" in cap and RANDOM_VGG in cap
    assert B.join_substitutes(["none", "none"]) == "none"
    assert B.join_substitutes(["b=2", "a=1;b=2"]) == "a=1;b=2"


def test_cli_tables_carry_substitutes_into_csv_md_html(tmp_path):
    gt = _write_fixture(tmp_path)
    write_rows(tmp_path / "metrics" / "cityscapes" / "feature_gan" / "seed0" / "label2photo.csv",
               [row("cityscapes", "label2photo", "feature_gan", 0, "per_pixel_acc", 0.4,
                    substitutes=RANDOM_VGG)])
    out = tmp_path / "tables"
    assert T.main([*_metric_args(tmp_path), "--evaluator-csv", str(gt),
                   "--profile", "fab", "--out-dir", str(out)]) == 0
    t2 = pd.read_csv(out / "table2.csv", keep_default_na=False)
    by = t2[t2.metric == "per_pixel_acc"].set_index("method")["substitutes"]
    assert by["feature_gan"] == RANDOM_VGG
    assert by["cyclegan"] == by["pix2pix"] == by["ground_truth"] == "none"
    for ext in ("md", "html"):
        assert f"Feature loss + GAN: {RANDOM_VGG}" in (out / f"table2.{ext}").read_text()
        assert f"feature_gan:{RANDOM_VGG}" in (out / f"agreement.{ext}").read_text()
    ag = pd.read_csv(out / "agreement.csv", keep_default_na=False)
    assert "substitutes" in ag.columns


def test_metric_csv_with_bad_substitutes_is_rejected(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(",".join(B.ROW_COLUMNS) + "\n"
                    "fab,cityscapes,label2photo,cyclegan,0,val,fid,1.0,8,e,d,,abc\n")
    with pytest.raises(ValueError, match=r"m.csv: row 1: column 'substitutes'"):
        B.read_metric_csv(path)
    old = tmp_path / "old.csv"  # a CSV of the 12-column format is refused, naming the columns
    old.write_text("profile,task,direction,method,seed,split,metric,value,n_images,evaluator,"
                   "data_source,commit\nfab,maps,map2photo,cyclegan,0,val,fid,1.0,8,e,d,abc\n")
    with pytest.raises(ValueError, match="substitutes"):
        B.read_metric_csv(old)


def test_cli_reads_only_the_listed_metric_csvs(tmp_path):
    """A stale CSV (a seed or method no longer in the profile) must not enter the tables:
    nothing is globbed, and the rows' keys come from the rows, not from the file paths."""
    gt = _write_fixture(tmp_path)
    metrics = tmp_path / "metrics"
    listed = sorted(metrics.rglob("*.csv"))
    stale = metrics / "cityscapes" / "cyclegan" / "seed9" / "label2photo.csv"
    write_rows(stale, [row("cityscapes", "label2photo", "cyclegan", 9, "per_pixel_acc", 0.0)])
    out_all, out_listed = tmp_path / "all", tmp_path / "listed"
    base = ["--evaluator-csv", str(gt), "--profile", "fab"]
    assert T.main(base + ["--out-dir", str(out_all), *_metric_args(tmp_path)]) == 0
    assert T.main(base + ["--out-dir", str(out_listed), "--metrics-csv",
                          *map(str, listed)]) == 0
    seeds = lambda out: set(pd.read_csv(out / "table2.csv").query(
        "method == 'cyclegan' and metric == 'per_pixel_acc'").seeds.astype(str))
    assert any("9" in s for s in seeds(out_all))
    assert not any("9" in s for s in seeds(out_listed))
    # a CSV anywhere (any name) is read by its rows' keys
    moved = tmp_path / "elsewhere" / "whatever.csv"
    moved.parent.mkdir()
    moved.write_bytes(stale.read_bytes())
    assert T.main(base + ["--out-dir", str(tmp_path / "moved"), "--metrics-csv",
                          *map(str, listed), str(moved)]) == 0
    assert any("9" in s for s in seeds(tmp_path / "moved"))
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        B.collect_metric_rows([metrics / "missing.csv"])


def test_fcn_scores_as_fractions_of_the_ground_truth_row():
    """Table 2/4 FCN-scores on the Ground-truth scale: ours / our evaluator's GT row beside the
    paper's / the paper's GT row (CycleGAN 0.52 / 0.80)."""
    rows = []
    for method, value in (("cyclegan", 0.42), ("ground_truth", 0.84), ("cycle_only", 0.21)):
        rows.append(dict(profile="p", task="cityscapes", direction="label2photo", method=method,
                         seed="0", split="val", metric="per_pixel_acc", value=value, n_images=5,
                         evaluator="small_fcn@x", data_source="synthetic-cityscapes",
                         substitutes="none", commit="c"))
    out = B.build_tables(pd.DataFrame(rows), B.load_paper(), "p")
    t2 = out["table2"].set_index(["method", "metric"])
    assert t2.at[("cyclegan", "per_pixel_acc"), "fraction_of_ground_truth"] == pytest.approx(0.5)
    assert t2.at[("cyclegan", "per_pixel_acc"), "paper_fraction_of_ground_truth"] == \
        pytest.approx(0.52 / 0.80)
    assert t2.at[("ground_truth", "per_pixel_acc"), "fraction_of_ground_truth"] == 1.0
    assert math.isnan(t2.at[("cyclegan", "fid"), "fraction_of_ground_truth"])
    t4 = out["table4"].set_index(["method", "metric"])
    assert t4.at[("cycle_only", "per_pixel_acc"), "fraction_of_ground_truth"] == pytest.approx(0.25)
    assert t4.at[("cycle_only", "per_pixel_acc"), "paper_fraction_of_ground_truth"] == \
        pytest.approx(0.22 / 0.80)
    # photo -> labels has no Ground-truth row: no fraction
    assert out["table3"]["fraction_of_ground_truth"].isna().all()
