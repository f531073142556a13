"""How the AP and the recall depend on what the VOC XML says about an object.

For each property, the objects of a class are split into bins; a bin's AP counts
only its objects as positives and treats the class's other objects as the devkit
treats difficult ones (a detection on them is neither TP nor FP), on the
devkit's own matching; its recall is its true positives over its objects.
This is Hoiem et al.'s subset AP (``computeAPForObjectSubset.m``), except that a
second detection of an object outside the bin is ignored here (as the devkit
ignores one of a difficult object, and COCO's area ranges do) where Hoiem's
relabelling keeps it a false positive.

Properties (non-difficult objects, except for ``difficult``; VOC pixel sizes,
``w = xmax - xmin + 1``):

* ``difficult``: no / yes (the "yes" bin counts the difficult objects as positives);
* ``truncated``: no / yes (``<truncated>``; absent when the ground truth lacks it);
* ``size``: COCO's area bins, small ``<= 32**2``, medium ``<= 96**2``, large above
  (tidecv's boundaries; pycocotools puts an area of exactly 32**2 in both);
* ``size_percentile``: Hoiem's XS, S, M, L, XL: the bottom 10%, the next 20%, the
  middle 40%, the next 20% and the top 10% of the class's areas, with the code's
  thresholds ``sa(round([.1 .3 .7 .9] * N))`` (an area equal to a threshold goes
  to the lower bin);
* ``aspect_percentile``: the same on width / height (XT, T, M, W, XW);
* ``aspect``: tall ``<= 0.75``, square ``<= 1.33``, wide above (tidecv's bins).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vocmap.analysis import diagnose_kernels
from vocmap.analysis.diagnose_matching import MatchedSet
from vocmap.analysis.tide import devkit_ap
from vocmap.core import kernels
from vocmap.core.results import json_float, mean_ap

PROPERTY_BINS: dict[str, tuple[str, ...]] = {
    "difficult": ("no", "yes"),
    "truncated": ("no", "yes"),
    "size": ("small", "medium", "large"),
    "size_percentile": ("XS", "S", "M", "L", "XL"),
    "aspect": ("tall", "square", "wide"),
    "aspect_percentile": ("XT", "T", "M", "W", "XW"),
}


@dataclass(frozen=True)
class BinFigures:
    """One bin of one class (or all classes): objects, true positives, recall, AP."""

    objects: int
    true_positives: int
    recall: float
    ap: float

    def to_dict(self) -> dict:
        return {
            "objects": self.objects,
            "true_positives": self.true_positives,
            "recall": json_float(self.recall),
            "ap": json_float(self.ap),
        }


@dataclass(frozen=True, eq=False)
class SensitivityAnalysis:
    """``figures[property][bin][class or "overall"]``; the overall AP is the mean
    over the classes that have objects in the bin, its recall is pooled."""

    metric: str
    figures: dict[str, dict[str, dict[str, BinFigures]]]
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "metric": self.metric,
            "properties": {
                prop: {
                    b: {c: f.to_dict() for c, f in per_class.items()}
                    for b, per_class in bins.items()
                }
                for prop, bins in self.figures.items()
            },
            "missing": list(self.missing),
        }


def _percentile_bins(values: np.ndarray) -> np.ndarray:
    """Hoiem's 5 bins (0..4) of ``values`` (one class's non-difficult objects)."""
    n = values.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ordered = np.sort(values)
    picks = [max(math.floor(q * n + 0.5), 1) - 1 for q in (0.1, 0.3, 0.7, 0.9)]
    thresholds = np.array([0.0] + [ordered[i] for i in picks])
    return (values[:, None] > thresholds[None, :]).sum(axis=1) - 1


def object_bins(ms: MatchedSet) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """``{property: (m,) int64 bin of each object, -1 where it is not in any}``."""
    gt = ms.ground_truth
    boxes = gt.boxes
    width = boxes[:, 2] - boxes[:, 0] + 1.0
    height = boxes[:, 3] - boxes[:, 1] + 1.0
    area = width * height
    with np.errstate(divide="ignore", invalid="ignore"):
        aspect = width / height
    plain = (ms.obj_class >= 0) & ~gt.difficult
    bins = {"difficult": np.where(ms.obj_class >= 0, gt.difficult.astype(np.int64), -1)}
    missing: tuple[str, ...] = ()
    if gt.truncated is not None:
        bins["truncated"] = np.where(plain, gt.truncated.astype(np.int64), -1)
    else:
        missing = ("truncated",)
    size = np.digitize(area, [32.0**2, 96.0**2], right=True)
    bins["size"] = np.where(plain, size, -1)
    bins["aspect"] = np.where(plain, np.digitize(aspect, [0.75, 1.33], right=True), -1)
    for name, values in (("size_percentile", area), ("aspect_percentile", aspect)):
        out = np.full(area.shape[0], -1, dtype=np.int64)
        for c in range(len(ms.classes)):
            rows = np.flatnonzero(plain & (ms.obj_class == c))
            out[rows] = _percentile_bins(values[rows])
        bins[name] = out
    return {k: bins[k] for k in PROPERTY_BINS if k in bins}, missing


def sensitivity_analysis(
    ms: MatchedSet, metric: str = "voc07", iou: float = 0.5
) -> SensitivityAnalysis:
    """AP and recall per bin of each property, per class and overall."""
    bins, missing = object_bins(ms)
    figures: dict[str, dict[str, dict[str, BinFigures]]] = {}
    results = [ms.result.classes[c] for c in ms.classes]
    for prop, labels in PROPERTY_BINS.items():
        if prop not in bins:
            continue
        figures[prop] = {}
        for b, label in enumerate(labels):
            counted = bins[prop] == b
            per_class = {}
            for c, r in enumerate(results):
                n = int(np.count_nonzero(counted & (ms.obj_class == c)))
                outcome = diagnose_kernels.subset_outcomes(
                    r.best_gt, r.best_overlap, counted, float(iou)
                )
                tp = int(np.count_nonzero(outcome == kernels.TRUE_POSITIVE))
                per_class[ms.classes[c]] = BinFigures(
                    objects=n,
                    true_positives=tp,
                    recall=tp / n if n else math.nan,
                    ap=devkit_ap(outcome, n, metric) if n else math.nan,
                )
            total = sum(f.objects for f in per_class.values())
            found = sum(f.true_positives for f in per_class.values())
            aps = [f.ap for f in per_class.values() if f.objects]
            per_class["overall"] = BinFigures(
                total, found, found / total if total else math.nan, mean_ap(aps)
            )
            figures[prop][label] = per_class
    return SensitivityAnalysis(metric, figures, missing)
