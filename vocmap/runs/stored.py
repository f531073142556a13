"""A step's stored result (``eval/<settings>/step_XXXXXX.json``): what it was scored
against, and checking a file before it is trusted.

Each result carries a ``provenance``: the ground truth's content key (a hash of
the image ids, classes, boxes and difficult flags: annotations and image set),
the image set's name (it names the result files), the evaluated classes in
order, and the settings. ``vocmap score`` reuses a stored result only when its
provenance equals the current one; ``vocmap table`` refuses results that are
invalid or that were scored against different provenance (it would mix numbers).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocmap.core.atomic import atomic_write_text
from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.settings import EvalSettings
from vocmap.io.files import read_input_file

PROVENANCE_FORMAT = 1


def ground_truth_key(ground_truth: GroundTruth) -> str:
    """A hash of the ground truth's content: image ids in order, class names, and
    every object's image, class, box and difficult flag (32 hex digits)."""
    digest = hashlib.sha256(b"vocmap-ground-truth-v1\0")
    for text in (ground_truth.image_ids, ground_truth.class_names):
        digest.update(str(len(text)).encode() + b"\0")
        digest.update("\0".join(text).encode("utf-8", "surrogatepass") + b"\0")
    for array, dtype in (
        (ground_truth.object_image, np.int64),
        (ground_truth.object_class, np.int64),
        (ground_truth.boxes, np.float64),
        (ground_truth.difficult, np.bool_),
    ):
        digest.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Provenance:
    """Everything that changes a stored number besides the detections."""

    ground_truth: str
    image_set: str
    classes: tuple[str, ...]
    settings: tuple[tuple[str, object], ...]

    @classmethod
    def of(
        cls,
        ground_truth: GroundTruth,
        image_set: str,
        classes: Sequence[str],
        settings: EvalSettings,
    ) -> Provenance:
        return cls(
            ground_truth_key(ground_truth),
            image_set,
            tuple(classes),
            tuple(sorted(settings.to_dict().items())),
        )

    def to_dict(self) -> dict:
        return {
            "format": PROVENANCE_FORMAT,
            "ground_truth": self.ground_truth,
            "image_set": self.image_set,
            "classes": list(self.classes),
            "settings": dict(self.settings),
        }

    @classmethod
    def from_dict(cls, data: object) -> Provenance | None:
        """The provenance of a stored result; None if it is missing or malformed."""
        if not isinstance(data, dict) or data.get("format") != PROVENANCE_FORMAT:
            return None
        gt, image_set = data.get("ground_truth"), data.get("image_set")
        classes, settings = data.get("classes"), data.get("settings")
        if not (
            isinstance(gt, str)
            and isinstance(image_set, str)
            and isinstance(classes, list)
            and all(isinstance(c, str) for c in classes)
            and isinstance(settings, dict)
        ):
            return None
        return cls(gt, image_set, tuple(classes), tuple(sorted(settings.items())))

    def difference(self, other: Provenance) -> str:
        """What ``other`` (the stored one) was scored with that this is not, in words."""
        if other.ground_truth != self.ground_truth:
            return "other ground truth (annotations or image-set content)"
        if other.image_set != self.image_set:
            return f"image set {other.image_set!r}, not {self.image_set!r}"
        if other.classes != self.classes:
            return f"classes {_few(other.classes)}, not {_few(self.classes)}"
        return f"settings {dict(other.settings)}, not {dict(self.settings)}"


def _few(names: Sequence[str]) -> str:
    shown = ", ".join(names[:4])
    return f"{shown}, ... ({len(names)})" if len(names) > 4 else shown


def _number_or_null(value: object) -> bool:
    if value is None:
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_curve(values: object) -> bool:
    return isinstance(values, list) and all(_number_or_null(v) for v in values)


