"""COCO-format annotations (``{"images", "annotations", "categories"}``) as a GroundTruth.

Many VOC users have the ground truth in this form (mmdet's and detectron2's
configs ship VOC converted to COCO json). The mapping, also in the README:

* images: the ``images`` list, in file order, is the image set; an image's id is
  its ``id`` as written (``7`` is the id ``"7"``), or with
  ``image_ids="file_stem"`` the stem of its ``file_name`` (``"000007"``), so that
  devkit result files name the same images.
* objects: the ``annotations`` in file order (grouped by image, stably);
  ``bbox`` ``[x, y, w, h]`` is mapped as ``box_format="xywh"``
  (:mod:`vocmap.core.boxes`): ``(x + 1, y + 1, x + w, y + h)``.
* difficult: ``iscrowd``, ``ignore`` or ``difficult`` equal to 1 (or true);
  other values than 0/1/true/false are errors.
* for COCO's metric, as pycocotools reads them: ``iscrowd`` alone marks crowd
  regions (when any annotation has the key; else the difficult flags serve),
  ``area`` is each object's area for the size ranges (``w * h`` where missing),
  and integer image ids order the images (``GroundTruth.coco_image_ids``).
* classes: ``category_id`` through the file's ``categories`` (``id`` to
  ``name``), or through the ``categories`` argument when given; an id in
  neither is an error, never a guess by position. The mapping stays with the
  ground truth (``GroundTruth.categories``): a results file's ``category_id``
  goes through the same ids (:mod:`vocmap.io.coco_categories`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vocmap.core.boxes import to_voc_boxes
from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth
from vocmap.io.coco_cache import load_or_parse
from vocmap.io.files import read_input_file

_DIFFICULT_KEYS = ("iscrowd", "ignore", "difficult")


def read_coco_ground_truth(
    path: str | os.PathLike,
    *,
    categories: Mapping[int, str] | None = None,
    image_ids: Literal["id", "file_stem"] = "id",
    cache: bool = True,
) -> GroundTruth:
    """Read COCO-format annotations into a :class:`GroundTruth` (mapping: module docstring).

    Args:
        path: the ``.json`` file.
        categories: ``{category_id: class name}``; default: the file's ``categories``.
        image_ids: "id" (the images' ``id``) or "file_stem" (``file_name`` without
            folder and extension).
        cache: keep the parsed arrays on disk, keyed on the file's content
            (:mod:`vocmap.io.coco_cache`; not with ``categories``).

    Raises InputError naming the file and the record for anything malformed.
    """
    path = Path(path)
    if image_ids not in ("id", "file_stem"):
        raise InputError(f"image_ids must be 'id' or 'file_stem', not {image_ids!r}", path)
    raw = read_input_file(path, "annotations JSON")
    if cache and categories is None:
        return load_or_parse(path, raw, image_ids, lambda: _parse(raw, path, None, image_ids))
    return _parse(raw, path, categories, image_ids)


def _parse(
    raw: bytes, path: Path, categories: Mapping[int, str] | None, image_ids: str
) -> GroundTruth:
    document = _load(raw, path)
    if not isinstance(document, dict):
        raise InputError("expected a JSON object with 'images' and 'annotations'", path)
    names = _category_names(document, categories, path)
    ids, index_of = _images(document, image_ids, path)
    annotations = document.get("annotations")
    if not isinstance(annotations, list):
        raise InputError("'annotations' must be a list", path)
    object_image: list[int] = []
    object_class: list[str] = []
    boxes: list[list[float]] = []
    difficult: list[bool] = []
    area: list[float] = []
    crowd: list[bool] = []
    for number, record in enumerate(annotations):
        where = f"annotation {number}"
        if not isinstance(record, dict):
            raise InputError(f"{where} is not an object", path)
        for key in ("image_id", "category_id", "bbox"):
            if key not in record:
                raise InputError(f"{where} has no {key!r}", path)
        image = index_of.get(_id_key(record["image_id"]))
        if image is None:
            raise InputError(
                f"{where}: image_id {_show(record['image_id'])} is not in 'images'", path
            )
        category = record["category_id"]
        if _is_bool(category) or not isinstance(category, int):
            raise InputError(f"{where}: category_id {_show(category)} is not an integer", path)
        if category not in names:
            raise InputError(f"{where}: category_id {_show(category)} is not a category", path)
        object_image.append(image)
        object_class.append(names[category])
        boxes.append(_bbox(record["bbox"], where, path))
        difficult.append(_difficult(record, where, path))
        area.append(_area(record, boxes[-1], where, path))
        crowd.append(bool(record.get("iscrowd", 0)))
    voc = to_voc_boxes(np.array(boxes, dtype=np.float64).reshape(-1, 4), "xywh")
    bad = ~np.isfinite(voc).all(axis=1)
    if bad.any():
        raise InputError(f"annotation {int(np.argmax(bad))}: bbox overflows to infinity", path)
    ground_truth = GroundTruth.from_arrays(
        ids,
        object_image=np.array(object_image, dtype=np.int64),
        object_class_names=object_class,
        boxes=voc,
        difficult=np.array(difficult, dtype=bool),
        area=np.array(area, dtype=np.float64),
        iscrowd=np.array(crowd, dtype=bool) if any("iscrowd" in r for r in annotations) else None,
    )
    return dataclasses.replace(
        ground_truth,
        source=os.fspath(path),
        coco_image_ids=_integer_ids(document["images"]),
        categories=tuple(sorted(names.items())),
    )


def _load(raw: bytes, path: Path) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 text ({error.reason})", path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"malformed JSON: {error.msg}", path, error.lineno) from None
    except RecursionError:
        raise InputError("malformed JSON: nested too deeply", path) from None
    except ValueError as error:  # integers with thousands of digits
        raise InputError(f"malformed JSON: {_show(str(error))}", path) from None


def _category_names(
    document: dict, categories: Mapping[int, str] | None, path: Path
) -> dict[int, str]:
    names: dict[int, str]
    if categories is not None:
        if not isinstance(categories, Mapping):
            raise InputError(
                f"categories must be a mapping {{id: name}}, not {type(categories).__name__}",
                path,
            )
        names = dict(categories)
        for given_id, given_name in names.items():
            if (
                _is_bool(given_id)
                or not isinstance(given_id, int)
                or not isinstance(given_name, str)
                or not given_name
            ):
                raise InputError(
                    f"categories: {_show(given_id)}: {_show(given_name)} is not id: name", path
                )
    else:
        listed = document.get("categories")
        if not isinstance(listed, list):
            raise InputError("no 'categories' list (or pass categories={id: name})", path)
        names = {}
        for number, record in enumerate(listed):
            if not isinstance(record, dict):
                raise InputError(f"category {number} is not an object", path)
            key = record.get("id")
            name = record.get("name")
            if _is_bool(key) or not isinstance(key, int):
                raise InputError(f"category {number}: id {_show(key)} is not an integer", path)
            if not isinstance(name, str) or not name.strip():
                raise InputError(f"category {number}: name {_show(name)} is not a name", path)
            if key in names:
                raise InputError(f"category {number}: id {key} is listed twice", path)
            names[key] = name
    if len(set(names.values())) != len(names):
        raise InputError("two categories have the same name", path)
    return names


def _images(document: dict, image_ids: str, path: Path) -> tuple[list[str], dict[Any, int]]:
    images = document.get("images")
    if not isinstance(images, list):
        raise InputError("'images' must be a list", path)
    ids: list[str] = []
    index_of: dict[Any, int] = {}
    seen: set[str] = set()
    for number, record in enumerate(images):
        where = f"image {number}"
        if not isinstance(record, dict) or "id" not in record:
            raise InputError(f"{where} is not an object with an 'id'", path)
        raw = record["id"]
        if _is_bool(raw) or not isinstance(raw, (int, str)) or raw == "":
            raise InputError(f"{where}: id {_show(raw)} is not an integer or a string", path)
        if _id_key(raw) in index_of:
            raise InputError(f"{where}: id {_show(raw)} is listed twice", path)
        if image_ids == "file_stem":
            name = record.get("file_name")
            if not isinstance(name, str):
                raise InputError(f"{where} has no 'file_name'", path)
            image_id = name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
        else:
            image_id = str(raw)
        if not image_id or image_id in seen:
            raise InputError(f"{where}: image id {_show(image_id)} is empty or repeats", path)
        seen.add(image_id)
        index_of[_id_key(raw)] = len(ids)
        ids.append(image_id)
    return ids, index_of


def _id_key(raw: Any) -> Any:
    """Ids compare by type and value (``7`` and ``"7"`` are different images)."""
    return (type(raw).__name__, raw) if isinstance(raw, (int, str)) and not _is_bool(raw) else None


def _bbox(bbox: Any, where: str, path: Path) -> list[float]:
    if not (isinstance(bbox, list) and len(bbox) == 4):
        raise InputError(f"{where}: bbox must be [x, y, w, h]", path)
    if not all(isinstance(v, (int, float)) and not _is_bool(v) for v in bbox):
        raise InputError(f"{where}: bbox must be numbers", path)
    try:
        values = [float(v) for v in bbox]
    except OverflowError:
        raise InputError(f"{where}: a bbox number is too large", path) from None
    if not all(math.isfinite(v) for v in values):
        raise InputError(f"{where}: bbox is NaN or infinite", path)
    return values


def _difficult(record: dict, where: str, path: Path) -> bool:
    flag = False
    for key in _DIFFICULT_KEYS:
        if key in record:
            value = record[key]
            if value not in (0, 1) or not isinstance(value, (int, bool)):
                raise InputError(f"{where}: {key} must be 0 or 1, not {_show(value)}", path)
            flag = flag or bool(value)
    return flag


def _integer_ids(images: list) -> np.ndarray | None:
    """(n_images,) int64 the images' ids when every one is an integer (COCO's order)."""
    raw = [record["id"] for record in images]
    if all(isinstance(i, int) and not _is_bool(i) and -(2**63) <= i < 2**63 for i in raw):
        return np.array(raw, dtype=np.int64)
    return None


def _area(record: dict, bbox: list[float], where: str, path: Path) -> float:
    """COCO's ``area`` (a number), or the box's ``w * h`` where there is none."""
    if "area" not in record:
        return bbox[2] * bbox[3]
    value = record["area"]
    try:
        number = float(value) if isinstance(value, (int, float)) and not _is_bool(value) else None
    except OverflowError:
        number = None
    if number is None or not math.isfinite(number):
        raise InputError(f"{where}: area must be a finite number, not {_show(value)}", path)
    return number


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _show(value: Any, limit: int = 60) -> str:
    """``repr`` with control characters escaped, abbreviated to ``limit`` characters."""
    text = ascii(value) if isinstance(value, str) else repr(value)
    if not isinstance(value, str):
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
