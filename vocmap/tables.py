"""AP-by-step tables: choosing columns, best-per-window, and rendering.

The published summary has one row per class, one column per step, ``mAP`` last;
its columns are "the best value within each 20k-step window" and the final model.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence

import numpy as np

from vocmap.errors import VocmapError
from vocmap.report import render_table
from vocmap.runs import APTable


def select_steps(
    table: APTable, steps: Sequence[int] | None = None, every: int | None = None
) -> APTable:
    """Keep the given steps, or the multiples of ``every`` (the last step is kept too)."""
    chosen = list(table.steps)
    if steps:
        missing = sorted(set(steps) - set(table.steps))
        if missing:
            raise VocmapError(f"steps not in the table: {', '.join(map(str, missing))}")
        chosen = sorted(set(steps))
    elif every:
        chosen = [s for s in table.steps if s % every == 0]
        if table.steps and table.steps[-1] not in chosen:
            chosen.append(table.steps[-1])
    index = [table.steps.index(s) for s in chosen]
    return APTable(
        tuple(chosen), table.classes, table.ap[:, index], table.map[index], table.label, table.note
    )


def best_per_window(table: APTable, window: int) -> APTable:
    """One column per complete window ``((k-1)*window, k*window]``: each class's best AP.

    The published summary's layout: a column for every window end up to the last
    step, holding each class's best AP within that window, and the last step's own
    values (the final model) in a last column when it does not end a window. A
    window's mAP is the mean of its column's class values (each class may peak at a
    different step), as published.
    """
    if window <= 0:
        raise VocmapError("--best-per needs a positive step count")
    steps = np.array(table.steps)
    last = int(steps[-1])
    columns, maps, labels = [], [], []
    for end in range(window, last + 1, window):
        inside = (steps > end - window) & (steps <= end)
        if not inside.any():
            continue
        block = table.ap[:, inside]
        best = np.array([np.nan if np.all(np.isnan(r)) else np.nanmax(r) for r in block])
        columns.append(best)
        maps.append(_mean(best))
        labels.append(end)
    if not labels or labels[-1] != last:
        columns.append(table.ap[:, -1])
        maps.append(float(table.map[-1]))
        labels.append(last)
    return APTable(
        tuple(labels),
        table.classes,
        np.stack(columns, axis=1),
        np.array(maps),
        table.label,
        f"best value within each {window}-step window; the last column is the final step",
    )


def _mean(values: np.ndarray) -> float:
    total = 0.0
    for v in values:
        total += float(v)
    return total / len(values) if len(values) else math.nan


def _fmt(value: float, digits: int) -> str:
    if math.isnan(value):
        return ""
    return repr(float(value)) if digits < 0 else f"{value:.{digits}f}"


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
    rows = []
    for i, cls in enumerate(rows_classes):
        cells = [_fmt(v, digits) for v in table.ap[i]]
        if reference is not None:
            ref_values = _reference_row(reference, cls)
            cells += [_fmt(v, digits) for v in ref_values]
            cells.append(_signed(table.ap[i, -1] - ref_values[-1], digits))
        rows.append([f"{cls} AP" if style != "csv" else cls, *cells])
    map_cells = [_fmt(v, digits) for v in table.map]
    if reference is not None:
        map_cells += [_fmt(v, digits) for v in reference.map]
        map_cells.append(_signed(table.map[-1] - reference.map[-1], digits))
    rows.append(["mAP", *map_cells])
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
    return render_table(header, rows, style=style, title=title or None)


def _signed(value: float, digits: int) -> str:
    if math.isnan(value):
        return ""
    return repr(float(value)) if digits < 0 else f"{value:+.{digits}f}"


def _reference_row(reference: APTable, cls: str) -> np.ndarray:
    if cls in reference.classes:
        return reference.ap[reference.classes.index(cls)]
    return np.full(len(reference.steps), np.nan)


def _to_json(table: APTable, reference: APTable | None) -> str:
    def clean(values) -> list:
        return [None if math.isnan(v) else float(v) for v in values]

    def as_dict(t: APTable) -> dict:
        return {
            "label": t.label,
            "note": t.note,
            "steps": list(t.steps),
            "classes": {c: clean(t.ap[i]) for i, c in enumerate(t.classes)},
            "mAP": clean(t.map),
        }

    data = as_dict(table)
    if reference is not None:
        data["reference"] = as_dict(reference)
    return json.dumps(data, indent=1) + "\n"
