"""The result objects of the TIDE breakdown, shared by its two modes.

A :class:`TideAnalysis` holds, for each class and overall, how many false
positives and missed objects fall in each of TIDE's six error types and the AP
gained by fixing each type alone (dAP), plus the two "special" fixes (perfect
precision, perfect recall) and the AP with every error fixed at once.
APs are fractions (0..1), also in the coco50 mode, where tidecv prints percent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vocmap.core.results import json_float

#: TIDE's error types, in its order (``TIDE._error_types``).
ERROR_TYPES: tuple[str, ...] = ("cls", "loc", "both", "dupe", "bkg", "miss")
ERROR_LABELS: dict[str, str] = {
    "cls": "classification",
    "loc": "localisation",
    "both": "cls+loc",
    "dupe": "duplicate",
    "bkg": "background",
    "miss": "missed",
}


@dataclass(frozen=True)
class ErrorBreakdown:
    """One class's (or the mean's) TIDE figures.

    Attributes:
        ap: the AP (mAP for the overall row) before any fix.
        counts: errors of each type (``ERROR_TYPES``).
        dap: AP gained by fixing only that type.
        false_positive_dap: AP gained with perfect precision (every false positive gone).
        false_negative_dap: AP gained with perfect recall (every unmatched object gone).
        ap_all_fixed: the AP with all six types fixed at once.
    """

    ap: float
    counts: dict[str, int]
    dap: dict[str, float]
    false_positive_dap: float
    false_negative_dap: float
    ap_all_fixed: float

    def to_dict(self) -> dict:
        return {
            "ap": json_float(self.ap),
            "counts": dict(self.counts),
            "dap": {k: json_float(v) for k, v in self.dap.items()},
            "false_positive_dap": json_float(self.false_positive_dap),
            "false_negative_dap": json_float(self.false_negative_dap),
            "ap_all_fixed": json_float(self.ap_all_fixed),
        }


@dataclass(frozen=True, eq=False)
class ErrorRecords:
    """Every error, one row each, in the order the analysis found them.

    Attributes:
        kind: (e,) int64 index into ``ERROR_TYPES``.
        det_class: (e,) int64 class index of the detection (-1 for a missed object).
        det_index: (e,) int64 the detection's index in its class's detections
            (file order), -1 for a missed object.
        obj_row: (e,) int64 GroundTruth row: the object a Loc or Cls error points at,
            the missed object, or -1.
        overlap: (e,) float64 the overlap behind the type (with ``obj_row``, or the
            largest overlap with any object for the other types).
        fixes_object: (e,) bool, fixing this error makes it the true positive of
            ``obj_row`` (the best-scoring Loc/Cls error of an unmatched object).
    """

    kind: np.ndarray
    det_class: np.ndarray
    det_index: np.ndarray
    obj_row: np.ndarray
    overlap: np.ndarray
    fixes_object: np.ndarray


@dataclass(frozen=True, eq=False)
class TideAnalysis:
    """TIDE's breakdown for each class and for the mean.

    Attributes:
        metric: the AP the fixes are measured on: "voc07", "voc12" (the devkit's
            matching and AP) or "coco50" (tidecv's own matching and 101-point AP).
        fg_iou, bg_iou: the foreground and background overlaps (0.5, 0.1).
        classes: class name to its breakdown.
        overall: the breakdown of the mean over classes.
        records: every error (for the lists of top errors).
        notes: what the figures depend on (e.g. tidecv's max_dets).
    """

    metric: str
    fg_iou: float
    bg_iou: float
    classes: dict[str, ErrorBreakdown]
    overall: ErrorBreakdown
    records: ErrorRecords = field(repr=False)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "fg_iou": self.fg_iou,
            "bg_iou": self.bg_iou,
            "error_types": list(ERROR_TYPES),
            "classes": {name: b.to_dict() for name, b in self.classes.items()},
            "overall": self.overall.to_dict(),
            "notes": list(self.notes),
        }


def count_by_class(kind: np.ndarray, cls: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, 6) int64 counts of each error type per class."""
    counts = np.zeros((n_classes, len(ERROR_TYPES)), dtype=np.int64)
    np.add.at(counts, (cls, kind), 1)
    return counts
