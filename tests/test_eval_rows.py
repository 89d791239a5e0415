"""The tidy metric-row writer: exact columns, full precision, validation, atomic output."""

import math

import pytest

from cyclebench.eval.rows import (COLUMNS, NONE, format_substitutes, make_rows, parse_substitutes,
                       read_rows, write_rows)

CTX = {"profile": "p", "task": "cityscapes", "direction": "label2photo", "method": "cyclegan",
       "seed": 1, "split": "val", "data_source": "synthetic-cityscapes", "substitutes": "none",
       "commit": "abc"}


def test_round_trip_keeps_full_precision(tmp_path):
    rows = make_rows(CTX, {"per_pixel_acc": 1 / 3, "iou/traffic light": 0.25}, n_images=7,
                     evaluator="small_fcn@1234abcd")
    path = write_rows(tmp_path / "sub" / "m.csv", rows)
    back = read_rows(path)
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    assert [r["metric"] for r in back] == ["per_pixel_acc", "iou/traffic light"]
    assert back[0]["value"] == 1 / 3 and back[0]["n_images"] == 7 and back[0]["seed"] == 1
    assert back[0]["evaluator"] == "small_fcn@1234abcd"
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.csv"]  # no temp files left


def test_nan_is_allowed_but_missing_columns_and_bad_values_fail(tmp_path):
    write_rows(tmp_path / "nan.csv", make_rows(CTX, {"x": float("nan")}, n_images=1, evaluator="e"))
    assert math.isnan(read_rows(tmp_path / "nan.csv")[0]["value"])
    bad = make_rows(CTX, {"x": 1.0}, n_images=1, evaluator="e")
    del bad[0]["commit"]
    with pytest.raises(ValueError, match=r"missing columns \['commit'\]"):
        write_rows(tmp_path / "a.csv", bad)
    with pytest.raises(ValueError, match="not a number"):
        write_rows(tmp_path / "a.csv", [dict(make_rows(CTX, {"x": 1}, n_images=1, evaluator="e")[0],
                                             value="high")])
    with pytest.raises(ValueError, match="infinite"):
        write_rows(tmp_path / "a.csv", make_rows(CTX, {"x": float("inf")}, n_images=1, evaluator="e"))
    with pytest.raises(ValueError, match="'evaluator' is empty"):
        write_rows(tmp_path / "a.csv", make_rows(CTX, {"x": 1}, n_images=1, evaluator=""))
    assert not (tmp_path / "a.csv").exists()


def test_substitutes_column_sits_after_data_source_and_round_trips(tmp_path):
    assert COLUMNS[-3:] == ("data_source", "substitutes", "commit") and len(COLUMNS) == 13
    ctx = dict(CTX, method="feature_gan", substitutes="feature_extractor=vgg16-random-init")
    path = write_rows(tmp_path / "f.csv", make_rows(ctx, {"fid": 3.0}, n_images=2, evaluator="e"))
    assert read_rows(path)[0]["substitutes"] == "feature_extractor=vgg16-random-init"
    path = write_rows(tmp_path / "c.csv", make_rows(CTX, {"fid": 3.0}, n_images=2, evaluator="e"))
    assert read_rows(path)[0]["substitutes"] == "none"


def test_format_and_parse_substitutes():
    assert format_substitutes({}) == NONE == "none"
    assert format_substitutes({"b": "y", "a": "x"}) == "a=x;b=y"  # sorted by key
    assert parse_substitutes("a=x;b=y") == {"a": "x", "b": "y"}
    assert parse_substitutes("none") == {}
    assert parse_substitutes(format_substitutes({"feature_extractor": "vgg16-file:w.pth"})) == \
        {"feature_extractor": "vgg16-file:w.pth"}
    for bad in ({"a": "x;y"}, {"a=b": "x"}, {"": "x"}, {"a": ""}, {"a": "none"}, {"a": " x"}):
        with pytest.raises(ValueError, match="substitutes: invalid"):
            format_substitutes(bad)
    for bad in ("", "a", "a=x;a=y", "b=y;a=x", "None", "a=x;"):
        with pytest.raises(ValueError, match="substitutes"):
            parse_substitutes(bad)


def test_empty_or_malformed_substitutes_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="'substitutes' is empty"):
        write_rows(tmp_path / "a.csv", make_rows(dict(CTX, substitutes=""), {"x": 1},
                                                 n_images=1, evaluator="e"))
    with pytest.raises(ValueError, match="column 'substitutes'.*key=value"):
        write_rows(tmp_path / "a.csv", make_rows(dict(CTX, substitutes="random-init"), {"x": 1},
                                                 n_images=1, evaluator="e"))
    assert not (tmp_path / "a.csv").exists()
