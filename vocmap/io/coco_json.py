"""COCO-style results JSON (``[{image_id, category_id | category, bbox, score}]``)
into Detections, with COCO's 0-based ``[x, y, w, h]`` boxes mapped to VOC pixels.

Every problem is one InputError naming the file, the line of the record and the
record's index: a category that is not a known class (unless dropped on request,
with a count), a category that is not a string, an integer of more than
MAX_DIGITS digits, a number or a box corner (``x + w``) that is not finite,
nesting deeper than Python's parser can follow.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence

import numpy as np

from vocmap.core.detections import ClassDetections, Detections, numeric_id_index
from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth
from vocmap.io.coco_categories import (
    SKIP,
    UNKNOWN,
    CategoryMap,
    category_map,
    default_classes,
)
from vocmap.io.coco_fast import read_fast
from vocmap.io.files import read_input_file

#: The longest integer read (an image id or a coordinate has far fewer digits).
MAX_DIGITS = 20

#: COCO's and other datasets' names of VOC classes, for hints only (never mapped).
_VOC_SPELLING = {
    "airplane": "aeroplane",
    "motorcycle": "motorbike",
    "couch": "sofa",
    "tv": "tvmonitor",
    "dining table": "diningtable",
    "potted plant": "pottedplant",
}


class _LongInteger(ValueError):
    def __init__(self, digits: str):
        super().__init__(digits)
        self.digits = digits


def _parse_int(digits: str) -> int:
    if len(digits) > MAX_DIGITS + 1:  # a sign and MAX_DIGITS digits
        raise _LongInteger(digits)
    return int(digits)


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, max(0, position)) + 1


def _too_deep_line(text: str, limit: int = 500) -> int:
    """The line where brackets first nest ``limit`` deep (outside strings)."""
    depth, in_string, escaped = 0, False, False
    for position, character in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            if depth >= limit:
                return _line_of(text, position)
        elif character in "]}":
            depth -= 1
    return 1


def load_records(raw: bytes, source: str) -> tuple[list, str]:
    """The records of a results JSON document and its text (for record lines)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text ({error.reason})", source, line) from None
    try:
        records = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as error:
        raise InputError(f"malformed JSON: {error.msg}", source, error.lineno) from None
    except _LongInteger as error:
        raise InputError(
            f"an integer of {len(error.digits.lstrip('-')):,} digits (at most {MAX_DIGITS} "
            "are read)",
            source,
            _line_of(text, text.find(error.digits)),
        ) from None
    except RecursionError:
        raise InputError(
            "JSON nested too deeply (a results file is a list of flat records)",
            source,
            _too_deep_line(text),
        ) from None
    if not isinstance(records, list):
        raise InputError("expected a JSON list of detection records", source, 1)
    return records, text


def _record_line(text: str, number: int) -> int | None:
    """The line where record ``number`` of the top-level list starts."""
    decoder = json.JSONDecoder(parse_int=_parse_int)
    blank = " \t\r\n"
    position = len(text) - len(text.lstrip(blank + "\ufeff"))
    if not text.startswith("[", position):
        return None
    position += 1
    try:
        for _ in range(number):
            while text[position] in blank:
                position += 1
            _, position = decoder.raw_decode(text, position)
            while text[position] in blank:
                position += 1
            position += 1  # the comma
        while text[position] in blank:
            position += 1
    except (ValueError, IndexError, RecursionError):
        return None
    return _line_of(text, position)


