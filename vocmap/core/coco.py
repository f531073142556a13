"""pycocotools' COCOeval numbers for VOC ground truth: ``--metric coco50`` and ``coco``.

The VOC data is handed to COCO's rules the way torchmetrics and mmdet hand it:

* boxes: VOC pixels ``xmin..xmax`` are COCO's continuous ``[x, y, w, h]`` with
  ``x = xmin - 1``, ``w = xmax - xmin + 1`` (the mapping of :mod:`vocmap.io.coco_json`);
  a detection's area is ``w * h`` (``loadRes``), an object's too (its ``area``);
* difficult objects are ``iscrowd = 1`` (mmdet's ``ignore_flag`` becomes
  ``iscrowd``; torchmetrics takes the target's ``iscrowd``). pycocotools reads an
  ``ignore`` field but overwrites it with ``iscrowd``, so ``iscrowd`` is the only
  way; it also makes the overlap with a difficult object ``intersection / detection
  area`` and lets it absorb any number of detections;
* images in image-set order (COCO sorts image ids, and vocmap's are 1, 2, ... in
  that order), detections of an image in file order before sorting by score.

COCO ground truth (``GroundTruth.area``, ``.iscrowd``, ``.coco_image_ids``) is
taken as pycocotools takes it: ``area`` for the size ranges, ``iscrowd`` (not
``difficult``) as crowd regions, images in increasing integer id. Boxes arrive as
VOC pixels: for a file's fractional ``[x, y, w, h]``, ``(x + 1) - 1`` can differ
from ``x`` in the last bit, which changes a number only where an overlap or a
detection's area lies within that bit of a threshold or bin edge.

``coco50`` is AP at IoU 0.5 (pycocotools' ``stats[1]``: 100 detections per
image and class, all areas); ``coco`` all twelve numbers of ``summarize()``.
Per class, the AP is the mean of that class's precisions (as torchmetrics'
``map_per_class`` and detectron2 compute it), NaN for a class without objects; the
mAP is pycocotools' own number, the mean over every class's precisions together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vocmap.core import coco_kernels, kernels
from vocmap.core.detections import ClassDetections, Detections
from vocmap.core.ground_truth import ClassGroundTruth, GroundTruth
from vocmap.core.results import ClassResult, EvalResult
from vocmap.core.settings import EvalSettings

#: COCOeval's ``Params.setDetParams`` values, computed as it computes them.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = (1, 10, 100)
AREA_RANGES = np.array(
    [[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]], dtype=np.float64
)
AREA_LABELS = ("all", "small", "medium", "large")
#: ``stats`` of ``COCOeval.summarize()``, in its order.
SUMMARY_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)


@dataclass(frozen=True)
class CocoParams:
    """The part of COCOeval's parameters a metric needs."""

    iou_thresholds: np.ndarray
    area_ranges: np.ndarray
    area_labels: tuple[str, ...]
    max_dets: tuple[int, ...]

    @property
    def effective_thresholds(self) -> np.ndarray:
        """``min([t, 1 - 1e-10])``, the starting "best overlap" of evaluateImg."""
        return np.array([min([float(t), 1 - 1e-10]) for t in self.iou_thresholds])


#: ``--metric coco``: every number of ``summarize()``.
COCO_PARAMS = CocoParams(IOU_THRESHOLDS, AREA_RANGES, AREA_LABELS, MAX_DETS)
#: ``--metric coco50``: only what ``stats[1]`` reads (each cell is computed alone).
COCO50_PARAMS = CocoParams(IOU_THRESHOLDS[:1], AREA_RANGES[:1], AREA_LABELS[:1], MAX_DETS[2:])


