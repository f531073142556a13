"""Is run B better than run A? The paired image bootstrap of the AP difference.

Both detection sets are evaluated against the same annotations; every resample
draws the images once and replicates both APs on it (see
:mod:`vocmap.analysis.bootstrap`), so the difference ``B - A`` of each class AP
and of the mAP is bootstrapped with the pairing kept: image difficulty that
hurts both runs cancels. Reported per class and for the mAP: the observed
difference, its percentile interval, and the fraction of resamples where B's AP
is strictly higher (ties count for neither).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vocmap.analysis import bootstrap as bs
from vocmap.core.atomic import atomic_write_text
from vocmap.core.detections import Detections
from vocmap.core.evaluate import Evaluator
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.results import EvalResult, json_float, subset_keys


@dataclass(frozen=True)
class Difference:
    """One class (or the mAP): ``b - a``, its interval, P(B > A) over the resamples."""

    name: str
    a: float
    b: float
    lo: float
    hi: float
    b_better: float

    @property
    def diff(self) -> float:
        return self.b - self.a


@dataclass(frozen=True)
class RunDifference:
    labels: tuple[str, str]
    result_a: EvalResult
    result_b: EvalResult
    classes: list[Difference]
    map: Difference
    level: float
    resamples: int
    seed: int
    method: str = bs.METHOD


def paired_difference(
    name: str, a: float, b: float, ra: np.ndarray, rb: np.ndarray, level: float
) -> Difference:
    """``b - a`` from paired replicates ``ra``, ``rb`` (B,): its percentile interval in
    [-1, 1] and the fraction of resamples where B is strictly higher."""
    delta = rb - ra
    lo, hi = bs.percentile_interval(delta, level, bounds=(-1.0, 1.0))
    valid = ~np.isnan(delta)
    better = float(np.count_nonzero(delta[valid] > 0) / valid.sum()) if valid.any() else math.nan
    return Difference(name, a, b, lo, hi, better)


def compare_runs(
    ground_truth: GroundTruth,
    detections_a: Detections,
    detections_b: Detections,
    classes: Sequence[str] | None = None,
    *,
    metric: str = "voc07",
    resamples: int = bs.DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = bs.DEFAULT_LEVEL,
    labels: tuple[str, str] = ("A", "B"),
) -> RunDifference:
    """Evaluate A and B and bootstrap their paired differences."""
    level = bs.check_level(level)
    evaluator = Evaluator(ground_truth, classes, metric=metric)
    result_a = evaluator.evaluate(detections_a)
    result_b = evaluator.evaluate(detections_b)
    weights = bs.resample_weights(ground_truth.num_images, resamples, seed)
    aps_a, maps_a = bs.replicates(
        bs.bootstrap_inputs(result_a, ground_truth, detections_a), weights
    )
    aps_b, maps_b = bs.replicates(
        bs.bootstrap_inputs(result_b, ground_truth, detections_b), weights
    )
    per_class = [
        paired_difference(
            name,
            result_a.classes[name].ap,
            result_b.classes[name].ap,
            aps_a[:, k],
            aps_b[:, k],
            level,
        )
        for k, name in enumerate(evaluator.classes)
    ]
    overall = paired_difference(
        result_a.map_row_label, result_a.map, result_b.map, maps_a, maps_b, level
    )
    return RunDifference(labels, result_a, result_b, per_class, overall, level, resamples, seed)


def run_difference_to_dict(difference: RunDifference) -> dict:
    def entry(d: Difference) -> dict:
        return {
            "a": json_float(d.a),
            "b": json_float(d.b),
            "diff": json_float(d.diff),
            "ci": [json_float(d.lo), json_float(d.hi)],
            "b_better": json_float(d.b_better),
        }

    return {
        "a": difference.labels[0],
        "b": difference.labels[1],
        "metric": difference.result_a.metric,
        "level": difference.level,
        "resamples": difference.resamples,
        "seed": difference.seed,
        "method": difference.method,
        "classes": {d.name: entry(d) for d in difference.classes},
        "map": entry(difference.map),
        **subset_keys(list(difference.result_a.classes), difference.result_a.left_out),
    }


def run_difference_to_json(difference: RunDifference, path: str | os.PathLike | None = None) -> str:
    """The JSON text (exact floats, NaN as null); written atomically to ``path``."""
    text = json.dumps(run_difference_to_dict(difference), indent=1) + "\n"
    if path is not None:
        atomic_write_text(path, text)
    return text
