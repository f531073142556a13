"""Named sets of evaluation rules ("semantics"). ``devkit`` is the official one.

Each preset is a handful of rules, not a copy of another code base: how the
detections are sorted, how the overlap is compared with the threshold, which
recall thresholds the 11-point AP uses and how it adds them up, how precision is
guarded against 0/0, the pixel convention, the number types, how difficult
objects are ordered, and which classes enter the mean. ``SEMANTICS.md``
tabulates them, with the sources they were read from and what is left out.
"""

from __future__ import annotations

import functools
import typing
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np

from vocmap.core.errors import VocmapError
from vocmap.core.kernels import MATLAB_RECALL_THRESHOLDS

FLOAT64_EPS = float(np.finfo(np.float64).eps)
FLOAT32_EPS = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class Semantics:
    """The rules of one evaluator (defaults: the VOC2007 devkit's).

    Attributes:
        name: preset name.
        summary: one line on whose numbers these are.
        score_dtype: "float64", or "float32": scores rounded to single precision
            before anything else (which can create ties).
        group_by_image: detections are first put in image-set order (keeping their
            order within an image), as when per-image results are concatenated.
        sort: "stable" (MATLAB ``sort``: file order breaks ties),
            "numpy-quicksort" (NumPy's default, unstable ``argsort`` of the negated
            scores, whose tie order depends on the NumPy version and the CPU) or
            "numpy-quicksort-reversed" (``argsort()[::-1]``: the ascending
            quicksort read backwards, so ties come out in another order again).
        sort_dtype: the dtype of the array NumPy sorts ("float64" or "float32").
        matching_order: "global" (detections are matched in the sorted order) or
            "per-image" (each image's detections are matched in their own
            per-image NumPy argsort order; the curve still uses the global order)
            or "per-image-concatenated" (the same per-image matching, and the
            curve sorts the concatenation of those per-image sequences, so
            their order decides ties).
        gt_coordinates: "float" (as written), "int" (truncated to an integer),
            or "int-minus-one" (truncated, then 1 subtracted; the detections
            move by -1 too, from the devkit's 1-based frame into the same
            0-based one).
        det_box_dtype: "float64", or "float32": detection coordinates rounded to
            single precision before matching.
        iou_dtype: "float64" or "float32" arithmetic for the overlaps, or
            "float32-detection-area": float64 but for the detection's area,
            computed in float32 (a float32 box array against an int64 one).
        pixel_offset: 1.0 for inclusive pixel sizes (``x2 - x1 + 1``).
        plus_one_on_corners: the pixel offset is added to ``x2`` and ``y2`` in
            the boxes' number type first, and sizes are then plain differences.
        intersection_plus_one: the intersection's sides get the pixel offset
            too (False: ``min(x2) - max(x1)`` while the areas keep the +1).
        overlap_candidates: "intersecting" (only boxes whose intersection has
            positive width and height compete; none: no match) or "all" (every
            object of the image competes, NumPy ``argmax``: the first maximum, a
            NaN overlap wins and passes the ``<`` threshold test).
        difficult_last: difficult objects are placed after the others of their
            image, so they lose overlap ties.
        strict_threshold: a match needs ``overlap > iou`` instead of ``>=``.
        precision_floor: 0 for the devkit's ``tp/(tp+fp)`` (0/0 is NaN); a
            positive ``eps`` gives ``tp / max(tp + fp, eps)``.
        max_skips_nan: the per-threshold maximum skips NaN precisions (MATLAB's
            ``max``) rather than propagating them (NumPy's ``max``).
        recall_thresholds: "matlab" (``0:0.1:1``), "arange"
            (``numpy.arange(0, 1.1, 0.1)``) or "linspace" (``numpy.linspace(0, 1, 11)``).
        ap_sum: "sequential" (``ap = ap + p/11`` per threshold) or
            "sum-then-divide" (``sum(p) / 11``).
        area_ap: the ``--metric voc12`` area: "sequential" (the devkit's sum,
            left to right), "numpy" (``numpy.sum``, pairwise) or "ssd_keras"
            (each distinct recall's precision envelope times the step to the
            next recall, ``numpy.sum``: the first step from 0 and the last
            recall's precisions are left out).
        ap_dtype: "float64", or "float32": counts, precision and the AP sum kept
            in single precision.
        ap_without_positives: "devkit" (computed as for any class: 0, or NaN in
            the area AP) or "nan" (a class with ``npos == 0`` has AP NaN).
        map_skips_classes_without_positives: classes with ``npos == 0`` are left
            out of the mean.
        map_mean: "sequential" (summed in class order, then divided), "numpy"
            (``numpy.mean``, pairwise summation; in float32 when ``ap_dtype`` is)
            or "numpy-nanmean" (``numpy.nanmean``: NaN APs left out, over the
            classes up to the last one that has objects or detections).
    """

    name: str
    summary: str
    score_dtype: Literal["float64", "float32"] = "float64"
    group_by_image: bool = False
    sort: Literal["stable", "numpy-quicksort", "numpy-quicksort-reversed"] = "stable"
    sort_dtype: Literal["float64", "float32"] = "float64"
    matching_order: Literal["global", "per-image", "per-image-concatenated"] = "global"
    gt_coordinates: Literal["float", "int", "int-minus-one"] = "float"
    det_box_dtype: Literal["float64", "float32"] = "float64"
    iou_dtype: Literal["float64", "float32", "float32-detection-area"] = "float64"
    pixel_offset: float = 1.0
    plus_one_on_corners: bool = False
    intersection_plus_one: bool = True
    overlap_candidates: Literal["intersecting", "all"] = "intersecting"
    difficult_last: bool = False
    strict_threshold: bool = False
    precision_floor: float = 0.0
    max_skips_nan: bool = True
    recall_thresholds: Literal["matlab", "arange", "linspace"] = "matlab"
    ap_sum: Literal["sequential", "sum-then-divide"] = "sequential"
    area_ap: Literal["sequential", "numpy", "ssd_keras"] = "sequential"
    ap_dtype: Literal["float64", "float32"] = "float64"
    ap_without_positives: Literal["devkit", "nan"] = "devkit"
    map_skips_classes_without_positives: bool = False
    map_mean: Literal["sequential", "numpy", "numpy-nanmean"] = "sequential"

    def thresholds(self) -> np.ndarray:
        """The 11 recall thresholds as float64."""
        if self.recall_thresholds == "matlab":
            return MATLAB_RECALL_THRESHOLDS
        if self.recall_thresholds == "arange":
            return np.arange(0.0, 1.1, 0.1)
        if self.recall_thresholds == "linspace":
            return np.linspace(0, 1, 11)
        raise ValueError(f"unknown recall thresholds {self.recall_thresholds!r}")

    def __post_init__(self) -> None:
        """Refuse a rule value outside its ``Literal`` choices (a typo would
        otherwise silently evaluate under another rule)."""
        for name, allowed in rule_choices().items():
            value = getattr(self, name)
            if value not in allowed or type(value) is not type(allowed[0]):
                raise VocmapError(
                    f"semantics {self.name!r}: {name} must be one of "
                    f"{', '.join(map(repr, allowed))}, not {value!r}"
                )
        if not (isinstance(self.pixel_offset, float) and self.pixel_offset in (0.0, 1.0)):
            raise VocmapError(f"semantics {self.name!r}: pixel_offset must be 1.0 or 0.0")
        if not (isinstance(self.precision_floor, float) and 0.0 <= self.precision_floor < 1.0):
            raise VocmapError(f"semantics {self.name!r}: precision_floor must be in [0, 1)")

    @property
    def is_devkit(self) -> bool:
        """True when every rule is the devkit's (whatever the name)."""
        return not self.differences(DEVKIT)

    def rules(self) -> dict[str, object]:
        """The rule values (every field but name and summary)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _LABELS}

    def differences(self, other: Semantics) -> list[str]:
        """Names of the rules (fields) on which ``self`` and ``other`` differ."""
        return [
            f.name
            for f in fields(self)
            if f.name not in _LABELS and getattr(self, f.name) != getattr(other, f.name)
        ]


_LABELS = ("name", "summary")


@functools.cache
def rule_choices() -> dict[str, tuple]:
    """Each ``Literal``-typed rule and its allowed values (booleans included)."""
    hints = typing.get_type_hints(Semantics)
    choices = {}
    for name, hint in hints.items():
        if typing.get_origin(hint) is Literal:
            choices[name] = typing.get_args(hint)
        elif hint is bool:
            choices[name] = (False, True)
    return choices


#: The order in which rules are switched when explaining a difference (compare.py):
#: from the way detections are read and sorted, through matching, to the AP and mean.
RULE_ORDER: tuple[str, ...] = (
    "score_dtype",
    "group_by_image",
    "sort",
    "sort_dtype",
    "matching_order",
    "gt_coordinates",
    "det_box_dtype",
    "iou_dtype",
    "pixel_offset",
    "plus_one_on_corners",
    "intersection_plus_one",
    "overlap_candidates",
    "difficult_last",
    "strict_threshold",
    "precision_floor",
    "max_skips_nan",
    "recall_thresholds",
    "ap_sum",
    "area_ap",
    "ap_dtype",
    "ap_without_positives",
    "map_skips_classes_without_positives",
    "map_mean",
)

DEVKIT = Semantics(
    name="devkit",
    summary="the official VOC2007 devkit, VOCevaldet.m under MATLAB (the default)",
)

PY_FASTER_RCNN = Semantics(
    name="py-faster-rcnn",
    summary="voc_eval of py-faster-rcnn, as copied into detectron2, ssd.pytorch and many YOLO repos",
    sort="numpy-quicksort",
    gt_coordinates="int",
    strict_threshold=True,
    precision_floor=FLOAT64_EPS,
    max_skips_nan=False,
    recall_thresholds="arange",
    area_ap="numpy",
    map_mean="numpy",
)

MMDET = Semantics(
    name="mmdet",
    summary="MMDetection's VOCMetric in 11-point mode (eval_map, legacy +1 coordinates)",
    score_dtype="float32",
    group_by_image=True,
    sort="numpy-quicksort",
    sort_dtype="float32",
    matching_order="per-image",
    gt_coordinates="int-minus-one",
    iou_dtype="float32",
    difficult_last=True,
    precision_floor=FLOAT32_EPS,
    max_skips_nan=False,
    recall_thresholds="arange",
    ap_sum="sum-then-divide",
    ap_dtype="float32",
    map_skips_classes_without_positives=True,
    map_mean="numpy",
)

SSD_KERAS = Semantics(
    name="ssd_keras",
    summary="pierluigiferrari/ssd_keras AveragePrecisionEvaluator with default settings",
    score_dtype="float32",
    sort="numpy-quicksort",
    sort_dtype="float32",
    gt_coordinates="int",
    det_box_dtype="float32",
    iou_dtype="float32-detection-area",
    intersection_plus_one=False,
    overlap_candidates="all",
    precision_floor=FLOAT64_EPS,
    max_skips_nan=False,
    recall_thresholds="linspace",
    ap_sum="sum-then-divide",
    area_ap="ssd_keras",
    map_mean="numpy",
)

CHAINERCV = Semantics(
    name="chainercv",
    summary="chainercv's eval_detection_voc (also vendored in lufficc/SSD)",
    score_dtype="float32",
    group_by_image=True,
    sort="numpy-quicksort-reversed",
    sort_dtype="float32",
    matching_order="per-image-concatenated",
    gt_coordinates="int-minus-one",
    iou_dtype="float32",
    plus_one_on_corners=True,
    overlap_candidates="all",
    precision_floor=FLOAT64_EPS,
    recall_thresholds="arange",
    area_ap="numpy",
    ap_without_positives="nan",
    map_mean="numpy-nanmean",
)

PRESETS: dict[str, Semantics] = {
    s.name: s for s in (DEVKIT, PY_FASTER_RCNN, MMDET, SSD_KERAS, CHAINERCV)
}


def get_semantics(name: str | Semantics) -> Semantics:
    """The preset called ``name`` (or ``name`` itself if it is a Semantics)."""
    if isinstance(name, Semantics):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise VocmapError(f"unknown semantics {name!r}; choose from {', '.join(PRESETS)}") from None