def voc_to_coco_boxes(boxes: np.ndarray) -> np.ndarray:
    """(n, 4) VOC ``(xmin, ymin, xmax, ymax)`` (1-based, inclusive) to COCO
    ``[x, y, w, h]``: ``x = xmin - 1``, ``w = xmax - xmin + 1``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = np.empty_like(boxes)
    out[:, 0] = boxes[:, 0] - 1.0
    out[:, 1] = boxes[:, 1] - 1.0
    out[:, 2] = boxes[:, 2] - boxes[:, 0] + 1.0
    out[:, 3] = boxes[:, 3] - boxes[:, 1] + 1.0
    return out


@dataclass(frozen=True, eq=False)
class CocoClassEval:
    """COCOeval's arrays for one class.

    Attributes:
        precision: (T, R, A, M) as ``eval['precision'][:, :, k]``; recall: (T, A, M).
        kept: (k,) detections (file order index) within ``maxDets[-1]`` of their image,
            by image (COCO's image order) then score.
        rank: (k,) position of each within its image.
        order: (k,) positions into ``kept`` in accumulate's order.
        outcome: (A, T, k) int8; matched: (k,) GroundTruth row or -1 (the first IoU
            threshold, area "all").
        best_iou: (k,) largest COCO overlap with an object of the image (-inf: none).
        npig: (A,) objects not ignored.
    """

    precision: np.ndarray
    recall: np.ndarray
    kept: np.ndarray
    rank: np.ndarray
    order: np.ndarray
    outcome: np.ndarray
    matched: np.ndarray
    best_iou: np.ndarray
    npig: np.ndarray


def _crowd_and_area(ground_truth: ClassGroundTruth) -> tuple[np.ndarray, np.ndarray]:
    """COCO's ``iscrowd`` (else the difficult flags) and ``area`` (else ``w * h``)."""
    crowd = ground_truth.difficult if ground_truth.iscrowd is None else ground_truth.iscrowd
    if ground_truth.area is None:
        boxes = voc_to_coco_boxes(ground_truth.boxes)
        return crowd, boxes[:, 2] * boxes[:, 3]
    return crowd, ground_truth.area


def evaluate_classes(
    ground_truths: Sequence[ClassGroundTruth],
    detections: Sequence[ClassDetections],
    params: CocoParams = COCO_PARAMS,
) -> tuple[list[CocoClassEval], np.ndarray, np.ndarray]:
    """evaluateImg over every (class, image) cell, then accumulate: each class's
    arrays, and ``eval['precision']`` (T, R, K, A, M) and ``eval['recall']`` (T, K, A, M).

    Images are visited in COCO's order (``ClassGroundTruth.image_rank``), else in
    image-set order.
    """
    n_images = ground_truths[0].offsets.shape[0] - 1 if ground_truths else 0
    objects = ObjectTable(
        object_class=_concat(
            [np.full(g.rows.shape[0], k, dtype=np.int64) for k, g in enumerate(ground_truths)],
            (0,),
            np.int64,
        ),
        object_image=_concat(
            [
                np.repeat(np.arange(n_images, dtype=np.int64), np.diff(g.offsets))
                for g in ground_truths
            ],
            (0,),
            np.int64,
        ),
        boxes=_concat([g.boxes for g in ground_truths], (0, 4)),
        area=_concat([_crowd_and_area(g)[1] for g in ground_truths], (0,)),
        crowd=_concat([_crowd_and_area(g)[0] for g in ground_truths], (0,), np.bool_),
        rows=_concat([g.rows for g in ground_truths], (0,), np.int64),
    )
    image_rank = ground_truths[0].image_rank if ground_truths else None
    return evaluate_tables(objects, detections, n_images, image_rank, params)


@dataclass(frozen=True)
class ObjectTable:
    """Objects of the classes evaluated, one row each: ``object_class`` (m,) position
    in the class list, ``object_image`` (m,) image index, ``boxes`` (m, 4) VOC,
    ``area`` (m,) COCO's area, ``crowd`` (m,) bool, ``rows`` (m,) GroundTruth row;
    any order that keeps each (class, image)'s objects in file order."""

    object_class: np.ndarray
    object_image: np.ndarray
    boxes: np.ndarray
    area: np.ndarray
    crowd: np.ndarray
    rows: np.ndarray

    @classmethod
    def from_ground_truth(cls, ground_truth: GroundTruth, classes: Sequence[str]) -> ObjectTable:
        """The objects of ``classes`` straight from the GroundTruth's columns."""
        position = np.full(len(ground_truth.class_names) + 1, -1, dtype=np.int64)
        wanted = {name: k for k, name in enumerate(classes)}
        for index, name in enumerate(ground_truth.class_names):
            position[index] = wanted.get(name, -1)
        object_class = position[ground_truth.object_class]
        rows = np.flatnonzero(object_class >= 0)
        if ground_truth.area is None:
            w = ground_truth.boxes[rows, 2] - ground_truth.boxes[rows, 0] + 1.0
            h = ground_truth.boxes[rows, 3] - ground_truth.boxes[rows, 1] + 1.0
            area = w * h
        else:
            area = ground_truth.area[rows]
        crowd = ground_truth.difficult if ground_truth.iscrowd is None else ground_truth.iscrowd
        return cls(
            object_class=object_class[rows],
            object_image=ground_truth.object_image[rows],
            boxes=ground_truth.boxes[rows],
            area=area,
            crowd=crowd[rows],
            rows=rows,
        )


def evaluate_tables(
    objects: ObjectTable,
    detections: Sequence[ClassDetections],
    n_images: int,
    image_rank: np.ndarray | None,
    params: CocoParams,
) -> tuple[list[CocoClassEval], np.ndarray, np.ndarray]:
    """:func:`evaluate_classes` on an ObjectTable and each class's detections.

    A cell is (class, image in COCO's order). One parallel loop over the classes
    sorts each cell's detections by score, matches the cells and accumulates the
    class (:func:`vocmap.core.coco_kernels.evaluate_cells`; on the calling thread
    below ``PARALLEL_MIN_WORK`` rows).
    """
    n_classes = len(detections)
    rank = np.arange(n_images, dtype=np.int64) if image_rank is None else image_rank
    n_cells = n_classes * n_images
    det_counts = np.array([len(d) for d in detections], dtype=np.int64)
    det_starts = np.concatenate([[0], np.cumsum(det_counts)])
    det_class = np.repeat(np.arange(n_classes, dtype=np.int64), det_counts)
    scores = _concat([d.scores for d in detections], (0,))
    det_boxes = voc_to_coco_boxes(_concat([d.boxes for d in detections], (0, 4)))
    det_area = det_boxes[:, 2] * det_boxes[:, 3]
    det_image = _concat([d.image_index for d in detections], (0,), np.int64)
    det_order, det_offsets = coco_kernels.group_by_cell(
        det_class * n_images + rank[det_image], n_cells
    )
    gt_cell = objects.object_class * n_images + rank[objects.object_image]
    gt_order, gt_offsets = coco_kernels.group_by_cell(gt_cell, n_cells)
    parallel = det_order.shape[0] + gt_order.shape[0] >= PARALLEL_MIN_WORK
    kernel = coco_kernels.evaluate_cells if parallel else coco_kernels.evaluate_cells_serial
    kept_offsets, kept, rank_in_cell, outcome, matched, best_iou, npig, precision, recall, visit = (
        kernel(
            (det_order, det_offsets, scores, det_boxes, det_area),
            (
                gt_offsets,
                voc_to_coco_boxes(objects.boxes[gt_order]),
                np.ascontiguousarray(objects.area[gt_order], dtype=np.float64),
                np.ascontiguousarray(objects.crowd[gt_order], dtype=np.bool_),
            ),
            (
                params.effective_thresholds,
                params.area_ranges,
                np.array(params.max_dets, dtype=np.int64),
                RECALL_THRESHOLDS,
            ),
            n_classes,
            max(params.max_dets),
        )
    )
    if n_images:
        class_offsets = np.ascontiguousarray(kept_offsets[::n_images])
    else:
        class_offsets = np.zeros(n_classes + 1, dtype=np.int64)
    known = matched >= 0
    matched[known] = objects.rows[gt_order][matched[known]]
    evaluations = []
    for k in range(n_classes):
        lo, hi = int(class_offsets[k]), int(class_offsets[k + 1])
        evaluations.append(
            CocoClassEval(
                precision[:, :, k],
                recall[:, k],
                kept[lo:hi] - det_starts[k],
                rank_in_cell[lo:hi],
                visit[lo:hi],
                outcome[:, :, lo:hi],
                matched[lo:hi],
                best_iou[lo:hi],
                npig[k],
            )
        )
    return evaluations, precision, recall


#: Below this many detections and objects, the kernel runs on the calling thread:
#: waking a second costs more than it saves (much more on a loaded machine).
PARALLEL_MIN_WORK = 20_000


def _concat(parts: Sequence[np.ndarray], empty_shape: tuple, dtype=np.float64) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(empty_shape, dtype=dtype)


def evaluate_class_coco(
    ground_truth: ClassGroundTruth, detections: ClassDetections, params: CocoParams = COCO_PARAMS
) -> CocoClassEval:
    """evaluateImg over the image set, then accumulate, for one class."""
    return evaluate_classes([ground_truth], [detections], params)[0][0]


def summarize(
    precision: np.ndarray, recall: np.ndarray, params: CocoParams = COCO_PARAMS
) -> dict[str, float]:
    """``COCOeval.summarize()``'s numbers from (T, R, K, A, M) precision and (T, K, A, M)
    recall, computed as it computes them (``np.mean`` over the cells that are not -1;
    -1 when every cell is). Numbers the params do not cover are left out."""
    labels, max_dets = list(params.area_labels), list(params.max_dets)

    def one(ap: bool, iou: float | None = None, area: str = "all", max_det: int = 100) -> float:
        aind = [i for i, label in enumerate(labels) if label == area]
        mind = [i for i, m in enumerate(max_dets) if m == max_det]
        s = precision if ap else recall
        if iou is not None:
            s = s[np.where(iou == params.iou_thresholds)[0]]
        s = s[:, :, :, aind, mind] if ap else s[:, :, aind, mind]
        return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))

    wanted = {
        "AP": (True, None, "all", 100),
        "AP50": (True, 0.5, "all", 100),
        "AP75": (True, 0.75, "all", 100),
        "APs": (True, None, "small", 100),
        "APm": (True, None, "medium", 100),
        "APl": (True, None, "large", 100),
        "AR1": (False, None, "all", 1),
        "AR10": (False, None, "all", 10),
        "AR100": (False, None, "all", 100),
        "ARs": (False, None, "small", 100),
        "ARm": (False, None, "medium", 100),
        "ARl": (False, None, "large", 100),
    }
    out = {}
    for name in SUMMARY_NAMES:
        ap, iou, area, max_det = wanted[name]
        covered = area in labels and max_det in max_dets
        if iou is not None:
            covered = covered and bool(np.any(iou == params.iou_thresholds))
        elif len(params.iou_thresholds) != len(IOU_THRESHOLDS):
            covered = False
        if covered:
            out[name] = one(ap, iou, area, max_det)
    return out


