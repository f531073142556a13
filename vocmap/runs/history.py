"""``history.csv``: the loss log of a run (the columns are the run-folder contract's).

:class:`HistoryLog` writes it (ssd_ref's trainer); :func:`read_history` reads it
as float columns (tables, plots, notes); :func:`lr_drops` finds where the
learning rate fell.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import numpy as np

from vocmap.core.atomic import atomic_write_text, shown
from vocmap.core.errors import InputError
from vocmap.runs.contract import HISTORY_COLUMNS, read_text


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return str(value)


class HistoryLog:
    """Appends rows to ``history.csv``; ``truncate_after(step)`` for resumed runs."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def truncate_after(self, step: int) -> None:
        """Keep the header and rows with ``step <= step`` (a resume drops later rows)."""
        rows = read_history_rows(self.path) if self.path.exists() else []
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(HISTORY_COLUMNS)
        for row in rows:
            if int(row["step"]) <= step:
                writer.writerow([row[c] for c in HISTORY_COLUMNS])
        atomic_write_text(self.path, buffer.getvalue())

    def append(self, **values: object) -> None:
        unknown = set(values) - set(HISTORY_COLUMNS)
        if unknown:
            raise ValueError(f"unknown history columns {sorted(unknown)}")
        if not self.path.exists():
            self.truncate_after(-1)
        with open(self.path, "a", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerow(
                [_cell(values.get(c)) for c in HISTORY_COLUMNS]
            )


def read_history_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a history.csv written by :class:`HistoryLog`, as its exact cells
    (strings; "" = not computed). The columns must be :data:`HISTORY_COLUMNS`."""
    reader = csv.DictReader(io.StringIO(read_text(Path(path), "history file"), newline=""))
    if tuple(reader.fieldnames or ()) != HISTORY_COLUMNS:
        raise InputError(f"unexpected columns {reader.fieldnames}", path, 1)
    return list(reader)


def read_history(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Columns of a history.csv as float arrays (empty cells are NaN)."""
    path = Path(path)
    text = read_text(path, "history file")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames or "step" not in reader.fieldnames:
            raise InputError("a history.csv needs a 'step' column", path, 1)
        columns: dict[str, list[float]] = {name: [] for name in reader.fieldnames}
        for row in reader:
            line = reader.line_num
            for name in reader.fieldnames:
                cell = (row.get(name) or "").strip()
                try:
                    columns[name].append(float(cell) if cell else math.nan)
                except ValueError:
                    raise InputError(
                        f"column {name!r} is not a number: {shown(cell[:40])!r}", path, line
                    ) from None
    except csv.Error as error:
        raise InputError(f"not a CSV table ({error})", path) from None
    return {name: np.array(values, dtype=np.float64) for name, values in columns.items()}


def lr_drops(steps: np.ndarray, lr: np.ndarray) -> list[tuple[int, float, float]]:
    """``(step, lr before, lr after)`` wherever the learning rate falls by 5% or more.

    A history row's ``lr`` is the one its last step used (ssd_ref's convention), so
    a drop between rows ``k-1`` and ``k`` took effect right after ``steps[k-1]``
    (ssd_ref's milestone 80,000: the row of step 80,000 still shows the old lr).
    """
    drops = []
    for k in range(1, len(lr)):
        if lr[k - 1] > 0 and lr[k] < lr[k - 1] * 0.95:
            drops.append((int(steps[k - 1]), float(lr[k - 1]), float(lr[k])))
    return drops
