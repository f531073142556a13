"""Explain the devkit's AP against COCO's AP50 (``vocmap compare --semantics coco50``).

A metric switch is not a rule switch: COCO matches, orders, divides and
interpolates differently at once. The path from the devkit's number (``voc07``
or ``voc12``) to pycocotools' AP50 goes through steps that can each be computed,
and the AP is evaluated after each, so the steps add up to the whole difference:

1. ``max_dets``: only each image's 100 best detections (COCO's ``maxDets``);
   the devkit's matching on what is left;
2. ``matching``: COCO's outcomes (difficult objects as crowd regions: overlap over
   the detection's area, any number of detections absorbed; regular objects
   before difficult ones; a matched object skipped for the next best; the later
   object on equal overlaps), still in the devkit's order and arithmetic;
3. ``tie_order``: COCO's order (by image, then score) for equal scores;
4. ``precision_eps``: ``tp / (tp + fp + eps)``;
5. ``interpolation``: the 11-point (or area) AP replaced by the mean of the
   precision envelope at 101 recall thresholds, which is pycocotools' AP50.

The mAP differs once more: pycocotools averages all classes' 101 precisions at
once and leaves out classes without objects.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vocmap.analysis.compare import OUTCOME_NAMES, ClassComparison, Reason
from vocmap.core import coco, coco_kernels, kernels
from vocmap.core.detections import ClassDetections, Detections
from vocmap.core.devkit import evaluate_class_devkit
from vocmap.core.evaluate import Evaluator, class_list
from vocmap.core.ground_truth import ClassGroundTruth, GroundTruth
from vocmap.core.results import EvalResult, json_float, mean_ap

_FLIP_WORDS = {
    "ignored->TP": "a regular object taken before a better-overlapping difficult one",
    "FP->TP": "the best-overlap object was already matched (or tied): COCO takes the next",
    "TP->FP": "an equal overlap goes to the later object, leaving none for this one",
    "FP->ignored": "overlap with a difficult (crowd) region measured over the detection's area",
    "TP->ignored": "a difficult region wins over an object matched by the devkit",
}
_STEP_WORDS = {
    "max_dets": "only the 100 best detections of each image count (COCO's maxDets)",
    "matching": "COCO's matching (difficult objects as crowd regions)",
    "tie_order": "tie order: by image, then score (COCO's accumulate)",
    "precision_eps": "precision tp / (tp + fp + eps)",
    "interpolation": "101-point interpolated precision (the envelope at 0:0.01:1), averaged",
    "no_objects": "no objects of the class: COCO leaves it out (AP NaN)",
}


@dataclass(frozen=True)
class Side:
    """One side of the comparison, named as the table shows it."""

    name: str


@dataclass(frozen=True)
class MetricComparison:
    """The result of :func:`compare_with_coco50` (shaped like ``compare.Comparison``)."""

    a: Side
    b: Side
    result_a: EvalResult
    result_b: EvalResult
    classes: list[ClassComparison]
    map_reasons: list[Reason]

    @property
    def unexplained(self) -> list[str]:
        return [c.name for c in self.classes if c.differs and not c.reasons]


def _same(x: float, y: float) -> bool:
    return (math.isnan(x) and math.isnan(y)) or x == y


def _ap(outcome: np.ndarray, npos: int, metric: str, eps: bool = False) -> float:
    """The devkit's AP (11-point or area) of outcomes in visiting order."""
    if eps:
        rec, prec = _eps_curve(outcome, npos)
    else:
        rec, prec = kernels.precision_recall(outcome, npos)
    if metric == "voc07":
        return float(kernels.average_precision_11point(rec, prec))
    return float(kernels.average_precision_area(rec, prec))


def _eps_curve(outcome: np.ndarray, npos: int) -> tuple[np.ndarray, np.ndarray]:
    n = outcome.shape[0]
    rec, prec, tp, fp = (np.empty(n) for _ in range(4))
    order = np.arange(n, dtype=np.int64)
    coco_kernels.curve_points(
        outcome, order, np.zeros(n, dtype=np.int64), 1, npos, tp, fp, rec, prec
    )
    return rec, prec


def _ap_101(outcome: np.ndarray, npos: int) -> float:
    if npos == 0:
        return math.nan
    rec, prec = _eps_curve(outcome, npos)
    out = np.zeros(coco.RECALL_THRESHOLDS.shape[0])
    coco_kernels.interpolate_101(rec, prec, rec.shape[0], coco.RECALL_THRESHOLDS, out)
    return float(np.mean(out))


def _subset(detections: ClassDetections, keep: np.ndarray) -> ClassDetections:
    return ClassDetections(
        detections.image_index[keep],
        detections.scores[keep],
        detections.boxes[keep],
        detections.source,
        None if detections.line_numbers is None else detections.line_numbers[keep],
    )


