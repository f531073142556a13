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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocmap.core import kernels
from vocmap.core.atomic import atomic_write_text
from vocmap.core.settings import EvalSettings


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
        outcome: (detections,) int8 in visiting order (``kernels.TRUE_POSITIVE``, ...).
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

    @classmethod
    def from_curves(
        cls,
        name: str,
        ap: float,
        npos: int,
        recall: np.ndarray,
        precision: np.ndarray,
        order: np.ndarray,
        outcome: np.ndarray,
        best_gt: np.ndarray,
        best_overlap: np.ndarray,
    ) -> ClassResult:
        """A ClassResult whose counts are read off ``outcome``."""
        tp = int(np.count_nonzero(outcome == kernels.TRUE_POSITIVE))
        fp = int(np.count_nonzero(outcome == kernels.FALSE_POSITIVE))
        n = int(outcome.shape[0])
        return cls(
            name=name,
            ap=float(ap),
            npos=int(npos),
            detections=n,
            tp=tp,
            fp=fp,
            ignored=n - tp - fp,
            recall=recall,
            precision=precision,
            order=order,
            outcome=outcome,
            best_gt=best_gt,
            best_overlap=best_overlap,
        )

    @property
    def final_recall(self) -> float:
        """Recall over all detections: ``tp / npos`` (NaN when npos is 0)."""
        return self.tp / self.npos if self.npos else math.nan


@dataclass(frozen=True, eq=False)
class EvalResult:
    """Per-class results and their mean, under ``settings``.

    ``map`` is the plain mean of the class APs (a NaN AP makes it NaN, as a
    MATLAB ``mean`` would), summed in class order, unless the semantics say
    otherwise.
    """

    settings: EvalSettings
    classes: dict[str, ClassResult]
    map: float
    dropped_unknown: int = 0
    #: pycocotools' 12 summary numbers (``--metric coco``/``coco50``), or None.
    summary: dict[str, float] | None = None
    #: bootstrap intervals (:mod:`vocmap.analysis.bootstrap`), or None.
    ci: dict | None = None
    #: classes the ground truth has objects of that were not evaluated: when not
    #: empty, ``map`` is a mean over a subset of its classes (see ``map_scope``).
    left_out: tuple[str, ...] = ()

    @property
    def metric(self) -> str:
        return self.settings.metric

    @property
    def iou(self) -> float:
        return self.settings.iou

    @property
    def semantics(self) -> str:
        """The semantics' name (``settings.semantics`` is the rule set itself)."""
        return self.settings.semantics.name

    @property
    def label(self) -> str:
        """A title that says which number this is, and when it is not VOC2007's."""
        return self.settings.label

    @property
    def is_voc2007(self) -> bool:
        """True when this is the official VOC2007 number (11-point, IoU 0.5, devkit)."""
        return self.settings.is_voc2007

    @property
    def map_scope(self) -> str | None:
        """None when ``map`` covers every class of the ground truth; else words that say
        over which classes it is a mean (:func:`subset_scope`), for every place that
        shows the number."""
        return subset_scope(len(self.classes), self.left_out)

    @property
    def map_row_label(self) -> str:
        """The mAP row's label in tables: ``mAP``, or ``mAP (19 classes)`` for a subset."""
        return map_label(len(self.classes), self.left_out)

    def map_text(self) -> str:
        """``--format map``: the exact mAP, then, for a subset, a tab and its scope."""
        scope = self.map_scope
        return f"{self.map!r}\n" if scope is None else f"{self.map!r}\t{scope}\n"

    @property
    def aps(self) -> dict[str, float]:
        return {name: r.ap for name, r in self.classes.items()}

    def to_dict(self, curves: bool = False) -> dict:
        """The JSON shape: ``{"metric", "iou", "semantics", "classes": {name: {"ap",
        "npos", "detections", "tp", "fp", "ignored"}}, "map"}``, plus ``"map_classes"``
        and ``"map_left_out"`` when the mAP is a mean over a subset of the ground
        truth's classes; ``curves`` adds each class's ``rec`` and ``prec`` lists."""
        classes = {}
        for name, r in self.classes.items():
            entry: dict[str, object] = {
                "ap": json_float(r.ap),
                "npos": r.npos,
                "detections": r.detections,
                "tp": r.tp,
                "fp": r.fp,
                "ignored": r.ignored,
            }
            if curves:
                entry["rec"] = [json_float(v) for v in r.recall.tolist()]
                entry["prec"] = [json_float(v) for v in r.precision.tolist()]
            classes[name] = entry
        return {
            "metric": self.metric,
            "iou": self.iou,
            "semantics": self.semantics,
            "classes": classes,
            "map": json_float(self.map),
            **subset_keys(list(self.classes), self.left_out),
            **({"summary": self.summary} if self.summary is not None else {}),
            **({"ci": self.ci} if self.ci is not None else {}),
        }

    def to_json(self, path: str | os.PathLike | None = None, curves: bool = False) -> str:
        """The JSON text; written atomically to ``path`` if given."""
        text = json.dumps(self.to_dict(curves), indent=1, allow_nan=False) + "\n"
        if path is not None:
            atomic_write_text(Path(path), text)
        return text

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """CSV: ``class,ap,npos,detections,tp,fp,ignored,recall`` then a ``mAP`` row
        (``mAP (19 classes)`` for a subset, see ``map_row_label``);
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
        writer.writerow([self.map_row_label, repr(self.map), "", "", "", "", "", ""])
        text = buffer.getvalue()
        if path is not None:
            atomic_write_text(Path(path), text)
        return text

    def flat(self, prefix: str = "") -> dict[str, float]:
        """``{"map": .., "ap/<class>": ..}`` for loggers (TensorBoard, W&B, ...)."""
        out = {f"{prefix}map": self.map}
        out.update({f"{prefix}ap/{name}": r.ap for name, r in self.classes.items()})
        return out


def subset_scope(evaluated: int, left_out: Sequence[str]) -> str | None:
    """None when nothing is ``left_out``; else what a mean over ``evaluated`` classes is
    ("a mean over 19 classes, not the mAP: the ground truth's class dog is left out")."""
    if not left_out:
        return None
    k = len(left_out)
    return (
        f"a mean over {evaluated} class{'es' if evaluated != 1 else ''}, not the mAP: the "
        f"ground truth's {'class' if k == 1 else f'{k} other classes'} {', '.join(left_out)} "
        f"{'is' if k == 1 else 'are'} left out"
    )


def map_label(evaluated: int, left_out: Sequence[str]) -> str:
    """``mAP``, or ``mAP (19 classes)`` when classes of the ground truth are left out."""
    if not left_out:
        return "mAP"
    return f"mAP ({evaluated} class{'es' if evaluated != 1 else ''})"


def subset_keys(classes: Sequence[str], left_out: Sequence[str]) -> dict[str, list[str]]:
    """The JSON keys that say a mAP is a mean over a subset (``{}`` when it is not)."""
    if not left_out:
        return {}
    return {"map_classes": list(classes), "map_left_out": list(left_out)}


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


def json_float(value: float) -> float | None:
    """A float for JSON: NaN becomes ``null`` (None); everything else is exact."""
    value = float(value)
    return None if math.isnan(value) else value


def float_or_nan(value: float | None) -> float:
    """The inverse of :func:`json_float`: ``null`` (None) reads as NaN."""
    return math.nan if value is None else float(value)
