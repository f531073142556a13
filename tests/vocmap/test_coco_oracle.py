"""--metric coco50/coco against pycocotools (and faster-coco-eval) on the fixtures,
and COCO's rules on small cases derived by hand.

pycocotools is equal everywhere, ``==``: the (T, R, K, A, M) precision, the
recall, the twelve summary numbers. faster-coco-eval's C++ accumulate leaves out
pycocotools' ``np.spacing(1)`` where ``tp + fp == 1``: there ``1 / (1 + eps)`` is
0.9999999999999998 in pycocotools (and here) and 1.0 in faster-coco-eval; every
other cell is equal, and so is every summary number to pycocotools' printed 3 digits.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from fixture_paths import DEMO, GOLDEN

import vocmap
from vocmap.core import coco
from vocmap.core.constants import VOC_CLASSES
from vocmap.core.detections import Detections
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.kernels import IGNORED, TRUE_POSITIVE
from vocmap.testing import coco_reference as ref

CASES = {
    **{p.name: (p, p, p / "results") for p in sorted(GOLDEN.glob("random_*"))},
    "demo": (DEMO, DEMO / "VOC2007", DEMO / "results"),
}


def load(name: str):
    root, voc_root, results = CASES[name]
    case_file = root / "case.json"
    gt = vocmap.read_voc(voc_root, cache=False)
    if case_file.exists():
        classes = json.loads(case_file.read_text())["classes"]
    else:
        classes = list(VOC_CLASSES)
    return gt, vocmap.read_detections(results, gt, classes), classes


@pytest.mark.parametrize("name", sorted(CASES))
def test_equal_to_pycocotools(name):
    gt, dets, classes = load(name)
    precision, recall = coco.coco_arrays(gt, dets, classes, coco.COCO_PARAMS)
    coco_gt, results = ref.to_coco(gt, dets, classes)
    their_precision, their_recall, stats = ref.run_pycocotools(coco_gt, results)
    assert np.array_equal(precision, their_precision)
    assert np.array_equal(recall, their_recall)
    result = vocmap.Evaluator(gt, classes, metric="coco").evaluate(dets)
    assert list(result.summary.values()) == stats
    assert result.map == stats[0]
    result50 = vocmap.Evaluator(gt, classes, metric="coco50").evaluate(dets)
    assert result50.map == stats[1]
    for k, c in enumerate(classes):  # per class: torchmetrics' / detectron2's mean
        cells = their_precision[0, :, k, 0, 2]
        if (cells > -1).any():
            assert result50.classes[c].ap == float(np.mean(cells[cells > -1]))
        else:
            assert np.isnan(result50.classes[c].ap)


@pytest.mark.parametrize("name", ["random_11", "random_large_14", "demo"])
def test_faster_coco_eval_differs_only_by_the_eps_of_one_detection(name):
    gt, dets, classes = load(name)
    precision, recall = coco.coco_arrays(gt, dets, classes, coco.COCO_PARAMS)
    coco_gt, results = ref.to_coco(gt, dets, classes)
    their_precision, their_recall, stats = ref.run_faster_coco_eval(coco_gt, results)
    _, _, pycoco_stats = ref.run_pycocotools(coco_gt, results)
    assert np.array_equal(recall, their_recall)
    differ = precision != their_precision
    one_over_one_plus_eps = 1.0 / (1.0 + np.spacing(1))
    assert np.all(precision[differ] == one_over_one_plus_eps)
    assert np.all(their_precision[differ] == 1.0)
    assert [f"{v:0.3f}" for v in stats] == [f"{v:0.3f}" for v in pycoco_stats]


def one_class(gt_boxes, difficult, det_boxes, scores, images=None):
    n_images = 1 + max(images or [0])
    gt = GroundTruth.from_arrays(
        [f"{i:06d}" for i in range(n_images)],
        np.zeros(len(gt_boxes), dtype=np.int64),
        ["a"] * len(gt_boxes),
        np.array(gt_boxes, dtype=float),
        np.array(difficult, dtype=bool),
    )
    dets = Detections.from_arrays(
        gt,
        {"a": (np.array(images or [0] * len(scores)), np.array(scores), np.array(det_boxes))},
        box_format="voc",
        image_index=True,
    )
    return gt, dets


def coco50_outcomes(gt, dets):
    evaluation = coco.evaluate_class_coco(gt.for_class("a"), dets["a"], coco.COCO50_PARAMS)
    order = np.argsort(evaluation.kept)
    return evaluation.outcome[0, 0][order].tolist(), evaluation.matched[order].tolist()


def check_pycocotools(gt, dets):
    precision, recall = coco.coco_arrays(gt, dets, ["a"], coco.COCO_PARAMS)
    coco_gt, results = ref.to_coco(gt, dets, ["a"])
    their_precision, their_recall, _ = ref.run_pycocotools(coco_gt, results)
    assert np.array_equal(precision, their_precision)
    assert np.array_equal(recall, their_recall)


def test_equal_overlaps_go_to_the_later_object_and_a_claimed_object_is_skipped():
    # A = x 1..10, B = x 5..14; the detections x 3..12 overlap each by 8x10 / 120.
    # COCO: the first detection takes B (the later on ties), the second takes A: 2 TP.
    # The devkit: both want A (the first on ties): TP then FP.
    gt, dets = one_class(
        [(1, 1, 10, 10), (5, 1, 14, 10)], [0, 0], [(3, 1, 12, 10), (3, 1, 12, 10)], [0.9, 0.8]
    )
    assert coco50_outcomes(gt, dets) == ([TRUE_POSITIVE, TRUE_POSITIVE], [1, 0])
    devkit = vocmap.Evaluator(gt, ["a"]).evaluate(dets).classes["a"]
    assert devkit.tp == 1 and devkit.fp == 1
    check_pycocotools(gt, dets)


def test_an_overlap_of_exactly_one_half_matches():
    # x 1..10 against x 1..5 (same rows): 50 / 100 = 0.5 exactly, and t = 0.5: >=.
    gt, dets = one_class([(1, 1, 10, 10)], [0], [(1, 1, 5, 10)], [0.9])
    assert coco50_outcomes(gt, dets)[0] == [TRUE_POSITIVE]
    check_pycocotools(gt, dets)


def test_a_crowd_region_absorbs_any_number_of_detections_by_their_own_area():
    # A difficult 100x100 object; two 20x20 detections inside: overlap i/da = 1 with
    # a crowd region (i/u = 0.04 under plain IoU): both ignored, none FP.
    gt, dets = one_class([(1, 1, 100, 100)], [1], [(11, 11, 30, 30), (41, 41, 60, 60)], [0.9, 0.8])
    assert coco50_outcomes(gt, dets)[0] == [IGNORED, IGNORED]
    devkit = vocmap.Evaluator(gt, ["a"]).evaluate(dets).classes["a"]
    assert devkit.fp == 2  # the devkit's IoU 0.04 < 0.5: false positives
    check_pycocotools(gt, dets)


def test_a_regular_object_is_preferred_over_a_better_overlapping_difficult_one():
    # The detection overlaps the difficult object fully (IoU 1) and the regular one by
    # 0.81: COCO scans regular objects first and keeps the regular match (TP); the
    # devkit takes the best overlap, the difficult object (ignored).
    gt, dets = one_class([(1, 1, 10, 10), (1, 1, 9, 9)], [0, 1], [(1, 1, 9, 9)], [0.9])
    assert coco50_outcomes(gt, dets) == ([TRUE_POSITIVE], [0])
    assert vocmap.Evaluator(gt, ["a"]).evaluate(dets).classes["a"].ignored == 1
    check_pycocotools(gt, dets)


def test_area_bins_are_inclusive_at_32_and_96_squared():
    # 32x32 (area 1024) counts as small and medium; 96x96 as medium and large.
    gt, dets = one_class([(1, 1, 32, 32), (101, 101, 196, 196)], [0, 0], [(1, 1, 32, 32)], [0.9])
    evaluation = coco.evaluate_class_coco(gt.for_class("a"), dets["a"], coco.COCO_PARAMS)
    assert evaluation.npig.tolist() == [2, 1, 2, 1]
    check_pycocotools(gt, dets)


def test_only_the_100_best_detections_of_an_image_count():
    # 101 false positives scored above one true positive: the TP is the 101st, dropped.
    boxes = [(200 + i, 200, 210 + i, 210) for i in range(101)] + [(1, 1, 10, 10)]
    scores = [0.9] * 101 + [0.1]
    gt, dets = one_class([(1, 1, 10, 10)], [0], boxes, scores)
    result = vocmap.Evaluator(gt, ["a"], metric="coco50").evaluate(dets).classes["a"]
    assert (result.tp, result.fp, result.ignored) == (
        0,
        100,
        2,
    )  # the 101st FP and the TP: beyond maxDets
    assert result.ap == 0.0
    check_pycocotools(gt, dets)


def test_coco_settings_refuse_options_that_do_not_apply():
    with pytest.raises(vocmap.VocmapError, match="IoU"):
        vocmap.EvalSettings.create("coco50", 0.7)
    with pytest.raises(vocmap.VocmapError, match="semantics"):
        vocmap.EvalSettings.create("coco", 0.5, "mmdet")
    assert vocmap.EvalSettings.create("coco50").key == "coco50"


def test_class_results_are_consistent_and_per_class_evaluation_agrees():
    gt, dets, classes = load("random_large_14")
    settings = vocmap.EvalSettings.create("coco50")
    result = vocmap.Evaluator(gt, classes, settings=settings).evaluate(dets)
    for name in classes:
        r = result.classes[name]
        assert r.tp + r.fp + r.ignored == r.detections == len(dets[name])
        assert sorted(r.order.tolist()) == list(range(r.detections))
        assert r.recall.shape == r.precision.shape == (r.detections,)
        alone = vocmap.evaluate_class(name, gt.for_class(name), dets[name], settings)
        assert alone.ap == r.ap or (np.isnan(alone.ap) and np.isnan(r.ap))
    data = result.to_dict()
    assert data["metric"] == "coco50" and data["summary"]["AP50"] == result.map