def explain_class(
    name: str,
    ground_truth: ClassGroundTruth,
    detections: ClassDetections,
    metric: str,
    ap_a: float,
    ap_b: float,
) -> list[Reason]:
    """The steps from the devkit's AP of one class to its coco50 AP that move it."""
    evaluation = coco.evaluate_class_coco(ground_truth, detections, coco.COCO50_PARAMS)
    keep = np.sort(evaluation.kept)
    kept = _subset(detections, keep)
    lines = detections.line_numbers
    truncated = evaluate_class_devkit(name, ground_truth, kept, metric)
    # COCO's outcome of each kept detection, by its position in `kept` (file order)
    position = np.searchsorted(keep, evaluation.kept)
    coco_outcome = np.empty(keep.shape[0], dtype=np.int8)
    coco_outcome[position] = evaluation.outcome[0, 0]
    devkit_outcome = np.empty(keep.shape[0], dtype=np.int8)
    devkit_outcome[truncated.order] = truncated.outcome
    npos = truncated.npos
    coco_order = position[evaluation.order]  # accumulate's order, as positions in `kept`
    steps = [
        ("max_dets", truncated.ap, ""),
        ("matching", _ap(coco_outcome[truncated.order], npos, metric), ""),
        ("tie_order", _ap(coco_outcome[coco_order], npos, metric), ""),
        ("precision_eps", _ap(coco_outcome[coco_order], npos, metric, eps=True), ""),
        ("interpolation", _ap_101(coco_outcome[coco_order], npos), ""),
    ]
    reasons = []
    before = ap_a
    for rule, after, _ in steps:
        if _same(before, after):
            continue
        text = _STEP_WORDS["no_objects" if npos == 0 and rule == "interpolation" else rule]
        flips: dict[str, int] = {}
        changed_lines: tuple[int, ...] = ()
        if rule == "max_dets":
            text += f": {detections.scores.shape[0] - keep.shape[0]} detections dropped"
        elif rule == "matching":
            changed = np.flatnonzero(devkit_outcome != coco_outcome)
            flips = dict(
                Counter(
                    f"{OUTCOME_NAMES[int(devkit_outcome[d])]}->{OUTCOME_NAMES[int(coco_outcome[d])]}"
                    for d in changed
                )
            )
            text += ": " + "; ".join(
                f"{n} {k} ({_FLIP_WORDS.get(k, 'another match')})" for k, n in sorted(flips.items())
            )
            if lines is not None:
                changed_lines = tuple(int(lines[keep[d]]) for d in changed[:10])
        elif rule == "precision_eps" and math.isnan(before):
            text += ": the devkit's 0/0 (only difficult objects matched so far) becomes 0"
        elif rule == "interpolation":
            text += f": AP {before!r} -> {after!r}"
        reasons.append(Reason(rule, after - before, text, flips, changed_lines))
        before = after
    if not _same(before, ap_b):  # cannot happen (tested); never leave a difference unexplained
        reasons.append(Reason("arithmetic", ap_b - before, f"AP {before!r} -> {ap_b!r}"))
    return reasons


def compare_with_coco50(
    ground_truth: GroundTruth,
    detections: Detections,
    classes: Sequence[str] | None = None,
    *,
    metric: str = "voc07",
) -> MetricComparison:
    """The devkit's ``metric`` against pycocotools' AP50, every differing class explained."""
    names = class_list(classes)
    result_a = Evaluator(ground_truth, names, metric=metric).evaluate(detections)
    result_b = Evaluator(ground_truth, names, metric="coco50").evaluate(detections)
    per_class = []
    for name in names:
        ap_a, ap_b = result_a.classes[name].ap, result_b.classes[name].ap
        reasons = []
        if not _same(ap_a, ap_b):
            reasons = explain_class(
                name, ground_truth.for_class(name), detections[name], metric, ap_a, ap_b
            )
        per_class.append(ClassComparison(name, ap_a, ap_b, reasons))
    mean_of_classes = mean_ap([c.ap_b for c in per_class])
    map_reasons = []
    if not _same(mean_of_classes, result_b.map):
        map_reasons.append(
            Reason(
                "coco_mean",
                result_b.map - mean_of_classes,
                "pycocotools averages every class's 101 precisions at once (pairwise "
                "summation) and leaves out classes without objects",
            )
        )
    return MetricComparison(
        Side(result_a.settings.key), Side("coco50"), result_a, result_b, per_class, map_reasons
    )


def metric_comparison_to_dict(comparison: MetricComparison) -> dict:
    """JSON shape of ``compare.comparison_to_json`` (exact floats, NaN as null)."""

    def reason(r: Reason) -> dict:
        return {
            "rule": r.rule,
            "delta": json_float(r.delta),
            "text": r.text,
            "flips": r.flips,
            "lines": list(r.lines),
        }

    return {
        "a": comparison.a.name,
        "b": comparison.b.name,
        "metric": comparison.result_a.metric,
        "iou": comparison.result_a.iou,
        "classes": {
            c.name: {
                "ap_a": json_float(c.ap_a),
                "ap_b": json_float(c.ap_b),
                "reasons": [reason(r) for r in c.reasons],
            }
            for c in comparison.classes
        },
        "map_a": json_float(comparison.result_a.map),
        "map_b": json_float(comparison.result_b.map),
        "map_reasons": [reason(r) for r in comparison.map_reasons],
    }
