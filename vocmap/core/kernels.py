"""The VOC2007 devkit's metric, as numba kernels: sort, match, precision/recall, AP.

This is ``VOCevaldet.m`` (and ``VOCap.m`` for VOC2010+) and nothing else: no
options for other evaluators' rules (those are in :mod:`vocmap.core.rule_kernels`,
the general path, which a test proves bit-identical to this one under the
devkit's rules). :mod:`vocmap.core.devkit` calls these four kernels in order.

Conventions:

* Boxes are ``(n, 4)`` float64 arrays ``(xmin, ymin, xmax, ymax)`` in VOC pixel
  coordinates: 1-based and inclusive, so a box's width is ``xmax - xmin + 1``.
* Ground truth of one class is in "CSR" form over the image set: the objects of
  image ``i`` are rows ``gt_offsets[i]:gt_offsets[i + 1]`` of ``gt_boxes`` and
  ``gt_difficult``, in the order they appear in the image's XML file.
* Every kernel is ``@njit(cache=True)`` without ``fastmath`` (which would change
  the bits of the overlaps) and with ``error_model="numpy"`` (a division by zero
  gives inf/NaN, as in MATLAB, instead of raising).

Each kernel has a plain-Python twin in :mod:`vocmap.testing.devkit_reference`
that the property tests compare it with, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

# Detection outcomes, per detection in visiting order.
FALSE_POSITIVE = 0
TRUE_POSITIVE = 1
IGNORED = 2  # matched a difficult object: neither TP nor FP

#: MATLAB's ``0:0.1:1``. The colon operator fills the first half as ``k*0.1`` and
#: the second half as ``1 - k*0.1``, so 0.6 and 0.7 are the doubles nearest 0.6 and
#: 0.7, unlike ``numpy.arange(0, 1.1, 0.1)`` (0.6000000000000001, 0.7000000000000001).
MATLAB_RECALL_THRESHOLDS = np.array(
    [0.1 * k for k in range(6)] + [1.0 - (10 - k) * 0.1 for k in range(6, 11)],
    dtype=np.float64,
)

JIT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}
_JIT = JIT_OPTIONS


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
def match_detections(order, det_image, det_boxes, gt_offsets, gt_boxes, gt_difficult, min_overlap):
    """Assign detections of one class to its ground truth, as ``VOCevaldet.m`` does.

    Args:
        order: (n,) int64, the order to visit detections in
            (:func:`stable_descending_order` of the scores).
        det_image: (n,) int64 image index of each detection (file order).
        det_boxes: (n, 4) float64 detection boxes (file order).
        gt_offsets: (n_images + 1,) int64 CSR offsets into the ground truth.
        gt_boxes: (m, 4) float64 ground-truth boxes of this class.
        gt_difficult: (m,) bool, difficult flags.
        min_overlap: ``VOCopts.minoverlap`` (0.5).

    Returns:
        outcome: (n,) int8, per detection in visiting order: FALSE_POSITIVE,
            TRUE_POSITIVE or IGNORED.
        best_gt: (n,) int64, row of the ground truth with the largest overlap
            (first on ties), -1 where no box intersects.
        best_overlap: (n,) float64, that overlap (``-inf`` where none).

    The rule: visit detections in ``order``. For each, among the ground truth of
    its image, keep the first box with the largest overlap among those whose
    intersection has positive width and height (``iw = min(x2) - max(x1) + 1``).
    If that overlap is ``>= min_overlap``: a difficult box makes the detection
    IGNORED; an unclaimed box makes it a TRUE_POSITIVE and claims the box; an
    already claimed box makes it a FALSE_POSITIVE (a repeated detection).
    Otherwise it is a FALSE_POSITIVE.
    """
    n = order.shape[0]
    outcome = np.zeros(n, dtype=np.int8)
    best_gt = np.full(n, -1, dtype=np.int64)
    best_overlap = np.full(n, -np.inf, dtype=np.float64)
    claimed = np.zeros(gt_boxes.shape[0], dtype=np.bool_)
    for rank in range(n):
        d = order[rank]
        image = det_image[d]
        bx1, by1, bx2, by2 = det_boxes[d, 0], det_boxes[d, 1], det_boxes[d, 2], det_boxes[d, 3]
        ovmax = -np.inf
        jmax = -1
        for j in range(gt_offsets[image], gt_offsets[image + 1]):
            gx1, gy1, gx2, gy2 = gt_boxes[j, 0], gt_boxes[j, 1], gt_boxes[j, 2], gt_boxes[j, 3]
            iw = min(bx2, gx2) - max(bx1, gx1) + 1.0
            ih = min(by2, gy2) - max(by1, gy1) + 1.0
            if iw > 0 and ih > 0:
                ua = (
                    (bx2 - bx1 + 1.0) * (by2 - by1 + 1.0)
                    + (gx2 - gx1 + 1.0) * (gy2 - gy1 + 1.0)
                    - iw * ih
                )
                ov = iw * ih / ua
                if ov > ovmax:
                    ovmax = ov
                    jmax = j
        best_gt[rank] = jmax
        best_overlap[rank] = ovmax
        if ovmax >= min_overlap:
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


@njit(**_JIT)
def precision_recall(outcome, npos):
    """``tp = cumsum(tp); fp = cumsum(fp); rec = tp / npos; prec = tp ./ (fp + tp)``.

    Args:
        outcome: (n,) int8 per detection in visiting order (see match_detections).
        npos: number of non-difficult ground-truth objects.

    Returns:
        rec, prec: (n,) float64. As in MATLAB, ``rec`` is NaN everywhere when
        npos is 0 (0/0), and ``prec`` is NaN while only IGNORED detections have
        been seen.
    """
    n = outcome.shape[0]
    rec = np.empty(n, dtype=np.float64)
    prec = np.empty(n, dtype=np.float64)
    # np.float64 scalars so that 0/0 is NaN also when the kernel runs as plain
    # Python (NUMBA_DISABLE_JIT=1), where float division would raise.
    tp = np.float64(0.0)
    fp = np.float64(0.0)
    npos_float = np.float64(npos)
    for i in range(n):
        if outcome[i] == TRUE_POSITIVE:
            tp += 1.0
        elif outcome[i] == FALSE_POSITIVE:
            fp += 1.0
        rec[i] = tp / npos_float
        prec[i] = tp / (fp + tp)
    return rec, prec


@njit(**_JIT)
def average_precision_11point(rec, prec):
    """The VOC2007 11-point AP, as the devkit accumulates it.

    ``for t = 0:0.1:1, p = max(prec(rec >= t)); if isempty(p), p = 0; end;
    ap = ap + p / 11; end``, with MATLAB's thresholds
    (:data:`MATLAB_RECALL_THRESHOLDS`) and MATLAB's ``max``, which skips NaN
    (and gives NaN when every selected precision is NaN).

    Args:
        rec, prec: (n,) float64 in visiting order (see precision_recall).
    """
    n = rec.shape[0]
    ap = 0.0
    for t in MATLAB_RECALL_THRESHOLDS:
        found = False
        p = np.nan
        for i in range(n):
            if rec[i] >= t:
                found = True
                value = prec[i]
                if not np.isnan(value) and (np.isnan(p) or value > p):
                    p = value
        if not found:
            p = 0.0
        ap = ap + p / 11.0
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


def compiled_code_cached(dispatchers=None) -> bool:
    """True if numba's on-disk cache holds current code for these kernels (default:
    this module's).

    Reads numba's cache index (an internal but long-stable layout); when that
    cannot be read, answers True so that nothing misleading is printed.
    """
    if dispatchers is None:
        dispatchers = (match_detections, precision_recall, average_precision_11point)
    try:
        for dispatcher in dispatchers:
            if not dispatcher._cache._cache_file._load_index():
                return False
    except Exception:
        return True
    return True