def class_ap(precision: np.ndarray) -> float:
    """A class's AP from its (T, R) precisions: their mean, NaN without objects."""
    cells = precision[precision > -1]
    return float(np.mean(cells)) if cells.size else float("nan")


def class_result(name: str, ap: float, evaluation: CocoClassEval, n_detections: int) -> ClassResult:
    """A ClassResult: the AP, and the curve, outcomes and matches at IoU 0.5, all areas,
    100 detections per image. Detections beyond 100 in their image come last, as
    ignored (COCOeval does not see them)."""
    k = evaluation.kept.shape[0]
    tp = np.empty(k)
    fp = np.empty(k)
    rec = np.empty(k)
    prec = np.empty(k)
    npig = int(evaluation.npig[0])
    coco_kernels.curve_points(
        evaluation.outcome[0, 0],
        evaluation.order,
        evaluation.rank,
        1 << 62,
        npig,
        tp,
        fp,
        rec,
        prec,
    )
    beyond = np.ones(n_detections, dtype=bool)
    beyond[evaluation.kept] = False
    dropped = np.flatnonzero(beyond)
    visited = evaluation.kept[evaluation.order]
    fill = np.full(dropped.shape[0], rec[-1] if k else np.nan)
    fill_prec = np.full(dropped.shape[0], prec[-1] if k else np.nan)
    outcome = evaluation.outcome[0, 0][evaluation.order]
    return ClassResult.from_curves(
        name,
        ap,
        npig,
        np.concatenate([rec, fill]),
        np.concatenate([prec, fill_prec]),
        np.concatenate([visited, dropped]).astype(np.int64),
        np.concatenate([outcome, np.full(dropped.shape[0], kernels.IGNORED, dtype=np.int8)]),
        np.concatenate([evaluation.matched[evaluation.order], np.full(dropped.shape[0], -1)]),
        np.concatenate([evaluation.best_iou[evaluation.order], np.full(dropped.shape[0], -np.inf)]),
    )


