"""Hoiem et al.'s analysis of the top-ranked false positives ("Diagnosing Error in
Object Detectors", ECCV 2012), on the devkit's matching.

Each false positive of the devkit falls in the first of (``analyzeFalsePositives.m``,
its "weak" overlap 0.1, ``>=``, the devkit's pixel-inclusive overlap):

* **loc**: overlap >= 0.1 with an object of its own class (poor localisation, a
  duplicate, or a difficult object of its class);
* **sim**: overlap >= 0.1 with an object of a similar class (:mod:`hoiem_groups`);
* **oth**: overlap >= 0.1 with an object of another class;
* **bg**: everything else.

The paper's stacked curves (``displayFPTrend.m``) show the share of each type
among the top false positives as more are taken (25, 50, ..., 3200); for a set of
classes the classes' detections are aligned by rank, as in the code. Departures:
the true/false positives are the devkit's (Hoiem's matching takes the best
*unclaimed* object, the devkit the best object); the code's x axis counts the
background type twice (``ntotal = nsim+nbg+nloc+nbg+noth``), here it counts once;
the impact is the AP with a type's false positives removed (the code sets their
confidence to -Inf, which gives the same interpolated AP).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vocmap.analysis.diagnose_matching import OTHER, SAME, SIMILAR, MatchedSet
from vocmap.analysis.hoiem_groups import summary_sets
from vocmap.analysis.tide import devkit_ap
from vocmap.core.results import json_float, mean_ap

FP_TYPES: tuple[str, ...] = ("loc", "sim", "oth", "bg")
FP_LABELS = {
    "loc": "localisation",
    "sim": "similar class",
    "oth": "other class",
    "bg": "background",
}
#: The code's x axis: total false positives considered.
TOTAL_FALSE_POSITIVES: tuple[int, ...] = (25, 50, 100, 200, 400, 800, 1600, 3200)
WEAK_OVERLAP = 0.1


@dataclass(frozen=True)
class FalsePositiveTrend:
    """The share of each type among the top false positives of a class or set.

    Attributes:
        totals: the numbers of false positives considered (those reached).
        fractions: type -> share (0..1) at each total.
        counts: type -> false positives of that type among all of them.
        duplicates: the loc false positives that are duplicates (overlap >= the IoU).
        top_npos: type -> count among the top ``npos`` detections (the code's second
            summary; None for a set).
    """

    totals: tuple[int, ...]
    fractions: dict[str, tuple[float, ...]]
    counts: dict[str, int]
    duplicates: int
    top_npos: dict[str, int] | None = None

    def to_dict(self) -> dict:
        return {
            "totals": list(self.totals),
            "fractions": {t: [json_float(v) for v in f] for t, f in self.fractions.items()},
            "counts": dict(self.counts),
            "duplicates": self.duplicates,
            "top_npos": self.top_npos,
        }


@dataclass(frozen=True, eq=False)
class HoiemAnalysis:
    """Per class and per set (overall, animals, vehicles, furniture): the trends,
    and the AP with each type of false positive removed (``impact``)."""

    classes: dict[str, FalsePositiveTrend]
    sets: dict[str, FalsePositiveTrend]
    set_members: dict[str, tuple[str, ...]]
    impact: dict[str, dict[str, float]]
    codes: np.ndarray  # (f,) int64 type of each false positive of the MatchedSet

    def to_dict(self) -> dict:
        return {
            "types": list(FP_TYPES),
            "classes": {c: t.to_dict() for c, t in self.classes.items()},
            "sets": {s: t.to_dict() for s, t in self.sets.items()},
            "set_members": {s: list(m) for s, m in self.set_members.items()},
            "impact": {
                c: {k: json_float(v) for k, v in row.items()} for c, row in self.impact.items()
            },
        }


def fp_types(ms: MatchedSet) -> np.ndarray:
    """(f,) int64 index into FP_TYPES of each false positive of ``ms``."""
    codes = np.full(ms.fp_class.shape[0], 3, dtype=np.int64)
    oth = ms.overlap[:, OTHER] >= WEAK_OVERLAP
    sim = ms.overlap[:, SIMILAR] >= WEAK_OVERLAP
    loc = ms.overlap[:, SAME] >= WEAK_OVERLAP
    codes[oth] = 2
    codes[sim] = 1
    codes[loc] = 0
    return codes


def _trend(ranks: np.ndarray, codes: np.ndarray, length: int) -> tuple:
    """(totals reached, fractions) with FPs aligned by detection rank."""
    if length == 0 or ranks.size == 0:
        return (), {t: () for t in FP_TYPES}
    cumulative = np.stack(
        [np.cumsum(np.bincount(ranks[codes == i], minlength=length)) for i in range(4)]
    )
    total = cumulative.sum(axis=0)
    reached = [x for x in TOTAL_FALSE_POSITIVES if x <= total[-1]]
    at = np.searchsorted(total, reached, side="left")
    fractions = {
        t: tuple(float(cumulative[i, j] / total[j]) for j in at) for i, t in enumerate(FP_TYPES)
    }
    return tuple(reached), fractions


def hoiem_analysis(ms: MatchedSet, metric: str = "voc07", iou: float = 0.5) -> HoiemAnalysis:
    """Hoiem's false-positive analysis of every class and set (see the module)."""
    codes = fp_types(ms)
    dup = (codes == 0) & (ms.overlap[:, SAME] >= iou)
    classes, impact = {}, {}
    lengths = [ms.result.classes[c].detections for c in ms.classes]
    for c, name in enumerate(ms.classes):
        mine = ms.fp_class == c
        totals, fractions = _trend(ms.fp_rank[mine], codes[mine], lengths[c])
        npos = int(ms.npos[c])
        top = mine & (ms.fp_rank < npos)
        classes[name] = FalsePositiveTrend(
            totals=totals,
            fractions=fractions,
            counts={t: int(np.count_nonzero(codes[mine] == i)) for i, t in enumerate(FP_TYPES)},
            duplicates=int(np.count_nonzero(dup[mine])),
            top_npos={t: int(np.count_nonzero(codes[top] == i)) for i, t in enumerate(FP_TYPES)},
        )
        base = ms.result.classes[name]
        row = {"ap": base.ap}
        for i, t in enumerate(FP_TYPES):
            keep = np.ones(base.outcome.shape[0], dtype=bool)
            keep[ms.fp_rank[mine & (codes == i)]] = False
            row[f"without_{t}"] = devkit_ap(base.outcome[keep], base.npos, metric)
        impact[name] = row
    members = {"overall": tuple(ms.classes), **summary_sets(ms.classes)}
    sets = {}
    for set_name, names in members.items():
        idx = [ms.classes.index(n) for n in names]
        chosen = np.isin(ms.fp_class, idx)
        length = max((lengths[i] for i in idx), default=0)
        totals, fractions = _trend(ms.fp_rank[chosen], codes[chosen], length)
        sets[set_name] = FalsePositiveTrend(
            totals=totals,
            fractions=fractions,
            counts={t: int(np.count_nonzero(codes[chosen] == i)) for i, t in enumerate(FP_TYPES)},
            duplicates=int(np.count_nonzero(dup[chosen])),
        )
    keys = ["ap"] + [f"without_{t}" for t in FP_TYPES]
    impact["mean"] = {k: mean_ap([impact[n][k] for n in ms.classes]) for k in keys}
    return HoiemAnalysis(classes, sets, members, impact, codes)
