"""All numba kernels of vocmap, in one place.

Conventions:

* Boxes are ``(n, 4)`` float64 arrays ``(xmin, ymin, xmax, ymax)`` in VOC pixel
  coordinates: 1-based and inclusive, so a box's width is ``xmax - xmin + 1``.
* Ground truth of one class is in "CSR" form over the image set: the objects of
  image ``i`` are rows ``gt_offsets[i]:gt_offsets[i + 1]`` of ``gt_boxes`` and
  ``gt_difficult``, in the order they appear in the image's XML file.
* Every kernel is ``@njit(cache=True)`` without ``fastmath`` (which would change
  the bits of the overlaps) and with ``error_model="numpy"`` (a division by zero
  gives inf/NaN, as in MATLAB, instead of raising).

The matching rule of the VOC2007 devkit (``VOCevaldet.m``) lives in
:func:`match_detections`; its AP in :func:`average_precision_11point`. Each kernel
has a plain-Python twin in ``tests/helpers/reference_devkit.py`` that the property tests
compare it with.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Detection outcomes, per detection in sorted order.
FALSE_POSITIVE = 0
TRUE_POSITIVE = 1
IGNORED = 2  # matched a difficult object: neither TP nor FP

# Why a parsed result line is not usable (``parse_result_lines`` error codes).
LINE_OK = 0
LINE_FIELD_COUNT = 1
LINE_NOT_A_NUMBER = 2
LINE_NOT_FINITE = 3
LINE_UNKNOWN_IMAGE = 4

#: MATLAB's ``0:0.1:1``. The colon operator fills the first half as ``k*0.1`` and
#: the second half as ``1 - k*0.1``, so 0.6 and 0.7 are the doubles nearest 0.6 and
#: 0.7, unlike ``numpy.arange(0, 1.1, 0.1)`` (0.6000000000000001, 0.7000000000000001).
MATLAB_RECALL_THRESHOLDS = np.array(
    [0.1 * k for k in range(6)] + [1.0 - (10 - k) * 0.1 for k in range(6, 11)],
    dtype=np.float64,
)

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


# --------------------------------------------------------------------------- #
# Sorting and matching
# --------------------------------------------------------------------------- #


@njit(**_JIT)
def stable_descending_order(scores):
    """Indices that sort ``scores`` (n,) by decreasing value; ties keep file order.

    This is MATLAB's ``[~, si] = sort(-confidence)``: a stable ascending sort of
    the negated scores, in which ``-0.0`` and ``0.0`` are equal. Done as an LSD
    radix sort (stable by construction, and several times faster than a
    merge sort) on the negated scores mapped to order-preserving unsigned keys.
    """
    n = scores.shape[0]
    keys = np.empty(n, dtype=np.uint64)
    sign = np.uint64(1) << np.uint64(63)
    for i in range(n):
        value = -scores[i]
        if value == 0.0:
            value = 0.0  # -0.0 and 0.0 sort as equal, as in MATLAB
        bits = np.uint64(np.float64(value).view(np.uint64))
        keys[i] = ~bits if bits & sign else bits | sign
    order = np.arange(n, dtype=np.int64)
    if n < 2:
        return order
    scratch = np.empty(n, dtype=np.int64)
    counts = np.empty(65537, dtype=np.int64)
    for shift in range(0, 64, 16):
        for b in range(65537):
            counts[b] = 0
        s = np.uint64(shift)
        for i in range(n):
            counts[((keys[i] >> s) & np.uint64(0xFFFF)) + np.uint64(1)] += 1
        same_digit = False
        for b in range(65537):
            if counts[b] == n:
                same_digit = True
        if same_digit:
            continue  # every key has the same digit here: the pass would not move anything
        for b in range(1, 65537):
            counts[b] += counts[b - 1]
        for i in range(n):
            index = order[i]
            digit = (keys[index] >> s) & np.uint64(0xFFFF)
            scratch[counts[digit]] = index
            counts[digit] += 1
        order, scratch = scratch, order
    return order


@njit(**_JIT)
def match_detections(
    order,
    det_image,
    det_boxes,
    gt_offsets,
    gt_boxes,
    gt_difficult,
    iou_threshold,
    strict_threshold,
    pixel_offset,
):
    """Assign detections of one class to ground truth, as ``VOCevaldet.m`` does.

    Args:
        order: (n,) int64, the order to visit detections in (see
            :func:`stable_descending_order`).
        det_image: (n,) int32 image index of each detection (file order).
        det_boxes: (n, 4) float64 detection boxes (file order).
        gt_offsets: (n_images + 1,) int64 CSR offsets into the ground truth.
        gt_boxes: (m, 4) float64 ground-truth boxes of this class.
        gt_difficult: (m,) bool, difficult flags.
        iou_threshold: minimum overlap for a match (0.5 in VOC).
        strict_threshold: if True a match needs ``overlap > iou_threshold``
            instead of the devkit's ``>=``.
        pixel_offset: 1.0 for the devkit's inclusive pixel sizes
            (``x2 - x1 + 1``), 0.0 for continuous coordinates.

    Returns:
        outcome: (n,) int8, per detection in visiting order: FALSE_POSITIVE,
            TRUE_POSITIVE or IGNORED.
        best_gt: (n,) int64, global row of the ground truth with the largest
            overlap (first on ties), -1 where no box intersects.
        best_overlap: (n,) float64, that overlap (``-inf`` where none).

    The rule: visit detections in ``order``. For each, among the ground truth of
    its image, keep the first box with the largest overlap among those whose
    intersection has positive width and height. If that overlap meets the
    threshold: a difficult box makes the detection IGNORED; an unclaimed box
    makes it a TRUE_POSITIVE and claims the box; an already claimed box makes it
    a FALSE_POSITIVE (a repeated detection). Otherwise it is a FALSE_POSITIVE.
    """
    n = order.shape[0]
    outcome = np.zeros(n, dtype=np.int8)
    best_gt = np.full(n, -1, dtype=np.int64)
    best_overlap = np.full(n, -np.inf, dtype=np.float64)
    claimed = np.zeros(gt_boxes.shape[0], dtype=np.bool_)
    for rank in range(n):
        d = order[rank]
        image = det_image[d]
        bx1 = det_boxes[d, 0]
        by1 = det_boxes[d, 1]
        bx2 = det_boxes[d, 2]
        by2 = det_boxes[d, 3]
        ovmax = -np.inf
        jmax = -1
        for j in range(gt_offsets[image], gt_offsets[image + 1]):
            gx1 = gt_boxes[j, 0]
            gy1 = gt_boxes[j, 1]
            gx2 = gt_boxes[j, 2]
            gy2 = gt_boxes[j, 3]
            iw = min(bx2, gx2) - max(bx1, gx1) + pixel_offset
            ih = min(by2, gy2) - max(by1, gy1) + pixel_offset
            if iw > 0 and ih > 0:
                ua = (
                    (bx2 - bx1 + pixel_offset) * (by2 - by1 + pixel_offset)
                    + (gx2 - gx1 + pixel_offset) * (gy2 - gy1 + pixel_offset)
                    - iw * ih
                )
                ov = iw * ih / ua
                if ov > ovmax:
                    ovmax = ov
                    jmax = j
        best_gt[rank] = jmax
        best_overlap[rank] = ovmax
        if ovmax > iou_threshold or (not strict_threshold and ovmax == iou_threshold):
            if gt_difficult[jmax]:
                outcome[rank] = IGNORED
            elif not claimed[jmax]:
                outcome[rank] = TRUE_POSITIVE
                claimed[jmax] = True
            else:
                outcome[rank] = FALSE_POSITIVE
        else:
            outcome[rank] = FALSE_POSITIVE
    return outcome, best_gt, best_overlap


# --------------------------------------------------------------------------- #
# Precision, recall and AP
# --------------------------------------------------------------------------- #


@njit(**_JIT)
def precision_recall(outcome, npos, precision_floor):
    """Cumulative recall and precision, as the devkit computes them.

    Args:
        outcome: (n,) int8 per detection in sorted order (see match_detections).
        npos: number of non-difficult ground-truth objects.
        precision_floor: 0.0 for the devkit's ``tp ./ (fp + tp)`` (NaN while only
            ignored detections have been seen); a positive value ``eps`` gives
            ``tp / max(tp + fp, eps)`` as in py-faster-rcnn.

    Returns:
        rec, prec: (n,) float64. ``rec = tp / npos`` is NaN everywhere when npos
        is 0 (0/0), as in MATLAB.
    """
    n = outcome.shape[0]
    rec = np.empty(n, dtype=np.float64)
    prec = np.empty(n, dtype=np.float64)
    # np.float64 scalars so that 0/0 is NaN also when the kernel runs as plain
    # Python (NUMBA_DISABLE_JIT=1), where float division would raise.
    tp = np.float64(0.0)
    fp = np.float64(0.0)
    denominator_npos = np.float64(npos)
    for i in range(n):
        if outcome[i] == TRUE_POSITIVE:
            tp += 1.0
        elif outcome[i] == FALSE_POSITIVE:
            fp += 1.0
        rec[i] = tp / denominator_npos
        total = fp + tp
        if precision_floor > 0.0 and total < precision_floor:
            total = precision_floor
        prec[i] = tp / total
    return rec, prec


@njit(**_JIT)
def average_precision_11point(rec, prec, thresholds, sum_then_divide, skip_nan):
    """The VOC2007 11-point AP.

    For each threshold ``t`` in order, ``p = max(prec[rec >= t])`` skipping NaN
    precisions (MATLAB's ``max``; with ``skip_nan=False`` a NaN makes ``p`` NaN,
    as NumPy's ``max`` does); ``p = 0`` when no recall reaches ``t``; ``p`` stays
    NaN when every such precision is NaN. The devkit accumulates
    ``ap = ap + p / 11`` in threshold order; ``sum_then_divide`` instead gives
    ``(p_1 + ... + p_11) / 11``.

    When ``rec`` is non-decreasing (always, for curves from precision_recall),
    ``rec >= t`` selects a suffix, so the maxima come from one backward pass;
    otherwise every threshold scans the whole curve. Both give the same bits.

    Args:
        rec, prec: (n,) float64 in sorted detection order.
        thresholds: (k,) float64 recall thresholds (11 for VOC2007).
    """
    n = rec.shape[0]
    k = thresholds.shape[0]
    monotonic = True
    for i in range(1, n):
        if not rec[i] >= rec[i - 1]:  # also False for NaN
            monotonic = False
            break
    if n > 0 and np.isnan(rec[0]):
        monotonic = False
    if not skip_nan:
        monotonic = False  # NaN-propagating maxima: keep the plain scan
    for ti in range(1, k):
        if not thresholds[ti] >= thresholds[ti - 1]:
            monotonic = False
    suffix_max = np.empty(n + 1, dtype=np.float64)
    if monotonic:
        suffix_max[n] = np.nan
        for i in range(n - 1, -1, -1):
            value = prec[i]
            best = suffix_max[i + 1]
            if np.isnan(value) or (not np.isnan(best) and best >= value):
                suffix_max[i] = best
            else:
                suffix_max[i] = value
    ap = 0.0
    first = 0
    for ti in range(k):
        t = thresholds[ti]
        if monotonic:
            while first < n and not rec[first] >= t:
                first += 1
            found = first < n
            p = suffix_max[first] if found else 0.0
        else:
            found = False
            p = np.nan
            poisoned = False
            for i in range(n):
                if rec[i] >= t:
                    found = True
                    value = prec[i]
                    if np.isnan(value):
                        poisoned = True
                    elif np.isnan(p) or value > p:
                        p = value
            if not found:
                p = 0.0
            elif poisoned and not skip_nan:
                p = np.nan
        if sum_then_divide:
            ap = ap + p
        else:
            ap = ap + p / k
    if sum_then_divide:
        ap = ap / k
    return ap


@njit(**_JIT)
def average_precision_area(rec, prec):
    """The VOC2010+ AP: area under the precision envelope (``VOCap.m``).

    ``mrec = [0; rec; 1]``, ``mpre = [0; prec; 0]``, ``mpre`` made
    non-increasing from the right with MATLAB's two-argument ``max`` (which skips
    a NaN operand), then the sum of ``(mrec[i] - mrec[i-1]) * mpre[i]`` where the
    recall changes (``~=``, true for NaN), summed left to right.
    """
    n = rec.shape[0]
    mrec = np.empty(n + 2, dtype=np.float64)
    mpre = np.empty(n + 2, dtype=np.float64)
    mrec[0] = 0.0
    mpre[0] = 0.0
    for i in range(n):
        mrec[i + 1] = rec[i]
        mpre[i + 1] = prec[i]
    mrec[n + 1] = 1.0
    mpre[n + 1] = 0.0
    for i in range(n, -1, -1):
        a = mpre[i]
        b = mpre[i + 1]
        if np.isnan(a) or (not np.isnan(b) and b > a):
            mpre[i] = b
    ap = 0.0
    for i in range(1, n + 2):
        if mrec[i] != mrec[i - 1]:
            ap = ap + (mrec[i] - mrec[i - 1]) * mpre[i]
    return ap


# --------------------------------------------------------------------------- #
# Image-id lookup: an open-addressing hash table over the image set's ids
# --------------------------------------------------------------------------- #


@njit(**_JIT)
def _hash_bytes(buf, start, stop):
    """64-bit FNV-1a of ``buf[start:stop]``."""
    h = np.uint64(14695981039346656037)
    prime = np.uint64(1099511628211)
    for i in range(start, stop):
        h = (h ^ np.uint64(buf[i])) * prime
    return h


@njit(**_JIT)
def _bytes_equal(a, a_start, a_stop, b, b_start, b_stop):
    if a_stop - a_start != b_stop - b_start:
        return False
    for i in range(a_stop - a_start):
        if a[a_start + i] != b[b_start + i]:
            return False
    return True


@njit(**_JIT)
def build_id_table(id_bytes, id_offsets):
    """A hash table for looking image ids up by their bytes.

    Args:
        id_bytes: (total,) uint8, the UTF-8 ids concatenated.
        id_offsets: (n_images + 1,) int64, id ``i`` is ``id_bytes[off[i]:off[i+1]]``.

    Returns:
        slots: (size,) int64, a power-of-two table of image indices (-1 empty).
        duplicate: index of the first id that repeats an earlier one, or -1.
    """
    n = id_offsets.shape[0] - 1
    size = 16
    while size < 2 * n:
        size *= 2
    slots = np.full(size, -1, dtype=np.int64)
    mask = np.uint64(size - 1)
    for i in range(n):
        start = id_offsets[i]
        stop = id_offsets[i + 1]
        pos = _hash_bytes(id_bytes, start, stop) & mask
        while slots[pos] != -1:
            other = slots[pos]
            if _bytes_equal(
                id_bytes, start, stop, id_bytes, id_offsets[other], id_offsets[other + 1]
            ):
                return slots, i
            pos = (pos + np.uint64(1)) & mask
        slots[pos] = i
    return slots, -1


@njit(**_JIT)
def _lookup_id(buf, start, stop, id_bytes, id_offsets, slots):
    mask = np.uint64(slots.shape[0] - 1)
    pos = _hash_bytes(buf, start, stop) & mask
    while slots[pos] != -1:
        index = slots[pos]
        if _bytes_equal(buf, start, stop, id_bytes, id_offsets[index], id_offsets[index + 1]):
            return index
        pos = (pos + np.uint64(1)) & mask
    return -1


# --------------------------------------------------------------------------- #
# Result-file parsing
# --------------------------------------------------------------------------- #

_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)  # all exact doubles


_NAN = np.frombuffer(b"nan", dtype=np.uint8)
_INF = np.frombuffer(b"inf", dtype=np.uint8)
_INFINITY = np.frombuffer(b"infinity", dtype=np.uint8)


@njit(**_JIT)
def _word_is(buf, start, stop, word):
    """True if ``buf[start:stop]``, lower-cased, is ``word`` (lower-case ASCII)."""
    if stop - start != word.shape[0]:
        return False
    for k in range(word.shape[0]):
        if (buf[start + k] | 32) != word[k]:
            return False
    return True


_BLANK = np.zeros(256, dtype=np.bool_)
_BLANK[[9, 10, 11, 12, 13, 32]] = True  # \t \n \v \f \r and space


@njit(**_JIT)
def _is_space(c):
    return _BLANK[c]


@njit(**_JIT)
def _parse_number(buf, start, limit):
    """Parse the blank-delimited token at ``buf[start]`` as a decimal number.

    The token ends at the first blank (or ``limit``). Returns
    ``(status, value, end)``: status 0 = parsed exactly; 1 = valid syntax but
    outside the exact fast path (the caller re-parses it with Python's
    correctly rounded ``float``); 2 = not a number; 3 = NaN or infinity.
    ``end`` is where the token stops.

    The fast path is Clinger's: at most 18 significant digits forming an integer
    ``m <= 2**53`` and a decimal exponent ``|e| <= 22``; then ``m * 10**e`` or
    ``m / 10**-e`` is one correctly rounded IEEE operation on exact operands.
    """
    stop = limit
    i = start
    negative = False
    if i < stop and (buf[i] == 43 or buf[i] == 45):  # '+' '-'
        negative = buf[i] == 45
        i += 1
    if i >= stop or _is_space(buf[i]):
        return 2, 0.0, i
    c = buf[i] | 32  # lower case
    if c == 110 or c == 105:  # 'n' or 'i': only nan, inf, infinity are words we know
        end = _token_end(buf, i, stop)
        if _word_is(buf, i, end, _NAN) or _word_is(buf, i, end, _INF):
            return 3, 0.0, end
        if _word_is(buf, i, end, _INFINITY):
            return 3, 0.0, end
        return 2, 0.0, end
    # Digits accumulate into an int64; `significant` counts digits from the first
    # non-zero one. Past 18 of them the sum may wrap, but then the fast path is
    # not taken, so the wrapped value is never used. (The integer and fraction
    # loops are written out twice on purpose: a shared helper returning a tuple
    # made the whole parser 30% slower.)
    mantissa = 0
    significant = 0
    integer_start = i
    while i < stop:
        d = np.int64(buf[i]) - 48
        if d < 0 or d > 9:
            break
        mantissa = mantissa * 10 + d
        if mantissa != 0:
            significant += 1
        i += 1
    digits = i - integer_start
    exponent = 0
    if i < stop and buf[i] == 46:  # '.'
        i += 1
        fraction_start = i
        while i < stop:
            d = np.int64(buf[i]) - 48
            if d < 0 or d > 9:
                break
            mantissa = mantissa * 10 + d
            if mantissa != 0:
                significant += 1
            i += 1
        exponent = fraction_start - i
        digits += i - fraction_start
    if digits == 0:
        return 2, 0.0, _token_end(buf, i, stop)
    if i < stop and (buf[i] | 32) == 101:  # 'e'
        i += 1
        exp_negative = False
        if i < stop and (buf[i] == 43 or buf[i] == 45):
            exp_negative = buf[i] == 45
            i += 1
        exp_digits = 0
        exp_value = 0
        while i < stop and buf[i] >= 48 and buf[i] <= 57:
            if exp_value < 100000:
                exp_value = exp_value * 10 + (np.int64(buf[i]) - 48)
            exp_digits += 1
            i += 1
        if exp_digits == 0:
            return 2, 0.0, _token_end(buf, i, stop)
        exponent += -exp_value if exp_negative else exp_value
    if i < stop and not _is_space(buf[i]):
        return 2, 0.0, _token_end(buf, i, stop)
    if significant > 18 or mantissa > 9007199254740992 or exponent > 22 or exponent < -22:
        if significant == 0:
            return 0, (-0.0 if negative else 0.0), i
        return 1, 0.0, i
    if mantissa == 0:
        return 0, (-0.0 if negative else 0.0), i
    value = float(mantissa)
    if exponent >= 0:
        value = value * _POW10[exponent]
    else:
        value = value / _POW10[-exponent]
    return 0, (-value if negative else value), i


@njit(**_JIT)
def _parse_float(buf, start, stop):
    """Parse exactly ``buf[start:stop]`` as a number: ``(status, value)`` (see
    _parse_number; a token that ends early is not a number)."""
    status, value, end = _parse_number(buf, start, stop)
    if end != stop:
        return 2, 0.0
    return status, value


@njit(**_JIT)
def _skip_blanks(buf, pos, size):
    """Skip blank space other than a newline."""
    while pos < size and buf[pos] != 10 and _is_space(buf[pos]):
        pos += 1
    return pos


@njit(**_JIT)
def _token_end(buf, pos, size):
    while pos < size and not _is_space(buf[pos]):
        pos += 1
    return pos


@njit(**_JIT)
def parse_result_lines(buf, id_bytes, id_offsets, slots):
    """Parse a devkit result file: ``<image id> <score> <xmin> <ymin> <xmax> <ymax>``.

    Fields are separated by any run of blank space; ``\\r\\n`` and a leading
    UTF-8 BOM are accepted; blank lines are skipped. One pass over the bytes.

    Args:
        buf: (size,) uint8, the whole file.
        id_bytes, id_offsets, slots: the image-id table (see build_id_table).

    Returns:
        count: number of detection lines.
        image: (count,) int64 image index, -1 for an id not in the image set.
        scores: (count,) float64.
        boxes: (count, 4) float64 xmin, ymin, xmax, ymax.
        line_no: (count,) int64 1-based line number of each detection.
        slow: (k, 3) int64 rows ``(detection, field, byte start)`` of numbers the
            fast path left to Python (field 0 is the score, 1-4 the box); the
            number ends at the next blank. The caller fills in their values.
        slow_count: k.
        error_line, error_code, error_field: the first line that cannot be used
            (LINE_FIELD_COUNT, LINE_NOT_A_NUMBER, LINE_NOT_FINITE) and the 0-based
            field, or 0, LINE_OK, 0. Unknown image ids are not errors here.
    """
    size = buf.shape[0]
    pos = 0
    if size >= 3 and buf[0] == 0xEF and buf[1] == 0xBB and buf[2] == 0xBF:
        pos = 3
    # The shortest line, "a 1 1 1 1 1", has 11 bytes: this many rows always fit.
    capacity = size // 11 + 1
    image = np.empty(capacity, dtype=np.int64)
    scores = np.empty(capacity, dtype=np.float64)
    boxes = np.empty((capacity, 4), dtype=np.float64)
    line_no = np.empty(capacity, dtype=np.int64)
    slow = np.empty((16, 3), dtype=np.int64)
    slow_count = 0
    count = 0
    line = 0
    previous_start = 0
    previous_stop = 0
    previous_image = -2
    error_line = 0
    error_code = LINE_OK
    error_field = 0
    while pos < size:
        line += 1
        pos = _skip_blanks(buf, pos, size)
        if pos >= size:
            break
        if buf[pos] == 10:
            pos += 1
            continue
        id_start = pos
        pos = _token_end(buf, pos, size)
        id_stop = pos
        for field in range(5):
            pos = _skip_blanks(buf, pos, size)
            if pos >= size or buf[pos] == 10:
                error_code = LINE_FIELD_COUNT
                error_field = field + 1
                break
            start = pos
            status, value, pos = _parse_number(buf, pos, size)
            if status >= 2:
                error_code = LINE_NOT_A_NUMBER if status == 2 else LINE_NOT_FINITE
                error_field = field + 1
                break
            if status == 1:
                if slow_count == slow.shape[0]:
                    # Grown element by element: a slice assignment here costs
                    # seconds of compiling.
                    bigger = np.empty((2 * slow.shape[0], 3), dtype=np.int64)
                    for r in range(slow_count):
                        for c in range(3):
                            bigger[r, c] = slow[r, c]
                    slow = bigger
                slow[slow_count, 0] = count
                slow[slow_count, 1] = field
                slow[slow_count, 2] = start
                slow_count += 1
            if field == 0:
                scores[count] = value
            else:
                boxes[count, field - 1] = value
        if error_code == LINE_OK:
            pos = _skip_blanks(buf, pos, size)
            if pos < size and buf[pos] != 10:
                error_code = LINE_FIELD_COUNT
                error_field = 6
        if error_code != LINE_OK:
            error_line = line
            break
        pos += 1
        # Detectors write an image's detections together: try the last id first.
        if previous_image != -2 and _bytes_equal(
            buf, id_start, id_stop, buf, previous_start, previous_stop
        ):
            image[count] = previous_image
        else:
            previous_image = _lookup_id(buf, id_start, id_stop, id_bytes, id_offsets, slots)
            previous_start = id_start
            previous_stop = id_stop
            image[count] = previous_image
        line_no[count] = line
        count += 1
    return (
        count,
        image[:count],
        scores[:count],
        boxes[:count],
        line_no[:count],
        slow,
        slow_count,
        error_line,
        error_code,
        error_field,
    )


def compiled_code_cached() -> bool:
    """True if numba's on-disk cache holds current code for the main kernels.

    Reads numba's cache index (an internal but long-stable layout); when that
    cannot be read, answers True so that nothing misleading is printed.
    """
    try:
        for dispatcher in (parse_result_lines, match_detections, precision_recall):
            if not dispatcher._cache._cache_file._load_index():
                return False
    except Exception:
        return True
    return True
