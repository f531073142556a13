"""Named sets of evaluation rules ("semantics"). ``devkit`` is the official one.

Each preset is a handful of rules, not a copy of another code base: how the
detections are sorted, how the overlap is compared with the threshold, which
recall thresholds the 11-point AP uses and how it adds them up, how precision
is guarded against 0/0, the pixel convention, the number types, how difficult
objects are ordered, and which classes enter the mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vocmap.errors import VocmapError


@dataclass(frozen=True)
class Semantics:
    """The rules of one evaluator.

    Attributes:
        name: preset name.
        summary: one line on whose numbers these are.
        sort: "stable" (MATLAB ``sort``, file order breaks ties) or
            "numpy-quicksort" (NumPy's default, unstable ``argsort`` of the
            negated scores).
        score_dtype: "float64", or "float32" (scores rounded to single precision
            before sorting).
        strict_threshold: a match needs ``overlap > iou`` instead of ``>=``.
        recall_thresholds: "matlab" (``0:0.1:1``), "arange"
            (``numpy.arange(0, 1.1, 0.1)``) or "linspace" (``numpy.linspace(0, 1, 11)``).
        ap_sum: "sequential" (``ap = ap + p/11`` per threshold) or
            "sum-then-divide" (``sum(p) / 11``).
        precision_floor: 0 for the devkit's ``tp/(tp+fp)``; ``eps`` gives
            ``tp / max(tp + fp, eps)``.
        pixel_offset: 1.0 for inclusive pixel sizes (``x2 - x1 + 1``).
        gt_coordinates: "float" (as written), "int" (``int(text)``), or
            "int-minus-one" (truncated to an integer, then 1 subtracted).
        iou_dtype: "float64" or "float32".
        difficult_last: difficult objects are placed after the others of their
            image, so they lose overlap ties.
        map_skips_classes_without_positives: classes with ``npos == 0`` are left
            out of the mean.
    """

    name: str
    summary: str
    sort: str = "stable"
    score_dtype: str = "float64"
    strict_threshold: bool = False
    recall_thresholds: str = "matlab"
    ap_sum: str = "sequential"
    precision_floor: float = 0.0
    pixel_offset: float = 1.0
    gt_coordinates: str = "float"
    iou_dtype: str = "float64"
    difficult_last: bool = False
    map_skips_classes_without_positives: bool = False
    notes: tuple[str, ...] = field(default=())

    def thresholds(self) -> np.ndarray:
        """The 11 recall thresholds as float64."""
        from vocmap.kernels import MATLAB_RECALL_THRESHOLDS

        if self.recall_thresholds == "matlab":
            return MATLAB_RECALL_THRESHOLDS
        if self.recall_thresholds == "arange":
            return np.arange(0.0, 1.1, 0.1)
        if self.recall_thresholds == "linspace":
            return np.linspace(0, 1, 11)
        raise ValueError(self.recall_thresholds)


DEVKIT = Semantics(
    name="devkit",
    summary="the official VOC2007 devkit (VOCevaldet.m under MATLAB)",
)

PRESETS: dict[str, Semantics] = {DEVKIT.name: DEVKIT}


def get_semantics(name: str | Semantics) -> Semantics:
    """The preset called ``name`` (or ``name`` itself if it is a Semantics)."""
    if isinstance(name, Semantics):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise VocmapError(f"unknown semantics {name!r}; choose from {', '.join(PRESETS)}") from None
