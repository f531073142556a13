"""pycocotools' ``COCOeval`` (bbox) as numba kernels: per-image matching, accumulation.

This is ``COCOeval.evaluateImg`` and ``COCOeval.accumulate`` of pycocotools 2.0
for one category, with its arithmetic kept operation for operation, so that the
precision and recall arrays are bit-identical to pycocotools' own:

* boxes are COCO's ``[x, y, w, h]`` (float64); the overlap is ``maskApi.c``'s
  ``bbIou``: ``w = min(dx+dw, gx+gw) - max(dx, gx)`` (``<= 0``: overlap 0), the
  same for ``h``, ``i = w*h``, ``u = da + ga - i`` (``u = da`` against a crowd
  region), ``iou = i / u``, with ``da = dw*dh`` and ``ga = gw*gh``;
* per image, detections in decreasing score with a stable sort, the first
  ``max_det`` kept; ground truth outside the area range or crowd is "ignored"
  and sorted last (stably); each detection takes, among objects not yet matched
  (crowd regions can be matched again), the one with the largest overlap
  ``>= min(t, 1 - 1e-10)``, the later one on ties, and stops at the first ignored
  object once it holds a regular one; a match to an ignored object, or no match
  for a detection outside the area range, makes the detection ignored;
* over images, the kept detections concatenated in image order, each image's in
  score order, then sorted by decreasing score (stable: ``mergesort``);
  ``rc = tp / npig``, ``pr = tp / (fp + tp + np.spacing(1))``, ``pr`` made
  non-increasing from the right (``for i in range(nd-1, 0, -1)``), and each
  recall threshold takes ``pr[searchsorted(rc, t, side='left')]`` (0 past the end).

The plain-Python twin is :mod:`vocmap.testing.coco_reference`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vocmap.core.kernels import FALSE_POSITIVE, IGNORED, JIT_OPTIONS, TRUE_POSITIVE

_JIT = JIT_OPTIONS

#: ``np.spacing(1)``, the term COCOeval adds to ``tp + fp``.
EPS = float(np.spacing(1.0))


@njit(**_JIT)
def box_iou(d, g, crowd):
    """``bbIou`` of one detection ``d`` and one object ``g`` (both ``[x, y, w, h]``)."""
    w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    i = w * h
    da = d[2] * d[3]
    if crowd:
        u = da
    else:
        u = da + g[2] * g[3] - i
    return i / u


@njit(**_JIT)
def evaluate_images(
    order,
    det_image,
    det_boxes,
    det_area,
    gt_offsets,
    gt_boxes,
    gt_area,
    gt_crowd,
    thresholds,
    area_ranges,
    max_det,
):
    """``evaluateImg`` for every image of one category, every area range and threshold.

    Args:
        order: (n,) int64 detections grouped by image (increasing image index),
            each image's by decreasing score, stably (file order on ties).
        det_image: (n,) int64 image index; det_boxes: (n, 4) float64 ``[x, y, w, h]``;
            det_area: (n,) float64 ``w * h`` (``loadRes``'s area).
        gt_offsets: (n_images + 1,) int64 CSR offsets; gt_boxes: (m, 4) ``[x, y, w, h]``;
            gt_area: (m,) float64 the annotation's ``area``; gt_crowd: (m,) bool.
        thresholds: (T,) float64, already ``min(t, 1 - 1e-10)``.
        area_ranges: (A, 2) float64 ``[lo, hi]`` (inclusive).
        max_det: detections kept per image (``maxDets[-1]``).

    Returns:
        kept: (k,) int64 detection indices kept, in image then score order.
        rank: (k,) int64 position of each within its image.
        outcome: (A, T, k) int8 ``TRUE_POSITIVE``, ``FALSE_POSITIVE`` or ``IGNORED``.
        matched: (T, k) int64 ground-truth row matched under the first area range
            (-1: none).
        best_iou: (k,) float64 the largest overlap with any object of the image
            (-inf: the image has no object).
        npig: (A,) int64 objects not ignored under each area range.
    """
    n = order.shape[0]
    n_images = gt_offsets.shape[0] - 1
    n_thresholds = thresholds.shape[0]
    n_areas = area_ranges.shape[0]
    kept = np.empty(n, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    k = 0
    previous = -1
    position = 0
    for r in range(n):
        d = order[r]
        image = det_image[d]
        if image != previous:
            previous = image
            position = 0
        if position < max_det:
            kept[k] = d
            rank[k] = position
            k += 1
        position += 1
    kept = kept[:k]
    rank = rank[:k]
    outcome = np.empty((n_areas, n_thresholds, k), dtype=np.int8)
    matched = np.full((n_thresholds, k), -1, dtype=np.int64)
    best_iou = np.full(k, -np.inf, dtype=np.float64)
    npig = np.zeros(n_areas, dtype=np.int64)
    start = 0
    for image in range(n_images):
        stop = start
        while stop < k and det_image[kept[stop]] == image:
            stop += 1
        g0 = gt_offsets[image]
        n_gt = gt_offsets[image + 1] - g0
        n_det = stop - start
        ious = np.zeros((n_det, n_gt), dtype=np.float64)
        for a in range(n_det):
            d = kept[start + a]
            for b in range(n_gt):
                value = box_iou(det_boxes[d], gt_boxes[g0 + b], gt_crowd[g0 + b])
                ious[a, b] = value
                if value > best_iou[start + a]:
                    best_iou[start + a] = value
        ignore = np.empty(n_gt, dtype=np.bool_)
        perm = np.empty(n_gt, dtype=np.int64)
        taken = np.empty(n_gt, dtype=np.bool_)
        for ai in range(n_areas):
            lo = area_ranges[ai, 0]
            hi = area_ranges[ai, 1]
            for b in range(n_gt):
                value = gt_area[g0 + b]
                ignore[b] = gt_crowd[g0 + b] or value < lo or value > hi
            p = 0
            for b in range(n_gt):  # stable: regular objects first, then ignored
                if not ignore[b]:
                    perm[p] = b
                    p += 1
            npig[ai] += p
            for b in range(n_gt):
                if ignore[b]:
                    perm[p] = b
                    p += 1
            for ti in range(n_thresholds):
                for b in range(n_gt):
                    taken[b] = False
                for a in range(n_det):
                    d = kept[start + a]
                    best = thresholds[ti]
                    m = -1
                    for gi in range(n_gt):
                        b = perm[gi]
                        if taken[gi] and not gt_crowd[g0 + b]:
                            continue
                        if m > -1 and not ignore[perm[m]] and ignore[b]:
                            break
                        if ious[a, b] < best:
                            continue
                        best = ious[a, b]
                        m = gi
                    if m == -1:
                        out_of_range = det_area[d] < lo or det_area[d] > hi
                        outcome[ai, ti, start + a] = IGNORED if out_of_range else FALSE_POSITIVE
                        continue
                    taken[m] = True
                    outcome[ai, ti, start + a] = IGNORED if ignore[perm[m]] else TRUE_POSITIVE
                    if ai == 0:
                        matched[ti, start + a] = g0 + perm[m]
        start = stop
    return kept, rank, outcome, matched, best_iou, npig


@njit(**_JIT)
def accumulate_category(outcome, order, rank, npig, max_dets, rec_thresholds):
    """``accumulate`` for one category: precision (T, R, A, M) and recall (T, A, M).

    Args:
        outcome: (A, T, k) int8 from :func:`evaluate_images`.
        order: (k,) int64 positions into the kept detections, by decreasing
            score, stably over the image-then-rank concatenation.
        rank: (k,) int64 each kept detection's position within its image.
        npig: (A,) int64 objects not ignored per area range.
        max_dets: (M,) int64 (increasing); rec_thresholds: (R,) float64.

    A (area, maxDets) cell without objects stays -1, as in COCOeval.
    """
    n_areas, n_thresholds, k = outcome.shape
    n_max = max_dets.shape[0]
    n_rec = rec_thresholds.shape[0]
    precision = np.full((n_thresholds, n_rec, n_areas, n_max), -1.0)
    recall = np.full((n_thresholds, n_areas, n_max), -1.0)
    tp = np.empty(k, dtype=np.float64)
    fp = np.empty(k, dtype=np.float64)
    rc = np.empty(k, dtype=np.float64)
    pr = np.empty(k, dtype=np.float64)
    for ai in range(n_areas):
        if npig[ai] == 0:
            continue
        for mi in range(n_max):
            limit = max_dets[mi]
            for ti in range(n_thresholds):
                curve_points(outcome[ai, ti], order, rank, limit, npig[ai], tp, fp, rc, pr)
                nd = 0
                for r in range(k):
                    if rank[order[r]] < limit:
                        nd += 1
                recall[ti, ai, mi] = rc[nd - 1] if nd else 0.0
                interpolate_101(rc, pr, nd, rec_thresholds, precision[ti, :, ai, mi])
    return precision, recall


@njit(**_JIT)
def curve_points(outcome, order, rank, limit, npig, tp, fp, rc, pr):
    """Cumulative ``tp``, ``fp``, ``rc`` and ``pr`` of the detections of ``order``
    ranked below ``limit`` in their image, into the first ``nd`` slots."""
    tps = 0.0
    fps = 0.0
    npig_float = np.float64(npig)
    j = 0
    for r in range(order.shape[0]):
        index = order[r]
        if rank[index] >= limit:
            continue
        value = outcome[index]
        if value == TRUE_POSITIVE:
            tps += 1.0
        elif value == FALSE_POSITIVE:
            fps += 1.0
        tp[j] = tps
        fp[j] = fps
        rc[j] = tps / npig_float
        pr[j] = tps / (fps + tps + EPS)
        j += 1


@njit(**_JIT)
def interpolate_101(rc, pr, nd, rec_thresholds, out):
    """COCOeval's interpolated precision at each recall threshold, into ``out``.

    ``pr[:nd]`` is overwritten by its envelope (non-increasing from the right).
    """
    for i in range(nd - 1, 0, -1):
        if pr[i] > pr[i - 1]:
            pr[i - 1] = pr[i]
    i = 0
    for r in range(rec_thresholds.shape[0]):
        t = rec_thresholds[r]
        while i < nd and rc[i] < t:
            i += 1
        out[r] = pr[i] if i < nd else 0.0
