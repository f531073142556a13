"""Devkit result files (``comp4_det_test_<class>.txt``) into Detections.

Lines are ``<image id> <score> <xmin> <ymin> <xmax> <ymax>``; per class,
detections keep their file order (the devkit breaks score ties by it). Boxes are
VOC pixel coordinates, 1-based and inclusive (width = xmax - xmin + 1).
"""

from __future__ import annotations

import math
import os
import re
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocmap.core.constants import VOC_CLASSES
from vocmap.core.detections import ClassDetections, Detections
from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth
from vocmap.io import text_kernels


@dataclass(frozen=True)
class IdTable:
    """The image ids of a GroundTruth, laid out for the numba parser.

    Attributes:
        id_bytes: (total,) uint8, the UTF-8 ids concatenated.
        id_offsets: (n_images + 1,) int64; id ``i`` is ``id_bytes[off[i]:off[i+1]]``.
        slots: (size,) int64 open-addressing hash table of image indices (-1 empty).
    """

    id_bytes: np.ndarray
    id_offsets: np.ndarray
    slots: np.ndarray


_ID_TABLES: weakref.WeakKeyDictionary[GroundTruth, IdTable] = weakref.WeakKeyDictionary()
_ID_TABLES_LOCK = threading.Lock()


def id_table(ground_truth: GroundTruth) -> IdTable:
    """The (cached) id table of ``ground_truth``; safe to call from several threads."""
    with _ID_TABLES_LOCK:
        table = _ID_TABLES.get(ground_truth)
        if table is None:
            encoded = [image_id.encode("utf-8") for image_id in ground_truth.image_ids]
            id_offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
            np.cumsum([len(e) for e in encoded], out=id_offsets[1:])
            id_bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8)
            slots, duplicate = text_kernels.build_id_table(id_bytes, id_offsets)
            if duplicate >= 0:
                raise InputError(f'image id "{ground_truth.image_ids[duplicate]}" repeats')
            table = IdTable(id_bytes, id_offsets, slots)
            _ID_TABLES[ground_truth] = table
        return table


_LINE_ERRORS = {
    1: "expected 6 fields '<image id> <score> <xmin> <ymin> <xmax> <ymax>', found {n}",
    2: "field {n} ({what}) is not a number: {token!r}",
    3: "field {n} ({what}) is NaN or infinite: {token!r}",
}
_FIELD_NAMES = ("image id", "score", "xmin", "ymin", "xmax", "ymax")


def _line_text(raw: bytes, line: int) -> bytes:
    """Line ``line`` (1-based) of ``raw``, without a BOM (error messages only)."""
    return raw.removeprefix(b"\xef\xbb\xbf").split(b"\n")[line - 1]


def _line_error(raw: bytes, path: Path, line: int, code: int, field: int) -> InputError:
    """The InputError for a result line the parser stopped at."""
    fields = _line_text(raw, line).decode("utf-8", "replace").split()
    if code == text_kernels.LINE_FIELD_COUNT or len(fields) != 6:
        message = _LINE_ERRORS[1].format(n=len(fields))
    else:
        token = fields[field] if field < len(fields) else ""
        message = _LINE_ERRORS[code].format(n=field + 1, what=_FIELD_NAMES[field], token=token)
    return InputError(message, path, line)