def read_coco_results(
    path: str | os.PathLike,
    ground_truth: GroundTruth,
    classes: Sequence[str] | None = None,
    *,
    categories: Sequence[str] | None = None,
    ignore_unknown_images: bool = False,
    ignore_unknown_categories: bool = False,
) -> Detections:
    """Read a COCO-style results list ``[{image_id, category_id | category, bbox, score}]``.

    Mapping to VOC (also in the README):

    * ``image_id``: a string is matched exactly against the image set's ids; an
      integer ``n`` matches the id whose digits read as ``n`` (``7`` is
      ``"000007"``), which must be unique.
    * ``category``: a class name, exactly as spelled; ``category_id``: through
      the ground truth's ``categories`` (COCO-format annotations, id to name, as
      pycocotools matches them), or, given ``categories`` (names), its 1-based
      position there; only where neither exists (VOC XML), the 20 VOC classes in
      the devkit's order (1 is aeroplane, 20 is tvmonitor), or ``classes`` when
      some class is not a VOC class (:mod:`vocmap.io.coco_categories`). Records
      of a known category that is not being evaluated are skipped; a category
      that is not known is an error naming the record and its line, or with
      ``ignore_unknown_categories`` the record is dropped and counted
      (``Detections.dropped_categories``).
    * ``bbox``: ``[x, y, w, h]`` in COCO's continuous, 0-based pixel frame, which
      covers VOC pixels ``x + 1 .. x + w``; so ``xmin = x + 1, ymin = y + 1,
      xmax = x + w, ymax = y + h`` and the VOC width ``xmax - xmin + 1`` is ``w``.

    Records keep their list order within each class (it breaks score ties).
    """
    return _parse(
        [read_input_file(path, "results JSON")],  # _parse may release the bytes early
        os.fspath(path),
        ground_truth,
        classes,
        categories=categories,
        ignore_unknown_images=ignore_unknown_images,
        ignore_unknown_categories=ignore_unknown_categories,
    )


def parse_coco_bytes(
    raw: bytes,
    source: str,
    ground_truth: GroundTruth,
    classes: Sequence[str] | None = None,
    *,
    categories: Sequence[str] | None = None,
    ignore_unknown_images: bool = False,
    ignore_unknown_categories: bool = False,
) -> Detections:
    """read_coco_results on bytes; ``source`` names them in messages.

    Files in the shape frameworks write are read by one numba pass
    (:mod:`vocmap.io.coco_fast`); anything else, and every file with a record
    that is refused, by Python's ``json`` (:func:`parse_exact`), with the same result.
    """
    return _parse(
        [raw],
        source,
        ground_truth,
        classes,
        categories=categories,
        ignore_unknown_images=ignore_unknown_images,
        ignore_unknown_categories=ignore_unknown_categories,
    )


def _parse(
    held: list[bytes],
    source: str,
    ground_truth: GroundTruth,
    classes: Sequence[str] | None = None,
    *,
    categories: Sequence[str] | None = None,
    ignore_unknown_images: bool = False,
    ignore_unknown_categories: bool = False,
) -> Detections:
    """parse_coco_bytes on ``held[0]``, which the fast path may release (empty ``held``)."""
    classes = default_classes(ground_truth) if classes is None else list(classes)
    mapping = category_map(ground_truth, classes, categories)
    fast = read_fast(
        held,
        source,
        ground_truth,
        classes,
        mapping,
        ignore_unknown_images=ignore_unknown_images,
        ignore_unknown_categories=ignore_unknown_categories,
    )
    if fast is not None:
        return fast
    return parse_exact(
        held[0],
        source,
        ground_truth,
        classes,
        mapping,
        ignore_unknown_images=ignore_unknown_images,
        ignore_unknown_categories=ignore_unknown_categories,
    )


def parse_exact(
    raw: bytes,
    source: str,
    ground_truth: GroundTruth,
    classes: list[str],
    mapping: CategoryMap,
    *,
    ignore_unknown_images: bool = False,
    ignore_unknown_categories: bool = False,
) -> Detections:
    """The results records through Python's ``json``, one by one (the exact reader)."""
    records, text = load_records(raw, source)
    reader = _RecordReader(source, text, ground_truth, mapping)
    columns: list[list] = [[] for _ in classes]
    dropped_images = dropped_categories = 0
    for number, record in enumerate(records):
        cls_index = reader.class_index(record, number)
        if cls_index == UNKNOWN:
            if not ignore_unknown_categories:
                raise reader.unknown_category(record, number)
            dropped_categories += 1
            continue
        if cls_index == SKIP:
            continue  # a class not being evaluated
        image = reader.image(record, number)
        if image is None:
            if ignore_unknown_images:
                dropped_images += 1
                continue
            raise reader.error(number, f": image {record['image_id']!r} is not in the image set")
        columns[cls_index].append((image, *reader.numbers(record, number), number))
    by_class = {cls: _class_detections(rows, source) for cls, rows in zip(classes, columns)}
    return Detections(
        by_class, dropped_unknown=dropped_images, dropped_categories=dropped_categories
    )


