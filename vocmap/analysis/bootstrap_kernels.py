"""The image bootstrap of the devkit's AP as numba kernels (parallel over resamples).

A resample draws the test images with replacement, so image ``i`` appears ``w_i``
times. Matching happens within an image, so every copy of a detection keeps its
outcome (TP, FP, ignored); ``npos`` becomes ``sum_i w_i * npos_i``. The replicate
is the devkit's AP of that literally duplicated data set, with this tie order:
**the copies of a detection stand together at the detection's place in the file**
(so the stable sort keeps them together, where the detection was). Then:

* 11-point AP: inside a run of ``w`` copies of a TP, precision and recall rise, so
  only the run's last point can be a maximum; a run of FP or ignored copies adds
  points no better than the point before it. The kernel visits each detection
  once with its weight, keeps the points after TP runs, and takes
  ``max(prec(rec >= t))`` over them: the same doubles as the literal set (the
  first points, with ``tp = 0``, decide only where there is no TP at all).
* area AP (VOC2010+): the envelope is constant over a TP run, but the devkit adds
  ``(rec_i - rec_{i-1}) * mpre_i`` once per copy, so the kernel adds the ``w``
  steps one by one, as the literal set does, for the same bits.

Twin: :mod:`vocmap.testing.bootstrap_reference` (expands the copies literally).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from vocmap.core.kernels import FALSE_POSITIVE, MATLAB_RECALL_THRESHOLDS, TRUE_POSITIVE

METRIC_11POINT = 0
METRIC_AREA = 1


@njit(cache=True, nogil=True, error_model="numpy")
def weighted_ap(weights, det_image, outcome, pos_image, pos_count, metric, tp_end, fp_end):
    """The devkit AP of one class in one resample.

    Args:
        weights: (n_images,) int32 copies of each image.
        det_image: (n,) int32 image of each detection, in the devkit's visiting order.
        outcome: (n,) int8 its outcome (kernels.TRUE_POSITIVE, ...), same order.
        pos_image, pos_count: (p,) images with non-difficult objects, and how many.
        metric: METRIC_11POINT or METRIC_AREA.
        tp_end, fp_end: (>= number of TPs,) float64 scratch.
    """
    npos = 0
    for j in range(pos_image.shape[0]):
        npos += weights[pos_image[j]] * pos_count[j]
    npos_float = np.float64(npos)
    tp = 0
    fp = 0
    points = 0
    runs = 0
    for r in range(det_image.shape[0]):
        w = weights[det_image[r]]
        if w == 0:
            continue
        points += w
        code = outcome[r]
        if code == FALSE_POSITIVE:
            fp += w
        elif code == TRUE_POSITIVE:
            tp += w
            tp_end[runs] = tp
            fp_end[runs] = fp
            runs += 1
    if metric == METRIC_11POINT:
        return _ap_11point(tp_end, fp_end, runs, points, fp, npos, npos_float)
    return _ap_area(tp_end, fp_end, runs, points, npos_float)


@njit(cache=True, nogil=True, error_model="numpy")
def _ap_11point(tp_end, fp_end, runs, points, fp, npos, npos_float):
    if runs == 0:
        # no TP: recall is 0 (or 0/0 when npos is 0); only t = 0 may select points,
        # whose precisions are 0 (after an FP) or 0/0 (only ignored so far)
        if points == 0 or npos == 0:
            return 0.0
        p0 = 0.0 if fp > 0 else np.nan
        ap = 0.0
        for k in range(MATLAB_RECALL_THRESHOLDS.shape[0]):
            ap = ap + (p0 if k == 0 else 0.0) / 11.0
        return ap
    # suffix maxima of the precision after each TP run (recall strictly rises)
    best = np.empty(runs, dtype=np.float64)
    running = -np.inf
    for j in range(runs - 1, -1, -1):
        value = tp_end[j] / (fp_end[j] + tp_end[j])
        if value > running:
            running = value
        best[j] = running
    ap = 0.0
    j = 0
    for k in range(MATLAB_RECALL_THRESHOLDS.shape[0]):
        t = MATLAB_RECALL_THRESHOLDS[k]
        while j < runs and tp_end[j] / npos_float < t:
            j += 1
        p = best[j] if j < runs else 0.0
        ap = ap + p / 11.0
    return ap


@njit(cache=True, nogil=True, error_model="numpy")
def _ap_area(tp_end, fp_end, runs, points, npos_float):
    if npos_float == 0.0:
        return np.nan if points > 0 else 0.0  # (0/0 - 0) * mpre
    envelope = np.empty(runs, dtype=np.float64)
    running = -np.inf
    for j in range(runs - 1, -1, -1):
        value = tp_end[j] / (fp_end[j] + tp_end[j])
        if value > running:
            running = value
        envelope[j] = running
    ap = 0.0
    previous_rec = 0.0
    count = 0.0
    for j in range(runs):
        while count < tp_end[j]:
            count += 1.0
            rec = count / npos_float
            ap = ap + (rec - previous_rec) * envelope[j]
            previous_rec = rec
    if previous_rec != 1.0:
        ap = ap + (1.0 - previous_rec) * 0.0
    return ap


@njit(cache=True, nogil=True)
def fp_segments(class_offsets, det_image, outcome):
    """The false positives between true positives, counted per image, for every class.

    The replicate needs the cumulative weighted FP count at each TP only, so the FP
    detections are grouped into segments (those before TP ``j`` and after TP
    ``j - 1``), each segment as ``(image, count)`` pairs; FPs after a class's last
    TP never reach a TP and are left out. Returns ``tp_offsets`` (K + 1,) CSR of
    ``tp_image`` (TPs in visiting order), ``nz_offsets`` (n_tp + 1,) CSR of
    ``nz_image``/``nz_count``.
    """
    n_classes = class_offsets.shape[0] - 1
    n = det_image.shape[0]
    tp_offsets = np.zeros(n_classes + 1, dtype=np.int64)
    for k in range(n_classes):
        count = 0
        for r in range(class_offsets[k], class_offsets[k + 1]):
            if outcome[r] == TRUE_POSITIVE:
                count += 1
        tp_offsets[k + 1] = tp_offsets[k] + count
    n_tp = tp_offsets[n_classes]
    tp_image = np.empty(n_tp, dtype=np.int64)
    pending = np.empty(n, dtype=np.int64)
    nz_image = np.empty(n, dtype=np.int64)
    nz_count = np.empty(n, dtype=np.int32)
    nz_offsets = np.zeros(n_tp + 1, dtype=np.int64)
    j = 0
    z = 0
    for k in range(n_classes):
        waiting = 0
        for r in range(class_offsets[k], class_offsets[k + 1]):
            code = outcome[r]
            if code == FALSE_POSITIVE:
                pending[waiting] = det_image[r]
                waiting += 1
            elif code == TRUE_POSITIVE:
                group = np.sort(pending[:waiting])
                q = 0
                while q < waiting:
                    e = q
                    while e < waiting and group[e] == group[q]:
                        e += 1
                    nz_image[z] = group[q]
                    nz_count[z] = e - q
                    z += 1
                    q = e
                tp_image[j] = det_image[r]
                j += 1
                nz_offsets[j] = z
                waiting = 0
    return tp_offsets, tp_image, nz_offsets, nz_image[:z], nz_count[:z]


#: Resamples handled together: their weights of one image are adjacent in memory,
#: so adding a segment's FPs is a short vector loop over the block.
BLOCK = 64


@njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def replicate_aps(
    weights, class_offsets, det_image, outcome, pos_offsets, pos_image, pos_count, metric
):
    """(B, K) AP of every class in every resample; each equals :func:`weighted_ap`.

    Args:
        weights: (B, n_images) int32 copies of each image per resample.
        class_offsets: (K + 1,) int64 CSR of the detections of each class in
            ``det_image`` / ``outcome`` (each class in its visiting order).
        pos_offsets: (K + 1,) int64 CSR of each class's ``pos_image`` / ``pos_count``.

    Resamples in blocks of :data:`BLOCK`: per block and class, the weighted FP count
    of every segment between TPs (:func:`fp_segments`), then each resample walks its
    TPs. A resample in which no TP survives takes :func:`weighted_ap` itself.
    """
    n_resamples = weights.shape[0]
    n_classes = class_offsets.shape[0] - 1
    tp_offsets, tp_image, nz_offsets, nz_image, nz_count = fp_segments(
        class_offsets, det_image, outcome
    )
    by_image = np.ascontiguousarray(weights.T)  # (n_images, B)
    out = np.empty((n_resamples, n_classes), dtype=np.float64)
    most_tp = 1
    most_det = 1
    for k in range(n_classes):
        most_tp = max(most_tp, tp_offsets[k + 1] - tp_offsets[k])
        most_det = max(most_det, class_offsets[k + 1] - class_offsets[k])
    n_blocks = (n_resamples + BLOCK - 1) // BLOCK
    for block in prange(n_blocks):
        b0 = block * BLOCK
        nb = min(BLOCK, n_resamples - b0)
        segment = np.empty((most_tp, nb), dtype=np.int64)
        tp_end = np.empty(most_det, dtype=np.float64)
        fp_end = np.empty(most_det, dtype=np.float64)
        for k in range(n_classes):
            t0, t1 = tp_offsets[k], tp_offsets[k + 1]
            for j in range(t0, t1):
                row = segment[j - t0]
                for bb in range(nb):
                    row[bb] = 0
                for z in range(nz_offsets[j], nz_offsets[j + 1]):
                    source = by_image[nz_image[z], b0 : b0 + nb]
                    c = nz_count[z]
                    for bb in range(nb):
                        row[bb] += c * source[bb]
            for bb in range(nb):
                b = b0 + bb
                npos = 0
                for q in range(pos_offsets[k], pos_offsets[k + 1]):
                    npos += by_image[pos_image[q], b] * pos_count[q]
                tp = 0
                fp = 0
                runs = 0
                for j in range(t0, t1):
                    fp += segment[j - t0, bb]
                    w = by_image[tp_image[j], b]
                    if w > 0:
                        tp += w
                        tp_end[runs] = tp
                        fp_end[runs] = fp
                        runs += 1
                if runs == 0:
                    d0, d1 = class_offsets[k], class_offsets[k + 1]
                    out[b, k] = weighted_ap(
                        weights[b],
                        det_image[d0:d1],
                        outcome[d0:d1],
                        pos_image[pos_offsets[k] : pos_offsets[k + 1]],
                        pos_count[pos_offsets[k] : pos_offsets[k + 1]],
                        metric,
                        tp_end,
                        fp_end,
                    )
                elif metric == METRIC_11POINT:
                    out[b, k] = _ap_11point(tp_end, fp_end, runs, 1, fp, npos, np.float64(npos))
                else:
                    out[b, k] = _ap_area(tp_end, fp_end, runs, 1, np.float64(npos))
    return out


@njit(cache=True, nogil=True, parallel=True)
def image_counts(draws, n_images):
    """(B, n_images) int32 multiplicities from (B, n) drawn image indices."""
    n_resamples = draws.shape[0]
    out = np.zeros((n_resamples, n_images), dtype=np.int32)
    for b in prange(n_resamples):
        for i in range(draws.shape[1]):
            out[b, draws[b, i]] += 1
    return out


@njit(cache=True, nogil=True, parallel=True)
def sequential_means(values):
    """(B,) the devkit's mean of each row of (B, K): summed left to right, then / K."""
    n_resamples, n_classes = values.shape
    out = np.empty(n_resamples, dtype=np.float64)
    for b in prange(n_resamples):
        total = 0.0
        for k in range(n_classes):
            total += values[b, k]
        out[b] = total / n_classes
    return out
