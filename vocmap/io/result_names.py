"""Which file of a detections folder holds which class: result-file names.

A file is ``<prefix>_det_<set>_<class>.txt`` (the devkit writes
``comp4_det_test_<class>.txt``) or ``<class>.txt``. A name is split once,
without looking at the classes asked for, so that a class can only ever match
a file named for it:

* ``<prefix>`` ends at the first ``_det_``;
* ``<set>`` is the image set's name when the rest starts with it and ``_``
  (``my_run_det_my_set_dog.txt`` for image set ``my_set``), else the rest up to
  its first ``_`` (VOC's sets have none): ``comp4_det_test_traffic_light.txt``
  is class ``traffic_light``, never class ``light``;
* the remainder is the class.

The files chosen for one evaluation must come from one run, that is one
``<prefix>_det_<set>`` (or all be ``<class>.txt``): files of two runs mixed in
one folder are an error unless ``prefix`` chooses one. Files named for one of
VOC's image sets while another VOC image set is evaluated (``comp4_det_test_*``
against ``val``) are an error too, unless ``prefix`` names the set as well
(``comp4_det_test``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vocmap.core.constants import VOC_CLASSES
from vocmap.core.errors import InputError
from vocmap.io.characters import character_name, first_odd_character

VOC_IMAGE_SETS = frozenset({"train", "val", "trainval", "test"})


@dataclass(frozen=True)
class ResultName:
    """A result file's name, split: ``<prefix>_det_<image_set>_<class_name>.txt``
    (prefix and image_set None for ``<class_name>.txt``)."""

    file: str
    prefix: str | None
    image_set: str | None
    class_name: str

    @property
    def run(self) -> str:
        """The run the file belongs to, as a pattern for messages."""
        if self.prefix is None:
            return "<class>.txt"
        return f"{self.prefix}_det_{self.image_set}_<class>.txt"

    def chosen_by(self, prefix: str) -> bool:
        """True if ``prefix`` (``comp4`` or ``comp4_det_test``) names this file's run."""
        if self.prefix is None:
            return prefix == ""
        return prefix in (self.prefix, f"{self.prefix}_det_{self.image_set}")


def parse_result_name(file_name: str, image_set: str | None = None) -> ResultName | None:
    """Split a result file's name (see the module docstring); None if not ``*.txt``."""
    if not file_name.endswith(".txt") or len(file_name) <= 4 or file_name.startswith("."):
        return None
    stem = file_name[:-4]
    prefix, separator, rest = stem.partition("_det_")
    if separator and prefix and rest:
        if image_set and rest.startswith(image_set + "_") and len(rest) > len(image_set) + 1:
            return ResultName(file_name, prefix, image_set, rest[len(image_set) + 1 :])
        set_name, separator, class_name = rest.partition("_")
        if separator and set_name and class_name:
            return ResultName(file_name, prefix, set_name, class_name)
    return ResultName(file_name, None, None, stem)


def _listing(folder: Path) -> list[str]:
    if not folder.is_dir():
        raise InputError("detections folder not found", folder)
    try:
        return sorted(os.listdir(folder))
    except OSError as error:
        raise InputError(f"cannot list the detections folder: {error.strerror}", folder) from None


def _names(folder: Path, image_set: str | None, prefix: str | None) -> list[ResultName]:
    parsed = [p for n in _listing(folder) if (p := parse_result_name(n, image_set))]
    if prefix is not None:
        parsed = [p for p in parsed if p.chosen_by(prefix)]
    return parsed


def _runs_text(files: Iterable[ResultName]) -> str:
    by_run: dict[str, list[str]] = {}
    for f in files:
        by_run.setdefault(f.run, []).append(f.class_name)
    parts = []
    for run, classes in by_run.items():
        shown = ", ".join(classes[:3]) + (", ..." if len(classes) > 3 else "")
        parts.append(f"{run} ({len(classes)} class{'es' if len(classes) > 1 else ''}: {shown})")
    return "; ".join(parts)


