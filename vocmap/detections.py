"""Detections: devkit result files, COCO-style JSON, or arrays, into columnar arrays.

Per class, detections keep their file order (the devkit breaks score ties by it).
Boxes are float64 ``(xmin, ymin, xmax, ymax)`` in VOC pixel coordinates, 1-based
and inclusive (width = xmax - xmin + 1).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vocmap.annotations import GroundTruth
from vocmap.constants import VOC_CLASSES
from vocmap.errors import InputError


@dataclass(frozen=True)
class ClassDetections:
    """The detections of one class, in file order.

    Attributes:
        image_index: (n,) int64 index into the ground truth's image ids.
        scores: (n,) float64 confidences.
        boxes: (n, 4) float64 VOC boxes.
        source: the file they came from, if any.
        line_numbers: (n,) int64 line (or record) number of each, if known.
    """

    image_index: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    source: str | None = None
    line_numbers: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @classmethod
    def empty(cls, source: str | None = None) -> ClassDetections:
        return cls(
            image_index=np.zeros(0, dtype=np.int64),
            scores=np.zeros(0, dtype=np.float64),
            boxes=np.zeros((0, 4), dtype=np.float64),
            source=source,
            line_numbers=np.zeros(0, dtype=np.int64),
        )


@dataclass(frozen=True)
class Detections:
    """Detections of several classes against one image set.

    Attributes:
        by_class: class name to its ClassDetections.
        dropped_unknown: lines dropped because their image is not in the image
            set (only with ``ignore_unknown_images``).
    """

    by_class: dict[str, ClassDetections]
    dropped_unknown: int = 0
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> ClassDetections:
        return self.by_class[name]

    def __contains__(self, name: str) -> bool:
        return name in self.by_class

    @property
    def total(self) -> int:
        return sum(len(d) for d in self.by_class.values())

    @classmethod
    def from_arrays(
        cls,
        ground_truth: GroundTruth,
        per_class: Mapping[str, tuple[Sequence, np.ndarray, np.ndarray]],
    ) -> Detections:
        """Detections from memory: ``{class: (image ids or indices (n,), scores (n,),
        boxes (n, 4))}``, each class in the order to treat as file order."""
        by_class = {}
        for name, (images, scores, boxes) in per_class.items():
            image_index = _image_indices(ground_truth, images, name)
            scores = np.ascontiguousarray(scores, dtype=np.float64).reshape(-1)
            boxes = np.ascontiguousarray(boxes, dtype=np.float64).reshape(-1, 4)
            if not (image_index.shape[0] == scores.shape[0] == boxes.shape[0]):
                raise InputError(f"class {name!r}: images, scores and boxes differ in length")
            bad = ~(np.isfinite(scores) & np.isfinite(boxes).all(axis=1))
            if bad.any():
                raise InputError(
                    f"class {name!r}: detection {int(np.argmax(bad))} has a NaN or infinite value"
                )
            by_class[name] = ClassDetections(image_index, scores, boxes)
        return cls(by_class)


def _image_indices(ground_truth: GroundTruth, images: Sequence, name: str) -> np.ndarray:
    array = np.asarray(images)
    if array.dtype.kind in "iu":
        index = array.astype(np.int64).reshape(-1)
        if index.size and (index.min() < 0 or index.max() >= ground_truth.num_images):
            raise InputError(f"class {name!r}: image index outside the image set")
        return index
    lookup = ground_truth.image_index
    out = np.empty(len(array), dtype=np.int64)
    for i, image_id in enumerate(array.tolist()):
        found = lookup.get(str(image_id))
        if found is None:
            raise InputError(f'class {name!r}: image "{image_id}" is not in the image set')
        out[i] = found
    return out


# --------------------------------------------------------------------------- #
# Devkit result files
# --------------------------------------------------------------------------- #

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
    from vocmap import kernels

    fields = _line_text(raw, line).decode("utf-8", "replace").split()
    if code == kernels.LINE_FIELD_COUNT or len(fields) != 6:
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
    from vocmap import kernels

    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("result file not found", path) from None
    except OSError as error:
        raise InputError(f"cannot read result file: {error.strerror}", path) from None
    buf = np.frombuffer(raw, dtype=np.uint8)
    id_bytes, id_offsets, slots = ground_truth.id_table
    (_, image, scores, boxes, line_no, slow, slow_count, err_line, err_code, err_field) = (
        kernels.parse_result_lines(buf, id_bytes, id_offsets, slots)
    )
    if err_code != kernels.LINE_OK:
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
    ground_truth.id_table  # build once, before the threads share it  # noqa: B018
    workers = threads or min(4, os.cpu_count() or 1)

    def read(cls: str) -> tuple[ClassDetections, int]:
        return read_result_file(
            files[cls], ground_truth, ignore_unknown_images=ignore_unknown_images
        )

    if workers > 1 and len(classes) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outputs = list(pool.map(read, classes))
    else:
        outputs = [read(c) for c in classes]
    by_class = {c: out[0] for c, out in zip(classes, outputs)}
    return Detections(by_class, dropped_unknown=sum(out[1] for out in outputs))


# --------------------------------------------------------------------------- #
# COCO-style results JSON
# --------------------------------------------------------------------------- #


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
    numeric_ids: dict[int, int] | None = None
    image_lookup = ground_truth.image_index
    if categories is None:
        categories = VOC_CLASSES if set(classes) <= set(VOC_CLASSES) else classes
    class_of = {name: k for k, name in enumerate(classes)}
    columns: list[list] = [[] for _ in classes]
    dropped = 0
    for number, record in enumerate(records):
        where = f"record {number}"
        if not isinstance(record, dict):
            raise InputError(f"{where} is not an object", path)
        try:
            raw_image = record["image_id"]
            bbox = record["bbox"]
            score = record["score"]
        except KeyError as missing:
            raise InputError(f"{where} has no {missing.args[0]!r}", path) from None
        if "category" in record:
            cls_index = class_of.get(record["category"])
            if cls_index is None:
                continue  # a class not being evaluated
        elif "category_id" in record:
            cid = record["category_id"]
            if not isinstance(cid, int) or isinstance(cid, bool) or not 1 <= cid <= len(categories):
                raise InputError(
                    f"{where}: category_id {cid!r} is not in 1..{len(categories)}", path
                )
            cls_index = class_of.get(categories[cid - 1])
            if cls_index is None:
                continue
        else:
            raise InputError(f"{where} has neither 'category' nor 'category_id'", path)
        if isinstance(raw_image, str):
            image = image_lookup.get(raw_image)
        elif isinstance(raw_image, int) and not isinstance(raw_image, bool):
            if numeric_ids is None:
                numeric_ids = _numeric_id_index(ground_truth)
            image = numeric_ids.get(raw_image)
        else:
            raise InputError(f"{where}: image_id must be a string or an integer", path)
        if image is None:
            if ignore_unknown_images:
                dropped += 1
                continue
            raise InputError(f"{where}: image {raw_image!r} is not in the image set", path)
        if not (isinstance(bbox, list) and len(bbox) == 4):
            raise InputError(f"{where}: bbox must be [x, y, w, h]", path)
        numbers = [score, *bbox]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
            raise InputError(f"{where}: score and bbox must be numbers", path)
        if not all(math.isfinite(v) for v in numbers):
            raise InputError(f"{where}: score or bbox is NaN or infinite", path)
        x, y, w, h = (float(v) for v in bbox)
        columns[cls_index].append((image, float(score), x + 1.0, y + 1.0, x + w, y + h, number))
    by_class = {}
    for cls, rows in zip(classes, columns):
        if not rows:
            by_class[cls] = ClassDetections.empty(os.fspath(path))
            continue
        table = np.array(rows, dtype=np.float64)
        by_class[cls] = ClassDetections(
            image_index=table[:, 0].astype(np.int64),
            scores=np.ascontiguousarray(table[:, 1]),
            boxes=np.ascontiguousarray(table[:, 2:6]),
            source=os.fspath(path),
            line_numbers=table[:, 6].astype(np.int64),
        )
    return Detections(by_class, dropped_unknown=dropped)


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


def read_detections(
    source: str | os.PathLike,
    ground_truth: GroundTruth,
    classes: Sequence[str] | None = None,
    *,
    image_set: str | None = None,
    ignore_unknown_images: bool = False,
) -> Detections:
    """Read a folder of devkit result files, or a COCO-style ``.json`` results file."""
    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".json":
        return read_coco_results(
            source, ground_truth, classes, ignore_unknown_images=ignore_unknown_images
        )
    if source.is_file():
        raise InputError("expected a folder of result files or a .json results file", source)
    return read_result_folder(
        source,
        ground_truth,
        classes,
        image_set=image_set,
        ignore_unknown_images=ignore_unknown_images,
    )
