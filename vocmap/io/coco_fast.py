"""The fast path of the COCO-style results reader: the numba pass of
:mod:`vocmap.io.coco_kernels` over the bytes, into Detections, or None.

None means "read it exactly" (:mod:`vocmap.io.coco_json`): the file is outside
the fast shape, or holds a record the exact reader refuses (its error then names
the record and the line). What this path returns is what the exact reader
returns for the same bytes, array for array (tests/vocmap/test_coco_fast_parity.py).
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from vocmap.core.detections import ClassDetections, Detections, numeric_id_index
from vocmap.core.ground_truth import GroundTruth
from vocmap.io import coco_kernels, text_kernels
from vocmap.io.coco_categories import CategoryMap
from vocmap.io.result_files import id_table

_NUMERIC: weakref.WeakKeyDictionary[GroundTruth, tuple[np.ndarray, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)
_NUMERIC_LOCK = threading.Lock()


def numeric_ids(ground_truth: GroundTruth) -> tuple[np.ndarray, np.ndarray]:
    """``(values, images)``: (n,) int64 sorted integer ids and their image index
    (:func:`numeric_id_index`; ids beyond int64 left out), cached per ground truth."""
    with _NUMERIC_LOCK:
        cached = _NUMERIC.get(ground_truth)
        if cached is None:
            limit = np.iinfo(np.int64).max
            index = numeric_id_index(ground_truth)
            pairs = sorted((v, i) for v, i in index.items() if v <= limit)
            cached = (
                np.array([p[0] for p in pairs], dtype=np.int64),
                np.array([p[1] for p in pairs], dtype=np.int64),
            )
            _NUMERIC[ground_truth] = cached
        return cached


def _name_table(categories: CategoryMap) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    names, codes = categories.name_list()
    encoded = [n.encode("utf-8", "surrogatepass") for n in names]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    name_bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    slots, _ = text_kernels.build_id_table(name_bytes, offsets)  # names are unique
    return name_bytes, offsets, slots, codes


#: Files smaller than this are read in one piece (threads cost more than they save).
PIECE_BYTES = 4 << 20
#: How far past its share a piece's start is looked for (records are far shorter).
SEARCH_BYTES = 1 << 16


def _piece_starts(raw: bytes, pieces: int) -> list[int]:
    """Where pieces 1.. begin: a ``{`` after ``}`` and ``,`` (blank space between),
    near equal shares of the file. A guess the first piece confirms (a string can
    hold ``},{``): the caller falls back to one piece when it does not."""
    starts: list[int] = []
    blank = b" \t\r\n"
    for k in range(1, pieces):
        target = len(raw) * k // pieces
        position = raw.find(b"{", target, target + SEARCH_BYTES)
        while position > 0:
            before = raw[max(0, position - 64) : position].rstrip(blank)
            if before.endswith(b",") and before[:-1].rstrip(blank).endswith(b"}"):
                break
            position = raw.find(b"{", position + 1, target + SEARCH_BYTES)
        if position > 0 and (not starts or position > starts[-1]):
            starts.append(position)
    return starts


def read_fast(
    held: list[bytes],
    source: str,
    ground_truth: GroundTruth,
    classes: Sequence[str],
    categories: CategoryMap,
    *,
    ignore_unknown_images: bool,
    ignore_unknown_categories: bool,
    threads: int | None = None,
) -> Detections | None:
    """Detections from the bytes ``held[0]`` in one numba pass (in pieces on up to
    ``threads`` threads, default: up to 4 cores), or None: read them exactly.

    Once the pass has succeeded, ``held`` is emptied: the caller that holds no
    other reference to the bytes gets their memory back before the records are
    grouped by class (the peak of a 100 MB file's reading).
    """
    raw = held[0]
    buf = np.frombuffer(raw, dtype=np.uint8)
    ids = id_table(ground_truth)
    numeric_values, numeric_images = numeric_ids(ground_truth)
    category_ids, category_codes = categories.id_arrays()
    tables = (
        ids.id_bytes,
        ids.id_offsets,
        ids.slots,
        numeric_values,
        numeric_images,
        category_ids,
        category_codes,
        *_name_table(categories),
        ignore_unknown_images,
        ignore_unknown_categories,
    )
    workers = threads or min(4, os.cpu_count() or 1)
    starts = _piece_starts(raw, workers) if workers > 1 and len(raw) >= PIECE_BYTES else []
    parsed = _parse_pieces(buf, [0, *starts, len(raw)], tables)
    if parsed is None and starts:
        parsed = _parse_pieces(buf, [0, len(raw)], tables)  # a guessed start was inside a record
    if parsed is None:
        return None
    columns, pieces, results = parsed
    for result in results:
        slow, slow_count = result[4], result[5]
        for row, *spans in slow[:slow_count].tolist():
            if not _fix_slow(raw, row, spans, columns[2], columns[3]):
                return None  # the exact reader names the record
    del raw, buf
    held.clear()
    offsets, image, scores, boxes, record = coco_kernels.group_by_class(
        len(classes), *columns, pieces
    )
    del columns
    by_class = {}
    for k, name in enumerate(classes):
        start, stop = int(offsets[k]), int(offsets[k + 1])
        if start == stop:
            by_class[name] = ClassDetections.empty(source)
            continue
        by_class[name] = ClassDetections(
            image_index=image[start:stop],
            scores=scores[start:stop],
            boxes=boxes[start:stop],
            source=source,
            line_numbers=record[start:stop],
        )
    return Detections(
        by_class,
        dropped_unknown=sum(r[6] for r in results),
        dropped_categories=sum(r[7] for r in results),
    )


def _parse_pieces(buf: np.ndarray, bounds: list[int], tables: tuple) -> tuple | None:
    """parse_coco_records on the pieces ``bounds[k]:bounds[k+1]``, one a thread, into
    shared columns: ``(columns, pieces (p, 3), results)``, or None if one fails."""
    rows = [0]
    for begin, limit in itertools.pairwise(bounds):
        rows.append(rows[-1] + coco_kernels.piece_capacity(begin, limit))
    n = rows[-1]
    small = np.int32 if n < 2**31 and len(tables[1]) < 2**31 else np.int64  # saves memory
    columns = (
        np.empty(n, dtype=small),  # class (< the number of classes)
        np.empty(n, dtype=small),  # image (< the number of images)
        np.empty(n, dtype=np.float64),  # score
        np.empty((n, 4), dtype=np.float64),  # VOC box
        np.empty(n, dtype=small),  # record in its piece (< n)
    )

    def piece(k: int) -> tuple:
        return coco_kernels.parse_coco_records(
            buf, bounds[k], bounds[k + 1], *columns, rows[k], *tables
        )

    if len(bounds) == 2:
        results = [piece(0)]
    else:
        with ThreadPoolExecutor(max_workers=len(bounds) - 1) as pool:
            results = list(pool.map(piece, range(len(bounds) - 1)))
    if any(result[0] != coco_kernels.FAST_OK for result in results):
        return None
    before = np.cumsum([0] + [result[2] for result in results])
    pieces = np.array(
        [(rows[k], result[3], before[k]) for k, result in enumerate(results)], dtype=np.int64
    ).reshape(-1, 3)
    return columns, pieces, results


def _fix_slow(
    raw: bytes, row: int, spans: list[int], scores: np.ndarray, boxes: np.ndarray
) -> bool:
    """A kept record with a number the kernel left: its five numbers as Python's
    ``json`` reads them (a float's ``float(text)``, an integer's ``float(int(text))``,
    so ``-0`` is ``+0.0``), its VOC box as the exact reader computes it; False where
    one is not finite."""
    values = []
    for k in range(5):
        text = raw[spans[2 * k] : spans[2 * k + 1]]
        is_float = any(c in text for c in b".eE")
        values.append(float(text) if is_float else float(int(text)))
    score, x, y, w, h = values
    box = (x + 1.0, y + 1.0, x + w, y + h)
    if not all(math.isfinite(v) for v in (score, x, y, w, h, *box)):
        return False
    scores[row] = score
    boxes[row] = box
    return True
