"""Training-run folders and AP-by-step tables: finding and reading, nothing else.

A run folder (as ssd_ref writes it; any detector's will do)::

    RUN_DIR/
      config.json                      the trainer's resolved config (optional)
      history.csv                      step,loss,loc_loss,conf_loss,lr,images_per_s,val_loss,...
      checkpoints/step_XXXXXX.pt       model checkpoints (optional)
      detections/step_XXXXXX/          devkit result files, one folder per step
      eval/<settings>/step_XXXXXX.json vocmap's result for that step (written by `score`)

``<settings>`` is ``voc07`` for the official number, else e.g.
``voc12-iou0.5-devkit``, so results under different rules never mix.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocmap.errors import InputError

_STEP_NAME = re.compile(r"^step_(\d+)$")


def step_name(step: int) -> str:
    """``step_000100`` (at least 6 digits)."""
    return f"step_{step:06d}"


def settings_key(metric: str = "voc07", iou: float = 0.5, semantics: str = "devkit") -> str:
    """The eval sub-folder for these settings (``voc07`` for the official ones)."""
    if (metric, iou, semantics) == ("voc07", 0.5, "devkit"):
        return "voc07"
    return f"{metric}-iou{iou:g}-{semantics}"


@dataclass(frozen=True)
class RunFolder:
    """Paths inside one run folder."""

    root: Path

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def detections_dir(self) -> Path:
        return self.root / "detections"

    @property
    def history_path(self) -> Path:
        return self.root / "history.csv"

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    def eval_dir(self, settings: str = "voc07") -> Path:
        return self.root / "eval" / settings

    def eval_path(self, step: int, settings: str = "voc07") -> Path:
        return self.eval_dir(settings) / f"{step_name(step)}.json"

    def detection_dir(self, step: int) -> Path:
        return self.detections_dir / step_name(step)

    def checkpoints(self) -> dict[int, Path]:
        """Step to checkpoint file (``checkpoints/step_XXXXXX.pt``)."""
        return _by_step(self.checkpoints_dir, lambda p: p.is_file() and p.suffix == ".pt")

    def detection_folders(self) -> dict[int, Path]:
        """Step to a finished detections folder (temporary ones are ignored)."""
        return _by_step(self.detections_dir, lambda p: p.is_dir())

    def evaluated(self, settings: str = "voc07") -> dict[int, Path]:
        """Step to its result file under ``settings``."""
        return _by_step(self.eval_dir(settings), lambda p: p.is_file() and p.suffix == ".json")

    def steps(self) -> list[int]:
        """Every step that has a checkpoint or detections."""
        return sorted(set(self.checkpoints()) | set(self.detection_folders()))


def _by_step(folder: Path, keep) -> dict[int, Path]:
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.iterdir():
        match = _STEP_NAME.match(path.stem if path.is_file() else path.name)
        if match and keep(path):
            found[int(match.group(1))] = path
    return dict(sorted(found.items()))


def run_classes(run: RunFolder) -> list[str] | None:
    """The class list a run's config.json names (a list of strings under a key
    called "classes" or "class_names", at any depth), if any."""
    if not run.config_path.is_file():
        return None
    try:
        config = json.loads(run.config_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if (
                    key in ("classes", "class_names")
                    and isinstance(value, list)
                    and value
                    and all(isinstance(v, str) for v in value)
                ):
                    return [v for v in value if v not in ("background", "__background__")]
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return None


# --------------------------------------------------------------------------- #
# Loss history
# --------------------------------------------------------------------------- #


def read_history(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Columns of a history.csv as float arrays (empty cells are NaN)."""
    path = Path(path)
    try:
        handle = path.open(newline="")
    except FileNotFoundError:
        raise InputError("history file not found", path) from None
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "step" not in reader.fieldnames:
            raise InputError("a history.csv needs a 'step' column", path, 1)
        columns: dict[str, list[float]] = {name: [] for name in reader.fieldnames}
        for line, row in enumerate(reader, start=2):
            for name in reader.fieldnames:
                text = (row.get(name) or "").strip()
                try:
                    columns[name].append(float(text) if text else math.nan)
                except ValueError:
                    raise InputError(
                        f"column {name!r} is not a number: {text!r}", path, line
                    ) from None
    return {name: np.array(values, dtype=np.float64) for name, values in columns.items()}


# --------------------------------------------------------------------------- #
# AP by step
# --------------------------------------------------------------------------- #


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
    """

    steps: tuple[int, ...]
    classes: tuple[str, ...]
    ap: np.ndarray
    map: np.ndarray
    label: str = ""
    note: str = ""

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
    return APTable(steps, classes, ap, maps, label or run.root.name)


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
    """An AP table from a run folder or from a CSV file."""
    source = Path(source)
    if source.is_file():
        return read_ap_table_csv(source, label)
    if source.is_dir():
        return ap_table_from_run(RunFolder(source), settings, label or "")
    raise InputError("neither a run folder nor an AP-table CSV", source)
