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

import numpy as np

from vocmap.core.detections import ClassDetections, Detections
from vocmap.core.errors import InputError, VocmapError
from vocmap.core.ground_truth import GroundTruth
from vocmap.io import text_kernels
from vocmap.io.characters import character_name, first_odd_character
from vocmap.io.files import read_input_file
from vocmap.io.result_names import find_result_files, folder_summary, parse_result_name

__all__ = [
    "IdTable",
    "find_result_files",
    "id_table",
    "parse_result_bytes",
    "read_result_file",
    "read_result_folder",
]


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


_FIELD_NAMES = ("image id", "score", "xmin", "ymin", "xmax", "ymax")
_FIELDS = "'<image id> <score> <xmin> <ymin> <xmax> <ymax>'"
#: A token longer than this (bytes) is shown abbreviated in a message.
_TOKEN_BYTES = 150


def _line_bytes(raw: bytes, line: int) -> bytes:
    """Line ``line`` (1-based) of ``raw``, without a leading BOM or CR/LF."""
    ends = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 10)
    start = 0 if line == 1 else int(ends[line - 2]) + 1
    stop = int(ends[line - 1]) if line - 1 < len(ends) else len(raw)
    text = raw[start:stop].rstrip(b"\r")
    return text[3:] if line == 1 and text.startswith(b"\xef\xbb\xbf") else text


def _token(raw: bytes) -> str:
    """A token for a message: a long one as its ends and its length, bad bytes as \\xNN."""
    if len(raw) > _TOKEN_BYTES:
        head = raw[:100].decode("utf-8", "backslashreplace")
        tail = raw[-40:].decode("utf-8", "backslashreplace")
        return f"{head}...[{len(raw):,} bytes]...{tail}"
    return raw.decode("utf-8", "backslashreplace")


_VISIBLE = bytes(range(0x21, 0x7F))
_NOT_VISIBLE = re.compile(rb"[^\x21-\x7e]+")


def _odd_token(fields: list[bytes]) -> tuple[int, str] | None:
    """The first field holding a character that looks like blank space or is
    not printable, and that character's description (None if there is none)."""
    for k, field in enumerate(fields):
        if not field.translate(None, _VISIBLE):
            continue  # printable ASCII only (checked at C speed)
        for run in _NOT_VISIBLE.finditer(field):
            odd = first_odd_character(run.group().decode("utf-8", "surrogateescape"))
            if odd is not None:
                return k, character_name(odd)
    return None


def _line_error(raw: bytes, path: str, line: int, code: int, field: int) -> InputError:
    """The InputError for a result line the parser stopped at.

    Fields are split as the parser splits them (ASCII blank space only); a token
    holding a look-alike of blank space (U+00A0, U+001C, a BOM) is named first,
    since it is the reason the line reads wrong.
    """
    fields = _line_bytes(raw, line).split()
    odd = _odd_token(fields)
    if odd is not None:
        k, character = odd
        what = f"field {k + 1} ({_FIELD_NAMES[k]})" if k < 6 else f"field {k + 1}"
        message = (
            f"{what} {_token(fields[k])!r} contains {character}, which is not a field "
            f"separator (fields are separated by spaces or tabs: {_FIELDS})"
        )
    elif code == text_kernels.LINE_FIELD_COUNT or len(fields) != 6:
        message = f"expected 6 fields {_FIELDS}, found {len(fields)}"
    else:
        token = _token(fields[field]) if field < len(fields) else ""
        problem = (
            "is not a number" if code == text_kernels.LINE_NOT_A_NUMBER else "is NaN or infinite"
        )
        message = f"field {field + 1} ({_FIELD_NAMES[field]}) {problem}: {token!r}"
    return InputError(message, path, line)


def _unknown_image_error(raw: bytes, path: str, line: int, hint: str) -> InputError:
    fields = _line_bytes(raw, line).split()
    image_id = _token(fields[0])
    odd = _odd_token(fields[:1])
    extra = f"; it contains {odd[1]}" if odd is not None else ""
    return InputError(
        f'image "{image_id}" is not in the image set{extra} (the devkit stops with '
        f'"unrecognized image"; --ignore-unknown-images drops such lines){hint}',
        path,
        line,
    )


