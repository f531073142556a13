"""Explain why two evaluators' numbers differ for the same detections.

Semantics A is turned into semantics B one rule at a time, in
:data:`vocmap.semantics.RULE_ORDER`; every class is evaluated after each switch.
Whatever moves a class's AP at a step is that rule's doing, so the steps add up to
the whole difference and no class that differs is left without a reason. Each
reason also says which detections changed (TP to FP and back, by file line) and
why: tie order, an overlap exactly at the threshold, rounded coordinates, a recall
landing exactly on 0.6 or 0.7, NaN precisions, or plain arithmetic.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from vocmap.core import kernels
from vocmap.core.detections import Detections
from vocmap.core.evaluate import Evaluator
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.results import ClassResult, EvalResult, json_float, subset_keys
from vocmap.core.semantics import RULE_ORDER, Semantics, get_semantics

OUTCOME_NAMES = {
    kernels.TRUE_POSITIVE: "TP",
    kernels.FALSE_POSITIVE: "FP",
    kernels.IGNORED: "ignored",
}


@dataclass(frozen=True)
class Reason:
    """One rule's share of a class's AP difference.

    Attributes:
        rule: the Semantics field that was switched.
        delta: AP after the switch minus AP before it.
        text: what changed, in words.
        flips: ``{"TP->FP": n, ...}`` detections whose outcome changed.
        lines: file lines (or records) of up to 10 changed detections.
    """

    rule: str
    delta: float
    text: str
    flips: dict[str, int] = field(default_factory=dict)
    lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class ClassComparison:
    name: str
    ap_a: float
    ap_b: float
    reasons: list[Reason]

    @property
    def differs(self) -> bool:
        return not _same(self.ap_a, self.ap_b)


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`."""

    a: Semantics
    b: Semantics
    result_a: EvalResult
    result_b: EvalResult
    classes: list[ClassComparison]
    map_reasons: list[Reason]

    @property
    def unexplained(self) -> list[str]:
        """Classes whose AP differs without a reason (always empty; tested)."""
        return [c.name for c in self.classes if c.differs and not c.reasons]


def _same(x: float, y: float) -> bool:
    return (math.isnan(x) and math.isnan(y)) or x == y


def rule_path(a: Semantics, b: Semantics) -> list[tuple[str, Semantics]]:
    """``[(rule, semantics after switching it)]`` from ``a`` to ``b``."""
    steps = []
    current = a
    for rule in RULE_ORDER:
        if getattr(current, rule) != getattr(b, rule):
            current = replace(current, **{rule: getattr(b, rule)}, name=f"{a.name}+{rule}")
            steps.append((rule, current))
    return steps


def compare(
    ground_truth: GroundTruth,
    detections: Detections,
    a: str | Semantics = "devkit",
    b: str | Semantics = "py-faster-rcnn",
    classes: Sequence[str] | None = None,
    *,
    metric: str = "voc07",
    iou: float = 0.5,
) -> Comparison:
    """Evaluate under ``a`` and ``b`` and explain every class whose AP differs."""
    a, b = get_semantics(a), get_semantics(b)

    def run(semantics: Semantics) -> EvalResult:
        return Evaluator(
            ground_truth, classes, metric=metric, iou=iou, semantics=semantics
        ).evaluate(detections)

    results = [run(a)]
    steps = rule_path(a, b)
    for _, semantics in steps:
        results.append(run(semantics))
    result_b = run(b)
    per_class = []
    path = [a] + [semantics for _, semantics in steps]
    for name in results[0].classes:
        reasons = []
        for k, (rule, _) in enumerate(steps):
            before, after = results[k].classes[name], results[k + 1].classes[name]
            if not _same(before.ap, after.ap):
                reasons.append(
                    _explain(
                        rule,
                        before,
                        after,
                        detections[name].line_numbers,
                        iou,
                        path[k],
                        path[k + 1],
                    )
                )
        per_class.append(
            ClassComparison(name, results[0].classes[name].ap, result_b.classes[name].ap, reasons)
        )
    map_reasons = [
        Reason(rule, results[k + 1].map - results[k].map, _RULE_WORDS[rule])
        for k, (rule, _) in enumerate(steps)
        if not _same(results[k].map, results[k + 1].map)
        and not any(r.rule == rule for c in per_class for r in c.reasons)
    ]
    return Comparison(a, b, results[0], result_b, per_class, map_reasons)


_RULE_WORDS = {
    "score_dtype": "scores rounded to float32",
    "group_by_image": "detections regrouped by image before sorting",
    "sort": "tie order: another sort (NumPy's unstable argsort, or a stable sort)",
    "sort_dtype": "tie order: the sort runs on float32 scores",
    "matching_order": "tie order: each image's detections matched in a per-image order",
    "gt_coordinates": "ground-truth coordinates rounded",
    "det_box_dtype": "detection coordinates rounded to float32",
    "iou_dtype": "overlaps computed in another number type (float32)",
    "pixel_offset": "box sizes without the +1 pixel",
    "plus_one_on_corners": "the +1 pixel added to x2 and y2 first (in the boxes' number type)",
    "intersection_plus_one": "intersection without the +1 pixel while the areas keep it",
    "overlap_candidates": "every object competes (NumPy argmax: a NaN overlap of two "
    "zero-area boxes wins and matches)",
    "difficult_last": "difficult objects placed last (they lose overlap ties)",
    "strict_threshold": "threshold comparison: overlap > iou instead of >=",
    "precision_floor": "precision 0/0 (only difficult matches so far) guarded by eps",
    "max_skips_nan": "NaN precisions propagate through max",
    "recall_thresholds": "recall thresholds",
    "ap_sum": "AP summed then divided instead of accumulated",
    "area_ap": "area under the curve added up another way",
    "ap_dtype": "counts and AP in float32",
    "ap_without_positives": "a class without positives gets AP NaN",
    "map_skips_classes_without_positives": "classes without positives left out of the mean",
    "map_mean": "mean taken another way (numpy.mean's pairwise summation, or numpy.nanmean)",
}


