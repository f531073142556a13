"""The general path: one class evaluated under any :class:`Semantics`.

Other presets round coordinates, reorder difficult objects, change number types,
decide the order in which detections are matched and accumulated, let every object
compete (NumPy's ``argmax``) or leave the +1 out of the intersection, compare with
``>``, floor the precision, propagate NaN, and sum the AP differently. Each rule
is applied here to the class's arrays, then the general kernels
(:mod:`vocmap.core.rule_kernels`) run. Under the devkit's rules this path gives
the same bits as :mod:`vocmap.core.devkit` (tested); the Evaluator takes the
straight path then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vocmap.core import kernels, rule_kernels
from vocmap.core.detections import ClassDetections
from vocmap.core.ground_truth import ClassGroundTruth
from vocmap.core.results import ClassResult
from vocmap.core.semantics import Semantics
from vocmap.core.settings import EvalSettings


@dataclass(frozen=True)
class MatchInputs:
    """Kernel inputs for one class.

    Attributes:
        det_boxes: (n, 4) detection boxes (float64 or float32).
        gt_offsets, gt_boxes, gt_difficult: ground truth in CSR layout.
        gt_rows: (m,) the GroundTruth row of each ground-truth entry here.
        curve_order: (n,) int64, detections in the order of the PR curve.
        match_order: (n,) int64, the order in which they claim ground truth.
        pixel_offset: 1.0 or 0.0, in the boxes' dtype.
        intersection_offset: what the intersection's sides get added, same dtype.
        det_area: (n,) detection areas computed apart (``iou_dtype``
            "float32-detection-area"), else empty; the boxes' dtype.
        iou_threshold: the threshold, as the overlaps' dtype sees it.
    """

    det_boxes: np.ndarray
    gt_offsets: np.ndarray
    gt_boxes: np.ndarray
    gt_difficult: np.ndarray
    gt_rows: np.ndarray
    curve_order: np.ndarray
    match_order: np.ndarray
    pixel_offset: float
    intersection_offset: float
    det_area: np.ndarray
    iou_threshold: float


def evaluate_class_general(
    name: str,
    ground_truth: ClassGroundTruth,
    detections: ClassDetections,
    settings: EvalSettings,
) -> ClassResult:
    """Match one class's detections to its ground truth and compute its AP, under
    ``settings.semantics``."""
    rules = settings.semantics
    inputs = prepare(ground_truth, detections, rules, settings.iou)
    outcome, best_gt, best_overlap = rule_kernels.match_detections_general(
        inputs.match_order,
        detections.image_index,
        inputs.det_boxes,
        inputs.gt_offsets,
        inputs.gt_boxes,
        inputs.gt_difficult,
        inputs.iou_threshold,
        rules.strict_threshold,
        inputs.pixel_offset,
        inputs.intersection_offset,
        rules.overlap_candidates == "all",
        inputs.det_area,
        inputs.det_area.shape[0] > 0,
    )
    outcome = curve_outcomes(outcome, inputs)
    best_gt = curve_outcomes(best_gt, inputs)
    best_overlap = curve_outcomes(best_overlap, inputs)
    known = best_gt >= 0
    best_gt[known] = inputs.gt_rows[best_gt[known]]
    npos = ground_truth.npos
    if rules.ap_dtype == "float32":
        recall, precision, ap = curve_and_ap_float32(outcome, npos, rules, settings.metric)
    else:
        recall, precision = rule_kernels.precision_recall_general(
            outcome, npos, rules.precision_floor
        )
        if settings.metric == "voc07":
            ap = rule_kernels.average_precision_11point_general(
                recall,
                precision,
                rules.thresholds(),
                rules.ap_sum == "sum-then-divide",
                rules.max_skips_nan,
            )
        elif rules.area_ap == "numpy":
            ap = average_precision_area_numpy(recall, precision, rules.max_skips_nan)
        elif rules.area_ap == "ssd_keras":
            ap = average_precision_area_ssd_keras(recall, precision)
        else:
            ap = kernels.average_precision_area(recall, precision)
    if rules.ap_without_positives == "nan" and npos == 0:
        ap = np.nan
    return ClassResult.from_curves(
        name, ap, npos, recall, precision, inputs.curve_order, outcome, best_gt, best_overlap
    )


def prepare(
    ground_truth: ClassGroundTruth, detections: ClassDetections, rules: Semantics, iou: float
) -> MatchInputs:
    """Everything the matching kernel needs, as ``rules`` say."""
    gt_boxes = ground_truth.boxes
    gt_difficult = ground_truth.difficult
    gt_rows = ground_truth.rows
    det_boxes = detections.boxes
    if rules.gt_coordinates == "int":
        gt_boxes = np.trunc(gt_boxes)
    elif rules.gt_coordinates == "int-minus-one":
        # Truncated, then both GT and detections move into a 0-based frame.
        gt_boxes = np.trunc(gt_boxes) - 1.0
        det_boxes = det_boxes - 1.0
    elif rules.gt_coordinates != "float":
        raise ValueError(f"unknown gt_coordinates rule {rules.gt_coordinates!r}")
    if rules.difficult_last and gt_difficult.any():
        image_of_row = np.repeat(
            np.arange(len(ground_truth.offsets) - 1), np.diff(ground_truth.offsets)
        )
        order = np.lexsort((gt_difficult, image_of_row))  # stable: XML order kept otherwise
        gt_boxes, gt_difficult, gt_rows = gt_boxes[order], gt_difficult[order], gt_rows[order]
    if rules.det_box_dtype == "float32":
        det_boxes = det_boxes.astype(np.float32).astype(np.float64)
    pixel_offset = rules.pixel_offset
    iou_threshold = float(iou)
    if rules.iou_dtype == "float32":
        det_boxes = det_boxes.astype(np.float32)
        gt_boxes = gt_boxes.astype(np.float32)
        pixel_offset = np.float32(pixel_offset)
        iou_threshold = float(np.float32(iou))
    elif rules.iou_dtype not in ("float64", "float32-detection-area"):
        raise ValueError(f"unknown iou_dtype rule {rules.iou_dtype!r}")
    if rules.plus_one_on_corners:
        # chainercv: ``bbox[:, 2:] += 1`` in the boxes' dtype, then plain differences.
        det_boxes = det_boxes.copy()
        gt_boxes = gt_boxes.copy()
        det_boxes[:, 2:] += pixel_offset
        gt_boxes[:, 2:] += pixel_offset
        pixel_offset = pixel_offset * 0
    intersection_offset = pixel_offset if rules.intersection_plus_one else pixel_offset * 0
    det_area = np.zeros(0, dtype=det_boxes.dtype)
    if rules.iou_dtype == "float32-detection-area":
        # ssd_keras: the detections are a float32 array, so their areas are
        # float32 arithmetic; the rest mixes with int64 ground truth in float64.
        single = det_boxes.astype(np.float32)
        offset = np.float32(pixel_offset)
        det_area = (
            (single[:, 2] - single[:, 0] + offset) * (single[:, 3] - single[:, 1] + offset)
        ).astype(np.float64)
    curve_order, match_order = visiting_orders(detections, rules)
    return MatchInputs(
        det_boxes=np.ascontiguousarray(det_boxes),
        gt_offsets=ground_truth.offsets,
        gt_boxes=np.ascontiguousarray(gt_boxes),
        gt_difficult=np.ascontiguousarray(gt_difficult),
        gt_rows=gt_rows,
        curve_order=curve_order,
        match_order=match_order,
        pixel_offset=pixel_offset,
        intersection_offset=intersection_offset,
        det_area=np.ascontiguousarray(det_area),
        iou_threshold=iou_threshold,
    )


def visiting_orders(detections: ClassDetections, rules: Semantics) -> tuple[np.ndarray, np.ndarray]:
    """``(curve_order, match_order)``: (n,) int64 indices into the detections."""
    scores = detections.scores
    if rules.score_dtype == "float32":
        scores = scores.astype(np.float32).astype(np.float64)
    if (
        rules.sort == "stable"
        and rules.sort_dtype == "float64"
        and not rules.group_by_image
        and rules.matching_order == "global"
    ):
        curve = kernels.stable_descending_order(scores)  # the devkit's order
        return curve, curve
    sort_dtype = np.float32 if rules.sort_dtype == "float32" else np.float64

    def descending(indices: np.ndarray) -> np.ndarray:
        """``indices`` sorted by descending score, as the sort rule does it."""
        keys = np.ascontiguousarray(scores[indices])
        if rules.sort == "stable":
            rounded = keys.astype(sort_dtype).astype(np.float64)
            return indices[kernels.stable_descending_order(rounded)]
        if rules.sort == "numpy-quicksort":
            return indices[np.argsort(-keys.astype(sort_dtype))]
        if rules.sort == "numpy-quicksort-reversed":
            return indices[np.argsort(keys.astype(sort_dtype))[::-1]]
        raise ValueError(f"unknown sort rule {rules.sort!r}")

    base = np.arange(len(scores), dtype=np.int64)
    if rules.group_by_image:
        base = np.argsort(detections.image_index, kind="stable").astype(np.int64)
    if rules.matching_order == "global":
        curve = descending(base)
        return curve, curve
    if rules.matching_order not in ("per-image", "per-image-concatenated"):
        raise ValueError(f"unknown matching_order rule {rules.matching_order!r}")
    # Each image's detections (in `base` order) sorted on their own, images in order.
    grouped = base
    if not rules.group_by_image:
        grouped = base[np.argsort(detections.image_index[base], kind="stable")]
    images = detections.image_index[grouped]
    starts = np.flatnonzero(np.r_[True, images[1:] != images[:-1]])
    stops = np.r_[starts[1:], len(grouped)]
    pieces = [descending(grouped[a:b]) for a, b in zip(starts, stops)]
    match = np.concatenate(pieces).astype(np.int64) if pieces else grouped
    if rules.matching_order == "per-image-concatenated":
        return descending(match), match  # chainercv: the curve sorts the matched sequence
    return descending(base), match


def curve_outcomes(outcome: np.ndarray, inputs: MatchInputs) -> np.ndarray:
    """Outcomes in curve order, from outcomes in matching order."""
    if inputs.match_order is inputs.curve_order:
        return outcome
    by_detection = np.empty_like(outcome)
    by_detection[inputs.match_order] = outcome
    return by_detection[inputs.curve_order]


def curve_and_ap_float32(
    outcome: np.ndarray, npos: int, rules: Semantics, metric: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """Recall, precision and AP with single-precision counts and sums (MMDetection).

    ``tp``/``fp`` are float32 cumulative sums; ``recall = tp / max(npos, eps)``
    (float64); ``precision = tp / max(tp + fp, eps)`` (float32); the 11-point AP
    adds the float32 maxima into a float32 sum and divides by 11 in float32.
    """
    eps = np.float32(rules.precision_floor or np.finfo(np.float32).eps)
    tp = np.cumsum((outcome == kernels.TRUE_POSITIVE).astype(np.float32))
    fp = np.cumsum((outcome == kernels.FALSE_POSITIVE).astype(np.float32))
    recall = tp / np.maximum(np.array([npos]), eps)
    precision = tp / np.maximum(tp + fp, eps)
    ap = np.zeros(1, dtype=np.float32)
    if metric == "voc07":
        for t in rules.thresholds():
            selected = precision[recall >= t]
            ap[0] += selected.max() if selected.size > 0 else 0
        ap /= len(rules.thresholds())
    else:
        mrec = np.hstack(([0.0], recall, [1.0]))
        mpre = np.hstack((np.zeros(1, np.float32), precision, np.zeros(1, np.float32)))
        for i in range(mpre.shape[0] - 1, 0, -1):
            mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
        index = np.where(mrec[1:] != mrec[:-1])[0]
        ap[0] = np.sum((mrec[index + 1] - mrec[index]) * mpre[index + 1])
    return recall.astype(np.float64), precision.astype(np.float64), float(ap[0])


def average_precision_area_numpy(
    recall: np.ndarray, precision: np.ndarray, skip_nan: bool = True
) -> float:
    """The area AP as py-faster-rcnn's and chainercv's ``voc_ap`` compute it:
    ``mrec = [0, rec, 1]``, ``mpre = [0, prec, 0]`` made non-increasing from the
    right (``numpy.fmax`` when ``skip_nan``, else ``numpy.maximum``), then
    ``numpy.sum`` (pairwise) of ``(mrec[i+1] - mrec[i]) * mpre[i+1]`` where the
    recall changes. (n,) float64 curves in sorted order."""
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    envelope = np.fmax if skip_nan else np.maximum
    mpre = envelope.accumulate(mpre[::-1])[::-1]
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def average_precision_area_ssd_keras(recall: np.ndarray, precision: np.ndarray) -> float:
    """ssd_keras's ``average_precision_mode='integrate'``: for each distinct
    recall but the last (``numpy.unique``), the largest precision at it or any
    later distinct recall but the last, times the step to the next recall;
    ``numpy.sum`` of those. The step from recall 0 to the first recall and the
    precisions at the last recall are never counted."""
    unique, first = np.unique(recall, return_index=True)
    best = np.zeros_like(unique)
    steps = np.zeros_like(unique)
    for i in range(len(unique) - 2, -1, -1):
        best[i] = np.maximum(np.amax(precision[first[i] : first[i + 1]]), best[i + 1])
        steps[i] = unique[i + 1] - unique[i]
    return float(np.sum(best * steps))
