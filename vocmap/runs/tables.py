"""AP-by-step tables: per-class AP at several steps of a run, and choosing columns.

An :class:`APTable` comes from a scored run folder (``eval/<settings>/step_N.json``)
or from a CSV such as the published ``ap_by_step.csv``. :func:`select_steps`
keeps some steps; :func:`best_per_window` makes the published summary's
"best within each 20k window" columns.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocmap.core.atomic import shown
from vocmap.core.errors import InputError, VocmapError
from vocmap.data import PUBLISHED, published_ap_table
from vocmap.runs.contract import RunFolder, choose_steps, read_text
from vocmap.runs.stored import read_result, result_provenance


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
        checkpoints: (s,) the checkpoint whose numbers each column holds, where that
            is not the column's step (``best_per_window``: the column is the window's
            end, the checkpoint the best in it); None when every column is its step.
        left_out: classes of the ground truth the mAP does not cover (the stored
            results' ``map_left_out``): the mAP row is then a mean over a subset.
        digits: the decimals the source gives (4 for the published table); None
            when the values are exact.
    """

    steps: tuple[int, ...]
    classes: tuple[str, ...]
    ap: np.ndarray
    map: np.ndarray
    label: str = ""
    note: str = ""
    ci: np.ndarray | None = None
    ci_level: float | None = None
    checkpoints: tuple[int, ...] | None = None
    left_out: tuple[str, ...] = ()
    digits: int | None = None

    def column(self, step: int) -> dict[str, float]:
        k = self.steps.index(step)
        return {c: float(self.ap[i, k]) for i, c in enumerate(self.classes)}


#: The largest step a table takes (steps are int64 in the arrays; 10^15 is ample).
MAX_STEP = 10**15


def _step_cell(text: str) -> int | None:
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    step = int(text)
    return step if step <= MAX_STEP else None


def read_ap_table_csv(path: str | os.PathLike, label: str | None = None) -> APTable:
    """A table like the published ``ap_by_step.csv``: ``class,<step>,<step>,...`` with
    one row per class and a last ``mAP`` row (class names may end in " AP").

    Header cells are step numbers (digits, at most 10^15), each once; columns in
    any order are sorted by step, so the last column is always the final step.
    """
    path = Path(path)
    text = read_text(path, "AP table")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise InputError(f"not a CSV table ({error})", path) from None
    if not rows or len(rows[0]) < 2:
        raise InputError("expected a header 'class,<step>,<step>,...'", path, 1)
    steps_read = [_step_cell(cell) for cell in rows[0][1:]]
    if None in steps_read:
        bad = rows[0][1 + steps_read.index(None)]
        raise InputError(
            f"header cells after the first must be step numbers (0 to {MAX_STEP:.0e}), "
            f"not {shown(bad[:40])!r}",
            path,
            1,
        )
    steps = [s for s in steps_read if s is not None]
    if len(set(steps)) != len(steps):
        twice = next(s for s in steps if steps.count(s) > 1)
        raise InputError(f"step {twice} is in the header twice", path, 1)
    classes, values, map_row = [], [], None
    decimals = 0
    for line, row in enumerate(rows[1:], start=2):
        if not row or not row[0].strip():
            continue
        if len(row) != len(steps) + 1:
            raise InputError(f"expected {len(steps) + 1} cells, found {len(row)}", path, line)
        try:
            numbers = [float(v) if v.strip() else math.nan for v in row[1:]]
        except ValueError:
            raise InputError("AP cells must be numbers", path, line) from None
        decimals = max(decimals, *(_decimals(v) for v in row[1:]))
        name = row[0].strip()
        if name.lower() == "map":
            map_row = numbers
        else:
            classes.append(name.removesuffix(" AP"))
            values.append(numbers)
    if not classes and map_row is None:
        raise InputError(
            "the table has a header but no rows: expected one row per class and/or a 'mAP' row",
            path,
            2,
        )
    order = sorted(range(len(steps)), key=steps.__getitem__)
    ap = np.array(values, dtype=np.float64).reshape(len(classes), len(steps))[:, order]
    if map_row is None:
        maps = np.array([float(np.mean(ap[:, k])) for k in range(len(steps))])
    else:
        maps = np.array(map_row, dtype=np.float64)[order]
    return APTable(
        tuple(steps[k] for k in order),
        tuple(classes),
        ap,
        maps,
        label or path.stem,
        digits=decimals if decimals <= MAX_DECIMALS else None,
    )


