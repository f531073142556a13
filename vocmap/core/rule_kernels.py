"""The general path's numba kernels: the devkit's loops with other evaluators' switches.

:mod:`vocmap.core.general` uses these for every rule set but the devkit's (a
strict ``>`` threshold, sizes without the +1 pixel, float32 boxes, a precision
floor, NaN-propagating maxima, other recall thresholds, sum-then-divide). With
the devkit's switches each gives the same bits as its twin in
:mod:`vocmap.core.kernels` (tested on the golden and random cases).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vocmap.core.kernels import FALSE_POSITIVE, IGNORED, JIT_OPTIONS, TRUE_POSITIVE

_JIT = JIT_OPTIONS


@njit(**_JIT)
def match_detections_general(
    order,
    det_image,
    det_boxes,
    gt_offsets,
    gt_boxes,
    gt_difficult,
    iou_threshold,
    strict_threshold,
    pixel_offset,
    intersection_offset,
    all_candidates,
    det_area,
    use_det_area,
):
    """Assign detections of one class to ground truth, under any threshold rule,
    pixel convention and choice of candidates (``VOCevaldet.m``'s loop with switches).

    Args:
        order: (n,) int64, the order to visit detections in (see
            :func:`vocmap.core.kernels.stable_descending_order`).
        det_image: (n,) int32 image index of each detection (file order).
        det_boxes: (n, 4) float64 or float32 detection boxes (file order); the
            arithmetic is done in this dtype.
        gt_offsets: (n_images + 1,) int64 CSR offsets into the ground truth.
        gt_boxes: (m, 4) ground-truth boxes of this class (det_boxes' dtype).
        gt_difficult: (m,) bool, difficult flags.
        iou_threshold: minimum overlap for a match (0.5 in VOC).
        strict_threshold: if True a match needs ``overlap > iou_threshold``
            instead of the devkit's ``>=``.
        pixel_offset: 1.0 for the devkit's inclusive pixel sizes
            (``x2 - x1 + 1``), 0.0 for continuous coordinates (boxes' dtype).
        intersection_offset: the offset added to the intersection's sides
            (the devkit: ``pixel_offset``; ssd_keras: 0.0).
        all_candidates: False: only objects whose intersection has positive
            width and height compete (the devkit). True: every object of the
            image competes with its overlap (0 where they do not intersect), as
            NumPy's ``argmax`` picks: the first maximum, or the first NaN; a NaN
            overlap then passes the threshold test (``not overlap < iou``).
        det_area: (n,) each detection's area (boxes' dtype), used instead of
            ``(x2 - x1 + offset) * (y2 - y1 + offset)`` when ``use_det_area``.

    Returns:
        outcome: (n,) int8, per detection in visiting order: FALSE_POSITIVE,
            TRUE_POSITIVE or IGNORED.
        best_gt: (n,) int64, global row of the ground truth with the largest
            overlap (first on ties), -1 where no box competes.
        best_overlap: (n,) float64, that overlap (``-inf`` where none).

    The rule: visit detections in ``order``. For each, among the ground truth of
    its image, keep the first box with the largest overlap among the candidates.
    If that overlap meets the threshold: a difficult box makes the detection
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
        bx1 = det_boxes[d, 0]
        by1 = det_boxes[d, 1]
        bx2 = det_boxes[d, 2]
        by2 = det_boxes[d, 3]
        if use_det_area:
            area_d = det_area[d]
        else:
            area_d = (bx2 - bx1 + pixel_offset) * (by2 - by1 + pixel_offset)
        ovmax = -np.inf
        jmax = -1
        for j in range(gt_offsets[image], gt_offsets[image + 1]):
            gx1 = gt_boxes[j, 0]
            gy1 = gt_boxes[j, 1]
            gx2 = gt_boxes[j, 2]
            gy2 = gt_boxes[j, 3]
            iw = min(bx2, gx2) - max(bx1, gx1) + intersection_offset
            ih = min(by2, gy2) - max(by1, gy1) + intersection_offset
            intersects = iw > 0 and ih > 0
            if not (intersects or all_candidates):
                continue
            inter = iw * ih
            if not intersects:
                inter = iw - iw  # 0 in the boxes' dtype
            ua = area_d + (gx2 - gx1 + pixel_offset) * (gy2 - gy1 + pixel_offset) - inter
            ov = inter / ua
            if all_candidates:
                if jmax == -1 or (not np.isnan(ovmax) and (np.isnan(ov) or ov > ovmax)):
                    ovmax = ov
                    jmax = j
            elif ov > ovmax:
                ovmax = ov
                jmax = j
        best_gt[rank] = jmax
        best_overlap[rank] = ovmax
        if jmax == -1:
            matched = False
        elif all_candidates:
            matched = not (ovmax < iou_threshold or (strict_threshold and ovmax == iou_threshold))
        else:
            matched = ovmax > iou_threshold or (not strict_threshold and ovmax == iou_threshold)
        if matched:
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
def precision_recall_general(outcome, npos, precision_floor):
    """Cumulative recall and precision, as the devkit computes them.

    Args:
        outcome: (n,) int8 per detection in sorted order (see match_detections_general).
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
def average_precision_11point_general(rec, prec, thresholds, sum_then_divide, skip_nan):
    """The VOC2007 11-point AP.

    For each threshold ``t`` in order, ``p = max(prec[rec >= t])`` skipping NaN
    precisions (MATLAB's ``max``; with ``skip_nan=False`` a NaN makes ``p`` NaN,
    as NumPy's ``max`` does); ``p = 0`` when no recall reaches ``t``; ``p`` stays
    NaN when every such precision is NaN. The devkit accumulates
    ``ap = ap + p / 11`` in threshold order; ``sum_then_divide`` instead gives
    ``(p_1 + ... + p_11) / 11``.

    When ``rec`` is non-decreasing (always, for curves from precision_recall_general),
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
