"""Greedy NMS on the CPU (numba): the rule of
:func:`ssd_ref.modeling.postprocess.greedy_nms_mask`, one group after another.

On a CPU the fixed-point form (whole ``(G, K, K)`` IoU tensors, repeated until
nothing changes) costs about 60 ms an image at ``top_k = 400`` and 20 classes,
most of an untrained checkpoint's detection pass; this loop computes an IoU only
against the boxes kept so far. Its float32 arithmetic is the fixed-point form's,
operation for operation (no fastmath: no fused multiply-adds), so both keep the
same boxes; ``tests/ssd_ref/test_postprocess.py`` checks them against each other.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit

from vocmap.core.jit_cache import ensure_writable_cache

ensure_writable_cache((os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__"),))


@njit(cache=True, error_model="numpy")
def _clamped_difference(high, low):
    """``(high - low).clamp(min=0)`` as torch computes it (NaN stays NaN)."""
    difference = high - low
    if difference < 0:
        return np.float32(0.0)
    return difference


@njit(cache=True, error_model="numpy")
def _maximum(a, b):
    """``torch.maximum``: NaN if either is NaN."""
    if a != a or b != b:
        return a + b
    return a if a >= b else b


@njit(cache=True, error_model="numpy")
def _minimum(a, b):
    """``torch.minimum``: NaN if either is NaN."""
    if a != a or b != b:
        return a + b
    return a if a <= b else b


@njit(cache=True, error_model="numpy")
def _iou(boxes, g, i, j, area_i, area_j):
    """IoU of ``boxes[g, i]`` and ``boxes[g, j]`` as ``pairwise_iou`` computes it."""
    width = _clamped_difference(
        _minimum(boxes[g, i, 2], boxes[g, j, 2]), _maximum(boxes[g, i, 0], boxes[g, j, 0])
    )
    height = _clamped_difference(
        _minimum(boxes[g, i, 3], boxes[g, j, 3]), _maximum(boxes[g, i, 1], boxes[g, j, 1])
    )
    inter = width * height
    union = area_i + area_j - inter
    if not union > 0:  # torch.where(union > 0, ..., 0): NaN unions too
        return np.float32(0.0)
    tiny = np.float32(1e-12)
    return inter / (union if union > tiny else tiny)


@njit(cache=True, error_model="numpy")
def greedy_nms_groups(boxes, valid, threshold, keep):
    """Greedy NMS in each group, boxes sorted best first.

    ``boxes (G, K, 4)`` float32 corners, ``valid (G, K)`` bool, ``threshold`` a
    float32 (torch compares a float32 tensor with a Python float in float32);
    ``keep (G, K)`` bool is filled:
    box ``i`` is kept iff it is valid and no kept box ``j < i`` of its group has
    IoU > ``threshold`` with it.
    """
    groups, count = valid.shape
    kept = np.empty(count, np.int64)
    area = np.empty(count, np.float32)
    for g in range(groups):
        for i in range(count):
            area[i] = _clamped_difference(boxes[g, i, 2], boxes[g, i, 0]) * _clamped_difference(
                boxes[g, i, 3], boxes[g, i, 1]
            )
        n_kept = 0
        for i in range(count):
            keep[g, i] = False
            if not valid[g, i]:
                continue
            suppressed = False
            for k in range(n_kept):
                j = kept[k]
                if _iou(boxes, g, j, i, area[j], area[i]) > threshold:
                    suppressed = True
                    break
            if not suppressed:
                keep[g, i] = True
                kept[n_kept] = i
                n_kept += 1