def parse_result_bytes(
    raw: bytes,
    source: str,
    ground_truth: GroundTruth,
    *,
    ignore_unknown_images: bool = False,
    unknown_hint: str = "",
) -> tuple[ClassDetections, int]:
    """Parse the bytes of one result file (see read_result_file); ``source``
    names it in messages and in the detections."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    table = id_table(ground_truth)
    (count, image, scores, boxes, line_no, slow, slow_count, err_line, err_code, err_field) = (
        text_kernels.parse_result_lines(buf, table.id_bytes, table.id_offsets, table.slots)
    )
    # Numbers the fast path left to Python; those of lines before a bad line
    # first, so that the first bad line is the one reported.
    for detection, column, start in slow[:slow_count]:
        if detection >= count:
            break  # on the line the parser stopped at
        stop = start
        while stop < len(raw) and raw[stop] not in b" \t\r\n\v\f":
            stop += 1
        token = raw[start:stop].decode("ascii")
        value = float(token)
        if not math.isfinite(value):
            raise InputError(
                f"field {column + 2} ({_FIELD_NAMES[column + 1]}) is out of range: {token!r}",
                source,
                int(line_no[detection]),
            )
        if column == 0:
            scores[detection] = value
        else:
            boxes[detection, column - 1] = value
    if err_code != text_kernels.LINE_OK:
        raise _line_error(raw, source, int(err_line), int(err_code), int(err_field))
    unknown = image < 0
    dropped = 0
    if unknown.any():
        first = int(np.argmax(unknown))
        if not ignore_unknown_images:
            raise _unknown_image_error(raw, source, int(line_no[first]), unknown_hint)
        keep = ~unknown
        dropped = int(np.count_nonzero(unknown))
        image, scores, boxes, line_no = image[keep], scores[keep], boxes[keep], line_no[keep]
    detections = ClassDetections(
        image_index=image,
        scores=scores,
        boxes=boxes,
        source=source,
        line_numbers=line_no,
    )
    return detections, dropped


def read_result_file(
    path: str | os.PathLike,
    ground_truth: GroundTruth,
    *,
    ignore_unknown_images: bool = False,
    folder: str | os.PathLike | None = None,
    follow_symlinks: bool = False,
) -> tuple[ClassDetections, int]:
    """Read one devkit result file; return its detections and the count of lines
    dropped for naming an image outside the image set.

    Lines are ``<image id> <score> <xmin> <ymin> <xmax> <ymax>`` separated by
    ASCII blank space; scientific notation, CRLF and a UTF-8 BOM at the start
    are accepted; blank lines are skipped. Raises InputError (file and line) for
    a wrong field count, a field that is not a number, a NaN or infinite value,
    a look-alike of blank space inside a field (U+00A0, U+001C, a BOM inside the
    file), and (unless ``ignore_unknown_images``) an image id outside the image
    set. An empty file is zero detections (AP 0, as in the devkit). The file must
    be a regular file; with ``folder``, a symbolic link out of it is refused
    unless ``follow_symlinks``.
    """
    raw = read_input_file(path, "result file", folder=folder, follow_symlinks=follow_symlinks)
    return parse_result_bytes(
        raw, os.fspath(path), ground_truth, ignore_unknown_images=ignore_unknown_images
    )


def read_result_folder(
    folder: str | os.PathLike,
    ground_truth: GroundTruth,
    classes: Sequence[str] | None = None,
    *,
    image_set: str | None = None,
    ignore_unknown_images: bool = False,
    threads: int | None = None,
    prefix: str | None = None,
    follow_symlinks: bool = False,
) -> Detections:
    """Read one result file per class from ``folder``.

    ``classes`` defaults to the 20 VOC classes; a class without a file is an error
    (leave it out of ``classes`` to skip it). Which file is whose, and the rules
    for files of several runs, are :mod:`vocmap.io.result_names`'s (``prefix``
    chooses a run). Files are parsed on up to ``threads`` threads (default: the
    number of CPUs, at most 4).
    """
    from vocmap.core.evaluate import class_list  # checks each name

    classes = list(class_list(classes))
    if prefix is not None and not isinstance(prefix, str):
        raise VocmapError(f"prefix must be a string, not {prefix!r:.60}")
    files = find_result_files(folder, classes, image_set, prefix=prefix)
    missing = [c for c, p in files.items() if p is None]
    if missing:
        present = folder_summary(folder, image_set)
        raise InputError(
            f"no result file for class{'es' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (expected e.g. comp4_det_test_{missing[0]}.txt; "
            "use --classes to evaluate fewer classes)"
            + (f"; the folder has {present}" if present else "; the folder has no *.txt file"),
            folder,
        )
    paths = {c: p for c, p in files.items() if p is not None}
    named = parse_result_name(next(iter(paths.values())).name, image_set) if paths else None
    hint = ""
    if named is not None and named.image_set not in (None, image_set) and image_set:
        hint = (
            f" (the result files are named for image set {named.image_set!r}, "
            f"the image set evaluated is {image_set!r})"
        )
    workers = threads or min(4, os.cpu_count() or 1)

    def read(cls: str) -> tuple[ClassDetections, int]:
        path = paths[cls]
        raw = read_input_file(path, "result file", folder=folder, follow_symlinks=follow_symlinks)
        return parse_result_bytes(
            raw,
            os.fspath(path),
            ground_truth,
            ignore_unknown_images=ignore_unknown_images,
            unknown_hint=hint,
        )

    if workers > 1 and len(classes) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outputs = list(pool.map(read, classes))
    else:
        outputs = [read(c) for c in classes]
    by_class = {c: out[0] for c, out in zip(classes, outputs)}
    return Detections(by_class, dropped_unknown=sum(out[1] for out in outputs))
