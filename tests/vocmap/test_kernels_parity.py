"""Property tests: each numba kernel against its plain-Python twin in reference_devkit.

Random ground truth and detections with score ties, difficult objects, degenerate
(inverted, zero-width) and fractional boxes, and overlaps of exactly 0.5. Every
number is compared bit for bit (``-0.0 != 0.0``, NaN equals NaN).

The suite also runs under ``NUMBA_DISABLE_JIT=1`` (see the Makefile) so the kernel
bodies run as Python and coverage sees them.
"""

from __future__ import annotations

import math
import os
import struct

import numpy as np
import reference_devkit as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vocmap import kernels

# Thousands of cases when compiled; fewer when the kernels run as Python
# (NUMBA_DISABLE_JIT=1, the coverage run), where each case is 100x slower.
NO_JIT = os.environ.get("NUMBA_DISABLE_JIT") == "1"
SETTINGS = settings(
    max_examples=200 if NO_JIT else 2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SOME = 100 if NO_JIT else 1000


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
    problem(), st.sampled_from([0.5, 0.5, 0.3, 0.75]), st.booleans(), st.sampled_from([1.0, 0.0])
)
def test_match_and_ap_agree_with_reference(data, iou, strict, pixel_offset):
    gt_by_image, det_image, det_boxes, scores = data
    offsets, gt_boxes, gt_difficult = to_csr(gt_by_image)
    scores_arr = np.array(scores, dtype=np.float64)
    order = kernels.stable_descending_order(scores_arr)
    assert order.tolist() == ref.naive_stable_descending_order(scores)

    outcome, best_gt, best_overlap = kernels.match_detections(
        order,
        np.array(det_image, dtype=np.int64),
        np.array(det_boxes, dtype=np.float64).reshape(-1, 4),
        offsets,
        gt_boxes,
        gt_difficult,
        iou,
        strict,
        pixel_offset,
    )
    r_outcome, r_best, r_overlap = ref.naive_match_detections(
        order.tolist(), det_image, det_boxes, gt_by_image, iou, strict, pixel_offset
    )
    assert outcome.tolist() == r_outcome
    assert best_gt.tolist() == r_best
    assert same_floats(best_overlap, r_overlap)

    npos = int(np.count_nonzero(~gt_difficult))
    for floor in (0.0, np.finfo(np.float64).eps):
        rec, prec = kernels.precision_recall(outcome, npos, floor)
        r_rec, r_prec = ref.naive_precision_recall(r_outcome, npos, floor)
        assert same_floats(rec, r_rec)
        assert same_floats(prec, r_prec)
        for thresholds in (kernels.MATLAB_RECALL_THRESHOLDS, np.arange(0, 1.1, 0.1)):
            for sum_then_divide in (False, True):
                for skip_nan in (True, False):
                    ap = kernels.average_precision_11point(
                        rec, prec, thresholds, sum_then_divide, skip_nan
                    )
                    r_ap = ref.naive_ap_11point(
                        r_rec, r_prec, list(thresholds), sum_then_divide, skip_nan
                    )
                    assert bits(ap) == bits(r_ap)
        assert bits(kernels.average_precision_area(rec, prec)) == bits(
            ref.naive_ap_area(r_rec, r_prec)
        )


def test_exact_half_overlap_matches_and_strict_does_not():
    """IoU exactly 0.5: a match under >= (devkit), not under > (py-faster-rcnn)."""
    offsets = np.array([0, 1], dtype=np.int64)
    gt = np.array([[1.0, 1.0, 10.0, 10.0]])  # 10 x 10 pixels
    det = np.array([[1.0, 1.0, 10.0, 5.0]])  # 10 x 5: intersection 50, union 100
    args = (np.zeros(1, np.int64), np.zeros(1, np.int64), det, offsets, gt, np.zeros(1, bool), 0.5)
    outcome, _, overlap = kernels.match_detections(*args, False, 1.0)
    assert overlap[0] == 0.5 and outcome[0] == kernels.TRUE_POSITIVE
    outcome, _, _ = kernels.match_detections(*args, True, 1.0)
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
        False,
        1.0,
    )
    r_outcome, r_best, r_overlap = ref.naive_match_detections(
        [0], [0], [tuple(det[0])], [[(0, tuple(gt[0]), False)]]
    )
    assert outcome.tolist() == r_outcome and best.tolist() == r_best
    assert same_floats(overlap, r_overlap)


# --------------------------------------------------------------------------- #
# Number parsing
# --------------------------------------------------------------------------- #


def parse_token(text: str) -> tuple[int, float]:
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    return kernels._parse_float(raw, 0, raw.shape[0])


decimal_text = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-", "+"]),
    st.one_of(st.just(""), st.integers(0, 10**25).map(str), st.just("0000")),
    st.one_of(st.just(""), st.just("."), st.integers(0, 10**22).map(lambda v: f".{v}")),
    st.one_of(
        st.just(""),
        st.integers(-330, 330).map(lambda v: f"e{v}"),
        st.sampled_from(["E5", "e+07", "e-3"]),
    ),
)


@SETTINGS
@given(st.one_of(decimal_text, st.floats(allow_nan=False, allow_infinity=False).map(repr)))
def test_number_parser_agrees_with_python_float(text):
    status, value = parse_token(text)
    try:
        expected = float(text)
    except ValueError:
        assert status == 2, text
        return
    if status == 0:
        assert bits(value) == bits(expected), text
    else:
        # Left to Python (too many digits, or an exponent out of the exact range).
        assert status == 1, (text, status)


