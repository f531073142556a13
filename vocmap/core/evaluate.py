"""Evaluate detections against ground truth: the orchestration around the two paths.

    GroundTruth ──for_class──▶ ClassGroundTruth ─┐
                                                 ├─ evaluate_class ─▶ ClassResult ─┐
    Detections ──[class]────▶ ClassDetections ──┘   (devkit path,                 ├─▶ EvalResult
                                                     or the general path)          │
                                                          mean_ap(APs) ───────────┘

:class:`Evaluator` holds the ground truth and the settings, so a training loop
builds it once and evaluates many detection sets.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from vocmap.core.accumulator import DetectionAccumulator
from vocmap.core.constants import VOC_CLASSES
from vocmap.core.detections import ClassDetections, Detections
from vocmap.core.devkit import evaluate_class_devkit
from vocmap.core.errors import InputError, VocmapError
from vocmap.core.general import evaluate_class_general
from vocmap.core.ground_truth import ClassGroundTruth, GroundTruth
from vocmap.core.results import ClassResult, EvalResult, mean_ap
from vocmap.core.semantics import Semantics
from vocmap.core.settings import COCO_METRICS, EvalSettings

# Below this many detections in all, classes are evaluated on one thread.
_THREADED_MIN_DETECTIONS = 100_000


def evaluate_class(
    name: str,
    ground_truth: ClassGroundTruth,
    detections: ClassDetections,
    settings: EvalSettings | None = None,
) -> ClassResult:
    """Match one class's detections to its ground truth and compute its AP.

    The devkit's rules take the straight path (:mod:`vocmap.core.devkit`); any
    other rule set the general one (:mod:`vocmap.core.general`).
    """
    settings = settings or EvalSettings()
    if settings.metric in COCO_METRICS:
        from vocmap.core.coco import coco_class_result

        return coco_class_result(name, ground_truth, detections, settings)
    if settings.semantics.is_devkit:
        return evaluate_class_devkit(name, ground_truth, detections, settings.metric, settings.iou)
    return evaluate_class_general(name, ground_truth, detections, settings)


class Evaluator:
    """Evaluate detection sets against one ground truth.

    Args:
        ground_truth: the annotations (see :class:`GroundTruth`).
        classes: the classes to evaluate, in table order (default: the 20 VOC classes).
        metric: "voc07" (11-point, the VOC2007 number) or "voc12" (area under the
            precision envelope, VOC2010+); "coco50" or "coco" for pycocotools'
            AP50 or AP@[.5:.95] (:mod:`vocmap.core.coco`; the result's ``summary``
            holds COCO's twelve numbers).
        iou: overlap threshold (0.5 in VOC).
        semantics: a preset name from :mod:`vocmap.core.semantics` ("devkit" by
            default) or a :class:`Semantics`.
        settings: all three at once (instead of metric, iou and semantics).
        threads: threads for evaluating classes in parallel (default: CPUs, at most 4).

    Example::

        evaluator = Evaluator(read_voc("VOCdevkit/VOC2007"))
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
        settings: EvalSettings | None = None,
        threads: int | None = None,
    ) -> None:
        if not isinstance(ground_truth, GroundTruth):
            raise VocmapError(
                f"ground_truth must be a GroundTruth, not {type(ground_truth).__name__}"
            )
        self.ground_truth = ground_truth
        self.settings = settings or EvalSettings.create(metric, iou, semantics)
        self.classes = class_list(classes)
        self.threads = threads or min(4, os.cpu_count() or 1)

    @property
    def metric(self) -> str:
        return self.settings.metric

    @property
    def iou(self) -> float:
        return self.settings.iou

    @property
    def semantics(self) -> Semantics:
        return self.settings.semantics

    def evaluate(self, detections: Detections) -> EvalResult:
        """Evaluate every class of ``self.classes``; each must be in ``detections``."""
        missing = [c for c in self.classes if c not in detections]
        if missing:
            raise InputError(f"no detections given for class(es) {', '.join(missing)}")
        left_out = left_out_classes(self.ground_truth, self.classes)
        if self.settings.metric in COCO_METRICS:
            from vocmap.core.coco import evaluate_coco

            result = evaluate_coco(self.ground_truth, detections, self.classes, self.settings)
            return replace(result, left_out=left_out) if left_out else result
        total = sum(len(detections[c]) for c in self.classes)

        def run(name: str) -> ClassResult:
            return self.evaluate_class(name, detections[name])

        if self.threads > 1 and total >= _THREADED_MIN_DETECTIONS:
            with ThreadPoolExecutor(max_workers=self.threads) as pool:
                per_class = list(pool.map(run, self.classes))
        else:
            per_class = [run(c) for c in self.classes]
        return EvalResult(
            settings=self.settings,
            classes={r.name: r for r in per_class},
            map=self._mean(per_class),
            dropped_unknown=detections.dropped_unknown,
            left_out=left_out,
        )

    def _mean(self, per_class: list[ClassResult]) -> float:
        """The mAP of the class results, as the semantics take it."""
        rules = self.settings.semantics
        if rules.map_mean == "numpy-nanmean":
            # chainercv: its AP array ends at the last class that occurs (objects,
            # difficult ones included, or detections); numpy.nanmean of that.
            present = [
                k
                for k, r in enumerate(per_class)
                if r.detections or self.ground_truth.for_class(r.name).boxes.shape[0]
            ]
            aps = np.array([r.ap for r in per_class[: present[-1] + 1]] if present else [])
            if np.isnan(aps).all():
                return math.nan  # numpy.nanmean warns and gives NaN
            return float(np.nanmean(aps))
        counted = [
            r.ap
            for r in per_class
            if not (rules.map_skips_classes_without_positives and r.npos == 0)
        ]
        return mean_ap(counted, _mean_rule(rules))

    def evaluate_class(self, name: str, detections: ClassDetections) -> ClassResult:
        """Evaluate one class."""
        return evaluate_class(name, self.ground_truth.for_class(name), detections, self.settings)

    def on_ground_truth(self, ground_truth: GroundTruth) -> Evaluator:
        """This evaluator's classes, settings and threads on other ground truth."""
        return Evaluator(ground_truth, self.classes, settings=self.settings, threads=self.threads)

    def accumulator(
        self,
        box_format: str | None = None,
        label_offset: int = 0,
        duplicates: str = "error",
    ) -> DetectionAccumulator:
        """A fresh :class:`DetectionAccumulator` bound to this evaluator.

        ``box_format`` is required ("voc", "xyxy", "xywh" or "voc0"); see
        :class:`DetectionAccumulator` for the other arguments.
        """
        return DetectionAccumulator(
            self, box_format=box_format, label_offset=label_offset, duplicates=duplicates
        )


