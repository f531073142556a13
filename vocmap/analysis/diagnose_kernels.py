"""numba kernels of the error analysis on the devkit's matching (``vocmap diagnose``).

* :func:`group_overlaps`: for each detection, the largest overlap with the objects
  of its image, per group of classes (same class, similar classes, other classes);
* :func:`subset_outcomes`: the devkit's outcomes when only some objects count
  (the rest treated as the devkit treats difficult ones), from a matching done once.

Boxes are VOC pixels (1-based, inclusive: width = xmax - xmin + 1); overlaps are
the devkit's (``iw = min(x2) - max(x1) + 1``, kept only where ``iw > 0 and ih > 0``).
Each kernel has a plain-Python twin in :mod:`vocmap.testing.diagnose_reference`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vocmap.core.kernels import FALSE_POSITIVE, IGNORED, JIT_OPTIONS, TRUE_POSITIVE


@njit(**JIT_OPTIONS)
def group_overlaps(
    det_image, det_boxes, det_class, obj_offsets, obj_boxes, obj_class, relation, n_groups
):
    """The largest devkit overlap of each detection with the objects of each group.

    Args:
        det_image: (n,) int64 image index of each detection.
        det_boxes: (n, 4) float64 VOC boxes.
        det_class: (n,) int64 class index of each detection.
        obj_offsets: (n_images + 1,) int64, CSR over all objects (any class).
        obj_boxes: (m, 4) float64 VOC boxes of the objects, per image in XML order.
        obj_class: (m,) int64 class index of each object (-1: not evaluated, skipped).
        relation: (k, k) int64, ``relation[det class, object class]`` is the group
            the object falls in for such a detection (-1: skipped).
        n_groups: number of groups.

    Returns:
        best: (n, n_groups) float64, the largest overlap per group (0 where no object
            of the group intersects the detection).
        rows: (n, n_groups) int64, the object row of that overlap (the first in XML
            order on ties), -1 where none.
    """
    n = det_image.shape[0]
    best = np.zeros((n, n_groups), dtype=np.float64)
    rows = np.full((n, n_groups), -1, dtype=np.int64)
    for d in range(n):
        image = det_image[d]
        c = det_class[d]
        bx1, by1, bx2, by2 = det_boxes[d, 0], det_boxes[d, 1], det_boxes[d, 2], det_boxes[d, 3]
        for j in range(obj_offsets[image], obj_offsets[image + 1]):
            oc = obj_class[j]
            if oc < 0:
                continue
            group = relation[c, oc]
            if group < 0:
                continue
            gx1, gy1, gx2, gy2 = obj_boxes[j, 0], obj_boxes[j, 1], obj_boxes[j, 2], obj_boxes[j, 3]
            iw = min(bx2, gx2) - max(bx1, gx1) + 1.0
            ih = min(by2, gy2) - max(by1, gy1) + 1.0
            if iw > 0 and ih > 0:
                ua = (
                    (bx2 - bx1 + 1.0) * (by2 - by1 + 1.0)
                    + (gx2 - gx1 + 1.0) * (gy2 - gy1 + 1.0)
                    - iw * ih
                )
                ov = iw * ih / ua
                if ov > best[d, group]:  # ov > 0 here; the first wins ties
                    best[d, group] = ov
                    rows[d, group] = j
    return best, rows


@njit(**JIT_OPTIONS)
def subset_outcomes(best_row, best_overlap, counted, min_overlap):
    """The devkit's outcomes when only the objects marked ``counted`` count.

    ``match_detections`` picks each detection's object without looking at the
    difficult flags, so its choice (``best_row``, ``best_overlap``) can be reused
    with other flags: an object that does not count is treated as the devkit
    treats a difficult one (a match to it is neither TP nor FP).

    Args:
        best_row: (n,) int64 object row of each detection's best overlap, in
            visiting order (-1: none).
        best_overlap: (n,) float64 that overlap (-inf: none).
        counted: (m,) bool over the object rows.
        min_overlap: the overlap a match needs (``>=``).

    Returns:
        outcome: (n,) int8 FALSE_POSITIVE, TRUE_POSITIVE or IGNORED, in visiting order.
    """
    n = best_row.shape[0]
    outcome = np.zeros(n, dtype=np.int8)
    claimed = np.zeros(counted.shape[0], dtype=np.bool_)
    for i in range(n):
        row = best_row[i]
        if row >= 0 and best_overlap[i] >= min_overlap:
            if not counted[row]:
                outcome[i] = IGNORED
            elif not claimed[row]:
                outcome[i] = TRUE_POSITIVE
                claimed[row] = True
            else:
                outcome[i] = FALSE_POSITIVE
        else:
            outcome[i] = FALSE_POSITIVE
    return outcome
