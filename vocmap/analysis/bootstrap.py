"""How sure is an AP: the bootstrap over test images (``--ci``).

Each resample draws the image set's ``N`` images with replacement (seeded NumPy
``default_rng(seed).integers``), and the replicate of each class AP is the
devkit's AP of the data set in which image ``i`` appears as often as it was drawn
(see :mod:`vocmap.analysis.bootstrap_kernels` for the tie order and why the
replicate equals the literal duplicated set's devkit AP, bit for bit); the
replicate mAP is the devkit's mean of the replicate class APs.

The interval is the **percentile** interval: the ``(1-level)/2`` and
``(1+level)/2`` quantiles of the replicates (NumPy's linear interpolation). It
needs no symmetry (AP is bounded by 0 and 1 and skewed near them), is invariant
to monotone transformations of the AP, and the coverage simulation
(``tests/vocmap/test_bootstrap.py``) finds it near the nominal rate for
VOC-sized sets; BCa would need a jackknife over 4,952 images for little gain.
Resamples whose replicate is NaN (VOC2010+ AP of a class that lost every
object) are left out of that class's quantiles.

Only the devkit's rules (``voc07``, ``voc12``) are bootstrapped: their replicate
is exact; COCO's accumulation orders ties by image id, which copies of images
would reorder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from vocmap.analysis import bootstrap_kernels as bk
from vocmap.core.arguments import real_number, whole_number
from vocmap.core.detections import Detections
from vocmap.core.errors import VocmapError
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.results import EvalResult, json_float

DEFAULT_RESAMPLES = 1000
#: The most resamples taken (their draws are resamples x images numbers in memory).
MAX_RESAMPLES = 100_000
DEFAULT_LEVEL = 0.95
METHOD = "percentile"


@dataclass(frozen=True, eq=False)
class BootstrapInputs:
    """Every class's detections in visiting order with their outcomes (CSR by class),
    and the images holding its non-difficult objects."""

    classes: tuple[str, ...]
    n_images: int
    metric: int
    class_offsets: np.ndarray
    det_image: np.ndarray
    outcome: np.ndarray
    pos_offsets: np.ndarray
    pos_image: np.ndarray
    pos_count: np.ndarray


def bootstrap_inputs(
    result: EvalResult, ground_truth: GroundTruth, detections: Detections
) -> BootstrapInputs:
    """The arrays the replicates need, from a devkit evaluation and its inputs."""
    settings = result.settings
    if settings.metric not in ("voc07", "voc12") or not settings.semantics.is_devkit:
        raise VocmapError(
            "--ci bootstraps the devkit's AP (--metric voc07 or voc12, devkit semantics), "
            f"not {settings.metric} with {settings.semantics.name} semantics"
        )
    classes = tuple(result.classes)
    det_parts, outcome_parts, pos_images, pos_counts = [], [], [], []
    class_offsets, pos_offsets = [0], [0]
    for name in classes:
        r = result.classes[name]
        det_parts.append(detections[name].image_index[r.order].astype(np.int32))
        outcome_parts.append(r.outcome.astype(np.int8))
        class_offsets.append(class_offsets[-1] + r.detections)
        gt = ground_truth.for_class(name)
        per_image = np.bincount(
            np.repeat(np.arange(ground_truth.num_images), np.diff(gt.offsets))[~gt.difficult],
            minlength=ground_truth.num_images,
        )
        images = np.flatnonzero(per_image).astype(np.int32)
        pos_images.append(images)
        pos_counts.append(per_image[images].astype(np.int64))
        pos_offsets.append(pos_offsets[-1] + images.shape[0])

    def joined(parts: list, dtype) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return BootstrapInputs(
        classes=classes,
        n_images=ground_truth.num_images,
        metric=bk.METRIC_11POINT if settings.metric == "voc07" else bk.METRIC_AREA,
        class_offsets=np.array(class_offsets, dtype=np.int64),
        det_image=joined(det_parts, np.int32),
        outcome=joined(outcome_parts, np.int8),
        pos_offsets=np.array(pos_offsets, dtype=np.int64),
        pos_image=joined(pos_images, np.int32),
        pos_count=joined(pos_counts, np.int64),
    )


def resample_weights(n_images: int, resamples: int = DEFAULT_RESAMPLES, seed: int = 0):
    """(B, n_images) int32: how often each image is drawn in each resample."""
    resamples = whole_number(resamples, "resamples", 1, MAX_RESAMPLES)
    seed = whole_number(seed, "seed", 0)
    if n_images < 1:
        raise VocmapError("the bootstrap needs at least one image")
    draws = np.random.default_rng(seed).integers(0, n_images, size=(resamples, n_images))
    return bk.image_counts(draws, n_images)


def replicates(inputs: BootstrapInputs, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(class APs (B, K), mAPs (B,))`` of every resample."""
    aps = bk.replicate_aps(
        weights,
        inputs.class_offsets,
        inputs.det_image,
        inputs.outcome,
        inputs.pos_offsets,
        inputs.pos_image,
        inputs.pos_count,
        inputs.metric,
    )
    maps = bk.sequential_means(aps) if aps.shape[1] else np.full(aps.shape[0], np.nan)
    return aps, maps


