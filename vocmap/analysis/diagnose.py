"""``vocmap diagnose``: why the AP is what it is, for each class and overall.

One call runs every analysis on the same inputs as ``vocmap evaluate``:

* TIDE's breakdown (:mod:`vocmap.analysis.tide` on the devkit's number, or
  :mod:`vocmap.analysis.tide_coco` as tidecv computes it with ``metric="coco50"``);
* Hoiem et al.'s false-positive analysis (:mod:`vocmap.analysis.hoiem`);
* AP and recall per object property (:mod:`vocmap.analysis.diagnose_sensitivity`);
* the confusion matrix and the top errors (:mod:`vocmap.analysis.diagnose_errors`).

Hoiem, the sensitivity, the confusion matrix and the lists use the devkit's
matching; with ``metric="coco50"`` they use its 11-point AP, and only TIDE's
figures are tidecv's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vocmap.analysis.diagnose_errors import (
    ConfusionMatrix,
    confusion_matrix,
    top_false_positives,
    top_missed,
)
from vocmap.analysis.diagnose_matching import build_matched_set
from vocmap.analysis.diagnose_sensitivity import SensitivityAnalysis, sensitivity_analysis
from vocmap.analysis.hoiem import HoiemAnalysis, hoiem_analysis
from vocmap.analysis.operating_point import operating_points
from vocmap.analysis.tide import tide_devkit
from vocmap.analysis.tide_coco import tide_coco50
from vocmap.analysis.tide_types import TideAnalysis
from vocmap.core.arguments import real_number, whole_number
from vocmap.core.atomic import atomic_write_text
from vocmap.core.detections import Detections
from vocmap.core.errors import InputError, VocmapError
from vocmap.core.evaluate import Evaluator, class_list
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.results import EvalResult

DIAGNOSE_METRICS = ("voc07", "voc12", "coco50")
FORMAT = "vocmap-diagnosis"
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Every analysis of one set of detections; ``to_dict()`` is its JSON form.

    Attributes:
        settings: ``{"metric", "iou", "background_iou", "score_threshold", "top",
            "max_dets"}``.
        result: the devkit's evaluation the analyses start from (voc07 for coco50).
        tide, hoiem, sensitivity, confusion: the analyses.
        top_false_positives, top_missed: lists for a viewer (dicts, JSON-ready).
    """

    settings: dict
    result: EvalResult
    tide: TideAnalysis
    hoiem: HoiemAnalysis
    sensitivity: SensitivityAnalysis
    confusion: ConfusionMatrix
    top_false_positives: list[dict]
    top_missed: list[dict]
    #: each class at its best-F1 score threshold (``operating_points(result, ...)``)
    operating_points: dict | None = None

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "settings": dict(self.settings),
            "result": self.result.to_dict(curves=True),
            "tide": self.tide.to_dict(),
            "hoiem": self.hoiem.to_dict(),
            "sensitivity": self.sensitivity.to_dict(),
            "confusion": self.confusion.to_dict(),
            "top_false_positives": self.top_false_positives,
            "top_missed": self.top_missed,
            **({"operating_points": self.operating_points} if self.operating_points else {}),
        }

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The JSON text (exact floats, NaN as null); written atomically to ``path``."""
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"
        if path is not None:
            atomic_write_text(Path(path), text)
        return text


def diagnose(
    ground_truth: GroundTruth,
    detections: Detections,
    classes: Sequence[str] | None = None,
    *,
    metric: str = "voc07",
    iou: float = 0.5,
    background_iou: float = 0.1,
    score_threshold: float = 0.5,
    top: int = 50,
    max_dets: int = 100,
    result: EvalResult | None = None,
) -> Diagnosis:
    """Run every analysis (see the module) and return a :class:`Diagnosis`.

    Args:
        metric: "voc07" (default), "voc12", or "coco50" (TIDE as tidecv computes it).
        iou: the foreground overlap (the evaluation's, TIDE's 0.5).
        background_iou: TIDE's background overlap (0.1).
        score_threshold: the confusion matrix keeps detections scoring ``>=`` it.
        top: how many false positives and missed objects to list.
        max_dets: tidecv's detections per image (coco50 only).
        result: the devkit's evaluation of these detections, if already made.
    """
    if metric not in DIAGNOSE_METRICS:
        raise VocmapError(
            f"diagnose: unknown metric {metric!r}; choose from {', '.join(DIAGNOSE_METRICS)}"
        )
    iou = real_number(iou, "iou", 0.0, 1.0, low_open=True)
    background_iou = real_number(background_iou, "background_iou", 0.0, 1.0)
    score_threshold = real_number(score_threshold, "score_threshold")
    top = whole_number(top, "top", 0)
    max_dets = whole_number(max_dets, "max_dets", 1)
    if not 0.0 <= background_iou < iou <= 1.0:
        raise VocmapError(
            f"the background overlap must be below the foreground one: {background_iou} vs {iou}"
        )
    if top < 0 or max_dets < 1:
        raise VocmapError("top must be >= 0 and max_dets >= 1")
    names = class_list(classes)
    devkit_metric = "voc12" if metric == "voc12" else "voc07"
    if result is None:
        result = Evaluator(ground_truth, names, metric=devkit_metric, iou=iou).evaluate(detections)
    elif not (result.settings.semantics.is_devkit and result.metric == devkit_metric):
        raise VocmapError("diagnose needs an evaluation under the devkit's rules and its metric")
    missing = [c for c in names if c not in result.classes]
    if missing:
        raise InputError(f"the evaluation has no class {missing[0]!r}")
    ms = build_matched_set(ground_truth, detections, result, names)
    if metric == "coco50":
        tide = tide_coco50(
            ground_truth,
            detections,
            names,
            pos_threshold=iou,
            background_threshold=background_iou,
            max_dets=max_dets,
        )
    else:
        tide = tide_devkit(ms, metric, iou, background_iou)
    settings = {
        "metric": metric,
        "iou": float(iou),
        "background_iou": float(background_iou),
        "score_threshold": float(score_threshold),
        "top": int(top),
        "max_dets": int(max_dets),
        "classes": list(names),
    }
    return Diagnosis(
        settings=settings,
        result=result,
        tide=tide,
        hoiem=hoiem_analysis(ms, devkit_metric, iou),
        sensitivity=sensitivity_analysis(ms, devkit_metric, iou),
        confusion=confusion_matrix(ms, score_threshold, iou),
        top_false_positives=top_false_positives(ms, tide, top),
        top_missed=top_missed(ms, tide, top),
        operating_points=operating_points(result, detections).to_dict(),
    )
