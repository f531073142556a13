"""AP-by-step tables rendered: text, markdown, CSV or JSON, with a reference beside."""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from vocmap.core.results import json_float, map_label, subset_scope
from vocmap.report.text import format_number, render_table
from vocmap.runs.tables import APTable, Pairing, pair_tables


def _fmt(value: float, digits: int) -> str:
    return format_number(value, digits, nan="")


def render(
    table: APTable,
    style: str = "text",
    digits: int = 4,
    reference: APTable | None = None,
) -> str:
    """The table as text, markdown, csv or json; ``reference`` adds its columns.

    Rows are ``<class> AP`` then ``mAP`` (``mAP (5 classes)`` when the stored results
    left classes of the ground truth out). A column that holds another checkpoint
    than its step (``--best-per``) is headed ``<step>: <checkpoint>``. With a
    reference (e.g. the published run), only the steps and classes both have are
    set beside (:func:`vocmap.runs.tables.pair_tables`, which refuses when there
    are none), headed ``<label> <step>``, then the difference at the last step both
    have; the mAPs only when they are means over the same classes. A table is never
    shown with more decimals than its source has (the published one has 4).
    """
    pairing = pair_tables(table, reference) if reference is not None else None
    if style == "json":
        return _to_json(table, pairing)
    if style == "csv":
        digits = -1  # exact values: repr
    own = _digits(table, digits)
    header = ["class", *_headers(table, style)]
    if pairing is not None:
        ref = pairing.reference
        theirs = _digits(ref, digits)
        header += [f"{ref.label} {h}" for h in _headers(ref, style)]
        header.append(f"diff ({pairing.steps[-1]})")
        k_mine, k_ref = table.steps.index(pairing.steps[-1]), len(ref.steps) - 1
    if table.ci is not None and style == "csv":  # intervals as columns of their own
        header += [f"{s} ci {end}" for s in table.steps for end in ("lo", "hi")]
    rows = []
    for i, cls in enumerate(table.classes):
        cells = _with_intervals(table, i, [_fmt(v, own) for v in table.ap[i]], style, own)
        if pairing is not None:
            ref_values = _reference_row(pairing.reference, cls)
            cells += [_fmt(v, theirs) for v in ref_values]
            cells.append(_signed(table.ap[i, k_mine] - ref_values[k_ref], min(own, theirs)))
        rows.append([f"{cls} AP" if style != "csv" else cls, *cells, *_csv_bounds(table, i, style)])
    map_cells = _with_intervals(
        table, len(table.classes), [_fmt(v, own) for v in table.map], style, own
    )
    if pairing is not None:
        if pairing.map_compared:
            map_cells += [_fmt(v, theirs) for v in pairing.reference.map]
            map_cells.append(
                _signed(table.map[k_mine] - pairing.reference.map[k_ref], min(own, theirs))
            )
        else:
            map_cells += [""] * (len(pairing.reference.steps) + 1)
    label = map_label(len(table.classes), table.left_out)
    rows.append([label, *map_cells, *_csv_bounds(table, len(table.classes), style)])
    if style == "csv":
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
        return buffer.getvalue()
    return render_table(header, rows, style=style, title=_title(table, pairing) or None)


def _title(table: APTable, pairing: Pairing | None) -> str:
    """The label, then how the columns were made, what the mAP covers, the pairing."""
    notes = [table.note] if table.note else []
    scope = subset_scope(len(table.classes), table.left_out)
    if scope:
        notes.append(f"{map_label(len(table.classes), table.left_out)}: {scope}")
    if pairing is not None:
        notes.append(pairing.note)
        if pairing.reference.note:
            notes.append(f"{pairing.reference.label}: {pairing.reference.note}")
    title = table.label or ""
    if notes:
        title = f"{title} ({'; '.join(notes)})" if title else "; ".join(notes)
    if table.ci is not None:
        title += f"{'; ' if title else ''}[{(table.ci_level or 0.95) * 100:g}% bootstrap intervals]"
    return title


def _digits(table: APTable, digits: int) -> int:
    """``digits``, but never more than the table's source has (exact stays exact)."""
    if table.digits is None:
        return digits
    return table.digits if digits < 0 else min(digits, table.digits)


def _headers(table: APTable, style: str) -> list[str]:
    """Column heads: the step, or ``<step>: <checkpoint>`` where a column holds another
    checkpoint (the CSV, which must read back as steps, gives the checkpoint)."""
    if table.checkpoints is None:
        return [str(s) for s in table.steps]
    if style == "csv":
        return [str(c) for c in table.checkpoints]
    return [str(s) if s == c else f"{s}: {c}" for s, c in zip(table.steps, table.checkpoints)]


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


def _to_json(table: APTable, pairing: Pairing | None) -> str:
    def clean(values) -> list:
        return [json_float(v) for v in values]

    def as_dict(t: APTable) -> dict:
        out: dict = {
            "label": t.label,
            "note": t.note,
            "steps": list(t.steps),
            "classes": {c: clean(t.ap[i]) for i, c in enumerate(t.classes)},
            "mAP": clean(t.map),
        }
        if t.checkpoints is not None:
            out["checkpoints"] = list(t.checkpoints)
        if t.left_out:
            out["map_left_out"] = list(t.left_out)
        if t.ci is not None:
            out["ci"] = {
                "level": t.ci_level,
                "classes": {c: [clean(p) for p in t.ci[i]] for i, c in enumerate(t.classes)},
                "mAP": [clean(p) for p in t.ci[-1]],
            }
        return out

    data = as_dict(table)
    if pairing is not None:
        data["reference"] = as_dict(pairing.reference)
        data["compared"] = {
            "steps": list(pairing.steps),
            "classes": list(pairing.classes),
            "map": pairing.map_compared,
            "note": pairing.note,
        }
    return json.dumps(data, indent=1) + "\n"
