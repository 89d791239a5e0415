"""Known answers for the Cityscapes scores (official scripts/eval_cityscapes definitions)."""

import numpy as np
import pytest

from cyclebench.datasets.palette import CLASS_COLORS, CLASS_NAMES
from cyclebench.eval.photo2label import colour_map_to_trainids, resize_ids
from cyclebench.eval.seg_metrics import ConfusionMatrix, confusion_matrix, scores_from_counts

N = 19


def _scores(pairs):
    cm = ConfusionMatrix()
    for gt, pred in pairs:
        cm.update(np.asarray(gt, dtype=np.uint8), np.asarray(pred, dtype=np.uint8))
    return cm, cm.scores()


def _official(hist):
    """The official util.py formulas, for cross-checking (rows = ground truth)."""
    acc = np.diag(hist).sum() / hist.sum()
    cl_acc = np.nanmean(np.diag(hist) / (hist.sum(1) + 1e-12))
    iu = np.diag(hist) / (hist.sum(1) + 1e-12 + hist.sum(0) - np.diag(hist))
    return acc, cl_acc, np.nanmean(iu)


def test_perfect_prediction_all_classes():
    gt = np.arange(N, dtype=np.uint8).reshape(1, N).repeat(3, 0)
    cm, s = _scores([(gt, gt)])
    assert s.per_pixel_acc == 1.0
    assert s.per_class_acc == pytest.approx(1.0)
    assert s.class_iou == pytest.approx(1.0)
    assert s.per_class_acc_present == 1.0 and s.class_iou_present == 1.0
    assert np.array_equal(cm.hist, np.diag(np.full(N, 3)))


def test_perfect_prediction_one_class_missing_counts_zero_officially():
    # classes 0..17 present, class 18 (bicycle) absent from the ground truth and prediction
    gt = np.arange(N - 1, dtype=np.uint8).reshape(1, -1)
    _, s = _scores([(gt, gt)])
    assert s.per_pixel_acc == 1.0
    assert s.per_class_acc == pytest.approx(18 / 19)  # official: the absent class counts 0
    assert s.class_iou == pytest.approx(18 / 19)
    assert s.per_class_acc_present == pytest.approx(1.0)  # present-only extra
    assert s.class_iou_present == pytest.approx(1.0)
    assert s.present.sum() == 18 and not s.present[18]
    d = s.as_dict()
    assert d["iou/bicycle"] == 0.0 and d["iou/road"] == pytest.approx(1.0)
    assert np.mean([d[f"iou/{c}"] for c in CLASS_NAMES]) == pytest.approx(s.class_iou)


def test_all_wrong():
    gt = np.zeros((4, 4), np.uint8)
    pred = np.ones((4, 4), np.uint8)
    _, s = _scores([(gt, pred)])
    assert s.per_pixel_acc == 0.0
    assert s.per_class_acc == 0.0 and s.class_iou == 0.0
    assert s.per_class_acc_present == 0.0 and s.class_iou_present == 0.0


def test_hand_computed_mixed_case_matches_official_formulas():
    # gt: 6 road (0), 2 car (13); pred: 4 road right, 2 road->car, car: 1 right, 1 -> road
    gt = np.array([[0, 0, 0, 0, 0, 0, 13, 13]], np.uint8)
    pred = np.array([[0, 0, 0, 0, 13, 13, 13, 0]], np.uint8)
    cm, s = _scores([(gt, pred)])
    assert s.per_pixel_acc == pytest.approx(5 / 8)
    acc_road, acc_car = 4 / 6, 1 / 2
    iou_road = 4 / (6 + 5 - 4)  # row 6, column 5
    iou_car = 1 / (2 + 3 - 1)
    assert s.per_class_acc == pytest.approx((acc_road + acc_car) / 19)
    assert s.class_iou == pytest.approx((iou_road + iou_car) / 19)
    assert s.per_class_acc_present == pytest.approx((acc_road + acc_car) / 2)
    assert s.class_iou_present == pytest.approx((iou_road + iou_car) / 2)
    assert (s.per_pixel_acc, s.per_class_acc, s.class_iou) == pytest.approx(_official(cm.hist))


def test_ignore_pixels_are_excluded():
    gt = np.array([[0, 255, 255, 1]], np.uint8)
    pred = np.array([[0, 5, 7, 1]], np.uint8)  # wrong only where ignored
    cm, s = _scores([(gt, pred)])
    assert cm.counts.sum() == 2
    assert s.per_pixel_acc == 1.0 and s.per_class_acc_present == 1.0


def test_all_ignored_is_an_error():
    cm = ConfusionMatrix()
    cm.update(np.full((2, 2), 255, np.uint8), np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="no labelled pixels"):
        cm.scores()


def test_out_of_range_predictions_count_as_errors_not_dropped():
    gt = np.array([[0, 0, 0, 0]], np.uint8)
    pred = np.array([[0, 0, 19, 255]], np.uint8)  # two invalid class ids
    cm, s = _scores([(gt, pred)])
    assert cm.n_images == 1 and cm.counts.sum() == 4  # the frame is kept
    assert cm.counts[0, N] == 2  # in the invalid-prediction column
    assert s.per_pixel_acc == pytest.approx(0.5)
    assert s.per_class_acc_present == pytest.approx(0.5)
    assert s.class_iou_present == pytest.approx(2 / 4)  # row 4, column 2, diag 2


def test_accumulates_over_the_split_not_per_image_mean():
    a = (np.zeros((1, 10), np.uint8), np.zeros((1, 10), np.uint8))  # 10/10 right
    b = (np.ones((1, 2), np.uint8), np.zeros((1, 2), np.uint8))  # 0/2 right
    _, s = _scores([a, b])
    assert s.per_pixel_acc == pytest.approx(10 / 12)  # not (1 + 0) / 2


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="ground truth holds values"):
        confusion_matrix(np.full((2, 2), 40), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="matrix"):
        scores_from_counts(np.zeros((3, 5)))


def test_nearest_palette_on_noisy_colours():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, N, size=(16, 16)).astype(np.uint8)
    rgb = CLASS_COLORS[ids].astype(np.int16) + rng.integers(-6, 7, size=(16, 16, 3))
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    assert np.array_equal(colour_map_to_trainids(rgb), ids)
    # scored through the same path as photo2label: perfect
    _, s = _scores([(ids, colour_map_to_trainids(rgb))])
    assert s.per_pixel_acc == 1.0


def test_resize_ids_is_nearest():
    ids = np.array([[1, 2], [3, 4]], np.uint8)
    up = resize_ids(ids, (4, 4))
    assert set(np.unique(up)) == {1, 2, 3, 4}
    assert np.array_equal(up[:2, :2], np.ones((2, 2)))