#: Tables whose cells have more decimals than this are shown as exact numbers.
MAX_DECIMALS = 8


def _decimals(cell: str) -> int:
    """The decimals written in a CSV cell ("0.696" -> 3; "6.1e-01" counts as exact)."""
    cell = cell.strip()
    if "e" in cell.lower():
        return MAX_DECIMALS + 1
    return len(cell.partition(".")[2])


def ap_table_from_run(run: RunFolder, settings: str = "voc07", label: str = "") -> APTable:
    """The AP table of every evaluated step of a run (``vocmap score`` writes them).

    Every result is checked: an invalid one (truncated, ``{}``, not UTF-8) is an
    InputError naming it, and so are results scored against different ground
    truth, image sets, classes or settings (a table never mixes them).
    """
    paths = run.evaluated(settings)
    results = {step: read_result(path, step) for step, path in paths.items()}
    if not results:
        raise InputError(
            f"no evaluated steps under {run.eval_dir(settings)} (run `vocmap score` first)"
        )
    steps = tuple(sorted(results))
    final = result_provenance(results[steps[-1]])
    for step in steps:
        if result_provenance(results[step]) != final:
            raise InputError(
                f"scored against other ground truth, image set, classes or settings than "
                f"{paths[steps[-1]].name}; run `vocmap score --force` to score all steps alike",
                paths[step],
            )
    classes = tuple(results[steps[-1]]["classes"])
    ap = np.full((len(classes), len(steps)), np.nan)
    for k, step in enumerate(steps):
        for i, cls in enumerate(classes):
            entry = results[step]["classes"].get(cls)
            if entry is not None and entry["ap"] is not None:
                ap[i, k] = entry["ap"]
    maps = np.array([_nan(results[s]["map"]) for s in steps])
    ci, level = _stored_intervals([results[s] for s in steps], classes)
    left_out = results[steps[-1]].get("map_left_out")
    return APTable(
        steps,
        classes,
        ap,
        maps,
        label or run.root.name,
        ci=ci,
        ci_level=level,
        left_out=tuple(str(c) for c in left_out) if isinstance(left_out, list) else (),
    )


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


def load_result(path: Path, curves: bool = True) -> dict:
    """One step's result JSON (``EvalResult.to_dict(curves=True)`` plus metadata),
    checked (:func:`vocmap.runs.stored.read_result`)."""
    return read_result(path, curves=curves)


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def published_table(label: str | None = None) -> APTable:
    """The published SSD300 run (``vocmap/data/ap_by_step.csv``, the one source of its
    numbers): each class's best AP within its 20000-step window, the final model's at
    102000, the mAP as published; 4 decimals, as published."""
    table = read_ap_table_csv(published_ap_table(), label or "published SSD300")
    return APTable(
        table.steps,
        table.classes,
        table.ap,
        table.map,
        table.label,
        "as published: each class's best AP within its 20000-step window, the final "
        "model at 102000; the mAP as published",
        digits=4,
    )


def is_table_file(source: str | os.PathLike) -> bool:
    """True when ``source`` names an AP-table CSV: a file, or ``"published"`` where no
    file or folder has that name (see :func:`load_table`); else it is a run folder."""
    if os.fspath(source) == PUBLISHED and not Path(source).exists():
        return True
    return Path(source).is_file()


def load_table(
    source: str | os.PathLike, settings: str = "voc07", label: str | None = None
) -> APTable:
    """An AP table from a run folder or from a CSV file; ``"published"`` (when no
    file or folder has that name) is the published SSD300 run shipped with vocmap."""
    if os.fspath(source) == PUBLISHED and not Path(source).exists():
        return published_table(label)
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
        checkpoints=None
        if table.checkpoints is None
        else tuple(table.checkpoints[k] for k in index),
        left_out=table.left_out,
        digits=table.digits,
    )