def check_result(data: object, step: int | None = None, curves: bool = False) -> str | None:
    """Why ``data`` is not a valid stored result (None if it is).

    A result is a JSON object with ``classes`` (class -> object with an ``ap``
    that is a number or null), ``map`` (number or null) and, when ``step`` is
    given, that ``step``; with ``curves``, each class's ``rec``/``prec`` are lists
    of numbers or nulls.
    """
    if not isinstance(data, dict):
        return "not a JSON object"
    classes = data.get("classes")
    if not isinstance(classes, dict) or not classes:
        return "no 'classes'"
    for name, entry in classes.items():
        if not isinstance(entry, dict) or not _number_or_null(entry.get("ap", "missing")):
            return f"class {name!r} has no valid 'ap'"
        if curves and not all(_check_curve(entry.get(k, [])) for k in ("rec", "prec")):
            return f"class {name!r} has invalid PR curves"
    if not _number_or_null(data.get("map", "missing")):
        return "no valid 'map'"
    if step is not None and (isinstance(data.get("step"), bool) or data.get("step") != step):
        return f"'step' is {data.get('step')!r}, not {step} as its name says"
    return None


def read_result(path: str | os.PathLike, step: int | None = None, curves: bool = False) -> dict:
    """A stored result, checked (:func:`check_result`); an InputError naming the file
    if it is unreadable, not UTF-8 JSON, nested too deeply or not a valid result."""
    path = Path(path)
    try:
        # a link leading out of the run's eval folder is refused (as in io.files)
        data = json.loads(read_input_file(path, "result file", folder=path.parent).decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(f"not a valid result: not UTF-8 (byte {error.start})", path) from None
    except json.JSONDecodeError as error:
        raise InputError(
            f"not a valid result: truncated or invalid JSON ({error.msg})", path, error.lineno
        ) from None
    except RecursionError:
        raise InputError("not a valid result: nested too deeply", path) from None
    problem = check_result(data, step, curves)
    if problem is not None:
        raise InputError(f"not a valid result: {problem}", path)
    return data


def result_provenance(data: dict) -> Provenance | None:
    """The provenance stored in a result (None: an older vocmap's, or damaged)."""
    return Provenance.from_dict(data.get("provenance"))


class CheckedResults:
    """Which stored results of a settings folder were already checked, and their
    provenance, so that a resumed ``score`` need not re-read every result.

    A step's JSON holds its PR curves (tens of MB on VOC2007 test), too much to
    parse again at every resume. ``eval/<settings>/checked.index`` maps each
    result's file name to the file's size, mtime, ctime and inode when it was
    written or fully checked, and its provenance. An entry is trusted only while
    the file's stat is the same (any change of the file changes its ctime, which
    no tool can set back); anything else is read and checked in full. A missing
    or damaged index only costs time.
    """

    #: Not a dot file (those are temporaries) and not ``*.json`` (those are results).
    NAME = "checked.index"

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / self.NAME
        self.entries: dict[str, dict] = {}
        self.changed = False
        try:
            data = json.loads(read_input_file(self.path, "stored provenance").decode("utf-8"))
        except (InputError, ValueError, RecursionError):
            return
        if isinstance(data, dict) and data.get("format") == PROVENANCE_FORMAT:
            entries = data.get("results")
            if isinstance(entries, dict):
                self.entries = {k: v for k, v in entries.items() if isinstance(v, dict)}

    @staticmethod
    def _stamp(path: Path) -> list[int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]

    def provenance(self, path: Path) -> tuple[bool, Provenance | None]:
        """``(known, provenance)``: known is True when the file is unchanged since it
        was written or checked (then it is valid, with that provenance)."""
        entry = self.entries.get(path.name)
        stamp = self._stamp(path)
        if entry is None or stamp is None or entry.get("stat") != stamp:
            return False, None
        return True, Provenance.from_dict(entry.get("provenance"))

    def record(self, path: Path, provenance: Provenance) -> None:
        """``path`` was just written (or fully checked) with ``provenance``."""
        stamp = self._stamp(path)
        if stamp is not None:
            self.entries[path.name] = {"stat": stamp, "provenance": provenance.to_dict()}
            self.changed = True

    def save(self) -> None:
        """Write the index if it changed (failures only cost time)."""
        if not self.changed:
            return
        data = {"format": PROVENANCE_FORMAT, "results": self.entries}
        with contextlib.suppress(OSError):
            atomic_write_text(self.path, json.dumps(data) + "\n")
        self.changed = False
