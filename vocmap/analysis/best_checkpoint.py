"""Which checkpoint is best, and how sure that is (``vocmap table --best``).

The best checkpoint is the one with the highest mAP. Each of the next best (the
rivals) is compared with it by the paired image bootstrap of
:mod:`vocmap.analysis.compare_runs`: one set of resamples of the test images for
every checkpoint, so the mAP differences keep their pairing. For each rival:

* ``beats``: the fraction of resamples in which the rival's mAP is strictly higher
  than the best's;
* ``p``: the two-sided bootstrap p-value of "no difference",
  ``min(1, 2 * min(P(d <= 0), P(d >= 0)))`` over the resamples of
  ``d = best - rival``. Two-sided, because the best was chosen for being highest: a
  one-sided test after that choice would reject twice as often as it says;
* ``p_holm``: Holm's step-down adjustment over every pair of the checkpoints
  compared, not only the best's pairs: the best was chosen by the same data, so
  its comparisons are a data-chosen subset of that family, whose family-wise error
  Holm keeps at most ``1 - level``. A rival is "really" worse at ``level`` when
  ``p_holm < 1 - level``.

The simulation in ``tests/vocmap/test_best_checkpoint.py`` checks this: four
checkpoints of equal quality on 200 images are called different in 5.25% of 400
simulated test sets at 95% (Holm over the best's 3 pairs only: 7.5%, too many), and
one that finds 50% of the objects where the others find 80% is found every time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vocmap.analysis import bootstrap as bs
from vocmap.analysis.compare_runs import paired_difference
from vocmap.core.detections import Detections
from vocmap.core.errors import VocmapError
from vocmap.core.evaluate import Evaluator
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.results import json_float
from vocmap.core.settings import EvalSettings

CORRECTION = "holm"


@dataclass(frozen=True)
class Rival:
    """One checkpoint compared with the best: ``diff = best - rival`` and its interval
    (at the level, not adjusted), how often it beats the best, its p-values."""

    step: int
    map: float
    diff: float
    lo: float
    hi: float
    beats: float
    p: float
    p_holm: float
    real: bool


@dataclass(frozen=True)
class BestCheckpoint:
    """The best checkpoint and its rivals (best first among ties: the earlier step)."""

    step: int
    map: float
    rivals: tuple[Rival, ...]
    level: float
    resamples: int
    seed: int
    images: int
    method: str = bs.METHOD
    correction: str = CORRECTION

    @property
    def pairs(self) -> int:
        """The family Holm's correction runs over: every pair of the checkpoints."""
        n = len(self.rivals) + 1
        return n * (n - 1) // 2

    def p_text(self, p: float) -> str:
        """A Holm-adjusted p-value as text; 0 (no resample on the other side) is below
        the resolution of ``resamples`` resamples times Holm's largest factor."""
        if math.isnan(p):
            return "nan"
        return f"< {min(1.0, self.pairs / self.resamples):.2g}" if p == 0 else f"{p:.3g}"

    def _p(self, p: float) -> str:
        text = self.p_text(p)
        return text if text.startswith("<") else f"= {text}"

    def verdicts(self) -> list[str]:
        """One sentence a rival: "step 500 beats 600 in 3.1% of the resamples: ..."."""
        level = f"{self.level * 100:g}%"
        adjusted = (
            f", Holm over the {self.pairs} pairs of the {len(self.rivals) + 1} checkpoints"
            if self.pairs > 1
            else ""
        )
        return [
            f"step {r.step} beats {self.step} in {r.beats:.1%} of the resamples: "
            + (
                f"a real difference at {level} (p {self._p(r.p_holm)}{adjusted})"
                if r.real
                else f"not a real difference at {level} (p {self._p(r.p_holm)}{adjusted})"
            )
            for r in self.rivals
        ]

    def to_dict(self) -> dict:
        """The JSON form (NaN as null)."""
        return {
            "best": {"step": self.step, "map": json_float(self.map)},
            "rivals": [
                {
                    "step": r.step,
                    "map": json_float(r.map),
                    "diff": json_float(r.diff),
                    "ci": [json_float(r.lo), json_float(r.hi)],
                    "beats": json_float(r.beats),
                    "p": json_float(r.p),
                    "p_holm": json_float(r.p_holm),
                    "real": r.real,
                }
                for r in self.rivals
            ],
            "level": self.level,
            "resamples": self.resamples,
            "seed": self.seed,
            "images": self.images,
            "method": f"paired {self.method} bootstrap over the test images",
            "correction": f"{self.correction}, over the {self.pairs} pairs of checkpoints",
        }


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given (NaN stays NaN)."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(~np.isnan(p))
    m = finite.size
    running = 0.0
    for rank, k in enumerate(finite[np.argsort(p[finite], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * float(p[k])))
        out[k] = running
    return out.tolist()


def two_sided_p(delta: np.ndarray) -> float:
    """``min(1, 2 * min(P(d <= 0), P(d >= 0)))`` over the finite resamples ``delta``."""
    finite = delta[~np.isnan(delta)]
    if finite.size == 0:
        return math.nan
    low = np.count_nonzero(finite <= 0) / finite.size
    high = np.count_nonzero(finite >= 0) / finite.size
    return min(1.0, 2.0 * min(low, high))


def rival_maps(
    ground_truth: GroundTruth,
    detections: Mapping[int, Detections],
    classes: Sequence[str] | None,
    weights: np.ndarray,
    settings: EvalSettings | None = None,
) -> tuple[dict[int, float], dict[int, np.ndarray]]:
    """Each checkpoint's mAP and its (B,) replicate mAPs on the resamples ``weights``
    (the devkit's rules: ``settings`` voc07 or voc12 at any IoU)."""
    evaluator = Evaluator(ground_truth, classes, settings=settings)
    maps, replicates = {}, {}
    for step, dets in detections.items():
        result = evaluator.evaluate(dets)
        maps[step] = result.map
        replicates[step] = bs.replicates(bs.bootstrap_inputs(result, ground_truth, dets), weights)[
            1
        ]
    return maps, replicates


def best_checkpoint(
    ground_truth: GroundTruth,
    detections: Mapping[int, Detections],
    classes: Sequence[str] | None = None,
    *,
    settings: EvalSettings | None = None,
    resamples: int = bs.DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = bs.DEFAULT_LEVEL,
) -> BestCheckpoint:
    """The checkpoint (of ``detections``, step -> detections) with the highest mAP, and
    the paired bootstrap of its mAP against every other one given."""
    level = bs.check_level(level)
    if not detections:
        raise VocmapError("no checkpoints to choose from")
    weights = bs.resample_weights(ground_truth.num_images, resamples, seed)
    maps, replicates = rival_maps(ground_truth, detections, classes, weights, settings)
    return decide(maps, replicates, level, resamples, seed, ground_truth.num_images)


def decide(
    maps: Mapping[int, float],
    replicates: Mapping[int, np.ndarray],
    level: float,
    resamples: int,
    seed: int,
    images: int,
) -> BestCheckpoint:
    """The best of ``maps`` (NaN last; ties: the earlier step) against the others, from
    paired replicate mAPs."""
    steps = sorted(maps)
    best = max(steps, key=lambda s: (not math.isnan(maps[s]), maps[s], -s))
    others = sorted(
        (s for s in steps if s != best),
        key=lambda s: (math.isnan(maps[s]), -maps[s] if not math.isnan(maps[s]) else 0, s),
    )
    deltas = {s: replicates[best] - replicates[s] for s in others}
    pvalues = [two_sided_p(deltas[s]) for s in others]
    # Holm over every pair of the checkpoints compared: the best was chosen from them
    # by the same data, so its comparisons are a subset of that family
    pairs = [(a, b) for k, a in enumerate(steps) for b in steps[k + 1 :]]
    family = holm([two_sided_p(replicates[a] - replicates[b]) for a, b in pairs])
    adjusted_of = dict(zip(pairs, family))
    adjusted = [adjusted_of[(min(best, s), max(best, s))] for s in others]
    rivals = []
    for s, p, p_holm in zip(others, pvalues, adjusted):
        # compare-runs' paired difference, A = the rival, B = the best: B - A
        d = paired_difference(str(s), maps[s], maps[best], replicates[s], replicates[best], level)
        valid = ~np.isnan(deltas[s])
        beats = (
            float(np.count_nonzero(deltas[s][valid] < 0) / valid.sum()) if valid.any() else math.nan
        )
        rivals.append(
            Rival(
                step=s,
                map=maps[s],
                diff=d.diff,
                lo=d.lo,
                hi=d.hi,
                beats=beats,
                p=p,
                p_holm=p_holm,
                real=bool(p_holm < 1.0 - level),
            )
        )
    return BestCheckpoint(best, maps[best], tuple(rivals), level, resamples, seed, images)
