"""AP-by-step tables rendered: text, markdown, CSV or JSON, with a reference beside."""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from vocmap.core.results import json_float
from vocmap.report.text import format_number, render_table
from vocmap.runs.tables import APTable


def _fmt(value: float, digits: int) -> str:
    return format_number(value, digits, nan="")


def render(
    table: APTable,
    style: str = "text",
    digits: int = 4,
    reference: APTable | None = None,
) -> str:
    """The table as text, markdown, csv or json; ``reference`` adds its columns.

    Rows are ``<class> AP`` then ``mAP``. With a reference (e.g. the published run),
    its columns follow, headed ``<label> <step>``, and a last column gives this
    table's last value minus the reference's last.
    """
    if style == "json":
        return _to_json(table, reference)
    if style == "csv":
        digits = -1  # exact values: repr
    rows_classes = list(table.classes)
    header = ["class"] + [str(s) for s in table.steps]
    if reference is not None:
        header += [f"{reference.label} {s}" for s in reference.steps]
        header.append("diff (last)")
    if table.ci is not None and style == "csv":  # intervals as columns of their own
        header += [f"{s} ci {end}" for s in table.steps for end in ("lo", "hi")]
    rows = []
    for i, cls in enumerate(rows_classes):
        cells = _with_intervals(table, i, [_fmt(v, digits) for v in table.ap[i]], style, digits)
        if reference is not None:
            ref_values = _reference_row(reference, cls)
            cells += [_fmt(v, digits) for v in ref_values]
            cells.append(_signed(table.ap[i, -1] - ref_values[-1], digits))
        rows.append([f"{cls} AP" if style != "csv" else cls, *cells, *_csv_bounds(table, i, style)])
    map_cells = _with_intervals(
        table, len(rows_classes), [_fmt(v, digits) for v in table.map], style, digits
    )
    if reference is not None:
        map_cells += [_fmt(v, digits) for v in reference.map]
        map_cells.append(_signed(table.map[-1] - reference.map[-1], digits))
    rows.append(["mAP", *map_cells, *_csv_bounds(table, len(rows_classes), style)])
    if style == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
        return buffer.getvalue()
    title = table.label or ""
    if table.note:
        title = f"{title} ({table.note})" if title else table.note
    if table.ci is not None:
        title += f"{'; ' if title else ''}[{(table.ci_level or 0.95) * 100:g}% bootstrap intervals]"
    return render_table(header, rows, style=style, title=title or None)


def _with_intervals(
    table: APTable, row: int, cells: list[str], style: str, digits: int
) -> list[str]:
    """Cells with the row's stored intervals, ``AP [lo, hi]`` (text and markdown; CSV
    has them as extra last columns, see :func:`_csv_bounds`)."""
    if table.ci is None:
        return cells
    bounds = table.ci[row]
    if style == "csv":
        return cells
    return [
        f"{cell} [{_fmt(lo, digits)}, {_fmt(hi, digits)}]" if cell and not np.isnan(lo) else cell
        for cell, (lo, hi) in zip(cells, bounds)
    ]


def _csv_bounds(table: APTable, row: int, style: str) -> list[str]:
    if table.ci is None or style != "csv":
        return []
    return [_fmt(v, -1) for pair in table.ci[row] for v in pair]


def _signed(value: float, digits: int) -> str:
    return format_number(value, digits, nan="", sign=True)


def _reference_row(reference: APTable, cls: str) -> np.ndarray:
    if cls in reference.classes:
        return reference.ap[reference.classes.index(cls)]
    return np.full(len(reference.steps), np.nan)


def _to_json(table: APTable, reference: APTable | None) -> str:
    def clean(values) -> list:
        return [json_float(v) for v in values]

    def as_dict(t: APTable) -> dict:
        out = {
            "label": t.label,
            "note": t.note,
            "steps": list(t.steps),
            "classes": {c: clean(t.ap[i]) for i, c in enumerate(t.classes)},
            "mAP": clean(t.map),
        }
        if t.ci is not None:
            out["ci"] = {
                "level": t.ci_level,
                "classes": {c: [clean(p) for p in t.ci[i]] for i, c in enumerate(t.classes)},
                "mAP": [clean(p) for p in t.ci[-1]],
            }
        return out

    data = as_dict(table)
    if reference is not None:
        data["reference"] = as_dict(reference)
    return json.dumps(data, indent=1) + "\n"