@settings(max_examples=SOME // 2, deadline=None)
@given(st.text(alphabet="0123456789.eE+-_xnaift ", min_size=1, max_size=12))
def test_number_parser_rejects_what_is_not_a_decimal(text):
    text = text.replace(" ", "")
    if not text:
        return
    status, value = parse_token(text)
    lowered = text.lower().lstrip("+-")
    if lowered in ("nan", "inf", "infinity"):
        assert status == 3
        return
    try:
        expected = float(text)
    except ValueError:
        assert status == 2, text
        return
    if "_" in text:  # Python accepts digit separators; a result file must not
        assert status == 2
    elif status == 0:
        assert bits(value) == bits(expected)
    else:
        assert status == 1


# --------------------------------------------------------------------------- #
# Result-file parsing, against a plain line splitter
# --------------------------------------------------------------------------- #

IDS = ["000001", "000002", "2008_000003", "x"]


def id_table():
    encoded = [i.encode() for i in IDS]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    id_bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    slots, duplicate = kernels.build_id_table(id_bytes, offsets)
    assert duplicate == -1
    return id_bytes, offsets, slots


number_text = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.integers(-1000, 1000).map(str),
    st.floats(0, 1, allow_nan=False).map(lambda v: f"{v:.6f}"),
    st.floats(0, 1, allow_nan=False).map(lambda v: f"{v:.3e}"),
    st.just("0.50000000000000001"),
)


@st.composite
def result_file(draw):
    lines = []
    expected = []
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 6)) == 0:
            lines.append(draw(st.sampled_from(["", "   ", "\t"])))
            continue
        image = draw(st.sampled_from([*IDS, "999999"]))
        numbers = [draw(number_text) for _ in range(5)]
        gaps = [draw(st.sampled_from([" ", "  ", "\t", " \t "])) for _ in range(5)]
        lead = draw(st.sampled_from(["", " "]))
        text = lead + image + "".join(g + n for g, n in zip(gaps, numbers))
        lines.append(text)
        expected.append(
            (IDS.index(image) if image in IDS else -1, [float(n) for n in numbers], len(lines))
        )
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    body = ending.join(lines) + (ending if draw(st.booleans()) else "")
    if draw(st.booleans()):
        body = "\ufeff" + body
    return body.encode(), expected


@settings(max_examples=SOME, deadline=None)
@given(result_file())
def test_result_parser_agrees_with_line_splitting(data):
    raw, expected = data
    id_bytes, offsets, slots = id_table()
    count, image, scores, boxes, line_no, slow, slow_count, _, err_code, _ = (
        kernels.parse_result_lines(np.frombuffer(raw, dtype=np.uint8), id_bytes, offsets, slots)
    )
    values = np.column_stack([scores, boxes]) if count else np.zeros((0, 5))
    assert err_code == kernels.LINE_OK
    assert count == len(expected)
    slow_cells = {(int(d), int(f)) for d, f, _ in slow[:slow_count]}
    for k, (want_image, want_values, want_line) in enumerate(expected):
        assert image[k] == want_image
        assert line_no[k] == want_line
        for f in range(5):
            if (k, f) not in slow_cells:
                assert bits(values[k, f]) == bits(want_values[f])


def test_duplicate_ids_are_reported_by_the_table():
    encoded = [b"a", b"b", b"a"]
    offsets = np.array([0, 1, 2, 3], dtype=np.int64)
    _, duplicate = kernels.build_id_table(np.frombuffer(b"".join(encoded), np.uint8), offsets)
    assert duplicate == 2


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
    ap = kernels.average_precision_11point(
        np.array(rec, dtype=np.float64),
        np.array(prec, dtype=np.float64),
        np.array(thresholds, dtype=np.float64),
        sum_then_divide,
        skip_nan,
    )
    assert bits(ap) == bits(ref.naive_ap_11point(rec, prec, thresholds, sum_then_divide, skip_nan))
    area = kernels.average_precision_area(
        np.array(rec, dtype=np.float64), np.array(prec, dtype=np.float64)
    )
    assert bits(area) == bits(ref.naive_ap_area(rec, prec))


@settings(max_examples=SOME // 2, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["000001", "0.5", "1e3", "-2", "x", "1..2", "nan", "3"]), max_size=8
        ),
        min_size=1,
        max_size=6,
    )
)
def test_parser_stops_at_the_first_bad_line_like_a_line_splitter(rows):
    """The kernel reports the first line a line splitter would reject.

    (Which problem it names on that line may differ: it reads left to right, so
    "000001 x" stops at the number; the caller rebuilds the message from the line,
    field count first.)"""
    raw = "\n".join(" ".join(r) for r in rows).encode()
    id_bytes, offsets, slots = id_table()
    *_, err_line, err_code, _ = kernels.parse_result_lines(
        np.frombuffer(raw, dtype=np.uint8), id_bytes, offsets, slots
    )
    expected_line = 0
    for number, fields in enumerate(rows, start=1):
        if fields and (len(fields) != 6 or any(f in ("x", "1..2", "nan") for f in fields[1:])):
            expected_line = number
            break
    assert err_line == expected_line
    assert (err_code == kernels.LINE_OK) == (expected_line == 0)
