"""``history.csv``: one row per logging step, with validation losses where computed.

Columns (fixed): ``step,loss,loc_loss,conf_loss,lr,images_per_s,val_loss,
val_loc_loss,val_conf_loss,skipped_steps``. ``loss`` and its parts are the mean
over the steps since the previous row whose loss was finite; ``lr`` is the
weights' learning rate of the row's last step; ``images_per_s`` counts all
ranks' images; ``skipped_steps`` is the running total of steps skipped for a
non-finite loss. Empty cells: not computed at that step.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from vocmap.core.atomic import atomic_write_text

HISTORY_COLUMNS: tuple[str, ...] = (
    "step",
    "loss",
    "loc_loss",
    "conf_loss",
    "lr",
    "images_per_s",
    "val_loss",
    "val_loc_loss",
    "val_conf_loss",
    "skipped_steps",
)


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
        rows = read_history(self.path) if self.path.exists() else []
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


def read_history(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows as dicts of strings (empty string = not computed)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != HISTORY_COLUMNS:
            raise ValueError(f"{path}: unexpected columns {reader.fieldnames}")
        return list(reader)