def read_result_file(
    path: str | os.PathLike,
    ground_truth: GroundTruth,
    *,
    ignore_unknown_images: bool = False,
) -> tuple[ClassDetections, int]:
    """Read one devkit result file; return its detections and the count of lines
    dropped for naming an image outside the image set.

    Lines are ``<image id> <score> <xmin> <ymin> <xmax> <ymax>`` separated by any
    blank space; scientific notation, CRLF and a UTF-8 BOM are accepted; blank
    lines are skipped. Raises InputError (file and line) for a wrong field count,
    a field that is not a number, a NaN or infinite value, and (unless
    ``ignore_unknown_images``) an image id outside the image set. An empty file
    is zero detections (AP 0, as in the devkit).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("result file not found", path) from None
    except OSError as error:
        raise InputError(f"cannot read result file: {error.strerror}", path) from None
    buf = np.frombuffer(raw, dtype=np.uint8)
    table = id_table(ground_truth)
    (_, image, scores, boxes, line_no, slow, slow_count, err_line, err_code, err_field) = (
        text_kernels.parse_result_lines(buf, table.id_bytes, table.id_offsets, table.slots)
    )
    if err_code != text_kernels.LINE_OK:
        raise _line_error(raw, path, int(err_line), int(err_code), int(err_field))
    for detection, column, start in slow[:slow_count]:
        stop = start
        while stop < len(raw) and raw[stop] not in b" \t\r\n\v\f":
            stop += 1
        token = raw[start:stop].decode("ascii")
        value = float(token)
        if not math.isfinite(value):
            raise InputError(
                f"field {column + 2} ({_FIELD_NAMES[column + 1]}) is out of range: {token!r}",
                path,
                int(line_no[detection]),
            )
        if column == 0:
            scores[detection] = value
        else:
            boxes[detection, column - 1] = value
    unknown = image < 0
    dropped = 0
    if unknown.any():
        first = int(np.argmax(unknown))
        if not ignore_unknown_images:
            image_id = _line_text(raw, int(line_no[first])).split()[0].decode("utf-8", "replace")
            raise InputError(
                f'image "{image_id}" is not in the image set (the devkit stops with '
                '"unrecognized image"; --ignore-unknown-images drops such lines)',
                path,
                int(line_no[first]),
            )
        keep = ~unknown
        dropped = int(np.count_nonzero(unknown))
        image, scores, boxes, line_no = image[keep], scores[keep], boxes[keep], line_no[keep]
    detections = ClassDetections(
        image_index=image,
        scores=scores,
        boxes=boxes,
        source=os.fspath(path),
        line_numbers=line_no,
    )
    return detections, dropped


def find_result_files(
    folder: str | os.PathLike, classes: Sequence[str], image_set: str | None = None
) -> dict[str, Path | None]:
    """Map each class to its result file in ``folder`` (None if there is none).

    A class's file is ``<class>.txt`` or ``<prefix>_det_<set>_<class>.txt`` (the
    devkit's ``comp4_det_test_<class>.txt``). When several match, files whose
    ``<set>`` is ``image_set`` are preferred; if that leaves more than one, it is
    an error.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("detections folder not found", folder)
    names = sorted(p.name for p in folder.iterdir() if p.suffix == ".txt")
    found: dict[str, Path | None] = {}
    for cls in classes:
        pattern = re.compile(rf"^(?:(?P<prefix>.+)_det_(?P<set>.+)_)?{re.escape(cls)}\.txt$")
        matches = [(n, m) for n in names if (m := pattern.match(n))]
        if len(matches) > 1 and image_set is not None:
            preferred = [(n, m) for n, m in matches if m.group("set") == image_set]
            matches = preferred or matches
        if len(matches) > 1:
            listed = ", ".join(n for n, _ in matches)
            raise InputError(f"several result files for class {cls!r}: {listed}", folder)
        found[cls] = folder / matches[0][0] if matches else None
    return found


def read_result_folder(
    folder: str | os.PathLike,
    ground_truth: GroundTruth,
    classes: Sequence[str] | None = None,
    *,
    image_set: str | None = None,
    ignore_unknown_images: bool = False,
    threads: int | None = None,
) -> Detections:
    """Read one result file per class from ``folder``.

    ``classes`` defaults to the 20 VOC classes; a class without a file is an error
    (leave it out of ``classes`` to skip it). Files are parsed on up to
    ``threads`` threads (default: the number of CPUs, at most 4).
    """
    classes = list(VOC_CLASSES if classes is None else classes)
    files = find_result_files(folder, classes, image_set)
    missing = [c for c, p in files.items() if p is None]
    if missing:
        raise InputError(
            f"no result file for class{'es' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (expected e.g. comp4_det_test_{missing[0]}.txt; "
            "use --classes to evaluate fewer classes)",
            folder,
        )
    paths = {c: p for c, p in files.items() if p is not None}
    workers = threads or min(4, os.cpu_count() or 1)

    def read(cls: str) -> tuple[ClassDetections, int]:
        return read_result_file(
            paths[cls], ground_truth, ignore_unknown_images=ignore_unknown_images
        )

    if workers > 1 and len(classes) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outputs = list(pool.map(read, classes))
    else:
        outputs = [read(c) for c in classes]
    by_class = {c: out[0] for c, out in zip(classes, outputs)}
    return Detections(by_class, dropped_unknown=sum(out[1] for out in outputs))
