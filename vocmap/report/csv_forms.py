"""Per-class numbers as CSV, for every command whose JSON has per-class entries
(``compare``, ``compare-runs``, ``diagnose``): ``--csv`` means the same everywhere.

One row per class, then one row for the whole (the mAP row); the columns are the
scalar fields of the JSON entries, nested keys joined by ``.`` (``dap.Loc``) and
list items numbered (``ci.0``, ``ci.1``). Floats in ``repr`` form (they read back
to the same doubles), NaN (``null`` in the JSON) as ``nan``, as ``evaluate --csv``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping


def _flat(entry: object, prefix: str = "") -> dict[str, object]:
    if isinstance(entry, Mapping):
        out: dict[str, object] = {}
        for key, value in entry.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    if isinstance(entry, (list, tuple)):
        if any(isinstance(v, (Mapping, list, tuple)) for v in entry):
            return {}  # lists of records (reasons, errors) are the JSON's, not a column
        out = {}
        for k, value in enumerate(entry):
            out.update(_flat(value, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: entry}


def _cell(value: object) -> str:
    if value is None:
        return "nan"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def per_class_csv(
    classes: Mapping[str, object], total: Mapping[str, object] | None = None, total_label="mAP"
) -> str:
    """``class,<columns...>``: a row per entry of ``classes`` (in order), then
    ``total`` labelled ``total_label`` when given (its cells empty where it has no
    such column)."""
    rows = [(name, _flat(entry)) for name, entry in classes.items()]
    if total is not None:
        rows.append((total_label, _flat(total)))
    columns: list[str] = []
    for _, row in rows:
        columns += [c for c in row if c not in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["class", *columns])
    for name, row in rows:
        writer.writerow([name, *(_cell(row[c]) if c in row else "" for c in columns)])
    return buffer.getvalue()
