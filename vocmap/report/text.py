"""Text tables of results, shaped like the published VOC summaries (mAP last)."""

from __future__ import annotations

import math

from vocmap.core.results import EvalResult


def format_number(value: float, digits: int = 4, nan: str = "nan", sign: bool = False) -> str:
    """``value`` with ``digits`` decimals (exact ``repr`` when digits < 0); ``nan``
    for NaN; a leading ``+`` on non-negative values with ``sign``."""
    value = float(value)
    if math.isnan(value):
        return nan
    if digits < 0:
        return repr(value)
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def format_result(result: EvalResult, style: str = "text", digits: int = 4) -> str:
    """One row per class (AP, ground truths, detections, TP, FP, recall), mAP last.

    ``style`` is "text" (aligned columns under a title line) or "markdown".
    """
    from vocmap.core.arguments import whole_number
    from vocmap.core.errors import VocmapError

    if not isinstance(style, str) or style not in ("text", "markdown"):
        raise VocmapError(f"style must be 'text' or 'markdown', not {style!r:.60}")
    digits = whole_number(digits, "digits", 0, 17)
    header = ["class", "AP", "gts", "dets", "TP", "FP", "recall"]
    rows = [
        [
            name,
            format_number(r.ap, digits),
            str(r.npos),
            str(r.detections),
            str(r.tp),
            str(r.fp),
            format_number(r.final_recall, digits),
        ]
        for name, r in result.classes.items()
    ]
    rows.append([result.map_row_label, format_number(result.map, digits), "", "", "", "", ""])
    title = result.label
    if result.map_scope is not None:
        title += f"; {result.map_row_label}: {result.map_scope}"
    if result.dropped_unknown:
        title += f"; {result.dropped_unknown} line(s) for images outside the image set dropped"
    intervals = ci_column(result, digits)
    if intervals is not None:  # bootstrap intervals (--ci), beside the AP
        header.insert(2, intervals[0])
        for row, cell in zip(rows, intervals[1]):
            row.insert(2, cell)
        title += f"; {ci_note(result)}"
    return render_table(header, rows, style=style, title=title) + coco_summary_lines(result)


def interval_text(pair, digits: int = 4) -> str:
    """``[lo, hi]`` of a stored interval (``null`` as nan)."""
    lo, hi = (float("nan") if v is None else float(v) for v in pair)
    return f"[{format_number(lo, digits)}, {format_number(hi, digits)}]"


def ci_column(result: EvalResult, digits: int = 4) -> tuple[str, list[str]] | None:
    """The interval column of a result table (header, one cell per class then the mAP),
    or None when the result holds no intervals."""
    ci = result.ci
    if not ci:
        return None
    cells = [
        interval_text(ci["classes"].get(name, [None, None]), digits) for name in result.classes
    ]
    cells.append(interval_text(ci["map"], digits))
    return f"{ci['level'] * 100:g}% CI", cells


def ci_note(result: EvalResult) -> str:
    ci = result.ci or {}
    return (
        f"{ci.get('method', 'percentile')} bootstrap over the images: "
        f"{ci.get('resamples')} resamples, seed {ci.get('seed')}"
    )


def coco_summary_lines(result: EvalResult) -> str:
    """pycocotools' summarize() lines (its own format) for ``--metric coco``."""
    if not result.summary or result.metric != "coco":
        return ""
    rows = [
        ("Average Precision", "(AP)", "0.50:0.95", "all", 100, "AP"),
        ("Average Precision", "(AP)", "0.50", "all", 100, "AP50"),
        ("Average Precision", "(AP)", "0.75", "all", 100, "AP75"),
        ("Average Precision", "(AP)", "0.50:0.95", "small", 100, "APs"),
        ("Average Precision", "(AP)", "0.50:0.95", "medium", 100, "APm"),
        ("Average Precision", "(AP)", "0.50:0.95", "large", 100, "APl"),
        ("Average Recall", "(AR)", "0.50:0.95", "all", 1, "AR1"),
        ("Average Recall", "(AR)", "0.50:0.95", "all", 10, "AR10"),
        ("Average Recall", "(AR)", "0.50:0.95", "all", 100, "AR100"),
        ("Average Recall", "(AR)", "0.50:0.95", "small", 100, "ARs"),
        ("Average Recall", "(AR)", "0.50:0.95", "medium", 100, "ARm"),
        ("Average Recall", "(AR)", "0.50:0.95", "large", 100, "ARl"),
    ]
    lines = [
        f" {title:<18} {kind} @[ IoU={iou:<9} | area={area:>6s} | maxDets={m:>3d} ] = "
        f"{result.summary[key]:0.3f}"
        for title, kind, iou, area, m, key in rows
    ]
    return "\n".join(lines) + "\n"


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


def format_comparison(comparison, digits: int = 4) -> str:
    """Two semantics side by side per class, then the reasons for every difference."""
    a, b = comparison.a.name, comparison.b.name
    header = ["class", a, b, "diff", "why"]
    rows = []
    for c in comparison.classes:
        diff = "" if not c.differs else f"{c.ap_b - c.ap_a:+.{digits}f}"
        if c.differs and (math.isnan(c.ap_a) or math.isnan(c.ap_b)):
            diff = "nan"
        why = ", ".join(dict.fromkeys(r.rule for r in c.reasons))
        rows.append(
            [c.name, format_number(c.ap_a, digits), format_number(c.ap_b, digits), diff, why]
        )
    map_a, map_b = comparison.result_a.map, comparison.result_b.map
    map_diff = "" if map_a == map_b else f"{map_b - map_a:+.{digits}f}"
    if math.isnan(map_a) != math.isnan(map_b):
        map_diff = "nan"
    rows.append(
        [
            comparison.result_a.map_row_label,
            format_number(map_a, digits),
            format_number(map_b, digits),
            map_diff,
            ", ".join(r.rule for r in comparison.map_reasons),
        ]
    )
    title = (
        f"{a} vs {b}: {comparison.result_a.label.split(' at ')[0]}, IoU {comparison.result_a.iou:g}"
    )
    if comparison.result_a.map_scope is not None:
        title += f"; {comparison.result_a.map_row_label}: {comparison.result_a.map_scope}"
    text = render_table(header, rows, title=title)
    differing = [c for c in comparison.classes if c.differs]
    lines = [
        "",
        f"{len(differing)} of {len(comparison.classes)} classes differ"
        + (
            f"; unexplained: {', '.join(comparison.unexplained)}"
            if comparison.unexplained
            else "; every one is explained below."
        ),
    ]
    for c in differing:
        lines.append(f"{c.name}: {format_number(c.ap_a, 6)} -> {format_number(c.ap_b, 6)}")
        for r in c.reasons:
            where = (
                f" (lines {', '.join(map(str, r.lines))}{'...' if sum(r.flips.values()) > len(r.lines) else ''})"
                if r.lines
                else ""
            )
            lines.append(f"  {r.delta:+.2e}  {r.text}{where}")
    for r in comparison.map_reasons:
        lines.append(f"mAP: {r.delta:+.2e}  {r.text}")
    return text + "\n".join(lines) + "\n"
