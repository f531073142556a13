"""The operating point and the precision/recall curves, as data, from the AP's own matching.

A detector is used at a score threshold: everything scored ``>= threshold`` is kept.
Per class this module gives the threshold with the best F1 (or the figures at a given
threshold) and each class's curve point by point, from the outcomes (TP, FP, ignored
for a difficult object) that the evaluation itself assigned, so the counts add up:
``tp + fp + ignored`` is the number of detections kept, at every threshold.

Thresholds: a threshold keeps all detections of one score or none, so only the
distinct scores are candidates; the point of a score is the curve's point after the
last detection with that score. F1 is ``2 tp / (tp + fp + npos)`` (the same as
``2 P R / (P + R)``, with one rounding): NaN when ``tp + fp + npos`` is 0. The best
F1 is the first maximum from the highest score down (the highest threshold on ties).
No interpolation and no smoothing.

The micro row adds the classes' counts (each class at its own point for the best F1,
all at the given threshold) and computes precision, recall and F1 from the sums.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass

import numpy as np

from vocmap.core import kernels
from vocmap.core.detections import Detections
from vocmap.core.errors import VocmapError
from vocmap.core.results import EvalResult, json_float
from vocmap.core.settings import COCO_METRICS


@dataclass(frozen=True, eq=False)
class PRCurve:
    """One class's precision/recall curve, a point per detection in the AP's order.

    Attributes:
        name: class name.
        npos: non-difficult objects.
        score: (n,) float64, each ranked detection's score.
        tp, fp, ignored: (n,) int64 cumulative counts up to and with that rank.
        precision, recall: (n,) float64, exactly the arrays the AP was computed from
            (``tp / (tp + fp)``, NaN at 0/0 under the devkit's rules; ``tp / npos``).
    """

    name: str
    npos: int
    score: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    ignored: np.ndarray
    precision: np.ndarray
    recall: np.ndarray

    def to_dict(self) -> dict:
        return {
            "npos": self.npos,
            "score": [json_float(v) for v in self.score.tolist()],
            "tp": self.tp.tolist(),
            "fp": self.fp.tolist(),
            "ignored": self.ignored.tolist(),
            "precision": [json_float(v) for v in self.precision.tolist()],
            "recall": [json_float(v) for v in self.recall.tolist()],
        }


@dataclass(frozen=True)
class OperatingPoint:
    """A class (or the micro row) at one score threshold.

    ``threshold`` is NaN where nothing is kept (no detections) or each class has its
    own (the micro row of the best-F1 table). ``detections`` = tp + fp + ignored.
    """

    name: str
    threshold: float
    detections: int
    tp: int
    fp: int
    ignored: int
    npos: int
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict:
        return {
            "threshold": json_float(self.threshold),
            "detections": self.detections,
            "tp": self.tp,
            "fp": self.fp,
            "ignored": self.ignored,
            "npos": self.npos,
            "precision": json_float(self.precision),
            "recall": json_float(self.recall),
            "f1": json_float(self.f1),
        }


@dataclass(frozen=True)
class OperatingPoints:
    """Every class at its best-F1 threshold (``threshold`` None) or at ``threshold``."""

    threshold: float | None
    classes: dict[str, OperatingPoint]
    micro: OperatingPoint

    @property
    def rule(self) -> str:
        return "max-f1" if self.threshold is None else "threshold"

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "threshold": None if self.threshold is None else self.threshold,
            "classes": {name: p.to_dict() for name, p in self.classes.items()},
            "micro": self.micro.to_dict(),
        }


def _ratio(a: int, b: int) -> float:
    return a / b if b else math.nan


def point_from_counts(
    name: str, threshold: float, tp: int, fp: int, ignored: int, npos: int
) -> OperatingPoint:
    """An OperatingPoint from its counts (precision, recall and F1 derived)."""
    return OperatingPoint(
        name=name,
        threshold=float(threshold),
        detections=tp + fp + ignored,
        tp=tp,
        fp=fp,
        ignored=ignored,
        npos=npos,
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, npos),
        f1=_ratio(2 * tp, tp + fp + npos),
    )


def pr_curve(
    name: str,
    scores: np.ndarray,
    outcome: np.ndarray,
    npos: int,
    precision: np.ndarray,
    recall: np.ndarray,
) -> PRCurve:
    """A class's curve from arrays in the AP's order.

    Args:
        scores: (n,) float64 score of each ranked detection.
        outcome: (n,) int8 ``kernels.TRUE_POSITIVE``/``FALSE_POSITIVE``/``IGNORED``.
        npos: non-difficult objects.
        precision, recall: (n,) the AP's curve (kept as given).
    """
    scores = np.asarray(scores, dtype=np.float64)
    outcome = np.asarray(outcome)
    if not (scores.shape == outcome.shape == precision.shape == recall.shape):
        raise VocmapError(f"class {name!r}: scores, outcomes and curve differ in length")
    return PRCurve(
        name=name,
        npos=int(npos),
        score=scores,
        tp=np.cumsum(outcome == kernels.TRUE_POSITIVE, dtype=np.int64),
        fp=np.cumsum(outcome == kernels.FALSE_POSITIVE, dtype=np.int64),
        ignored=np.cumsum(outcome == kernels.IGNORED, dtype=np.int64),
        precision=precision,
        recall=recall,
    )


def class_operating_point(
    name: str,
    scores: np.ndarray,
    outcome: np.ndarray,
    npos: int,
    threshold: float | None = None,
) -> OperatingPoint:
    """One class's best-F1 point (``threshold`` None) or its point at ``threshold``.

    Args:
        scores: (n,) float64 detection scores, any order.
        outcome: (n,) int8 each detection's outcome (same order).
        npos: non-difficult objects.
        threshold: keep detections scored ``>= threshold``; a finite number.
    """
    scores = np.asarray(scores, dtype=np.float64)
    outcome = np.asarray(outcome)
    if threshold is not None:
        threshold = check_threshold(threshold)
        kept = outcome[scores >= threshold]
        tp = int(np.count_nonzero(kept == kernels.TRUE_POSITIVE))
        fp = int(np.count_nonzero(kept == kernels.FALSE_POSITIVE))
        return point_from_counts(name, threshold, tp, fp, kept.shape[0] - tp - fp, npos)
    if scores.size == 0:
        return point_from_counts(name, math.nan, 0, 0, 0, npos)
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    cum_tp = np.cumsum(outcome[order] == kernels.TRUE_POSITIVE, dtype=np.int64)
    cum_fp = np.cumsum(outcome[order] == kernels.FALSE_POSITIVE, dtype=np.int64)
    ends = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])  # last of each score
    denominator = cum_tp[ends] + cum_fp[ends] + npos
    if not np.any(denominator):
        return point_from_counts(name, math.nan, 0, 0, 0, npos)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denominator > 0, 2 * cum_tp[ends] / denominator, np.nan)
    end = int(ends[np.nanargmax(f1)])
    best_tp, best_fp = int(cum_tp[end]), int(cum_fp[end])
    return point_from_counts(name, ranked[end], best_tp, best_fp, end + 1 - best_tp - best_fp, npos)


def check_threshold(threshold: float) -> float:
    """A score threshold: a finite real number (not a bool)."""
    if isinstance(threshold, bool) or not isinstance(
        threshold, (int, float, np.integer, np.floating)
    ):
        raise VocmapError(f"threshold must be a number, not {threshold!r}")
    if not math.isfinite(threshold):
        raise VocmapError(f"threshold must be finite, not {threshold!r}")
    return float(threshold)


def _check_inputs(result: EvalResult, detections: Detections) -> None:
    if not isinstance(result, EvalResult):
        raise VocmapError(f"result must be an EvalResult, not {type(result).__name__}")
    if not isinstance(detections, Detections):
        raise VocmapError(f"detections must be Detections, not {type(detections).__name__}")
    if result.metric in COCO_METRICS:
        raise VocmapError(
            f"operating points and curves follow a VOC metric's matching (voc07, voc12), "
            f"not {result.metric}"
        )
    for name, r in result.classes.items():
        if name not in detections or len(detections[name]) != r.detections:
            raise VocmapError(f"class {name!r}: these are not the detections of this result")


def pr_curves(result: EvalResult, detections: Detections) -> dict[str, PRCurve]:
    """Every class's curve: the points its AP was computed from.

    ``detections`` must be the ones ``result`` was evaluated from (their scores are
    read in the result's order).
    """
    _check_inputs(result, detections)
    return {
        name: pr_curve(
            name,
            detections[name].scores[r.order],
            r.outcome,
            r.npos,
            r.precision,
            r.recall,
        )
        for name, r in result.classes.items()
    }


def operating_points(
    result: EvalResult, detections: Detections, threshold: float | None = None
) -> OperatingPoints:
    """Each class at the score threshold with the best F1 (or at ``threshold``), and
    the micro row, from ``result``'s matching of ``detections``."""
    _check_inputs(result, detections)
    if threshold is not None:
        threshold = check_threshold(threshold)
    points = {}
    for name, r in result.classes.items():
        scores = detections[name].scores[r.order]
        points[name] = class_operating_point(name, scores, r.outcome, r.npos, threshold)
    sums = [sum(getattr(p, k) for p in points.values()) for k in ("tp", "fp", "ignored", "npos")]
    micro = point_from_counts(
        "micro", math.nan if threshold is None else threshold, *[int(v) for v in sums]
    )
    return OperatingPoints(threshold, points, micro)


CURVE_COLUMNS = ("class", "rank", "score", "tp", "fp", "ignored", "precision", "recall")


def curves_to_csv(curves: dict[str, PRCurve]) -> str:
    """One row per class and detection rank (1-based): ``CURVE_COLUMNS``; floats in
    ``repr`` form (exact), NaN as ``nan``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CURVE_COLUMNS)
    for name, c in curves.items():
        for k in range(c.score.shape[0]):
            writer.writerow(
                [
                    name,
                    k + 1,
                    repr(float(c.score[k])),
                    int(c.tp[k]),
                    int(c.fp[k]),
                    int(c.ignored[k]),
                    repr(float(c.precision[k])),
                    repr(float(c.recall[k])),
                ]
            )
    return buffer.getvalue()


def curves_to_json(curves: dict[str, PRCurve]) -> str:
    """``{"classes": {name: {"npos", "score", "tp", "fp", "ignored", "precision",
    "recall"}}}``: lists in rank order, exact floats, NaN as null."""
    data = {"classes": {name: c.to_dict() for name, c in curves.items()}}
    return json.dumps(data, indent=1, allow_nan=False) + "\n"