def percentile_interval(
    values: np.ndarray, level: float, bounds: tuple[float, float] = (0.0, 1.0)
) -> tuple[float, float]:
    """The ``(1-level)/2`` and ``(1+level)/2`` quantiles of the finite replicates,
    held inside ``bounds`` (an AP's [0, 1]; [-1, 1] for a difference of two).

    Why the bounds are needed: the devkit's 11-point AP is ``ap = ap + p/11`` eleven
    times, and eleven additions of ``1/11`` give ``1.0000000000000002`` (the double
    nearest ``1/11`` lies above it, and the partial sums' roundings mostly go up). A class found perfectly
    in a resample has that replicate, and the upper quantile is then above 1. The
    replicate stays the devkit's number bit for bit (so does the point AP: the
    golden cases are ``==``); the interval, a statement about a quantity in [0, 1],
    is clipped where it is made.
    """
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.clip(np.quantile(finite, [(1 - level) / 2, (1 + level) / 2]), *bounds)
    return (float(lo), float(hi))


@dataclass(frozen=True)
class Intervals:
    """Bootstrap intervals of each class AP and of the mAP."""

    level: float
    resamples: int
    seed: int
    classes: dict[str, tuple[float, float]]
    map: tuple[float, float]
    method: str = METHOD

    def to_dict(self) -> dict:
        """The ``"ci"`` entry of a result JSON (NaN as null)."""

        def pair(values: tuple[float, float]) -> list:
            return [json_float(values[0]), json_float(values[1])]

        return {
            "level": self.level,
            "resamples": self.resamples,
            "seed": self.seed,
            "method": self.method,
            "classes": {name: pair(v) for name, v in self.classes.items()},
            "map": pair(self.map),
        }


def check_level(level: float) -> float:
    return real_number(level, "the interval level", 0.0, 1.0, low_open=True, high_open=True)


def bootstrap(
    result: EvalResult,
    ground_truth: GroundTruth,
    detections: Detections,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
) -> Intervals:
    """Percentile intervals of every class AP and of the mAP of ``result``."""
    level = check_level(level)
    inputs = bootstrap_inputs(result, ground_truth, detections)
    aps, maps = replicates(inputs, resample_weights(inputs.n_images, resamples, seed))
    return Intervals(
        level,
        resamples,
        seed,
        {name: percentile_interval(aps[:, k], level) for k, name in enumerate(inputs.classes)},
        percentile_interval(maps, level),
    )


def with_intervals(
    result: EvalResult,
    ground_truth: GroundTruth,
    detections: Detections,
    **options,
) -> EvalResult:
    """``result`` with its ``ci`` filled in (see :func:`bootstrap`)."""
    return replace(result, ci=bootstrap(result, ground_truth, detections, **options).to_dict())


def stored_intervals(data: dict, classes: Sequence[str]) -> dict[str, tuple[float, float]] | None:
    """``{class or "map": (lo, hi)}`` from a result JSON's ``"ci"`` (None if absent or
    malformed: a stored file is checked before it is trusted)."""
    ci = data.get("ci")
    if not isinstance(ci, dict) or not isinstance(ci.get("classes"), dict):
        return None
    out: dict[str, tuple[float, float]] = {}
    for name, value in [*((c, ci["classes"].get(c)) for c in classes), ("map", ci.get("map"))]:
        if value is None:
            continue
        if not (isinstance(value, list) and len(value) == 2):
            return None
        lo, hi = (float("nan") if v is None else v for v in value)
        if not all(isinstance(v, (int, float)) for v in (lo, hi)):
            return None
        out[name] = (float(lo), float(hi))
    return out
