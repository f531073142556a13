"""Evaluate detections against ground truth: the orchestration around the kernels.

    GroundTruth ──for_class──▶ ClassGroundTruth ─┐
                                                 ├─ evaluate_class ─▶ ClassResult ─┐
    Detections ──[class]────▶ ClassDetections ──┘                                 ├─▶ EvalResult
                                                          mean_ap(APs) ───────────┘

:class:`Evaluator` holds the ground truth and the options, so a training loop
builds it once and evaluates many detection sets; :class:`DetectionAccumulator`
collects per-image detections as a model produces them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from vocmap import kernels
from vocmap import rules as rules_module
from vocmap.annotations import ClassGroundTruth, GroundTruth
from vocmap.constants import VOC_CLASSES
from vocmap.detections import ClassDetections, Detections
from vocmap.errors import InputError, VocmapError
from vocmap.results import ClassResult, EvalResult
from vocmap.semantics import Semantics, get_semantics

METRICS = ("voc07", "voc12")

# Below this many detections in all, classes are evaluated on one thread.
_THREADED_MIN_DETECTIONS = 100_000


def evaluate_class(
    name: str,
    ground_truth: ClassGroundTruth,
    detections: ClassDetections,
    *,
    metric: str = "voc07",
    iou: float = 0.5,
    semantics: str | Semantics = "devkit",
) -> ClassResult:
    """Match one class's detections to its ground truth and compute its AP."""
    rules = get_semantics(semantics)
    inputs = rules_module.prepare(ground_truth, detections, rules, iou)
    outcome, best_gt, best_overlap = kernels.match_detections(
        inputs.match_order,
        detections.image_index,
        inputs.det_boxes,
        inputs.gt_offsets,
        inputs.gt_boxes,
        inputs.gt_difficult,
        inputs.iou_threshold,
        rules.strict_threshold,
        inputs.pixel_offset,
    )
    outcome = rules_module.curve_outcomes(outcome, inputs)
    best_gt = rules_module.curve_outcomes(best_gt, inputs)
    best_overlap = rules_module.curve_outcomes(best_overlap, inputs)
    known = best_gt >= 0
    best_gt[known] = inputs.gt_rows[best_gt[known]]
    npos = ground_truth.npos
    if rules.ap_dtype == "float32":
        recall, precision, ap = rules_module.curve_and_ap_float32(outcome, npos, rules, metric)
    else:
        recall, precision = kernels.precision_recall(outcome, npos, rules.precision_floor)
        if metric == "voc07":
            ap = kernels.average_precision_11point(
                recall,
                precision,
                rules.thresholds(),
                rules.ap_sum == "sum-then-divide",
                rules.max_skips_nan,
            )
        else:
            ap = kernels.average_precision_area(recall, precision)
    tp = int(np.count_nonzero(outcome == kernels.TRUE_POSITIVE))
    fp = int(np.count_nonzero(outcome == kernels.FALSE_POSITIVE))
    return ClassResult(
        name=name,
        ap=float(ap),
        npos=npos,
        detections=len(detections),
        tp=tp,
        fp=fp,
        ignored=len(detections) - tp - fp,
        recall=recall,
        precision=precision,
        order=inputs.curve_order,
        outcome=outcome,
        best_gt=best_gt,
        best_overlap=best_overlap,
    )


def mean_ap(aps: Sequence[float], how: str = "sequential") -> float:
    """The mean of the APs (NaN if any is NaN; NaN if there are none).

    ``how``: "sequential" sums left to right then divides (the devkit's
    ``mean``); "numpy" is ``numpy.mean`` (pairwise summation); "numpy-float32"
    is ``numpy.mean`` of single-precision APs.
    """
    if not aps:
        return math.nan
    if how == "numpy":
        return float(np.mean(np.array(aps, dtype=np.float64)))
    if how == "numpy-float32":
        return float(np.array(aps, dtype=np.float32).mean())
    total = 0.0
    for ap in aps:
        total += ap
    return total / len(aps)


