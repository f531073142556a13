"""Ground truth from torchvision ``VOCDetection``-style targets (parsed XML as dicts).

``VOCDetection`` returns each image's annotation as nested dicts of strings
(``{"annotation": {"filename", "object": [{"name", "difficult", "bndbox":
{"xmin", ...}}]}}``); :func:`ground_truth_from_voc_targets` turns a sequence of
them into the :class:`~vocmap.core.ground_truth.GroundTruth` the XML files give.
torchvision is not imported. To get the targets without decoding the images::

    from xml.etree.ElementTree import parse
    targets = [dataset.parse_voc_xml(parse(p).getroot()) for p in dataset.annotations]
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth

# A decimal number as VOC XML writes it (ASCII digits only; no '_', no 'inf').
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_COORDINATES = ("xmin", "ymin", "xmax", "ymax")


def ground_truth_from_voc_targets(
    targets: Iterable[dict], image_ids: Sequence[str] | None = None
) -> GroundTruth:
    """A GroundTruth from VOC targets, one per image, in image-set order.

    Args:
        targets: ``{"annotation": {...}}`` dicts as ``VOCDetection`` returns them
            (``"object"`` a list, or one dict; no ``"object"``: no objects).
        image_ids: the images' ids; default: each ``filename`` without its
            extension (``"000001.jpg"`` is ``"000001"``).

    Boxes are the XML's VOC pixels, as written; ``difficult`` missing is 0.
    Raises InputError naming the image and object for anything malformed.
    """
    ids: list[str] = []
    object_image: list[int] = []
    names: list[str] = []
    boxes: list[list[float]] = []
    difficult: list[bool] = []
    for number, target in enumerate(targets):
        annotation = target.get("annotation") if isinstance(target, dict) else None
        if not isinstance(annotation, dict):
            raise InputError(f"target {number} has no 'annotation' dict")
        ids.append(_image_id(annotation, number, image_ids))
        objects = annotation.get("object", [])
        if not isinstance(objects, (dict, list, tuple)):
            raise InputError(
                f"target {number}: 'object' must be a list of dicts, not {objects!r:.60}"
            )
        for k, obj in enumerate([objects] if isinstance(objects, dict) else objects):
            where = f"image {ids[-1]!r}, object {k}"
            name, is_difficult, box = _object(obj, where)
            object_image.append(number)
            names.append(name)
            boxes.append(box)
            difficult.append(is_difficult)
    if image_ids is not None and len(image_ids) != len(ids):
        raise InputError(f"{len(image_ids)} image ids for {len(ids)} targets")
    return GroundTruth.from_arrays(
        ids,
        object_image=np.array(object_image, dtype=np.int64),
        object_class_names=names,
        boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
        difficult=np.array(difficult, dtype=bool),
    )


def _image_id(annotation: dict, number: int, image_ids: Sequence[str] | None) -> str:
    if image_ids is not None:
        if number >= len(image_ids):
            raise InputError(f"more targets than the {len(image_ids)} image ids")
        return str(image_ids[number])
    filename = annotation.get("filename")
    if not isinstance(filename, str) or not filename.strip():
        raise InputError(f"target {number} has no 'filename' (pass image_ids=...)")
    return filename.strip().rsplit(".", 1)[0]


def _object(obj: Any, where: str) -> tuple[str, bool, list[float]]:
    if not isinstance(obj, dict):
        raise InputError(f"{where} is not a dict")
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where} has no 'name'")
    flag = obj.get("difficult", "0")
    flag = flag.strip() if isinstance(flag, str) else flag
    if (
        isinstance(flag, bool)
        or not isinstance(flag, (str, numbers.Integral))
        or flag not in ("0", "1", 0, 1)
    ):
        raise InputError(f"{where}: difficult must be 0 or 1, not {flag!r}")
    box = obj.get("bndbox")
    if not isinstance(box, dict):
        raise InputError(f"{where} has no 'bndbox'")
    coords = []
    for tag in _COORDINATES:
        text = box.get(tag)
        text = text.strip() if isinstance(text, str) else text
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = repr(text)
        if not isinstance(text, str) or not _NUMBER.fullmatch(text):
            raise InputError(f"{where}: {tag} is not a number: {text!r}")
        value = float(text)
        if not math.isfinite(value):
            raise InputError(f"{where}: {tag} is not finite: {text!r}")
        coords.append(value)
    return name.strip(), flag in ("1", 1), coords
