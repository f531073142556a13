"""What an evaluation computes: the metric, the overlap threshold and the rules.

An :class:`EvalSettings` travels with every result, so the number it labels, the
folder it is stored in and the comparison of two results all read from one place.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Literal

from vocmap.core.errors import VocmapError
from vocmap.core.semantics import DEVKIT, PRESETS, Semantics, get_semantics

Metric = Literal["voc07", "voc12", "coco50", "coco"]
METRICS: tuple[Metric, ...] = ("voc07", "voc12", "coco50", "coco")
#: pycocotools' COCOeval numbers (their own matching and 101-point AP; no semantics).
COCO_METRICS: tuple[Metric, ...] = ("coco50", "coco")
METRIC_LABELS: dict[str, str] = {
    "voc07": "VOC2007 11-point AP",
    "voc12": "VOC2010+ area AP",
    "coco50": "COCO AP50 (pycocotools: 101-point, COCO matching, difficult as crowd)",
    "coco": "COCO AP@[.5:.95] (pycocotools: 101-point, COCO matching, difficult as crowd)",
}


@dataclass(frozen=True)
class EvalSettings:
    """The metric (``voc07``: 11-point; ``voc12``: area under the precision
    envelope), the IoU threshold, and the semantics (rule set).

    ``EvalSettings()`` is the official VOC2007 number.
    """

    metric: Metric = "voc07"
    iou: float = 0.5
    semantics: Semantics = DEVKIT

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise VocmapError(f"unknown metric {self.metric!r}; choose from {', '.join(METRICS)}")
        iou = self.iou
        if isinstance(iou, bool) or not isinstance(iou, (int, float)):
            raise VocmapError(f"iou must be a number in (0, 1], not {iou!r}")
        if not (math.isfinite(iou) and 0.0 < iou <= 1.0):
            raise VocmapError(f"iou must be in (0, 1], not {iou!r}")
        object.__setattr__(self, "iou", float(iou))
        if not isinstance(self.semantics, Semantics):
            object.__setattr__(self, "semantics", get_semantics(self.semantics))
        if self.metric in COCO_METRICS:
            if self.iou != 0.5:
                raise VocmapError(f"--metric {self.metric} has its own IoU thresholds; drop --iou")
            if self.semantics.name != "devkit" or not self.semantics.is_devkit:
                raise VocmapError(
                    f"--metric {self.metric} follows pycocotools' rules; --semantics does not apply"
                )

    @classmethod
    def create(
        cls, metric: str = "voc07", iou: float = 0.5, semantics: str | Semantics = "devkit"
    ) -> EvalSettings:
        """Settings from loose values (a preset name or a Semantics)."""
        return cls(metric, iou, get_semantics(semantics))  # type: ignore[arg-type]

    @property
    def is_voc2007(self) -> bool:
        """True for the official VOC2007 number (11-point, IoU 0.5, devkit rules)."""
        return self.metric == "voc07" and self.iou == 0.5 and self.semantics.is_devkit

    @property
    def semantics_name(self) -> str:
        return self.semantics.name

    @property
    def semantics_tag(self) -> str:
        """The semantics' name, with a hash of its rules when they are not the
        preset's of that name (a custom or modified rule set)."""
        preset = PRESETS.get(self.semantics.name)
        if preset is not None and not preset.differences(self.semantics):
            return self.semantics.name
        rules = json.dumps(self.semantics.rules(), sort_keys=True)
        return f"{self.semantics.name}~{hashlib.sha256(rules.encode()).hexdigest()[:8]}"

    @property
    def key(self) -> str:
        """A folder name for results under these settings (``voc07`` for the official)."""
        if self.is_voc2007 and self.semantics_tag == "devkit":
            return "voc07"
        if self.metric in COCO_METRICS:
            return self.metric
        return f"{self.metric}-iou{self.iou:g}-{self.semantics_tag}"

    @property
    def label(self) -> str:
        """A title that says which number this is, and when it is not VOC2007's."""
        if self.metric in COCO_METRICS:
            return f"{METRIC_LABELS[self.metric]} (not the VOC2007 devkit's number)"
        comparison = ">" if self.semantics.strict_threshold else ">="
        text = f"{METRIC_LABELS[self.metric]} at IoU {comparison} {self.iou:g}"
        if self.semantics.name != "devkit" or not self.semantics.is_devkit:
            text += f", {self.semantics.name} semantics"
        if not self.is_voc2007:
            text += " (not the VOC2007 devkit's number)"
        return text

    @property
    def axis_label(self) -> str:
        """A short label for a plot's AP axis."""
        if self.metric in COCO_METRICS:
            return (
                "AP (COCO AP50, pycocotools)"
                if self.metric == "coco50"
                else "AP (COCO AP@[.5:.95])"
            )
        kind = "VOC2007 11-point" if self.metric == "voc07" else "VOC2010+ area"
        extra = "" if self.semantics.name == "devkit" else f", {self.semantics.name} semantics"
        return f"AP ({kind}, IoU {self.iou:g}{extra})"

    def to_dict(self) -> dict:
        """``{"metric", "iou", "semantics", "semantics_tag"}`` (JSON-ready), and
        ``"rules"`` (a hash of every rule's value) when they are not the devkit's, so
        that a number stored under a preset's earlier rules is not taken for today's."""
        data: dict[str, object] = {
            "metric": self.metric,
            "iou": self.iou,
            "semantics": self.semantics.name,
            "semantics_tag": self.semantics_tag,
        }
        if not self.semantics.is_devkit:
            rules = json.dumps(self.semantics.rules(), sort_keys=True)
            data["rules"] = hashlib.sha256(rules.encode()).hexdigest()[:16]
        return data