class Evaluator:
    """Evaluate detection sets against one ground truth.

    Args:
        ground_truth: the annotations (see :class:`GroundTruth`).
        classes: the classes to evaluate, in table order (default: the 20 VOC classes).
        metric: "voc07" (11-point, the VOC2007 number) or "voc12" (area under the
            precision envelope, VOC2010+).
        iou: overlap threshold (0.5 in VOC).
        semantics: a preset name from :mod:`vocmap.semantics` ("devkit" by default).
        threads: threads for evaluating classes in parallel (default: CPUs, at most 4).

    Example::

        evaluator = Evaluator(GroundTruth.from_voc("VOCdevkit/VOC2007"))
        result = evaluator.evaluate(read_detections("results/", evaluator.ground_truth))
        print(result.map)
    """

    def __init__(
        self,
        ground_truth: GroundTruth,
        classes: Sequence[str] | None = None,
        *,
        metric: str = "voc07",
        iou: float = 0.5,
        semantics: str | Semantics = "devkit",
        threads: int | None = None,
    ) -> None:
        if metric not in METRICS:
            raise VocmapError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
        if not (isinstance(iou, (int, float)) and 0.0 < iou <= 1.0):
            raise VocmapError(f"iou must be in (0, 1], not {iou!r}")
        self.ground_truth = ground_truth
        self.classes = tuple(VOC_CLASSES if classes is None else classes)
        if len(set(self.classes)) != len(self.classes):
            raise VocmapError("a class is named twice")
        self.metric = metric
        self.iou = float(iou)
        self.semantics = get_semantics(semantics)
        self.threads = threads or min(4, os.cpu_count() or 1)

    def evaluate(self, detections: Detections) -> EvalResult:
        """Evaluate every class of ``self.classes``; each must be in ``detections``."""
        missing = [c for c in self.classes if c not in detections]
        if missing:
            raise InputError(f"no detections given for class(es) {', '.join(missing)}")
        total = sum(len(detections[c]) for c in self.classes)

        def run(name: str) -> ClassResult:
            return self.evaluate_class(name, detections[name])

        if self.threads > 1 and total >= _THREADED_MIN_DETECTIONS:
            with ThreadPoolExecutor(max_workers=self.threads) as pool:
                per_class = list(pool.map(run, self.classes))
        else:
            per_class = [run(c) for c in self.classes]
        classes = {r.name: r for r in per_class}
        counted = [
            r.ap
            for r in per_class
            if not (self.semantics.map_skips_classes_without_positives and r.npos == 0)
        ]
        return EvalResult(
            metric=self.metric,
            iou=self.iou,
            semantics=self.semantics.name,
            classes=classes,
            map=mean_ap(counted, self._mean_rule()),
            dropped_unknown=detections.dropped_unknown,
        )

    def _mean_rule(self) -> str:
        if self.semantics.map_mean == "numpy" and self.semantics.ap_dtype == "float32":
            return "numpy-float32"
        return self.semantics.map_mean

    def evaluate_class(self, name: str, detections: ClassDetections) -> ClassResult:
        """Evaluate one class."""
        return evaluate_class(
            name,
            self.ground_truth.for_class(name),
            detections,
            metric=self.metric,
            iou=self.iou,
            semantics=self.semantics,
        )

    def accumulator(self, label_offset: int = 0) -> DetectionAccumulator:
        """A fresh :class:`DetectionAccumulator` bound to this evaluator."""
        return DetectionAccumulator(self, label_offset=label_offset)


class DetectionAccumulator:
    """Collect detections image by image, then evaluate them (reset / add / evaluate).

    Args:
        evaluator: the Evaluator holding ground truth and options.
        label_offset: subtracted from integer labels to index ``evaluator.classes``
            (1 for detectors whose label 0 is the background).

    Example::

        acc = evaluator.accumulator(label_offset=1)
        for image_id, (boxes, scores, labels) in model_outputs:
            acc.add(image_id, boxes, scores, labels)   # boxes (n, 4) VOC frame
        result = acc.evaluate()

    The order of ``add`` calls (and of rows within a call) is the "file order"
    that breaks score ties.
    """

    def __init__(self, evaluator: Evaluator, label_offset: int = 0) -> None:
        self.evaluator = evaluator
        self.label_offset = int(label_offset)
        self._class_index = {name: k for k, name in enumerate(evaluator.classes)}
        self.reset()

    def reset(self) -> None:
        """Forget everything added so far."""
        n = len(self.evaluator.classes)
        self._images: list[list[np.ndarray]] = [[] for _ in range(n)]
        self._scores: list[list[np.ndarray]] = [[] for _ in range(n)]
        self._boxes: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.images_seen = 0

    def add(self, image_id: str, boxes, scores, labels) -> None:
        """Add one image's detections.

        Args:
            image_id: an id of the ground truth's image set.
            boxes: (n, 4) VOC boxes (1-based, inclusive pixels).
            scores: (n,) confidences.
            labels: (n,) class names, or integer labels (``label - label_offset``
                indexes ``evaluator.classes``).
        """
        index = self.evaluator.ground_truth.image_index.get(str(image_id))
        if index is None:
            raise InputError(f'image "{image_id}" is not in the image set')
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        labels = np.asarray(labels).reshape(-1)
        if not (boxes.shape[0] == scores.shape[0] == labels.shape[0]):
            raise InputError(f'image "{image_id}": boxes, scores and labels differ in length')
        if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
            raise InputError(f'image "{image_id}": a NaN or infinite box or score')
        if labels.dtype.kind in "iu":
            class_ids = labels.astype(np.int64) - self.label_offset
            if class_ids.size and (class_ids.min() < 0 or class_ids.max() >= len(self._images)):
                raise InputError(f'image "{image_id}": label outside the class list')
        else:
            try:
                class_ids = np.array([self._class_index[str(n)] for n in labels], dtype=np.int64)
            except KeyError as unknown:
                raise InputError(f'image "{image_id}": unknown class {unknown.args[0]!r}') from None
        for k in np.unique(class_ids):
            rows = class_ids == k
            count = int(np.count_nonzero(rows))
            self._images[k].append(np.full(count, index, dtype=np.int64))
            self._scores[k].append(scores[rows])
            self._boxes[k].append(boxes[rows])
        self.images_seen += 1

    process = add

    def detections(self) -> Detections:
        """What has been added, as :class:`Detections`."""
        by_class = {}
        for k, name in enumerate(self.evaluator.classes):
            if self._scores[k]:
                by_class[name] = ClassDetections(
                    image_index=np.concatenate(self._images[k]),
                    scores=np.concatenate(self._scores[k]),
                    boxes=np.ascontiguousarray(np.concatenate(self._boxes[k])),
                )
            else:
                by_class[name] = ClassDetections.empty()
        return Detections(by_class)

    def evaluate(self) -> EvalResult:
        """Evaluate everything added so far."""
        return self.evaluator.evaluate(self.detections())