def coco_class_result(
    name: str,
    ground_truth: ClassGroundTruth,
    detections: ClassDetections,
    settings: EvalSettings,
) -> ClassResult:
    """One class under ``--metric coco50`` or ``coco`` (as in :func:`evaluate_coco`)."""
    params = COCO50_PARAMS if settings.metric == "coco50" else COCO_PARAMS
    evaluation = evaluate_class_coco(ground_truth, detections, params)
    ap = class_ap(evaluation.precision[:, :, 0, -1])
    return class_result(name, ap, evaluation, len(detections))


def evaluate_coco(
    ground_truth: GroundTruth,
    detections: Detections,
    classes: Sequence[str],
    settings: EvalSettings,
) -> EvalResult:
    """``--metric coco50`` or ``coco`` for the classes, in order (give them in COCO's
    category-id order for pycocotools' exact means)."""
    params = COCO50_PARAMS if settings.metric == "coco50" else COCO_PARAMS
    evaluations, precision, recall = evaluate_tables(
        ObjectTable.from_ground_truth(ground_truth, classes),
        [detections[name] for name in classes],
        ground_truth.num_images,
        ground_truth.image_rank,
        params,
    )
    summary = summarize(precision, recall, params)
    results = {}
    for name, evaluation in zip(classes, evaluations):
        # all areas, maxDets 100 (the last); every IoU threshold of the metric
        ap = class_ap(evaluation.precision[:, :, 0, -1])
        results[name] = class_result(name, ap, evaluation, len(detections[name]))
    headline = summary["AP50"] if settings.metric == "coco50" else summary["AP"]
    return EvalResult(
        settings=settings,
        classes=results,
        map=float("nan") if headline == -1.0 else headline,
        dropped_unknown=detections.dropped_unknown,
        summary=summary,
    )


def coco_arrays(
    ground_truth: GroundTruth, detections: Detections, classes: Sequence[str], params: CocoParams
) -> tuple[np.ndarray, np.ndarray]:
    """``eval['precision']`` (T, R, K, A, M) and ``eval['recall']`` (T, K, A, M)."""
    _, precision, recall = evaluate_tables(
        ObjectTable.from_ground_truth(ground_truth, classes),
        [detections[name] for name in classes],
        ground_truth.num_images,
        ground_truth.image_rank,
        params,
    )
    return precision, recall
