"""TIDE's error breakdown on the devkit's own number (``vocmap diagnose``, voc07/voc12).

TIDE (Bolya et al., ECCV 2020) assigns each false positive and missed object to
one error type and measures the AP gained by fixing each type. Here the
matching, the AP and the mean are the devkit's, so the AP before any fix is the
``vocmap evaluate`` number, bit for bit. The types, tested in TIDE's order on
each false positive of the devkit (``fg`` = the evaluation's IoU, ``bg`` = 0.1;
overlaps are the devkit's, with every object of the evaluated classes, difficult
ones included):

* **loc**: its largest same-class overlap is in ``[bg, fg)``;
* **cls**: an object of another class overlaps it by ``>= fg``;
* **dupe**: its same-class object (overlap ``>= fg``) was already claimed;
* **bkg**: no object overlaps it by more than ``bg``;
* **both**: the rest (a wrong class and a poor box);
* **miss**: a non-difficult object that no true positive claimed and no loc or
  cls error points at.

Fixes, as TIDE's code does them: a loc or cls error pointing at an unclaimed,
non-difficult object becomes that object's true positive (in the object's class,
with its own score) if it is the best-scoring such error of that object (on a
tie, the earlier class, then the earlier in visiting order); every other fixed
false positive is removed; fixing miss removes those objects from ``npos``. A
class left with no object and no counted detection leaves the fixed mean (TIDE's
``is_empty``; its own figure is NaN), unless it was so before any fix. Detections that matched a
difficult object are no error and stay. With all six fixes applied at once each
class scores the AP of a perfect detector (``1.0000000000000002`` for the 11-point
AP: eleven times ``+ 1/11``). The devkit's AP never falls when an error is fixed,
so no dAP is clamped at 0 (TIDE's code clamps).
"""

from __future__ import annotations

import math

import numpy as np

from vocmap.analysis.diagnose_matching import SAME, MatchedSet
from vocmap.analysis.tide_types import (
    ERROR_TYPES,
    ErrorBreakdown,
    ErrorRecords,
    TideAnalysis,
    count_by_class,
)
from vocmap.core import kernels
from vocmap.core.results import mean_ap

CLS, LOC, BOTH, DUPE, BKG, MISS = range(6)


def devkit_ap(outcome: np.ndarray, npos: int, metric: str) -> float:
    """The devkit's AP of outcomes in visiting order."""
    rec, prec = kernels.precision_recall(np.ascontiguousarray(outcome, dtype=np.int8), npos)
    if metric == "voc07":
        return float(kernels.average_precision_11point(rec, prec))
    return float(kernels.average_precision_area(rec, prec))


def classify_false_positives(ms: MatchedSet, fg: float, bg: float):
    """(kind, target, overlap) of each false positive of ``ms`` (see the module)."""
    same, same_row = ms.overlap[:, SAME], ms.row[:, SAME]
    other, other_row = ms.other_overlap
    loc = (same >= bg) & (same < fg)
    cls = ~loc & (other >= fg)
    dupe = ~loc & ~cls & (same >= fg)
    bkg = ~loc & ~cls & ~dupe & (np.maximum(same, other) <= bg)
    kind = np.full(same.shape[0], BOTH, dtype=np.int64)
    kind[loc], kind[cls], kind[dupe], kind[bkg] = LOC, CLS, DUPE, BKG
    target = np.where(loc, same_row, np.where(cls, other_row, -1))
    overlap = np.where(loc | dupe, same, np.where(cls, other, np.maximum(same, other)))
    return kind, target, overlap