def _check_one_run(
    chosen: Sequence[ResultName], folder: Path, image_set: str | None, prefix: str | None
) -> None:
    runs = {f.run for f in chosen}
    if len(runs) > 1:
        raise InputError(
            f"result files of {len(runs)} runs are mixed: {_runs_text(chosen)}; choose one "
            "with --prefix (prefix= in Python), e.g. --prefix comp4",
            folder,
        )
    explicit_set = prefix is not None and "_det_" in prefix
    if chosen and not explicit_set and image_set in VOC_IMAGE_SETS:
        named = chosen[0].image_set
        if named in VOC_IMAGE_SETS and named != image_set:
            raise InputError(
                f"the result files are named for image set {named!r} "
                f"({chosen[0].file}), but the image set evaluated is {image_set!r}: "
                f"give --image-set {named}, or --prefix {chosen[0].prefix}_det_{named} "
                "to evaluate them anyway",
                folder,
            )


def find_result_files(
    folder: str | os.PathLike,
    classes: Sequence[str],
    image_set: str | None = None,
    *,
    prefix: str | None = None,
) -> dict[str, Path | None]:
    """Map each class to its result file in ``folder`` (None if there is none).

    When a class has several files, those named for ``image_set`` are preferred;
    if that leaves more than one, it is an error (``prefix`` chooses). The files
    chosen must be of one run (see the module docstring).
    """
    folder = Path(folder)
    by_class: dict[str, list[ResultName]] = {}
    for name in _names(folder, image_set, prefix):
        by_class.setdefault(name.class_name, []).append(name)
    chosen: dict[str, ResultName | None] = {}
    for cls in classes:
        candidates = by_class.get(cls, [])
        if len(candidates) > 1 and image_set is not None:
            candidates = [c for c in candidates if c.image_set == image_set] or candidates
        if len(candidates) > 1:
            listed = ", ".join(c.file for c in candidates)
            raise InputError(
                f"several result files for class {cls!r}: {listed} (choose with --prefix)", folder
            )
        chosen[cls] = candidates[0] if candidates else None
    _check_one_run([c for c in chosen.values() if c is not None], folder, image_set, prefix)
    return {cls: None if c is None else folder / c.file for cls, c in chosen.items()}


def infer_classes(
    folder: str | os.PathLike, image_set: str | None = None, *, prefix: str | None = None
) -> tuple[list[str], str]:
    """The classes that have result files in ``folder``, and the run's pattern.

    ``<prefix>_det_<set>_<class>.txt`` files are used when there are any (else
    ``<class>.txt`` files); runs named for ``image_set`` are preferred; more than
    one run left is an error (``prefix`` chooses). Order: VOC's classes in the
    devkit's order, then the others sorted.
    """
    folder = Path(folder)
    names = _names(folder, image_set, prefix)
    pool = [n for n in names if n.prefix is not None] or names
    if not pool:
        raise InputError("no result files (*.txt) in the detections folder", folder)
    if image_set is not None:
        pool = [n for n in pool if n.image_set == image_set] or pool
    runs = {n.run for n in pool}
    if len(runs) > 1:
        raise InputError(
            f"result files of {len(runs)} runs: {_runs_text(pool)}; choose one with --prefix "
            "or name the classes with --classes",
            folder,
        )
    _check_one_run(pool, folder, image_set, prefix)
    for name in pool:
        odd = first_odd_character(name.class_name)
        if odd is not None:
            raise InputError(
                f"result file name {name.file!r} gives a class name with {character_name(odd)}",
                folder,
            )
    order = {name: k for k, name in enumerate(VOC_CLASSES)}
    classes = sorted({n.class_name for n in pool}, key=lambda c: (order.get(c, len(order)), c))
    return classes, pool[0].run


def folder_summary(folder: str | os.PathLike, image_set: str | None = None) -> str:
    """The runs of result files in ``folder``, for messages ("" if none or unreadable)."""
    try:
        names = _names(Path(folder), image_set, None)
    except InputError:
        return ""
    return _runs_text(names[:200])
