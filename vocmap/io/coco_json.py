"""COCO-style results JSON (``[{image_id, category_id | category, bbox, score}]``)
into Detections, with COCO's 0-based ``[x, y, w, h]`` boxes mapped to VOC pixels."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vocmap.core.constants import VOC_CLASSES
from vocmap.core.detections import ClassDetections, Detections
from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth


def read_coco_results(
    path: str | os.PathLike,
    ground_truth: GroundTruth,
    classes: Sequence[str] | None = None,
    *,
    categories: Sequence[str] | None = None,
    ignore_unknown_images: bool = False,
) -> Detections:
    """Read a COCO-style results list ``[{image_id, category_id | category, bbox, score}]``.

    Mapping to VOC (also in the README):

    * ``image_id``: a string is matched exactly against the image set's ids; an
      integer ``n`` matches the id whose digits read as ``n`` (``7`` is
      ``"000007"``), which must be unique.
    * ``category``: a class name; ``category_id``: 1-based position in
      ``categories``, by default the 20 VOC classes in the devkit's order (1 is
      aeroplane, 20 is tvmonitor), or ``classes`` when some class is not a VOC
      class. Records of classes not being evaluated are skipped.
    * ``bbox``: ``[x, y, w, h]`` in COCO's continuous, 0-based pixel frame, which
      covers VOC pixels ``x + 1 .. x + w``; so ``xmin = x + 1, ymin = y + 1,
      xmax = x + w, ymax = y + h`` and the VOC width ``xmax - xmin + 1`` is ``w``.

    Records keep their list order within each class (it breaks score ties).
    """
    classes = list(VOC_CLASSES if classes is None else classes)
    path = Path(path)
    records = _load_records(path)
    if categories is None:
        categories = VOC_CLASSES if set(classes) <= set(VOC_CLASSES) else classes
    reader = _RecordReader(path, ground_truth, classes, categories)
    columns: list[list] = [[] for _ in classes]
    dropped = 0
    for number, record in enumerate(records):
        cls_index = reader.class_index(record, number)
        if cls_index is None:
            continue  # a class not being evaluated
        image = reader.image(record, number)
        if image is None:
            if ignore_unknown_images:
                dropped += 1
                continue
            raise InputError(
                f"record {number}: image {record['image_id']!r} is not in the image set", path
            )
        score, x, y, w, h = reader.numbers(record, number)
        columns[cls_index].append((image, score, x + 1.0, y + 1.0, x + w, y + h, number))
    by_class = {cls: _class_detections(rows, path) for cls, rows in zip(classes, columns)}
    return Detections(by_class, dropped_unknown=dropped)


def _load_records(path: Path) -> list:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError("results JSON not found", path) from None
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 text ({error.reason})", path) from None
    try:
        records = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"malformed JSON: {error.msg}", path, error.lineno) from None
    if not isinstance(records, list):
        raise InputError("expected a JSON list of detection records", path)
    return records


class _RecordReader:
    """Reads the fields of one results record, with errors naming the record."""

    def __init__(
        self,
        path: Path,
        ground_truth: GroundTruth,
        classes: Sequence[str],
        categories: Sequence[str],
    ) -> None:
        self.path = path
        self.ground_truth = ground_truth
        self.categories = categories
        self.class_of = {name: k for k, name in enumerate(classes)}
        self._numeric_ids: dict[int, int] | None = None

    def _error(self, number: int, message: str) -> InputError:
        return InputError(f"record {number}{message}", self.path)

    def class_index(self, record: object, number: int) -> int | None:
        """The record's class as an index into ``classes`` (None: not evaluated)."""
        if not isinstance(record, dict):
            raise self._error(number, " is not an object")
        for key in ("image_id", "bbox", "score"):
            if key not in record:
                raise self._error(number, f" has no {key!r}")
        if "category" in record:
            return self.class_of.get(record["category"])
        if "category_id" not in record:
            raise self._error(number, " has neither 'category' nor 'category_id'")
        cid = record["category_id"]
        if (
            not isinstance(cid, int)
            or isinstance(cid, bool)
            or not 1 <= cid <= len(self.categories)
        ):
            raise self._error(number, f": category_id {cid!r} is not in 1..{len(self.categories)}")
        return self.class_of.get(self.categories[cid - 1])

    def image(self, record: dict, number: int) -> int | None:
        """The record's image index (None: not in the image set)."""
        raw_image = record["image_id"]
        if isinstance(raw_image, str):
            return self.ground_truth.image_index.get(raw_image)
        if isinstance(raw_image, int) and not isinstance(raw_image, bool):
            if self._numeric_ids is None:
                self._numeric_ids = _numeric_id_index(self.ground_truth)
            return self._numeric_ids.get(raw_image)
        raise self._error(number, ": image_id must be a string or an integer")

    def numbers(self, record: dict, number: int) -> tuple[float, float, float, float, float]:
        """``(score, x, y, w, h)`` as floats."""
        bbox = record["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4):
            raise self._error(number, ": bbox must be [x, y, w, h]")
        values = [record["score"], *bbox]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise self._error(number, ": score and bbox must be numbers")
        if not all(math.isfinite(v) for v in values):
            raise self._error(number, ": score or bbox is NaN or infinite")
        score, x, y, w, h = (float(v) for v in values)
        return score, x, y, w, h


def _class_detections(rows: list, path: Path) -> ClassDetections:
    if not rows:
        return ClassDetections.empty(os.fspath(path))
    table = np.array(rows, dtype=np.float64)
    return ClassDetections(
        image_index=table[:, 0].astype(np.int64),
        scores=np.ascontiguousarray(table[:, 1]),
        boxes=np.ascontiguousarray(table[:, 2:6]),
        source=os.fspath(path),
        line_numbers=table[:, 6].astype(np.int64),
    )


def _numeric_id_index(ground_truth: GroundTruth) -> dict[int, int]:
    index: dict[int, int] = {}
    clashes: set[int] = set()
    for i, image_id in enumerate(ground_truth.image_ids):
        if image_id.isdigit():
            value = int(image_id)
            if value in index:
                clashes.add(value)
            index[value] = i
    for value in clashes:
        del index[value]
    return index