class _Fixer:
    """The devkit's AP of each class after fixing some error types."""

    def __init__(self, ms: MatchedSet, kind, target, metric: str):
        self.ms, self.kind, self.metric = ms, kind, metric
        gt = ms.ground_truth
        valid = target >= 0
        if gt.difficult.size:
            safe = np.maximum(target, 0)
            valid &= ~gt.difficult[safe] & ~ms.claimed[safe]
        candidates = np.flatnonzero(valid)
        order = np.lexsort(
            (ms.fp_rank[candidates], ms.fp_class[candidates], -ms.fp_score[candidates])
        )
        ranked = candidates[order]
        _, first = np.unique(target[ranked], return_index=True)
        self.winner = np.zeros(kind.shape[0], dtype=bool)
        self.winner[ranked[first]] = True
        self.target = target
        usable = np.zeros(gt.object_image.shape[0], dtype=bool)
        usable[target[valid]] = True
        self.missed = np.flatnonzero((ms.obj_class >= 0) & ~gt.difficult & ~ms.claimed & ~usable)
        k = len(ms.classes)
        self.missed_per_class = np.bincount(ms.obj_class[self.missed], minlength=k)
        self.base = [ms.result.classes[c] for c in ms.classes]
        by_class = np.argsort(ms.fp_class, kind="stable")
        bounds = np.searchsorted(ms.fp_class[by_class], np.arange(k + 1))
        self.mine = [by_class[bounds[c] : bounds[c + 1]] for c in range(k)]
        # cls winners, by the class of the object they become a true positive of,
        # each class's in (class, visiting rank) order
        won = np.flatnonzero((kind == CLS) & self.winner)
        won_class = ms.obj_class[target[won]] if won.size else won
        self.imported = [won[won_class == c] for c in range(k)]

    def class_ap(self, c: int, fix: frozenset[int], precision=False, recall=False) -> tuple:
        """(AP, counted detections, npos) of class ``c`` after the fixes."""
        ms, base = self.ms, self.base[c]
        mine = self.mine[c]
        kind = self.kind[mine]
        fixed = np.isin(kind, list(fix)) if fix else np.zeros(mine.size, dtype=bool)
        imported = self.imported[c] if CLS in fix else self.imported[c][:0]
        npos = int(ms.npos[c])
        if MISS in fix:
            npos -= int(self.missed_per_class[c])
        if recall:
            npos = base.tp + int(imported.size)
        if not (fixed.any() or imported.size or precision) and npos == base.npos:
            return base.ap, base.tp + base.fp, npos
        outcome = base.outcome.copy()
        scores = ms.scores_in_order(c)
        keep = np.ones(outcome.shape[0], dtype=bool)
        ranks = ms.fp_rank[mine]
        if precision:
            keep[ranks] = False
        to_tp = fixed & (kind == LOC) & self.winner[mine]
        outcome[ranks[to_tp]] = kernels.TRUE_POSITIVE
        keep[ranks[fixed & ~to_tp]] = False
        outcome, scores = outcome[keep], scores[keep]
        if imported.size:
            scores = np.concatenate([scores, ms.fp_score[imported]])
            outcome = np.concatenate(
                [outcome, np.full(imported.size, kernels.TRUE_POSITIVE, dtype=np.int8)]
            )
            outcome = outcome[kernels.stable_descending_order(scores)]
        counted = int(np.count_nonzero(outcome != kernels.IGNORED))
        return devkit_ap(outcome, npos, self.metric), counted, npos

    def state(self, fix=frozenset(), precision=False, recall=False) -> tuple[float, list[float]]:
        """(mean, per-class APs) after the fixes. A class the fixes leave with nothing
        to score leaves the mean, and its AP is NaN."""
        aps, counted_aps = [], []
        for c, base in enumerate(self.base):
            ap, counted, npos = self.class_ap(c, frozenset(fix), precision, recall)
            was_empty = base.npos == 0 and base.tp + base.fp == 0
            if counted == 0 and npos == 0 and not was_empty:
                aps.append(math.nan)
                continue
            aps.append(ap)
            counted_aps.append(ap)
        return mean_ap(counted_aps), aps


def tide_devkit(
    ms: MatchedSet, metric: str = "voc07", fg: float = 0.5, bg: float = 0.1
) -> TideAnalysis:
    """TIDE's breakdown on the devkit's matching and AP (see the module's notes)."""
    kind, target, overlap = classify_false_positives(ms, fg, bg)
    fixer = _Fixer(ms, kind, target, metric)
    base_map = ms.result.map
    base = [r.ap for r in fixer.base]
    one = {t: fixer.state({i}) for i, t in enumerate(ERROR_TYPES)}
    all_map, all_aps = fixer.state(set(range(6)))
    fp_map, fp_aps = fixer.state(precision=True)
    fn_map, fn_aps = fixer.state(recall=True)
    k = len(ms.classes)
    err_kind = np.concatenate([kind, np.full(fixer.missed.size, MISS, dtype=np.int64)])
    err_class = np.concatenate([ms.fp_class, ms.obj_class[fixer.missed]])
    counts = count_by_class(err_kind, err_class, k)
    classes = {}
    for c, name in enumerate(ms.classes):
        classes[name] = ErrorBreakdown(
            ap=base[c],
            counts={t: int(counts[c, i]) for i, t in enumerate(ERROR_TYPES)},
            dap={t: one[t][1][c] - base[c] for t in ERROR_TYPES},
            false_positive_dap=fp_aps[c] - base[c],
            false_negative_dap=fn_aps[c] - base[c],
            ap_all_fixed=all_aps[c],
        )
    overall = ErrorBreakdown(
        ap=base_map,
        counts={t: int(counts[:, i].sum()) for i, t in enumerate(ERROR_TYPES)},
        dap={t: one[t][0] - base_map for t in ERROR_TYPES},
        false_positive_dap=fp_map - base_map,
        false_negative_dap=fn_map - base_map,
        ap_all_fixed=all_map,
    )
    n_missed = fixer.missed.size
    records = ErrorRecords(
        kind=err_kind,
        det_class=np.concatenate([ms.fp_class, np.full(n_missed, -1, dtype=np.int64)]),
        det_index=np.concatenate([ms.fp_det, np.full(n_missed, -1, dtype=np.int64)]),
        obj_row=np.concatenate([target, fixer.missed]).astype(np.int64),
        overlap=np.concatenate([overlap, np.full(n_missed, np.nan)]),
        fixes_object=np.concatenate([fixer.winner, np.zeros(n_missed, dtype=bool)]),
    )
    notes = ("the devkit's matching and AP; detections on difficult objects are no error",)
    return TideAnalysis(metric, float(fg), float(bg), classes, overall, records, notes)
