"""AP-by-step tables: per-class AP at several steps of a run, and choosing columns.

An :class:`APTable` comes from a scored run folder (``eval/<settings>/step_N.json``)
or from a CSV such as the published ``ap_by_step.csv``. :func:`select_steps`
keeps some steps; :func:`best_per_window` makes the published summary's
"best within each 20k window" columns.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocmap.core.errors import InputError, VocmapError
from vocmap.core.results import mean_ap
from vocmap.data import PUBLISHED, published_ap_table
from vocmap.runs.contract import RunFolder, choose_steps


@dataclass(frozen=True)
class APTable:
    """Per-class AP at several steps.

    Attributes:
        steps: (s,) training steps, increasing.
        classes: class names (rows).
        ap: (c, s) float64, NaN where unknown.
        map: (s,) the mAP of each step (as reported, not recomputed).
        label: what the numbers are ("this run", "published", ...).
        note: how the columns were made (e.g. "best within each 20000-step window").
        ci: (c + 1, s, 2) bootstrap intervals (classes, then the mAP), NaN where a
            step stored none; None when no step did.
        ci_level: their level (e.g. 0.95).
    """

    steps: tuple[int, ...]
    classes: tuple[str, ...]
    ap: np.ndarray
    map: np.ndarray
    label: str = ""
    note: str = ""
    ci: np.ndarray | None = None
    ci_level: float | None = None

    def column(self, step: int) -> dict[str, float]:
        k = self.steps.index(step)
        return {c: float(self.ap[i, k]) for i, c in enumerate(self.classes)}


def read_ap_table_csv(path: str | os.PathLike, label: str | None = None) -> APTable:
    """A table like the published ``ap_by_step.csv``: ``class,<step>,<step>,...`` with
    one row per class and a last ``mAP`` row (class names may end in " AP")."""
    path = Path(path)
    try:
        rows = list(csv.reader(path.open(newline="", encoding="utf-8-sig")))
    except FileNotFoundError:
        raise InputError("AP table not found", path) from None
    if not rows or len(rows[0]) < 2:
        raise InputError("expected a header 'class,<step>,<step>,...'", path, 1)
    try:
        steps = tuple(int(float(s)) for s in rows[0][1:])
    except ValueError:
        raise InputError("header cells after the first must be step numbers", path, 1) from None
    classes, values, map_row = [], [], None
    for line, row in enumerate(rows[1:], start=2):
        if not row or not row[0].strip():
            continue
        if len(row) != len(steps) + 1:
            raise InputError(f"expected {len(steps) + 1} cells, found {len(row)}", path, line)
        try:
            numbers = [float(v) if v.strip() else math.nan for v in row[1:]]
        except ValueError:
            raise InputError("AP cells must be numbers", path, line) from None
        name = row[0].strip()
        if name.lower() == "map":
            map_row = numbers
        else:
            classes.append(name.removesuffix(" AP"))
            values.append(numbers)
    ap = np.array(values, dtype=np.float64).reshape(len(classes), len(steps))
    if map_row is None:
        map_row = [float(np.mean(ap[:, k])) for k in range(len(steps))]
    return APTable(steps, tuple(classes), ap, np.array(map_row), label or path.stem)


def ap_table_from_run(run: RunFolder, settings: str = "voc07", label: str = "") -> APTable:
    """The AP table of every evaluated step of a run (``vocmap score`` writes them)."""
    results = {step: load_result(path) for step, path in run.evaluated(settings).items()}
    if not results:
        raise InputError(
            f"no evaluated steps under {run.eval_dir(settings)} (run `vocmap score` first)"
        )
    steps = tuple(sorted(results))
    classes = tuple(results[steps[-1]]["classes"])
    ap = np.full((len(classes), len(steps)), np.nan)
    for k, step in enumerate(steps):
        for i, cls in enumerate(classes):
            entry = results[step]["classes"].get(cls)
            if entry is not None and entry["ap"] is not None:
                ap[i, k] = entry["ap"]
    maps = np.array([_nan(results[s]["map"]) for s in steps])
    ci, level = _stored_intervals([results[s] for s in steps], classes)
    return APTable(steps, classes, ap, maps, label or run.root.name, ci=ci, ci_level=level)


def _stored_intervals(
    results: list[dict], classes: tuple[str, ...]
) -> tuple[np.ndarray | None, float | None]:
    """The ``"ci"`` entries of stored results (``vocmap score --ci``) as a (c + 1, s, 2)
    array; an entry of another shape or level is not trusted (NaN there)."""
    out = np.full((len(classes) + 1, len(results), 2), np.nan)
    level = None
    for k, data in enumerate(results):
        ci = data.get("ci")
        if not isinstance(ci, dict) or not isinstance(ci.get("classes"), dict):
            continue
        if level is None and isinstance(ci.get("level"), float):
            level = ci["level"]
        if ci.get("level") != level:
            continue
        for i, name in enumerate((*classes, None)):
            pair = ci["map"] if name is None else ci["classes"].get(name)
            if (
                isinstance(pair, list)
                and len(pair) == 2
                and all(
                    v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
                    for v in pair
                )
            ):
                out[i, k] = [_nan(v) for v in pair]
    return (out, level) if level is not None else (None, None)


def load_result(path: Path) -> dict:
    """One step's result JSON (``EvalResult.to_dict(curves=True)`` plus metadata)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"unreadable result file ({error})", path) from None


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def load_table(
    source: str | os.PathLike, settings: str = "voc07", label: str | None = None
) -> APTable:
    """An AP table from a run folder or from a CSV file; ``"published"`` (when no
    file or folder has that name) is the published SSD300 run shipped with vocmap."""
    if os.fspath(source) == PUBLISHED and not Path(source).exists():
        return read_ap_table_csv(published_ap_table(), label or "published SSD300")
    source = Path(source)
    if source.is_file():
        return read_ap_table_csv(source, label)
    if source.is_dir():
        return ap_table_from_run(RunFolder(source), settings, label or "")
    raise InputError("neither a run folder nor an AP-table CSV", source)


def select_steps(
    table: APTable, steps: Sequence[int] | None = None, every: int | None = None
) -> APTable:
    """Keep the given steps, or the multiples of ``every`` (the last step is kept too)."""
    chosen = choose_steps(table.steps, steps, every, what="column in the table")
    index = [table.steps.index(s) for s in chosen]
    return APTable(
        tuple(chosen),
        table.classes,
        table.ap[:, index],
        table.map[index],
        table.label,
        table.note,
        ci=None if table.ci is None else table.ci[:, index],
        ci_level=table.ci_level,
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
        maps.append(mean_ap(list(best)))
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