def left_out_classes(ground_truth: GroundTruth, classes: Sequence[str]) -> tuple[str, ...]:
    """The classes ``ground_truth`` has objects of that ``classes`` leaves out (VOC's in
    the devkit's order, then the others sorted): a mean over ``classes`` is then not the
    mAP of the ground truth."""
    order = {name: k for k, name in enumerate(VOC_CLASSES)}
    missing = {c for c in ground_truth.class_names if c not in set(classes)}
    return tuple(sorted(missing, key=lambda c: (order.get(c, len(order)), c)))


def _mean_rule(rules: Semantics) -> str:
    if rules.map_mean == "numpy" and rules.ap_dtype == "float32":
        return "numpy-float32"
    return rules.map_mean


def class_list(classes: Sequence[str] | None) -> tuple[str, ...]:
    """The classes to evaluate: the 20 VOC classes by default; a bare string, an
    empty list, a repeated or empty name are errors."""
    if classes is None:
        return VOC_CLASSES
    if isinstance(classes, (str, bytes)):
        raise VocmapError(
            f"classes must be a list of names, not the string {classes!r} "
            f"(write [{classes!r}] for one class)"
        )
    names = tuple(classes)
    if not names:
        raise VocmapError("the class list is empty")
    for name in names:
        if not isinstance(name, str) or not name:
            raise VocmapError(f"a class name must be a non-empty string, not {name!r}")
    if len(set(names)) != len(names):
        raise VocmapError("a class is named twice")
    return names
