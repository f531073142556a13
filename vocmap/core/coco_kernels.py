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
from numba import njit, prange

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
def group_by_cell(cell, n_cells):
    """A counting sort: rows grouped by increasing ``cell``, stably.

    Args:
        cell: (n,) int64 in ``0 .. n_cells - 1``.

    Returns:
        order: (n,) int64 rows by cell, each cell's in their given order.
        offsets: (n_cells + 1,) int64; cell ``c`` owns ``order[offsets[c]:offsets[c+1]]``.
    """
    n = cell.shape[0]
    offsets = np.zeros(n_cells + 1, dtype=np.int64)
    for i in range(n):
        offsets[cell[i] + 1] += 1
    for c in range(n_cells):
        offsets[c + 1] += offsets[c]
    fill = offsets[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        c = cell[i]
        order[fill[c]] = i
        fill[c] += 1
    return order, offsets


@njit(**_JIT)
def sort_cell(order, lo, n, scores):
    """Rows ``order[lo:lo + n]`` (in place) by decreasing score, stably, as
    computeIoU's ``np.argsort([-d['score'] for d in dt], kind='mergesort')``
    (an insertion sort for a few rows: stable too, and nothing allocated)."""
    if n <= 1:
        return
    if n <= 32:
        for i in range(lo + 1, lo + n):
            row = order[i]
            key = scores[row]
            j = i - 1
            while j >= lo and scores[order[j]] < key:  # only strictly lower moves
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = row
        return
    rows = order[lo : lo + n].copy()
    keys = np.empty(n, dtype=np.float64)
    for j in range(n):
        keys[j] = -scores[rows[j]]
    by_score = np.argsort(keys, kind="mergesort")
    for j in range(n):
        order[lo + j] = rows[by_score[j]]


@njit(parallel=True, **_JIT)
def evaluate_cells(dets, gts, rules, n_classes, max_det):
    """``evaluateImg`` for every (category, image) cell, then ``accumulate`` per
    category: one parallel loop over categories (:func:`evaluate_cells_serial`:
    the same loop on the calling thread).

    Cell ``c = category * n_images + image`` (images in COCO's order).

    Args (grouped: ``dets``, ``gts``, ``rules``):
        det_order: (n,) int64 detection rows grouped by cell, in file order; each
            cell's is sorted here by decreasing score, stably (in place);
            det_offsets: (n_cells + 1,) int64 into it; det_scores: (n,) float64.
        det_boxes: (n, 4) float64 ``[x, y, w, h]``; det_area: (n,) ``w * h``.
        gt_offsets: (n_cells + 1,) int64: cell ``c`` owns objects
            ``gt_offsets[c]:gt_offsets[c+1]`` of ``gt_boxes`` (m, 4) ``[x, y, w, h]``,
            ``gt_area`` (m,) float64 (the annotations' ``area``), ``gt_crowd`` (m,) bool.
        n_classes: categories (``n_cells`` is a multiple).
        thresholds: (T,) float64, already ``min(t, 1 - 1e-10)``.
        area_ranges: (A, 2) float64 ``[lo, hi]`` (inclusive).
        max_det: detections kept per cell (``maxDets[-1]``).
        max_dets: (M,) int64 increasing; rec_thresholds: (R,) float64 (accumulate).

    Returns:
        kept_offsets: (n_cells + 1,) int64: cell ``c`` keeps ``kept_offsets[c]:...``.
        kept: (k,) int64 detection rows kept, by cell then score.
        rank: (k,) int64 position of each within its cell.
        outcome: (A, T, k) int8 ``TRUE_POSITIVE``, ``FALSE_POSITIVE`` or ``IGNORED``.
        matched: (k,) int64 object row matched at the first threshold and area range
            (-1: none).
        best_iou: (k,) float64 the largest overlap with an object of the cell
            (-inf: none).
        npig: (n_classes, A) int64 objects not ignored under each area range.
        precision, recall, visit: :func:`accumulate_category`'s, for every category:
            (T, R, K, A, M), (T, K, A, M), (k,).
    """
    out = allocate_cells(dets[1], n_classes, rules, max_det)
    for category in prange(n_classes):
        evaluate_category(category, dets, gts, rules, out)
    return out


@njit(**_JIT)
def evaluate_cells_serial(dets, gts, rules, n_classes, max_det):
    """:func:`evaluate_cells` on the calling thread (small inputs: no thread pool)."""
    out = allocate_cells(dets[1], n_classes, rules, max_det)
    for category in range(n_classes):
        evaluate_category(category, dets, gts, rules, out)
    return out


@njit(**_JIT)
def allocate_cells(det_offsets, n_classes, rules, max_det):
    """The outputs of :func:`evaluate_cells`, with each cell's kept offsets."""
    thresholds, area_ranges, max_dets, rec_thresholds = rules
    n_cells = det_offsets.shape[0] - 1
    n_thresholds = thresholds.shape[0]
    n_areas = area_ranges.shape[0]
    kept_offsets = np.zeros(n_cells + 1, dtype=np.int64)
    for c in range(n_cells):
        kept_offsets[c + 1] = kept_offsets[c] + min(det_offsets[c + 1] - det_offsets[c], max_det)
    k = kept_offsets[n_cells]
    n_max = max_dets.shape[0]
    n_rec = rec_thresholds.shape[0]
    return (
        kept_offsets,
        np.empty(k, dtype=np.int64),
        np.empty(k, dtype=np.int64),
        np.empty((n_areas, n_thresholds, k), dtype=np.int8),
        np.full(k, -1, dtype=np.int64),
        np.full(k, -np.inf, dtype=np.float64),
        np.zeros((n_classes, n_areas), dtype=np.int64),
        np.full((n_thresholds, n_rec, n_classes, n_areas, n_max), -1.0),
        np.full((n_thresholds, n_classes, n_areas, n_max), -1.0),
        np.empty(k, dtype=np.int64),
    )


@njit(**_JIT)
def evaluate_category(category, dets, gts, rules, out):
    """One category of :func:`evaluate_cells`: its cells sorted and matched, then
    accumulated (writes only the category's parts of ``out``)."""
    det_order, det_offsets, det_scores, det_boxes, det_area = dets
    gt_offsets, gt_boxes, gt_area, gt_crowd = gts
    thresholds, area_ranges, max_dets, rec_thresholds = rules
    kept_offsets, kept, rank, outcome, matched, best_iou, npig, precision, recall, visit = out
    n_classes = npig.shape[0]
    n_images = (kept_offsets.shape[0] - 1) // n_classes
    n_thresholds = thresholds.shape[0]
    n_areas = area_ranges.shape[0]
    # scratch reused by the category's cells, grown as needed
    ious = np.empty(64, dtype=np.float64)
    ignore = np.empty(16, dtype=np.bool_)
    perm = np.empty(16, dtype=np.int64)
    taken = np.empty(16, dtype=np.bool_)
    for image in range(n_images):
        c = category * n_images + image
        start = kept_offsets[c]
        n_det = kept_offsets[c + 1] - start
        g0 = gt_offsets[c]
        n_gt = gt_offsets[c + 1] - g0
        if n_det == 0 and n_gt == 0:
            continue
        sort_cell(det_order, det_offsets[c], det_offsets[c + 1] - det_offsets[c], det_scores)
        for a in range(n_det):
            kept[start + a] = det_order[det_offsets[c] + a]
            rank[start + a] = a
        if n_gt == 0:  # every detection unmatched: outside the area range or FP
            for a in range(n_det):
                area = det_area[kept[start + a]]
                for ai in range(n_areas):
                    out = area < area_ranges[ai, 0] or area > area_ranges[ai, 1]
                    for ti in range(n_thresholds):
                        outcome[ai, ti, start + a] = IGNORED if out else FALSE_POSITIVE
            continue
        if n_det * n_gt > ious.shape[0]:
            ious = np.empty(2 * n_det * n_gt, dtype=np.float64)
        if n_gt > ignore.shape[0]:
            ignore = np.empty(2 * n_gt, dtype=np.bool_)
            perm = np.empty(2 * n_gt, dtype=np.int64)
            taken = np.empty(2 * n_gt, dtype=np.bool_)
        match_cell(
            kept,
            start,
            n_det,
            det_boxes,
            det_area,
            g0,
            n_gt,
            gt_boxes,
            gt_area,
            gt_crowd,
            thresholds,
            area_ranges,
            outcome,
            matched,
            best_iou,
            npig[category],
            ious,
            ignore,
            perm,
            taken,
        )
    lo = kept_offsets[category * n_images]
    hi = kept_offsets[(category + 1) * n_images]
    accumulate_category(
        outcome,
        det_scores,
        kept,
        rank,
        lo,
        hi,
        npig[category],
        max_dets,
        rec_thresholds,
        precision[:, :, category],
        recall[:, category],
        visit,
    )


@njit(**_JIT)
def match_cell(
    kept,
    start,
    n_det,
    det_boxes,
    det_area,
    g0,
    n_gt,
    gt_boxes,
    gt_area,
    gt_crowd,
    thresholds,
    area_ranges,
    outcome,
    matched,
    best_iou,
    npig,
    ious,
    ignore,
    perm,
    taken,
):
    """evaluateImg for one cell: detections ``kept[start:start + n_det]`` (score
    order) against objects ``g0 .. g0 + n_gt - 1``; fills their ``outcome``,
    ``matched`` (first threshold and area range) and ``best_iou`` and adds to ``npig`` (A,). ``ious``,
    ``ignore``, ``perm`` and ``taken`` are scratch of at least n_det * n_gt and n_gt."""
    n_thresholds = thresholds.shape[0]
    n_areas = area_ranges.shape[0]
    for a in range(n_det):
        d = kept[start + a]
        best_overlap = -np.inf
        for b in range(n_gt):
            value = box_iou(det_boxes[d], gt_boxes[g0 + b], gt_crowd[g0 + b])
            ious[a * n_gt + b] = value
            if value > best_overlap:
                best_overlap = value
        best_iou[start + a] = best_overlap
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
                    if ious[a * n_gt + b] < best:
                        continue
                    best = ious[a * n_gt + b]
                    m = gi
                if m == -1:
                    out_of_range = det_area[d] < lo or det_area[d] > hi
                    outcome[ai, ti, start + a] = IGNORED if out_of_range else FALSE_POSITIVE
                    continue
                taken[m] = True
                outcome[ai, ti, start + a] = IGNORED if ignore[perm[m]] else TRUE_POSITIVE
                if ai == 0 and ti == 0:
                    matched[start + a] = g0 + perm[m]


@njit(**_JIT)
def accumulate_category(
    outcome,
    det_scores,
    kept,
    rank,
    lo,
    hi,
    npig,
    max_dets,
    rec_thresholds,
    precision,
    recall,
    visit,
):
    """``accumulate`` for one category, its kept detections ``lo:hi`` (its cells in
    image order, each in score order): into ``precision`` (T, R, A, M), ``recall``
    (T, A, M) and ``visit[lo:hi]``, the positions from ``lo`` by decreasing score,
    stably (``np.argsort(-s, kind='mergesort')``).

    Args:
        outcome: (A, T, k) int8; det_scores: (n,) float64 by detection row;
            kept: (k,) detection rows; rank: (k,) int64 position within its cell.
        npig: (A,) int64; max_dets: (M,) int64 increasing; rec_thresholds: (R,).

    The curve ``pr = tp / (fp + tp + eps)`` only rises at true positives and the
    first detection reaching a recall is a true positive, so the envelope at each
    recall threshold is the largest ``pr`` of the true positives from there on:
    they alone are kept, with the same arithmetic as COCOeval's cumulative sums.
    An area range without objects stays -1, as in COCOeval.
    """
    n_areas, n_thresholds, _ = outcome.shape
    n_max = max_dets.shape[0]
    n_rec = rec_thresholds.shape[0]
    n = hi - lo
    keys = np.empty(n, dtype=np.float64)
    for j in range(n):
        keys[j] = -det_scores[kept[lo + j]]
    order = np.argsort(keys, kind="mergesort")
    visit[lo:hi] = order
    first_m = np.empty(n, dtype=np.int64)  # the smallest maxDets that counts it
    nd = np.zeros(n_max, dtype=np.int64)
    for j in range(n):
        r = rank[lo + order[j]]
        m = 0
        while m < n_max and r >= max_dets[m]:
            m += 1
        first_m[j] = m
        for mm in range(m, n_max):
            nd[mm] += 1
    tp_pr = np.empty((n_max, n + 1), dtype=np.float64)
    tp_rc = np.empty((n_max, n + 1), dtype=np.float64)
    tps = np.zeros(n_max, dtype=np.int64)
    fps = np.zeros(n_max, dtype=np.int64)
    for ai in range(n_areas):
        if npig[ai] == 0:
            continue
        npig_float = np.float64(npig[ai])
        for ti in range(n_thresholds):
            tps[:] = 0
            fps[:] = 0
            for j in range(n):
                value = outcome[ai, ti, lo + order[j]]
                if value == IGNORED:
                    continue
                if value == TRUE_POSITIVE:
                    for m in range(first_m[j], n_max):
                        t = tps[m]
                        tp = np.float64(t + 1)
                        tp_rc[m, t] = tp / npig_float
                        tp_pr[m, t] = tp / (np.float64(fps[m]) + tp + EPS)
                        tps[m] = t + 1
                else:
                    for m in range(first_m[j], n_max):
                        fps[m] += 1
            for m in range(n_max):
                if nd[m] == 0:
                    recall[ti, ai, m] = 0.0
                    precision[ti, :, ai, m] = 0.0
                    continue
                events = tps[m]
                recall[ti, ai, m] = np.float64(events) / npig_float
                pr = tp_pr[m]
                rc = tp_rc[m]
                for e in range(events - 1, 0, -1):
                    if pr[e] > pr[e - 1]:
                        pr[e - 1] = pr[e]
                e = 0
                for r in range(n_rec):
                    threshold = rec_thresholds[r]
                    while e < events and rc[e] < threshold:
                        e += 1
                    precision[ti, r, ai, m] = pr[e] if e < events else 0.0


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
