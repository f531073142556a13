"""The operating-point table (``vocmap evaluate --operating-point`` / ``--threshold``)."""

from __future__ import annotations

import math

from vocmap.analysis.operating_point import OperatingPoint, OperatingPoints
from vocmap.core.errors import display_text
from vocmap.report.text import format_number, render_table

HEADER = ["class", "threshold", "dets", "TP", "FP", "ignored", "npos", "precision", "recall", "F1"]


def _row(point: OperatingPoint, digits: int) -> list[str]:
    threshold = "-" if math.isnan(point.threshold) else repr(point.threshold)
    return [
        display_text(point.name),
        threshold,
        str(point.detections),
        str(point.tp),
        str(point.fp),
        str(point.ignored),
        str(point.npos),
        format_number(point.precision, digits),
        format_number(point.recall, digits),
        format_number(point.f1, digits),
    ]


def format_operating_points(points: OperatingPoints, style: str = "text", digits: int = 4) -> str:
    """One row per class, then the micro row (counts added over the classes)."""
    if points.threshold is None:
        title = "operating point: each class at the score threshold with the best F1 (kept: score >= threshold)"
    else:
        title = f"operating point: every class at score >= {points.threshold!r}"
    rows = [_row(p, digits) for p in points.classes.values()]
    rows.append(_row(points.micro, digits))
    return render_table(HEADER, rows, style=style, title=title)
