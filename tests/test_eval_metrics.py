"""eval/metrics.py: the metric registry (known answers) and scorer applicability."""

from __future__ import annotations

import math

import pytest

from cyclebench.eval import metrics as M

SEG = ("per_pixel_acc", "per_class_acc", "class_iou", "per_class_acc_present",
       "class_iou_present")
DIST = ("fid", "kid_mean", "kid_std")


@pytest.mark.parametrize("task, direction, scorers", [
    ("cityscapes", "label2photo", ["fcn_score", "fid_kid"]),
    ("cityscapes", "photo2label", ["nearest_palette", "fid_kid"]),
    ("maps", "map2photo", ["fid_kid"]),
    ("maps", "photo2map", ["fid_kid"]),
])
def test_scorers_apply_per_task_and_direction(task, direction, scorers):
    assert [s.name for s in M.scorers_for(task, direction)] == scorers
    expected = (SEG if len(scorers) == 2 else ()) + DIST
    assert M.metrics_for(task, direction) == expected


def test_evaluator_is_needed_for_fcn_scores_and_evaluator_features():
    assert M.needs_evaluator("cityscapes", "label2photo", "inception-v3-compat")
    assert not M.needs_evaluator("cityscapes", "photo2label", "inception-v3-compat")
    assert not M.needs_evaluator("maps", "map2photo", "inception-v3-compat")
    assert M.needs_evaluator("maps", "map2photo", "evaluator-features")
    assert M.SCORERS["fcn_score"].needs_evaluator
    assert not M.SCORERS["nearest_palette"].needs_evaluator


def test_higher_is_better_known_answers():
    for name in SEG + ("iou/road", "iou/bicycle", "amt_real_pct"):
        assert M.higher_is_better(name), name
    for name in DIST:
        assert not M.higher_is_better(name), name
    with pytest.raises(KeyError, match="unknown metric 'sharpness'"):
        M.higher_is_better("sharpness")


def test_families_columns_and_hidden_metrics():
    assert M.family_metrics("segmentation") == SEG
    assert M.family_metrics("segmentation", columns_only=True) == SEG[:3]
    assert M.family_metrics("distribution") == DIST
    assert M.family_metrics("distribution", columns_only=True) == DIST
    assert M.family_metrics("paper") == ("amt_real_pct",)
    assert M.in_family("iou/road", "segmentation") and not M.in_family("fid", "segmentation")
    assert M.get_metric("iou/sky").name == "iou/*"
    assert "kid_std" in M.hidden_metrics() and "fid" not in M.hidden_metrics()
    with pytest.raises(KeyError, match="unknown metric family"):
        M.family_metrics("speed")


def test_number_formats_and_display_names():
    assert M.format_value("fid", 12.345) == "12.35"
    assert M.format_value("kid_mean", 0.123456) == "0.1235"
    assert M.format_value("per_pixel_acc", 0.5) == "0.500"
    assert M.format_value("amt_real_pct", 26.8) == "26.8%"
    assert M.format_value("fid", math.nan) == "n/a" and M.format_value("fid", None) == "n/a"
    assert M.format_value("unregistered", 0.5) == "0.500"
    assert M.display_name("class_iou") == "Class IOU"
    assert M.display_name("amt_real_pct") == "AMT % labelled real (paper)"
    assert M.display_name("unregistered") == "unregistered"


def test_every_scorer_family_is_a_registered_family():
    for scorer in M.SCORERS.values():
        assert scorer.family in M.FAMILIES
        assert M.family_metrics(scorer.family)
    for spec in M.METRICS.values():
        assert spec.family in M.FAMILIES
