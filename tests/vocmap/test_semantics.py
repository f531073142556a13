"""Each preset's rules, one hand-made case per rule, numbers derived in the comments.

Notation: VOC boxes (x1, y1, x2, y2), sizes x2 - x1 + 1; "p(t)" is the precision
the 11-point AP takes at recall threshold t. An AP whose every p(t) is 1 is
1/11 added 11 times, which is 1.0000000000000002 in doubles (the devkit's
number), but 11/11 = 1.0 when summed first (ssd_keras, mmdet).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import vocmap
from vocmap.core import kernels
from vocmap.core.evaluate import mean_ap
from vocmap.core.general import visiting_orders
from vocmap.core.semantics import PRESETS, RULE_ORDER, Semantics, get_semantics

ELEVEN_ELEVENTHS = sum([1 / 11] * 11)  # 1.0000000000000002


def evaluate(images, objects, detections, semantics, classes=("dog",), **options):
    """objects: [(image, class, box, difficult)]; detections: {class: [(image, score, box)]}."""
    gt = vocmap.GroundTruth.from_arrays(
        images,
        object_image=[images.index(o[0]) for o in objects],
        object_class_names=[o[1] for o in objects],
        boxes=[o[2] for o in objects],
        difficult=[o[3] for o in objects],
    )
    dets = vocmap.Detections.from_arrays(
        gt,
        {
            c: (
                [d[0] for d in detections.get(c, [])],
                [d[1] for d in detections.get(c, [])],
                np.array([d[2] for d in detections.get(c, [])], dtype=float).reshape(-1, 4),
            )
            for c in classes
        },
        box_format="voc",
    )
    return vocmap.Evaluator(gt, list(classes), semantics=semantics, **options).evaluate(dets)


def ap(result, cls="dog"):
    return result.classes[cls].ap


def test_every_preset_names_valid_rules():
    for preset in PRESETS.values():
        assert preset.thresholds().shape == (11,)
        assert set(preset.differences(PRESETS["devkit"])) <= set(RULE_ORDER)
    assert get_semantics("devkit").differences(get_semantics("devkit")) == []
    with pytest.raises(vocmap.VocmapError, match="unknown semantics"):
        get_semantics("yolo")


# --------------------------------------------------------------------------- #
# py-faster-rcnn
# --------------------------------------------------------------------------- #


def test_strict_threshold_at_exactly_half():
    # GT 10x10 = 100 px; detection (1,1,10,5) is 10x5 = 50 px inside it:
    # IoU = 50 / 100 = 0.5 exactly.
    # devkit (>=): TP, rec [1], prec [1], every p(t) = 1 -> 1/11 * 11 = 1.0000000000000002.
    # py-faster-rcnn (>): FP, rec [0], prec [0/eps = 0]: p(0) = 0, no recall reaches
    # t > 0 -> AP 0.
    case = (["a"], [("a", "dog", (1, 1, 10, 10), False)], {"dog": [("a", 0.9, (1, 1, 10, 5))]})
    assert ap(evaluate(*case, "devkit")) == ELEVEN_ELEVENTHS
    assert ap(evaluate(*case, "py-faster-rcnn")) == 0.0
    assert evaluate(*case, "py-faster-rcnn").label.startswith("VOC2007 11-point AP at IoU > 0.5")


def test_recall_exactly_three_fifths_and_arange_thresholds():
    # Five objects, one per image. Sorted outcomes TP, TP, FP, TP:
    # rec = [0.2, 0.4, 0.4, 0.6], prec = [1, 1, 2/3, 0.75].
    # p(0..0.4) = 1 (the first two detections reach them), p(0.5) = 0.75.
    # MATLAB's 0.6 is the double nearest 0.6, which 3/5 equals: p(0.6) = 0.75.
    # numpy.arange's 0.6000000000000001 > 3/5: p = 0. p(0.7 ...) = 0 in both.
    images = [f"i{k}" for k in range(5)]
    objects = [(i, "dog", (1, 1, 10, 10), False) for i in images]
    hit = (1, 1, 10, 10)
    miss = (100, 100, 110, 110)
    dets = {"dog": [("i0", 0.9, hit), ("i1", 0.8, hit), ("i2", 0.7, miss), ("i3", 0.6, hit)]}
    devkit = 0.0
    for p in [1, 1, 1, 1, 1, 0.75, 0.75, 0, 0, 0, 0]:
        devkit += p / 11
    arange = 0.0
    for p in [1, 1, 1, 1, 1, 0.75, 0, 0, 0, 0, 0]:
        arange += p / 11
    assert ap(evaluate(images, objects, dets, "devkit")) == devkit
    assert ap(evaluate(images, objects, dets, "py-faster-rcnn")) == arange


def test_ground_truth_coordinates_read_as_integers():
    # GT (1.9, 1, 20, 10): the devkit keeps 1.9 (width 19.1); int() makes it 1 (width 20).
    # Detection (1.9, 1, 10.5, 10): width 9.6, height 10, inside the GT.
    # devkit: IoU = 96 / 191 = 0.5026 -> TP -> AP 1.0000000000000002.
    # py-faster-rcnn: IoU = 96 / 200 = 0.48 -> FP -> AP 0.
    case = (
        ["a"],
        [("a", "dog", (1.9, 1, 20, 10), False)],
        {"dog": [("a", 0.9, (1.9, 1, 10.5, 10))]},
    )
    assert ap(evaluate(*case, "devkit")) == ELEVEN_ELEVENTHS
    assert ap(evaluate(*case, "py-faster-rcnn")) == 0.0


def test_numpy_default_argsort_of_negated_scores():
    # The rule is a definition: the visiting order is numpy.argsort(-scores) (kind
    # "quicksort", unstable for more than 16 elements), whatever that gives on this
    # machine; the devkit's is a stable sort.
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 200) / 4.0  # many ties
    dets = vocmap.ClassDetections(np.zeros(200, np.int64), scores, np.ones((200, 4)))
    numpy_curve, match = visiting_orders(dets, get_semantics("py-faster-rcnn"))
    assert numpy_curve.tolist() == np.argsort(-scores).tolist() and match is numpy_curve
    devkit_curve, _ = visiting_orders(dets, get_semantics("devkit"))
    assert devkit_curve.tolist() == np.argsort(-scores, kind="stable").tolist()
    # Both visit the scores in decreasing order; only the order within ties differs.
    assert np.all(np.diff(scores[numpy_curve]) <= 0) and np.all(np.diff(scores[devkit_curve]) <= 0)
    for value in np.unique(scores):
        tied = scores[devkit_curve] == value
        assert devkit_curve[tied].tolist() == sorted(devkit_curve[tied].tolist())


def test_precision_guarded_by_eps_and_numpy_max():
    # Object D (difficult) and N; sorted detections: first matches D (ignored), then N (TP).
    # npos = 1: rec = [0, 1]; devkit prec = [0/0 = NaN, 1].
    # devkit: MATLAB max skips NaN: every p(t) = 1 -> 1.0000000000000002.
    # py-faster-rcnn: prec = [0/eps = 0, 1]: every p(t) = 1 -> the same AP.
    # ssd_keras: prec = [NaN, 1] and numpy's amax propagates NaN: p(0) = NaN -> AP NaN.
    images = ["a"]
    objects = [("a", "dog", (1, 1, 10, 10), True), ("a", "dog", (50, 50, 60, 60), False)]
    dets = {"dog": [("a", 0.9, (1, 1, 10, 10)), ("a", 0.8, (50, 50, 60, 60))]}
    assert ap(evaluate(images, objects, dets, "devkit")) == ELEVEN_ELEVENTHS
    assert ap(evaluate(images, objects, dets, "py-faster-rcnn")) == ELEVEN_ELEVENTHS
    assert ap(evaluate(images, objects, dets, "ssd_keras")) == 1.0


def test_map_with_numpy_mean():
    # numpy.mean sums 8 or more values pairwise; the devkit's mean adds them in order.
    values = [0.1, 0.7, 1e-17, 0.3, 0.9, 0.2, 0.6, 0.4, 0.5, 1 / 3]
    sequential = 0.0
    for v in values:
        sequential += v
    assert mean_ap(values, "sequential") == sequential / len(values)
    assert mean_ap(values, "numpy") == float(np.mean(values))


# --------------------------------------------------------------------------- #
# ssd_keras
# --------------------------------------------------------------------------- #


def test_sum_then_divide_and_linspace():
    # A perfect class: every p(t) = 1. devkit: 1/11 eleven times = 1.0000000000000002;
    # ssd_keras: (1 + ... + 1) / 11 = 11/11 = 1.0. linspace(0, 1, 11) has the same
    # values as numpy.arange(0, 1.1, 0.1) (0.6000000000000001, 0.7000000000000001).
    case = (["a"], [("a", "dog", (1, 1, 10, 10), False)], {"dog": [("a", 0.9, (1, 1, 10, 10))]})
    assert ap(evaluate(*case, "devkit")) == ELEVEN_ELEVENTHS
    assert ap(evaluate(*case, "ssd_keras")) == 1.0
    assert get_semantics("ssd_keras").thresholds().tolist() == np.arange(0, 1.1, 0.1).tolist()


def test_scores_rounded_to_float32_create_a_tie():
    # Scores 0.3 (a miss, first in the file) and 0.30000001 (a hit, second).
    # In doubles the hit sorts first: TP, FP -> prec [1, 0.5], rec [1, 1] -> every
    # p(t) = 1 -> 1.0000000000000002. As float32 both are 0.30000001192092896: a tie,
    # which NumPy's sort of two elements leaves in file order: FP, TP ->
    # prec [0, 0.5], rec [0, 1] -> every p(t) = 0.5 -> 5.5 / 11 = 0.5.
    images = ["a"]
    objects = [("a", "dog", (1, 1, 10, 10), False)]
    dets = {"dog": [("a", 0.3, (100, 100, 110, 110)), ("a", 0.30000001, (1, 1, 10, 10))]}
    assert np.float32(0.3) == np.float32(0.30000001)
    assert ap(evaluate(images, objects, dets, "devkit")) == ELEVEN_ELEVENTHS
    assert ap(evaluate(images, objects, dets, "ssd_keras")) == 0.5


# --------------------------------------------------------------------------- #
# mmdet
# --------------------------------------------------------------------------- #


def test_difficult_objects_lose_overlap_ties():
    # Two identical GT boxes, the difficult one first in the XML; one detection on them.
    # devkit: the first GT wins the tie -> difficult -> ignored; npos = 1, rec = [0],
    # prec = [NaN] -> p(0) = NaN -> AP NaN.
    # mmdet: difficult boxes go last -> the normal one wins -> TP; float32 sum of eleven
    # 1s divided by 11 -> 1.0.
    images = ["a"]
    objects = [("a", "dog", (1, 1, 10, 10), True), ("a", "dog", (1, 1, 10, 10), False)]
    dets = {"dog": [("a", 0.9, (1, 1, 10, 10))]}
    assert math.isnan(ap(evaluate(images, objects, dets, "devkit")))
    assert ap(evaluate(images, objects, dets, "mmdet")) == 1.0


def test_overlap_in_float32():
    # GT (1, 1, 10, 10): 100 px. Detection (1, 1, 10, 4.9999999): 10 x 4.9999999.
    # In doubles IoU = 49.999999 / 100 < 0.5 -> FP -> AP 0.
    # mmdet moves both into its 0-based frame (GT int - 1, detection - 1) and computes in
    # float32, where 3.9999999 rounds to 4.0: IoU = 50 / 100 = 0.5 >= 0.5 -> TP -> AP 1.0.
    case = (
        ["a"],
        [("a", "dog", (1, 1, 10, 10), False)],
        {"dog": [("a", 0.9, (1, 1, 10, 4.9999999))]},
    )
    assert ap(evaluate(*case, "devkit")) == 0.0
    assert ap(evaluate(*case, "mmdet")) == 1.0
    no_float32 = Semantics(**{**get_semantics("mmdet").__dict__, "iou_dtype": "float64"})
    assert ap(evaluate(*case, no_float32)) == 0.0


def test_integer_minus_one_frame_changes_nothing_for_integer_boxes():
    # GT and detection both move by -1 (the GT after truncation): overlaps are unchanged
    # for integer boxes; a fractional GT coordinate is truncated first (10.7 -> 10).
    # GT (1, 1, 10.7, 10) vs detection (1, 1, 10.7, 10): devkit IoU 1 -> TP.
    # mmdet: GT (0, 0, 9, 9), detection (0, 0, 9.7, 9): IoU = 100 / 107 = 0.93 -> TP.
    # Both AP "1": the devkit's 1.0000000000000002, mmdet's float32 1.0.
    case = (["a"], [("a", "dog", (1, 1, 10.7, 10), False)], {"dog": [("a", 0.9, (1, 1, 10.7, 10))]})
    result = evaluate(*case, "mmdet")
    assert ap(result) == 1.0
    assert result.classes["dog"].best_overlap[0] == np.float32(100) / np.float32(107)


def test_classes_without_positives_are_left_out_of_the_mean():
    # dog: one object, one hit -> AP 1 (devkit 1.0000000000000002, mmdet 1.0).
    # cat: no object, one detection -> npos 0 -> AP 0 in both.
    # devkit mAP = (1.0000000000000002 + 0) / 2; mmdet mAP = mean([1.0]) = 1.0.
    images = ["a"]
    objects = [("a", "dog", (1, 1, 10, 10), False)]
    dets = {"dog": [("a", 0.9, (1, 1, 10, 10))], "cat": [("a", 0.5, (1, 1, 10, 10))]}
    devkit = evaluate(images, objects, dets, "devkit", classes=("dog", "cat"))
    mmdet = evaluate(images, objects, dets, "mmdet", classes=("dog", "cat"))
    assert devkit.map == ELEVEN_ELEVENTHS / 2
    assert (ap(mmdet, "cat"), mmdet.map) == (0.0, 1.0)


def test_float32_precision_and_sum():
    # Outcomes TP, FP, TP with npos = 2: tp = [1, 1, 2], fp = [0, 1, 1] (float32),
    # rec = [0.5, 0.5, 1], prec = float32 [1, 0.5, 2/3].
    # p(0..0.5) = 1 (six thresholds), p(0.6000000000000001 ... 1) = float32(2/3) (five).
    # AP = float32 sum of those, then / 11 in float32.
    images = ["a", "b"]
    objects = [("a", "dog", (1, 1, 10, 10), False), ("b", "dog", (1, 1, 10, 10), False)]
    dets = {
        "dog": [
            ("a", 0.9, (1, 1, 10, 10)),
            ("a", 0.8, (50, 50, 60, 60)),
            ("b", 0.7, (1, 1, 10, 10)),
        ]
    }
    total = np.zeros(1, np.float32)
    for p in [1] * 6 + [np.float32(2) / np.float32(3)] * 5:
        total[0] += p
    total /= 11
    result = evaluate(images, objects, dets, "mmdet")
    assert ap(result) == float(total[0])
    assert result.classes["dog"].precision.tolist() == [
        1.0,
        0.5,
        float(np.float32(2) / np.float32(3)),
    ]


def test_mmdet_sorts_float32_scores_grouped_by_image_and_matches_per_image():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 3, 60)
    scores = rng.integers(0, 4, 60) / 3.0
    dets = vocmap.ClassDetections(images.astype(np.int64), scores, np.ones((60, 4)))
    curve, match = visiting_orders(dets, get_semantics("mmdet"))
    grouped = np.argsort(images, kind="stable")
    expected_curve = grouped[np.argsort(-scores[grouped].astype(np.float32))]
    assert curve.tolist() == expected_curve.tolist()
    expected_match = []
    for image in range(3):
        rows = grouped[images[grouped] == image]
        expected_match += rows[np.argsort(-scores[rows].astype(np.float32))].tolist()
    assert match.tolist() == expected_match


def test_devkit_is_untouched_by_the_rules_machinery():
    """The golden tests cover the numbers; here: the devkit path sorts with the kernel."""
    scores = np.array([0.5, 0.5, 0.7, -0.0, 0.0])
    dets = vocmap.ClassDetections(np.zeros(5, np.int64), scores, np.ones((5, 4)))
    curve, match = visiting_orders(dets, get_semantics("devkit"))
    assert curve.tolist() == [2, 0, 1, 3, 4] and match is curve
    assert kernels.stable_descending_order(scores).tolist() == [2, 0, 1, 3, 4]


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ("overlap_candidates", "any"),
        ("intersection_plus_one", "yes"),
        ("plus_one_on_corners", 1),
        ("det_box_dtype", "float16"),
        ("iou_dtype", "float32-detection"),
        ("sort", "numpy-quicksort-backwards"),
        ("matching_order", "per-image-chained"),
        ("area_ap", "trapezoid"),
        ("ap_without_positives", None),
        ("map_mean", "nanmean"),
    ],
)
def test_a_new_rule_refuses_a_value_outside_its_choices(rule, value):
    with pytest.raises(vocmap.VocmapError, match=rule):
        Semantics(name="custom", summary="a typo", **{rule: value})


def test_chainercv_is_a_preset_on_the_command_line(capsys):
    """The CLI prints the API's number (itself == chainercv's, test_semantics_oracles)."""
    from fixture_paths import GOLDEN

    from vocmap.cli import main

    case = GOLDEN / "edge_score_ties"
    args = ["evaluate", str(case / "results"), "--voc-root", str(case), "--classes", "dog"]
    assert main([*args, "--semantics", "chainercv", "--format", "map"]) == 0
    printed = float(capsys.readouterr().out)
    gt = vocmap.read_voc(case, cache=False)
    dets = vocmap.read_detections(case / "results", gt, ["dog"])
    assert printed == vocmap.Evaluator(gt, ["dog"], semantics="chainercv").evaluate(dets).map
    assert printed != vocmap.Evaluator(gt, ["dog"]).evaluate(dets).map


def test_a_preset_result_stored_under_its_earlier_rules_is_not_taken_for_todays():
    """ssd_keras's rules changed: a step scored under the old ones (stored provenance
    without "rules") must be rescored, not reused or tabled. The devkit's provenance
    is unchanged, so official numbers stored before stay valid."""
    from fixture_paths import GOLDEN

    from vocmap.core.settings import EvalSettings
    from vocmap.runs.stored import Provenance

    gt = vocmap.read_voc(GOLDEN / "edge_score_ties", cache=False)
    settings = EvalSettings.create("voc07", 0.5, "ssd_keras")
    now = Provenance.of(gt, "test", ["dog"], settings)
    before = {k: v for k, v in settings.to_dict().items() if k != "rules"}
    stored = Provenance(now.ground_truth, "test", ("dog",), tuple(sorted(before.items())))
    assert stored != now and "settings" in now.difference(stored)
    changed = Semantics(**{**get_semantics("ssd_keras").__dict__, "intersection_plus_one": True})
    assert EvalSettings(semantics=changed).to_dict()["rules"] != settings.to_dict()["rules"]
    assert set(EvalSettings().to_dict()) == {"metric", "iou", "semantics", "semantics_tag"}


def voc_ap_area(rec, prec):
    """py-faster-rcnn's ``voc_ap(rec, prec, use_07_metric=False)`` (lib/datasets/voc_eval.py)."""
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def test_py_faster_rcnn_area_ap_is_its_voc_ap_with_numpy_sum():
    from fixture_paths import GOLDEN

    gt = vocmap.read_voc(GOLDEN / "random_large_14", cache=False)
    dets = vocmap.read_detections(GOLDEN / "random_large_14" / "results", gt)
    result = vocmap.Evaluator(gt, metric="voc12", semantics="py-faster-rcnn").evaluate(dets)
    sequential = 0
    for r in result.classes.values():
        assert r.ap == voc_ap_area(r.recall, r.precision)
        sequential += r.ap != kernels.average_precision_area(r.recall, r.precision)
    assert sequential  # the devkit's left-to-right sum differs in the last bits somewhere
