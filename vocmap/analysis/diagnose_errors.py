"""The class confusion matrix at a score threshold, and the top errors as lists.

Confusion matrix (devkit matching; the detections scoring ``>= threshold``, which
are a prefix of each class's visiting order, so their matching is the same as
with the rest present): rows are the true classes and ``background``, columns the
predicted classes and ``missed``.

* a true positive of class c counts at (c, c);
* a false positive of class c overlapping an object of another class d by
  ``>= iou`` (the largest such overlap; difficult objects included) at (d, c);
* any other false positive (background, poor localisation, duplicate) at
  (background, c);
* a non-difficult object of class c that no kept detection claimed at (c, missed).

Detections on difficult objects of their class are no error and are only
counted (``ignored``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vocmap.analysis.diagnose_matching import MatchedSet
from vocmap.analysis.tide_types import ERROR_LABELS, ERROR_TYPES, TideAnalysis
from vocmap.core import kernels


@dataclass(frozen=True, eq=False)
class ConfusionMatrix:
    """``counts[row, column]``: rows ``classes + ("background",)``, columns
    ``classes + ("missed",)``; ``ignored[c]``: kept detections on difficult objects."""

    threshold: float
    classes: tuple[str, ...]
    counts: np.ndarray
    ignored: np.ndarray

    @property
    def rows(self) -> tuple[str, ...]:
        return (*self.classes, "background")

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.classes, "missed")

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "rows": list(self.rows),
            "columns": list(self.columns),
            "counts": self.counts.tolist(),
            "ignored": dict(zip(self.classes, self.ignored.tolist())),
        }


def confusion_matrix(ms: MatchedSet, threshold: float, iou: float = 0.5) -> ConfusionMatrix:
    """The confusion matrix of the detections scoring ``>= threshold``."""
    k = len(ms.classes)
    counts = np.zeros((k + 1, k + 1), dtype=np.int64)
    ignored = np.zeros(k, dtype=np.int64)
    kept = np.zeros(k, dtype=np.int64)
    for c, name in enumerate(ms.classes):
        r = ms.result.classes[name]
        scores = ms.scores_in_order(c)
        n = int(np.count_nonzero(scores >= threshold))  # scores are non-increasing
        kept[c] = n
        head = r.outcome[:n]
        tp = int(np.count_nonzero(head == kernels.TRUE_POSITIVE))
        counts[c, c] += tp
        ignored[c] = int(np.count_nonzero(head == kernels.IGNORED))
        counts[c, k] = int(ms.npos[c]) - tp
    other, other_row = ms.other_overlap
    chosen = ms.fp_rank < kept[ms.fp_class]
    confused = chosen & (other >= iou) & (other_row >= 0)
    object_class = ms.obj_class[np.maximum(other_row, 0)] if ms.obj_class.size else other_row
    rows = np.where(confused, object_class, k)
    np.add.at(counts, (rows[chosen], ms.fp_class[chosen]), 1)
    return ConfusionMatrix(float(threshold), ms.classes, counts, ignored)


def _box(values: np.ndarray) -> list[float]:
    return [float(v) for v in values]


def _object(ms: MatchedSet, row: int) -> dict | None:
    if row < 0:
        return None
    gt = ms.ground_truth
    return {
        "class": ms.classes[int(ms.obj_class[row])],
        "box": _box(gt.boxes[row]),
        "difficult": bool(gt.difficult[row]),
    }


def top_false_positives(ms: MatchedSet, tide: TideAnalysis, top: int) -> list[dict]:
    """The ``top`` highest-scoring false positives: image, class, box, score, why."""
    rec = tide.records
    rows = np.flatnonzero(rec.det_class >= 0)
    scores = np.empty(rows.shape[0], dtype=np.float64)
    for c, name in enumerate(ms.classes):
        mine = rec.det_class[rows] == c
        scores[mine] = ms.detections[name].scores[rec.det_index[rows][mine]]
    rows = rows[np.argsort(-scores, kind="stable")][:top]
    out = []
    for e in rows.tolist():
        c, i = int(rec.det_class[e]), int(rec.det_index[e])
        d = ms.detections[ms.classes[c]]
        kind = ERROR_TYPES[int(rec.kind[e])]
        overlap = float(rec.overlap[e])
        out.append(
            {
                "image_id": ms.ground_truth.image_ids[int(d.image_index[i])],
                "class": ms.classes[c],
                "score": float(d.scores[i]),
                "box": _box(d.boxes[i]),
                "why": kind,
                "why_label": ERROR_LABELS[kind],
                "overlap": None if math.isnan(overlap) else overlap,
                "object": _object(ms, int(rec.obj_row[e])),
                "fix_makes_true_positive": bool(rec.fixes_object[e]),
            }
        )
    return out


def top_missed(ms: MatchedSet, tide: TideAnalysis, top: int) -> list[dict]:
    """The largest objects no true positive found, with the error that comes closest
    (the best loc/cls error pointing at it) or "miss"."""
    rec = tide.records
    near = np.flatnonzero(rec.fixes_object)
    missed = np.flatnonzero(rec.kind == ERROR_TYPES.index("miss"))
    entries = [(int(rec.obj_row[e]), int(e)) for e in near] + [
        (int(rec.obj_row[e]), -1) for e in missed
    ]
    gt = ms.ground_truth
    area = (gt.boxes[:, 2] - gt.boxes[:, 0] + 1.0) * (gt.boxes[:, 3] - gt.boxes[:, 1] + 1.0)
    entries.sort(key=lambda t: (-area[t[0]], t[0]))
    out = []
    for row, e in entries[:top]:
        item = {
            "image_id": gt.image_ids[int(gt.object_image[row])],
            "class": ms.classes[int(ms.obj_class[row])],
            "box": _box(gt.boxes[row]),
            "area": float(area[row]),
            "why": "miss",
            "why_label": ERROR_LABELS["miss"],
            "score": None,
            "detection": None,
        }
        if e >= 0:
            c, i = int(rec.det_class[e]), int(rec.det_index[e])
            d = ms.detections[ms.classes[c]]
            kind = ERROR_TYPES[int(rec.kind[e])]
            overlap = float(rec.overlap[e])
            item.update(
                why=kind,
                why_label=ERROR_LABELS[kind],
                score=float(d.scores[i]),
                detection={
                    "class": ms.classes[c],
                    "box": _box(d.boxes[i]),
                    "overlap": None if math.isnan(overlap) else overlap,
                },
            )
        out.append(item)
    return out