class _RecordReader:
    """Reads the fields of one results record, with errors naming the record."""

    def __init__(
        self, source: str, text: str, ground_truth: GroundTruth, categories: CategoryMap
    ) -> None:
        self.source = source
        self.text = text
        self.ground_truth = ground_truth
        self.categories = categories
        self.known = categories.known
        self._numeric_ids: dict[int, int] | None = None

    def error(self, number: int, message: str) -> InputError:
        return InputError(f"record {number}{message}", self.source, _record_line(self.text, number))

    def class_index(self, record: object, number: int) -> int:
        """The record's class as an index into ``classes``, SKIP (not evaluated) or
        UNKNOWN (not a known category): :mod:`vocmap.io.coco_categories`."""
        if not isinstance(record, dict):
            raise self.error(number, " is not an object")
        for key in ("image_id", "bbox", "score"):
            if key not in record:
                raise self.error(number, f" has no {key!r}")
        return self.categories.code(self._category(record, number))

    def _category(self, record: dict, number: int) -> str | None:
        """The record's category name (None: a category_id not listed)."""
        by_id = None
        if "category_id" in record:
            cid = record["category_id"]
            if not isinstance(cid, int) or isinstance(cid, bool):
                raise self.error(number, f": category_id must be an integer, not {cid!r}")
            by_id = self.categories.name_of_id(cid)
        if "category" not in record:
            if "category_id" not in record:
                raise self.error(number, " has neither 'category' nor 'category_id'")
            return by_id
        name = record["category"]
        if not isinstance(name, str):
            raise self.error(number, f": category must be a class name (a string), not {name!r}")
        if by_id is not None and name in self.known and by_id != name:
            raise self.error(
                number,
                f": category {name!r} and category_id {record['category_id']} ({by_id!r}) disagree",
            )
        return name

    def unknown_category(self, record: dict, number: int) -> InputError:
        if "category" in record:
            name = record["category"]
            hint = ""
            near = [c for c in self.known if c.lower() == name.lower().strip()]
            spelled = _VOC_SPELLING.get(name.lower().strip())
            if near:
                hint = f" (did you mean {near[0]!r}? names are compared exactly)"
            elif spelled in self.known:
                hint = f" (VOC calls it {spelled!r})"
            what = f"category {name!r} is not a known class{hint}"
        else:
            what = self.categories.unknown_id(record["category_id"])
        return self.error(
            number, f": {what}; --ignore-unknown-categories drops such records and counts them"
        )

    def image(self, record: dict, number: int) -> int | None:
        """The record's image index (None: not in the image set)."""
        raw_image = record["image_id"]
        if isinstance(raw_image, str):
            return self.ground_truth.image_index.get(raw_image)
        if isinstance(raw_image, int) and not isinstance(raw_image, bool):
            if self._numeric_ids is None:
                self._numeric_ids = numeric_id_index(self.ground_truth)
            return self._numeric_ids.get(raw_image)
        raise self.error(number, ": image_id must be a string or an integer")

    def numbers(self, record: dict, number: int) -> tuple[float, float, float, float, float]:
        """``(score, xmin, ymin, xmax, ymax)``: the score and the VOC box."""
        bbox = record["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4):
            raise self.error(number, ": bbox must be [x, y, w, h]")
        values = [record["score"], *bbox]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise self.error(number, ": score and bbox must be numbers")
        score, x, y, w, h = (float(v) for v in values)  # integers have <= MAX_DIGITS digits
        if not all(math.isfinite(v) for v in (score, x, y, w, h)):
            raise self.error(number, ": score or bbox is NaN or infinite")
        box = (x + 1.0, y + 1.0, x + w, y + h)
        if not all(math.isfinite(v) for v in box):
            raise self.error(number, ": x + w or y + h overflows (is infinite)")
        return (score, *box)


def _class_detections(rows: list, source: str) -> ClassDetections:
    if not rows:
        return ClassDetections.empty(source)
    table = np.array(rows, dtype=np.float64)
    return ClassDetections(
        image_index=table[:, 0].astype(np.int64),
        scores=np.ascontiguousarray(table[:, 1]),
        boxes=np.ascontiguousarray(table[:, 2:6]),
        source=source,
        line_numbers=table[:, 6].astype(np.int64),
    )