def best_per_window(table: APTable, window: int) -> APTable:
    """One column per window ``((k-1)*window, k*window]`` holding steps: the checkpoint
    with the highest mAP in it, with its own APs and mAP; the last column is always
    the final step's own values.

    Each column is labelled with its window's end and names its checkpoint
    (``checkpoints``): the mAP row is the mAP that checkpoint reached, never a mean
    of class bests from different checkpoints, which no checkpoint reached. When
    the last step ends a window, that window's column is the final model. Ties go
    to the earlier step; a window whose mAPs are all NaN takes its last step. Steps
    are grouped, not windows counted, so a window of 1 over a step of 10^12 costs
    nothing.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
        raise VocmapError(f"--best-per needs a positive step count, not {window!r}")
    if not table.steps:
        return table
    steps = np.array(table.steps, dtype=np.int64)
    order = np.argsort(steps, kind="stable")
    steps, step_maps = steps[order], np.asarray(table.map)[order]
    own = table.checkpoints or table.steps
    last = int(steps[-1])
    ends = -(-steps // window) * window  # the end of each step's window
    picked, labels = [], []
    for end in np.unique(ends[steps < last]):
        end = int(end)
        if end >= last:
            break  # the last window's column is the final model's
        members = np.flatnonzero(ends == end)
        maps = step_maps[members]
        best = members[int(np.nanargmax(maps))] if np.isfinite(maps).any() else members[-1]
        picked.append(int(order[best]))
        labels.append(end)
    picked.append(int(order[-1]))
    labels.append(last)
    if labels == steps.tolist():  # one step a window: every column is its own already
        return table if list(table.steps) == labels else select_steps(table, labels)
    return APTable(
        tuple(labels),
        table.classes,
        table.ap[:, picked],
        np.asarray(table.map)[picked],
        table.label,
        f"the checkpoint with the highest mAP within each {window}-step window, with its "
        f"own APs and mAP; the last column is the final step {last}",
        ci=None if table.ci is None else table.ci[:, picked],
        ci_level=table.ci_level,
        checkpoints=tuple(int(own[k]) for k in picked),
        left_out=table.left_out,
        digits=table.digits,
    )


@dataclass(frozen=True)
class Pairing:
    """What of a reference table can stand beside a table: the steps both have, the
    classes both have, whether the mAPs are means over the same classes.

    Attributes:
        reference: the reference with only the common steps (its class rows kept).
        steps: the steps both tables have, increasing.
        classes: the table's classes that the reference has too, in the table's order.
        map_compared: True when both mAPs are means over the same classes.
        note: the pairing in words, for the table's title.
    """

    reference: APTable
    steps: tuple[int, ...]
    classes: tuple[str, ...]
    map_compared: bool
    note: str


def _span(steps: Sequence[int]) -> str:
    return f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]} to {steps[-1]}"


def pair_tables(table: APTable, reference: APTable) -> Pairing:
    """The reference's columns that can stand beside ``table``'s: only the steps and
    classes both have (a step is never paired with another). No common step or no
    common class is an InputError saying what each table has."""
    name = reference.label or "the reference"
    mine = table.label or "this table"
    steps = tuple(s for s in table.steps if s in set(reference.steps))
    if not table.steps or not reference.steps or not steps:
        raise InputError(
            f"--compare: {name} ({_span(reference.steps) if reference.steps else 'no steps'}) "
            f"has no step in common with {mine} "
            f"({_span(table.steps) if table.steps else 'no steps'}): nothing to set side by "
            "side, since a step is only compared with the same step"
        )
    classes = tuple(c for c in table.classes if c in set(reference.classes))
    if not classes:
        raise InputError(f"--compare: {name} has none of the classes of {mine}")
    same = set(table.classes) == set(reference.classes)
    map_compared = same and not table.left_out and not reference.left_out
    index = [reference.steps.index(s) for s in steps]
    kept = APTable(
        steps,
        reference.classes,
        reference.ap[:, index],
        reference.map[index],
        reference.label,
        reference.note,
        checkpoints=None
        if reference.checkpoints is None
        else tuple(reference.checkpoints[k] for k in index),
        left_out=reference.left_out,
        digits=reference.digits,
    )
    words = [
        f"{name} beside the step{'s' if len(steps) > 1 else ''} both have: {', '.join(map(str, steps))}"
    ]
    if len(steps) < len(reference.steps):
        others = [s for s in reference.steps if s not in steps]
        words.append(f"its steps {', '.join(map(str, others))} left out")
    if not same:
        words.append(
            f"the {len(classes)} class{'es' if len(classes) != 1 else ''} both have "
            f"({len(table.classes)} here, {len(reference.classes)} there)"
        )
    if not map_compared:
        words.append("the mAPs are means over different classes: not set side by side")
    return Pairing(kept, steps, classes, map_compared, "; ".join(words))