#: The rules that change overlaps (coordinates, number types, pixels, candidates).
_OVERLAP_RULES = RULE_ORDER[
    RULE_ORDER.index("gt_coordinates") : RULE_ORDER.index("strict_threshold")
]


def _by_detection(result: ClassResult, values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    out[result.order] = values
    return out


def _explain(
    rule: str,
    before: ClassResult,
    after: ClassResult,
    line_numbers: np.ndarray | None,
    iou: float,
    rules_before: Semantics,
    rules_after: Semantics,
) -> Reason:
    outcome_before = _by_detection(before, before.outcome)
    outcome_after = _by_detection(after, after.outcome)
    changed = np.flatnonzero(outcome_before != outcome_after)
    flips = Counter(
        f"{OUTCOME_NAMES[int(outcome_before[d])]}->{OUTCOME_NAMES[int(outcome_after[d])]}"
        for d in changed
    )
    rank_before = _by_detection(before, np.arange(before.detections))
    rank_after = _by_detection(after, np.arange(after.detections))
    moved = int(np.count_nonzero(rank_before != rank_after))
    flip_text = ", ".join(f"{n} {k}" for k, n in sorted(flips.items()))
    text = _RULE_WORDS[rule]
    if rule in ("score_dtype", "group_by_image", "sort", "sort_dtype", "matching_order"):
        text += f": {moved} detections visited in another order"
        text += f"; {flip_text}" if flips else "; the same TP/FP set in another order"
    elif rule == "strict_threshold":
        overlap = _by_detection(before, before.best_overlap)
        at_threshold = int(np.count_nonzero(overlap[changed] == np.float64(iou)))
        text += f": {at_threshold} detections with overlap exactly {iou:g}; {flip_text}"
    elif rule in _OVERLAP_RULES:
        text += f": {flip_text}" if flips else ": overlaps changed, outcomes did not"
    elif rule in ("precision_floor", "max_skips_nan"):
        nan_before = int(np.count_nonzero(np.isnan(before.precision)))
        nan_after = int(np.count_nonzero(np.isnan(after.precision)))
        text += f": NaN precisions {nan_before} -> {nan_after}, AP {before.ap!r} -> {after.ap!r}"
    elif rule == "recall_thresholds":
        text += ": " + "; ".join(_threshold_changes(before, after, rules_before, rules_after))
    else:
        text += f": AP {before.ap!r} -> {after.ap!r}"
    lines: tuple[int, ...] = ()
    if line_numbers is not None and len(changed):
        lines = tuple(int(line_numbers[d]) for d in changed[:10])
    return Reason(rule, after.ap - before.ap, text, dict(flips), lines)


def _precision_at(result: ClassResult, t: float, skip_nan: bool) -> float:
    selected = result.precision[result.recall >= t]
    if selected.size == 0:
        return 0.0
    if skip_nan:
        finite = selected[~np.isnan(selected)]
        return float(finite.max()) if finite.size else math.nan
    return float(selected.max())


def _threshold_changes(
    before: ClassResult, after: ClassResult, rules_before: Semantics, rules_after: Semantics
) -> list[str]:
    """Which recall thresholds pick a different precision, and why."""
    words = []
    for t_old, t_new in zip(rules_before.thresholds(), rules_after.thresholds()):
        p_old = _precision_at(before, t_old, rules_before.max_skips_nan)
        p_new = _precision_at(after, t_new, rules_after.max_skips_nan)
        if _same(p_old, p_new):
            continue
        exact = [t for t in (t_old, t_new) if np.any(before.recall == t)]
        why = f" (a recall of exactly {float(exact[0])!r} is reached)" if exact else ""
        words.append(
            f"threshold {float(t_old)!r} -> {float(t_new)!r} picks precision "
            f"{p_old:.4g} -> {p_new:.4g}{why}"
        )
    return words or ["the thresholds moved"]


def comparison_to_json(comparison: Comparison, path=None) -> str:
    """The comparison as JSON (exact floats, NaN as null); written atomically to ``path``."""
    import json

    from vocmap.core.atomic import atomic_write_text

    number = json_float

    def reason(r: Reason) -> dict:
        return {
            "rule": r.rule,
            "delta": number(r.delta),
            "text": r.text,
            "flips": r.flips,
            "lines": list(r.lines),
        }

    data = {
        "a": comparison.a.name,
        "b": comparison.b.name,
        "metric": comparison.result_a.metric,
        "iou": comparison.result_a.iou,
        "classes": {
            c.name: {
                "ap_a": number(c.ap_a),
                "ap_b": number(c.ap_b),
                "reasons": [reason(r) for r in c.reasons],
            }
            for c in comparison.classes
        },
        "map_a": number(comparison.result_a.map),
        "map_b": number(comparison.result_b.map),
        "map_reasons": [reason(r) for r in comparison.map_reasons],
        **subset_keys(list(comparison.result_a.classes), comparison.result_a.left_out),
    }
    text = json.dumps(data, indent=1) + "\n"
    if path is not None:
        atomic_write_text(path, text)
    return text
