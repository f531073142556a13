"""Text tables of results, shaped like the published VOC summaries (mAP last)."""

from __future__ import annotations

import math

from vocmap.results import EvalResult


def _fmt(value: float, digits: int = 4) -> str:
    return "nan" if math.isnan(value) else f"{value:.{digits}f}"


def format_result(result: EvalResult, style: str = "text", digits: int = 4) -> str:
    """One row per class (AP, ground truths, detections, TP, FP, recall), mAP last.

    ``style`` is "text" (aligned columns under a title line) or "markdown".
    """
    header = ["class", "AP", "gts", "dets", "TP", "FP", "recall"]
    rows = [
        [
            name,
            _fmt(r.ap, digits),
            str(r.npos),
            str(r.detections),
            str(r.tp),
            str(r.fp),
            _fmt(r.final_recall, digits),
        ]
        for name, r in result.classes.items()
    ]
    rows.append(["mAP", _fmt(result.map, digits), "", "", "", "", ""])
    title = result.label
    if result.dropped_unknown:
        title += f"; {result.dropped_unknown} line(s) for images outside the image set dropped"
    return render_table(header, rows, style=style, title=title)


def render_table(
    header: list[str], rows: list[list[str]], style: str = "text", title: str | None = None
) -> str:
    """Render string cells: first column left-aligned, the others right-aligned."""
    if style == "markdown":
        lines = [f"**{title}**", ""] if title else []
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    if style != "text":
        raise ValueError(f"unknown table style {style!r}")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(w) for cell, w in zip(cells[1:], widths[1:])]
        return "  ".join([first, *rest]).rstrip()

    lines = [title] if title else []
    lines.append(line(header))
    lines += [line(row) for row in rows]
    return "\n".join(lines) + "\n"
