"""The readers' front doors: detections from a folder, a JSON file or stdin, and
which classes a folder has. The CLI, the run scorer and the Python API read through here.

``-`` as the source reads standard input (bytes, in one piece): a document
whose first character after blank space and an optional BOM is ``[`` or ``{``
is COCO-style results JSON; anything else is one devkit result file, which holds
one class, so exactly one class must be asked for. Messages name it ``<stdin>``.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from vocmap.core.constants import VOC_CLASSES
from vocmap.core.detections import Detections
from vocmap.core.errors import InputError, display_text
from vocmap.core.ground_truth import GroundTruth
from vocmap.io.coco_json import parse_coco_bytes, read_coco_results
from vocmap.io.result_files import parse_result_bytes, read_result_folder
from vocmap.io.result_names import infer_classes

STDIN = "-"
STDIN_NAME = "<stdin>"


def _read_stdin(stream: BinaryIO | None) -> bytes:
    if stream is None:
        if sys.stdin is None:
            raise InputError("no standard input to read detections from", STDIN_NAME)
        if sys.stdin.isatty():
            raise InputError(
                "detections '-' read standard input, which is a terminal: pipe a results "
                "JSON or a result file into it",
                STDIN_NAME,
            )
        stream = sys.stdin.buffer
    try:
        return stream.read()
    except OSError as error:
        raise InputError(f"cannot read standard input: {error.strerror}", STDIN_NAME) from None


def read_stdin_detections(
    ground_truth: GroundTruth,
    classes: Sequence[str] | None = None,
    *,
    stream: BinaryIO | None = None,
    ignore_unknown_images: bool = False,
    ignore_unknown_categories: bool = False,
) -> Detections:
    """Detections from standard input (or ``stream``): see the module docstring."""
    raw = _read_stdin(stream)
    start = raw.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if start[:1] in (b"[", b"{"):
        return parse_coco_bytes(
            raw,
            STDIN_NAME,
            ground_truth,
            classes,
            ignore_unknown_images=ignore_unknown_images,
            ignore_unknown_categories=ignore_unknown_categories,
        )
    if classes is None or len(classes) != 1:
        raise InputError(
            "a result file on standard input holds one class: name it with --classes "
            "(one class), or pipe a COCO-style results JSON",
            STDIN_NAME,
        )
    detections, dropped = parse_result_bytes(
        raw, STDIN_NAME, ground_truth, ignore_unknown_images=ignore_unknown_images
    )
    return Detections({classes[0]: detections}, dropped_unknown=dropped)


def read_detections(
    source: str | os.PathLike,
    ground_truth: GroundTruth,
    classes: Sequence[str] | None = None,
    *,
    image_set: str | None = None,
    ignore_unknown_images: bool = False,
    ignore_unknown_categories: bool = False,
    prefix: str | None = None,
    follow_symlinks: bool = False,
) -> Detections:
    """Read a folder of devkit result files, a COCO-style ``.json`` results file,
    or standard input (``"-"``, see the module docstring).

    ``prefix`` chooses one run's files in a folder that has several
    (:mod:`vocmap.io.result_names`); result files that are symbolic links out
    of the folder are read only with ``follow_symlinks``.
    """
    if isinstance(source, str) and source == STDIN:
        return read_stdin_detections(
            ground_truth,
            classes,
            ignore_unknown_images=ignore_unknown_images,
            ignore_unknown_categories=ignore_unknown_categories,
        )
    source = Path(source)
    try:
        mode = source.stat().st_mode
    except (OSError, ValueError):
        mode = None
    if mode is not None and stat.S_ISREG(mode):
        if source.suffix.lower() != ".json":
            raise InputError("expected a folder of result files or a .json results file", source)
        return read_coco_results(
            source,
            ground_truth,
            classes,
            ignore_unknown_images=ignore_unknown_images,
            ignore_unknown_categories=ignore_unknown_categories,
        )
    if mode is not None and not stat.S_ISDIR(mode):
        raise InputError("detections must be a folder or a regular .json file", source)
    return read_result_folder(
        source,
        ground_truth,
        classes,
        image_set=image_set,
        ignore_unknown_images=ignore_unknown_images,
        prefix=prefix,
        follow_symlinks=follow_symlinks,
    )


def detection_classes(
    source: str | os.PathLike,
    ground_truth: GroundTruth,
    image_set: str | None = None,
    *,
    prefix: str | None = None,
) -> tuple[list[str] | None, str | None]:
    """The classes to evaluate when none are named: ``(classes, note)``.

    For a folder whose result files are not exactly the 20 VOC classes, the
    classes that have files, and a note saying so (and which result files name
    no annotated class); otherwise ``(None, None)``: the default, the 20 VOC
    classes. Where the ground truth has objects of a class that has no result
    file, it is an :class:`InputError` naming the classes, as the devkit stops
    on a missing file: a mean over the others would pass for the mAP. Naming the
    classes (``--classes``) evaluates fewer on purpose.
    """
    if isinstance(source, str) and source == STDIN:
        return None, None
    if not Path(source).is_dir():
        return None, None
    classes, run = infer_classes(source, image_set, prefix=prefix)
    if set(classes) == set(VOC_CLASSES):
        return None, None
    without_file = [c for c in ground_truth.class_names if c not in classes]
    if without_file:
        many = len(without_file) > 1
        raise InputError(
            f"the ground truth has objects of class{'es' if many else ''} "
            f"{', '.join(without_file)}, which ha{'ve' if many else 's'} no result file "
            f"({run}); the devkit stops here too, since a mean over the other "
            f"{len(classes)} would pass for the mAP: add the file{'s' if many else ''}, or "
            "name the classes to evaluate with --classes (classes= in Python)",
            source,
        )
    note = (
        f"no --classes given: evaluating the {len(classes)} class"
        f"{'es' if len(classes) != 1 else ''} with result files ({run}): {', '.join(classes)}"
    )
    not_annotated = [c for c in classes if c not in ground_truth.class_names]
    if not_annotated:
        note += f"; classes with no annotated object: {', '.join(not_annotated)}"
    return classes, display_text(note)
