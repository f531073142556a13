"""Property tests: each metric kernel against its plain-Python twin in devkit_reference.

Random ground truth and detections with score ties, difficult objects, degenerate
(inverted, zero-width) and fractional boxes, and overlaps of exactly 0.5. Every
number is compared bit for bit (``-0.0 != 0.0``, NaN equals NaN).

The suite also runs under ``NUMBA_DISABLE_JIT=1`` (see the Makefile) so the kernel
bodies run as Python and coverage sees them.
"""

from __future__ import annotations

import math
import struct

import numpy as np
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vocmap.core import kernels, rule_kernels
from vocmap.testing import devkit_reference as ref

SETTINGS = settings(
    max_examples=examples(2000), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SOME = examples(1000)


def bits(value: float) -> bytes:
    value = float(value)
    return b"nan" if math.isnan(value) else struct.pack("<d", value)


def same_floats(a, b) -> bool:
    return len(a) == len(b) and all(bits(x) == bits(y) for x, y in zip(a, b))


# --------------------------------------------------------------------------- #
# Strategies
# --------------------------------------------------------------------------- #

coordinate = st.one_of(
    st.integers(-5, 60).map(float),
    st.integers(-50, 600).map(lambda v: v / 10.0),
    st.floats(-10, 70, allow_nan=False, allow_infinity=False),
)


@st.composite
def box(draw):
    x1, y1 = draw(coordinate), draw(coordinate)
    kind = draw(st.sampled_from(["normal", "normal", "normal", "degenerate", "point"]))
    if kind == "normal":
        return (x1, y1, x1 + draw(st.integers(0, 40)), y1 + draw(st.integers(0, 40)))
    if kind == "point":
        return (x1, y1, x1, y1)
    return (x1, y1, draw(coordinate), draw(coordinate))  # may be inverted


def half_overlap(gt):
    """A box with IoU exactly 0.5 against ``gt`` (integer box with even height)."""
    x1, y1, x2, y2 = gt
    height = y2 - y1 + 1
    if height <= 0 or height % 2:
        return gt
    return (x1, y1, x2, y1 + height / 2 - 1)


@st.composite
def problem(draw):
    """Ground truth per image and detections, with score ties and near-copies of GT."""
    n_images = draw(st.integers(1, 5))
    gt_by_image = []
    row = 0
    for _ in range(n_images):
        objects = []
        for _ in range(draw(st.integers(0, 4))):
            objects.append((row, draw(box()), draw(st.booleans())))
            row += 1
        gt_by_image.append(objects)
    all_gt = [(i, b) for i, objs in enumerate(gt_by_image) for _, b, _ in objs]
    n_dets = draw(st.integers(0, 30))
    score_pool = draw(
        st.lists(
            st.sampled_from([0.0, -0.0, 0.1, 0.5, 0.9, 1.0, 1e-5, -0.25]), min_size=1, max_size=4
        )
    )
    det_image, det_boxes, scores = [], [], []
    for _ in range(n_dets):
        choice = draw(st.integers(0, 3))
        if all_gt and choice <= 1:
            image, base = all_gt[draw(st.integers(0, len(all_gt) - 1))]
            if choice == 0:
                jitter = draw(st.integers(-3, 3))
                b = tuple(v + jitter * (k % 2) for k, v in enumerate(base))
            else:
                b = half_overlap(tuple(float(round(v)) for v in base))
        else:
            image = draw(st.integers(0, n_images - 1))
            b = draw(box())
        det_image.append(image)
        det_boxes.append(tuple(float(v) for v in b))
        if draw(st.booleans()):
            scores.append(draw(st.sampled_from(score_pool)))
        else:
            scores.append(draw(st.floats(-1, 1, allow_nan=False)))
    return gt_by_image, det_image, det_boxes, scores


def to_csr(gt_by_image):
    offsets = [0]
    boxes, difficult = [], []
    for objects in gt_by_image:
        for _, b, d in objects:
            boxes.append(b)
            difficult.append(d)
        offsets.append(len(boxes))
    return (
        np.array(offsets, dtype=np.int64),
        np.array(boxes, dtype=np.float64).reshape(-1, 4),
        np.array(difficult, dtype=bool),
    )


# --------------------------------------------------------------------------- #
# Matching, precision/recall and AP
# --------------------------------------------------------------------------- #


@SETTINGS
@given(
    problem(),
    st.sampled_from([0.5, 0.5, 0.3, 0.75]),
    st.booleans(),
    st.sampled_from([1.0, 0.0]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_general_kernels_agree_with_reference(
    data, iou, strict, pixel_offset, plain_intersection, all_candidates, float32_area
):
    gt_by_image, det_image, det_boxes, scores = data
    intersection_offset = 0.0 if plain_intersection else pixel_offset
    det_area = np.array(
        [
            np.float32(np.float32(b[2]) - np.float32(b[0]) + np.float32(pixel_offset))
            * np.float32(np.float32(b[3]) - np.float32(b[1]) + np.float32(pixel_offset))
            for b in det_boxes
        ],
        dtype=np.float64,
    )
    offsets, gt_boxes, gt_difficult = to_csr(gt_by_image)
    scores_arr = np.array(scores, dtype=np.float64)
    order = kernels.stable_descending_order(scores_arr)
    assert order.tolist() == ref.naive_stable_descending_order(scores)

    outcome, best_gt, best_overlap = rule_kernels.match_detections_general(
        order,
        np.array(det_image, dtype=np.int64),
        np.array(det_boxes, dtype=np.float64).reshape(-1, 4),
        offsets,
        gt_boxes,
        gt_difficult,
        iou,
        strict,
        pixel_offset,
        intersection_offset,
        all_candidates,
        det_area if float32_area else np.zeros(0),
        float32_area,
    )
    r_outcome, r_best, r_overlap = ref.naive_match_detections(
        order.tolist(),
        det_image,
        det_boxes,
        gt_by_image,
        iou,
        strict,
        pixel_offset,
        intersection_offset,
        all_candidates,
        det_area.tolist() if float32_area else None,
    )
    assert outcome.tolist() == r_outcome
    assert best_gt.tolist() == r_best
    assert same_floats(best_overlap, r_overlap)

    npos = int(np.count_nonzero(~gt_difficult))
    for floor in (0.0, np.finfo(np.float64).eps):
        rec, prec = rule_kernels.precision_recall_general(outcome, npos, floor)
        r_rec, r_prec = ref.naive_precision_recall(r_outcome, npos, floor)
        assert same_floats(rec, r_rec)
        assert same_floats(prec, r_prec)
        for thresholds in (kernels.MATLAB_RECALL_THRESHOLDS, np.arange(0, 1.1, 0.1)):
            for sum_then_divide in (False, True):
                for skip_nan in (True, False):
                    ap = rule_kernels.average_precision_11point_general(
                        rec, prec, thresholds, sum_then_divide, skip_nan
                    )
                    r_ap = ref.naive_ap_11point(
                        r_rec, r_prec, list(thresholds), sum_then_divide, skip_nan
                    )
                    assert bits(ap) == bits(r_ap)
        assert bits(kernels.average_precision_area(rec, prec)) == bits(
            ref.naive_ap_area(r_rec, r_prec)
        )


@SETTINGS
@given(problem(), st.sampled_from([0.5, 0.5, 0.3, 0.75]))
def test_devkit_kernels_agree_with_reference(data, iou):
    """The straight path's kernels, which take no preset switches, against the
    transcription of VOCevaldet.m at its own rules."""
    gt_by_image, det_image, det_boxes, scores = data
    offsets, gt_boxes, gt_difficult = to_csr(gt_by_image)
    order = kernels.stable_descending_order(np.array(scores, dtype=np.float64))
    outcome, best_gt, best_overlap = kernels.match_detections(
        order,
        np.array(det_image, dtype=np.int64),
        np.array(det_boxes, dtype=np.float64).reshape(-1, 4),
        offsets,
        gt_boxes,
        gt_difficult,
        iou,
    )
    r_outcome, r_best, r_overlap = ref.naive_match_detections(
        order.tolist(), det_image, det_boxes, gt_by_image, iou
    )
    assert outcome.tolist() == r_outcome
    assert best_gt.tolist() == r_best
    assert same_floats(best_overlap, r_overlap)
    npos = int(np.count_nonzero(~gt_difficult))
    rec, prec = kernels.precision_recall(outcome, npos)
    r_rec, r_prec = ref.naive_precision_recall(r_outcome, npos)
    assert same_floats(rec, r_rec) and same_floats(prec, r_prec)
    assert bits(kernels.average_precision_11point(rec, prec)) == bits(
        ref.naive_ap_11point(r_rec, r_prec)
    )


def test_exact_half_overlap_matches_and_strict_does_not():
    """IoU exactly 0.5: a match under >= (devkit), not under > (py-faster-rcnn)."""
    offsets = np.array([0, 1], dtype=np.int64)
    gt = np.array([[1.0, 1.0, 10.0, 10.0]])  # 10 x 10 pixels
    det = np.array([[1.0, 1.0, 10.0, 5.0]])  # 10 x 5: intersection 50, union 100
    args = (np.zeros(1, np.int64), np.zeros(1, np.int64), det, offsets, gt, np.zeros(1, bool), 0.5)
    outcome, _, overlap = kernels.match_detections(*args)
    assert overlap[0] == 0.5 and outcome[0] == kernels.TRUE_POSITIVE
    none = np.zeros(0)
    outcome, _, overlap = rule_kernels.match_detections_general(
        *args, False, 1.0, 1.0, False, none, False
    )
    assert overlap[0] == 0.5 and outcome[0] == kernels.TRUE_POSITIVE
    outcome, _, _ = rule_kernels.match_detections_general(*args, True, 1.0, 1.0, False, none, False)
    assert outcome[0] == kernels.FALSE_POSITIVE


def test_zero_area_union_gives_nan_overlap_not_an_exception():
    """Inverted ground truth can make the union 0: MATLAB gives NaN, never a match."""
    offsets = np.array([0, 1], dtype=np.int64)
    gt = np.array([[5.0, 5.0, 3.0, 3.0]])  # (5-3... ) width -1: area (-1)*(-1) = 1
    det = np.array([[4.0, 4.0, 4.0, 4.0]])
    outcome, best, overlap = kernels.match_detections(
        np.zeros(1, np.int64),
        np.zeros(1, np.int64),
        det,
        offsets,
        gt,
        np.zeros(1, bool),
        0.5,
    )
    r_outcome, r_best, r_overlap = ref.naive_match_detections(
        [0], [0], [tuple(det[0])], [[(0, tuple(gt[0]), False)]]
    )
    assert outcome.tolist() == r_outcome and best.tolist() == r_best
    assert same_floats(overlap, r_overlap)


curve_value = st.one_of(st.floats(0, 1), st.just(math.nan), st.sampled_from([0.6, 0.7, 0.3, 1.0]))


@settings(max_examples=SOME, deadline=None)
@given(
    st.lists(st.tuples(curve_value, curve_value), max_size=15),
    st.one_of(
        st.just(list(kernels.MATLAB_RECALL_THRESHOLDS)),
        st.lists(st.floats(0, 1), min_size=1, max_size=12),
    ),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_ap_on_arbitrary_curves(points, thresholds, sort_recall, sum_then_divide, skip_nan):
    """Non-monotonic recall, NaNs anywhere, unsorted thresholds: the general path."""
    if sort_recall:
        points = sorted(points, key=lambda p: (math.isnan(p[0]), p[0]))
    rec = [p[0] for p in points]
    prec = [p[1] for p in points]
    ap = rule_kernels.average_precision_11point_general(
        np.array(rec, dtype=np.float64),
        np.array(prec, dtype=np.float64),
        np.array(thresholds, dtype=np.float64),
        sum_then_divide,
        skip_nan,
    )
    assert bits(ap) == bits(ref.naive_ap_11point(rec, prec, thresholds, sum_then_divide, skip_nan))
    devkit_ap = kernels.average_precision_11point(
        np.array(rec, dtype=np.float64), np.array(prec, dtype=np.float64)
    )
    assert bits(devkit_ap) == bits(ref.naive_ap_11point(rec, prec))
    area = kernels.average_precision_area(
        np.array(rec, dtype=np.float64), np.array(prec, dtype=np.float64)
    )
    assert bits(area) == bits(ref.naive_ap_area(rec, prec))
