"""Result objects of an evaluation, and their JSON and CSV forms.

JSON floats are written with ``repr`` (they read back to the same double) and
NaN as ``null``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocmap.atomic import atomic_write_text

METRIC_LABELS = {
    "voc07": "VOC2007 11-point AP",
    "voc12": "VOC2010+ area AP",
}


@dataclass(frozen=True, eq=False)
class ClassResult:
    """The evaluation of one class.

    Attributes:
        name: class name.
        ap: average precision (NaN where the devkit gives NaN).
        npos: non-difficult ground-truth objects.
        detections: detections evaluated.
        tp, fp: true and false positives; ``ignored`` = matches to difficult
            objects (neither), so ``tp + fp + ignored == detections``.
        recall, precision: (detections,) cumulative curves in sorted order.
        order: (detections,) int64, the class's detections (file order) in the
            order they were visited.
        outcome: (detections,) int8 in visiting order (kernels.TRUE_POSITIVE, ...).
        best_gt: (detections,) int64 ground-truth row of the best overlap, -1 if none.
        best_overlap: (detections,) float64 that overlap (-inf if none).
    """

    name: str
    ap: float
    npos: int
    detections: int
    tp: int
    fp: int
    ignored: int
    recall: np.ndarray
    precision: np.ndarray
    order: np.ndarray
    outcome: np.ndarray
    best_gt: np.ndarray
    best_overlap: np.ndarray

    @property
    def final_recall(self) -> float:
        """Recall over all detections: ``tp / npos`` (NaN when npos is 0)."""
        return self.tp / self.npos if self.npos else math.nan


@dataclass(frozen=True, eq=False)
class EvalResult:
    """Per-class results and their mean.

    ``map`` is the plain mean of the class APs (a NaN AP makes it NaN, as a
    MATLAB ``mean`` would), summed in class order, unless the semantics say
    otherwise.
    """

    metric: str
    iou: float
    semantics: str
    classes: dict[str, ClassResult]
    map: float
    dropped_unknown: int = 0

    @property
    def label(self) -> str:
        """A title that says which number this is, and when it is not VOC2007's."""
        text = f"{METRIC_LABELS[self.metric]} at IoU {'>' if self.semantics_strict else '>='} {self.iou:g}"
        if self.semantics != "devkit":
            text += f", {self.semantics} semantics"
        if not self.is_voc2007:
            text += " (not the VOC2007 devkit's number)"
        return text

    @property
    def semantics_strict(self) -> bool:
        from vocmap.semantics import get_semantics

        return get_semantics(self.semantics).strict_threshold

    @property
    def is_voc2007(self) -> bool:
        """True when this is the official VOC2007 number (11-point, IoU 0.5, devkit)."""
        return self.metric == "voc07" and self.iou == 0.5 and self.semantics == "devkit"

    @property
    def aps(self) -> dict[str, float]:
        return {name: r.ap for name, r in self.classes.items()}

    def to_dict(self, curves: bool = False) -> dict:
        """The JSON shape: ``{"metric", "iou", "semantics", "classes": {name: {"ap",
        "npos", "detections", "tp", "fp", "ignored"}}, "map"}``; ``curves`` adds
        each class's ``rec`` and ``prec`` lists."""
        classes = {}
        for name, r in self.classes.items():
            entry = {
                "ap": _json_float(r.ap),
                "npos": r.npos,
                "detections": r.detections,
                "tp": r.tp,
                "fp": r.fp,
                "ignored": r.ignored,
            }
            if curves:
                entry["rec"] = [_json_float(v) for v in r.recall.tolist()]
                entry["prec"] = [_json_float(v) for v in r.precision.tolist()]
            classes[name] = entry
        return {
            "metric": self.metric,
            "iou": self.iou,
            "semantics": self.semantics,
            "classes": classes,
            "map": _json_float(self.map),
        }

    def to_json(self, path: str | os.PathLike | None = None, curves: bool = False) -> str:
        """The JSON text; written atomically to ``path`` if given."""
        text = json.dumps(self.to_dict(curves), indent=1, allow_nan=False) + "\n"
        if path is not None:
            atomic_write_text(Path(path), text)
        return text

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """CSV: ``class,ap,npos,detections,tp,fp,ignored,recall`` then a ``mAP`` row;
        floats in ``repr`` form, NaN as ``nan``. Written atomically if ``path``."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["class", "ap", "npos", "detections", "tp", "fp", "ignored", "recall"])
        for name, r in self.classes.items():
            writer.writerow(
                [
                    name,
                    repr(r.ap),
                    r.npos,
                    r.detections,
                    r.tp,
                    r.fp,
                    r.ignored,
                    repr(r.final_recall),
                ]
            )
        writer.writerow(["mAP", repr(self.map), "", "", "", "", "", ""])
        text = buffer.getvalue()
        if path is not None:
            atomic_write_text(Path(path), text)
        return text

    def flat(self, prefix: str = "") -> dict[str, float]:
        """``{"map": .., "ap/<class>": ..}`` for loggers (TensorBoard, W&B, ...)."""
        out = {f"{prefix}map": self.map}
        out.update({f"{prefix}ap/{name}": r.ap for name, r in self.classes.items()})
        return out


def _json_float(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def result_from_dict(data: dict) -> dict[str, float]:
    """Per-class APs and ``"mAP"`` from :meth:`EvalResult.to_dict` output (null is NaN)."""
    aps = {
        name: math.nan if entry["ap"] is None else float(entry["ap"])
        for name, entry in data["classes"].items()
    }
    aps["mAP"] = math.nan if data["map"] is None else float(data["map"])
    return aps
