"""numba kernels of TIDE's own matching and error assignment (``--metric coco50``).

A transcription of ``tidecv`` 1.0.1 (``quantify.py``: ``TIDEExample._run`` and
``TIDERun._eval_image``; ``errors/error.py``: ``BestGTMatch``), one image at a
time, with pycocotools' box IoU (``maskApi.c``: ``bbIou``). Boxes here are COCO's
``[x, y, w, h]`` (continuous, 0-based), as tidecv receives them.

Its plain-Python twin is :func:`vocmap.testing.diagnose_reference.naive_tide_assign`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vocmap.core.kernels import JIT_OPTIONS

# Per prediction: what the matching made of it.
PRED_FALSE = 0  # tidecv's used == False
PRED_TRUE = 1  # used == True
PRED_IGNORED = 2  # used == None: inside an ignore region (a difficult object) of its class

# Error types, in tidecv's order (TIDE._error_types); MISSED is per object.
ERR_NONE = -1
ERR_CLS = 0
ERR_LOC = 1  # BoxError
ERR_BOTH = 2  # OtherError ("Both")
ERR_DUPE = 3
ERR_BKG = 4
ERR_MISS = 5


@njit(**JIT_OPTIONS)
def _bb_iou(d, g, crowd):
    """pycocotools' ``bbIou`` for one pair of ``[x, y, w, h]`` boxes."""
    da = d[2] * d[3]
    w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    i = w * h
    if crowd:
        return i / da
    ga = g[2] * g[3]
    return i / (da + ga - i)


@njit(**JIT_OPTIONS)
def _argmax(values):
    """numpy's argmax: the first largest value (0 for an all-zero row)."""
    k = 0
    for j in range(1, values.shape[0]):
        if values[j] > values[k]:
            k = j
    return k


@njit(**JIT_OPTIONS)
def tide_assign(
    p_offsets,
    p_class,
    p_score,
    p_box,
    g_offsets,
    g_class,
    g_box,
    i_offsets,
    i_class,
    i_box,
    pos_thresh,
    bg_thresh,
):
    """TIDE's matching and error type of every prediction, image by image.

    Args:
        p_offsets: (n_images + 1,) int64 CSR of the predictions; those of an image
            are in tidecv's order (stable sort by decreasing score of the order they
            were added) and already cut to ``max_dets``.
        p_class, p_score, p_box: (k,), (k,), (k, 4) class index, score, COCO box.
        g_offsets, g_class, g_box: the same for the objects that count (not
            ignored), per image in the order they were added (XML order).
        i_offsets, i_class, i_box: the ignore regions (difficult objects).
        pos_thresh: foreground IoU (0.5); bg_thresh: background IoU (0.1).

    Returns:
        status: (k,) int8 PRED_FALSE / PRED_TRUE / PRED_IGNORED.
        error: (k,) int8 ERR_* of a prediction that is not a true positive.
        target: (k,) int64 the object a Loc or Cls error points at (-1 otherwise).
        g_used: (m,) bool, matched by a true positive.
        g_usable: (m,) bool, unmatched but pointed at by a Loc or Cls error
            (tidecv's ``usable``: such an object is not a missed error).
        g_best: (m,) int64, the highest-scoring prediction among those errors
            (tidecv's ``best_id``; the first on ties; -1 when none scored above -1).
    """
    k = p_class.shape[0]
    m = g_class.shape[0]
    status = np.zeros(k, dtype=np.int8)
    error = np.full(k, ERR_NONE, dtype=np.int8)
    target = np.full(k, -1, dtype=np.int64)
    g_used = np.zeros(m, dtype=np.bool_)
    g_usable = np.zeros(m, dtype=np.bool_)
    g_best = np.full(m, -1, dtype=np.int64)
    g_best_score = np.full(m, -1.0, dtype=np.float64)
    n_images = p_offsets.shape[0] - 1
    for image in range(n_images):
        p0, p1 = p_offsets[image], p_offsets[image + 1]
        g0, g1 = g_offsets[image], g_offsets[image + 1]
        n = p1 - p0
        ng = g1 - g0
        if n == 0:
            continue
        iou = np.zeros((n, ng), dtype=np.float64)
        same = np.zeros((n, ng), dtype=np.bool_)
        for a in range(n):
            for b in range(ng):
                iou[a, b] = _bb_iou(p_box[p0 + a], g_box[g0 + b], False)
                same[a, b] = p_class[p0 + a] == g_class[g0 + b]
        cls_iou = np.zeros((n, ng), dtype=np.float64)
        noncls_iou = np.zeros((n, ng), dtype=np.float64)
        for a in range(n):
            for b in range(ng):
                if same[a, b]:
                    cls_iou[a, b] = iou[a, b]
                else:
                    noncls_iou[a, b] = iou[a, b]
        if ng > 0:
            buffer = cls_iou.copy()
            for a in range(n):
                b = _argmax(buffer[a])
                if buffer[a, b] >= pos_thresh:
                    status[p0 + a] = PRED_TRUE
                    g_used[g0 + b] = True
                    for a2 in range(n):
                        buffer[a2, b] = 0.0
        for r in range(i_offsets[image], i_offsets[image + 1]):
            for a in range(n):
                if (
                    status[p0 + a] != PRED_TRUE
                    and _bb_iou(p_box[p0 + a], i_box[r], True) > pos_thresh
                    and i_class[r] == p_class[p0 + a]
                ):
                    status[p0 + a] = PRED_IGNORED
        for a in range(n):
            p = p0 + a
            if status[p] == PRED_TRUE:
                continue
            if ng == 0:
                error[p] = ERR_BKG
                continue
            b = _argmax(cls_iou[a])
            if bg_thresh <= cls_iou[a, b] <= pos_thresh:
                error[p] = ERR_LOC
                target[p] = g0 + b
                _best_gt_match(p, p_score[p], g0 + b, g_used, g_usable, g_best, g_best_score)
                continue
            b = _argmax(noncls_iou[a])
            if noncls_iou[a, b] >= pos_thresh:
                error[p] = ERR_CLS
                target[p] = g0 + b
                _best_gt_match(p, p_score[p], g0 + b, g_used, g_usable, g_best, g_best_score)
                continue
            used_cls = np.zeros(ng, dtype=np.float64)
            for b in range(ng):
                if g_used[g0 + b]:
                    used_cls[b] = cls_iou[a, b]
            b = _argmax(used_cls)
            if used_cls[b] >= pos_thresh:
                error[p] = ERR_DUPE
                continue
            b = _argmax(iou[a])
            if iou[a, b] <= bg_thresh:
                error[p] = ERR_BKG
                continue
            error[p] = ERR_BOTH
    return status, error, target, g_used, g_usable, g_best


@njit(**JIT_OPTIONS)
def _best_gt_match(p, score, g, g_used, g_usable, g_best, g_best_score):
    """tidecv's ``BestGTMatch``: an unmatched object remembers its best-scoring error."""
    if g_used[g]:
        return
    g_usable[g] = True
    if g_best_score[g] < score:
        g_best_score[g] = score
        g_best[g] = p
