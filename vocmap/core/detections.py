"""Detections as columnar arrays, per class, in file order.

Per class, detections keep their file order (the devkit breaks score ties by it).
Boxes are float64 ``(xmin, ymin, xmax, ymax)`` in VOC pixel coordinates, 1-based
and inclusive (width = xmax - xmin + 1). Reading result files is
:mod:`vocmap.io`'s job; this module only holds arrays.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vocmap.core.boxes import as_host_array, check_box_format, to_vector, to_voc_boxes
from vocmap.core.errors import InputError, VocmapError
from vocmap.core.ground_truth import GroundTruth


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
        dropped_categories: records dropped because their category is not a
            known class (COCO-style JSON, only with ``ignore_unknown_categories``).
    """

    by_class: dict[str, ClassDetections]
    dropped_unknown: int = 0
    dropped_categories: int = 0

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
        *,
        box_format: str | None = None,
        image_index: bool = False,
    ) -> Detections:
        """Detections from memory: ``{class: (images (n,), scores (n,), boxes (n, 4))}``.

        Args:
            ground_truth: the image set the detections refer to.
            per_class: each class's detections, in the order to treat as file order
                (it breaks score ties). NumPy arrays, lists or tensors (any device).
            box_format: the boxes' frame, required: "voc", "xyxy", "xywh" or "voc0"
                (:mod:`vocmap.core.boxes`).
            image_index: the images are positions in ``ground_truth.image_ids``;
                by default they are image ids: strings exactly, integers as the
                COCO reader reads them (``7`` is ``"000007"``).

        The arrays are copied: changing them afterwards changes nothing here.
        """
        box_format = check_box_format(box_format)
        by_class = {}
        for name, (images, scores, boxes) in per_class.items():
            if image_index:
                index = _positions(ground_truth, images, name)
            else:
                index = image_indices(ground_truth, images, f"class {name!r}")
            score_array = to_vector(scores, f"class {name!r}: scores")
            box_array = to_voc_boxes(boxes, box_format, f"class {name!r}: boxes")
            if not (index.shape[0] == score_array.shape[0] == box_array.shape[0]):
                raise InputError(f"class {name!r}: images, scores and boxes differ in length")
            bad = ~(np.isfinite(score_array) & np.isfinite(box_array).all(axis=1))
            if bad.any():
                raise InputError(
                    f"class {name!r}: detection {int(np.argmax(bad))} has a NaN or infinite value"
                )
            by_class[name] = ClassDetections(index, score_array, box_array)
        return cls(by_class)


def _positions(ground_truth: GroundTruth, images: object, name: str) -> np.ndarray:
    array = as_host_array(images)
    if array.size and array.dtype.kind not in "iu":
        raise InputError(f"class {name!r}: image_index=True takes integer positions")
    index = np.array(array, dtype=np.int64).reshape(-1)
    if index.size and (index.min() < 0 or index.max() >= ground_truth.num_images):
        raise InputError(f"class {name!r}: image index outside the image set")
    return index


# Integer ids of each ground truth (as the COCO results reader maps them).
_NUMERIC_IDS: weakref.WeakKeyDictionary[GroundTruth, dict[int, int]] = weakref.WeakKeyDictionary()


def numeric_id_index(ground_truth: GroundTruth) -> dict[int, int]:
    """Integer ``n`` to the index of the image whose id's digits read as ``n``.

    ``7`` is ``"000007"`` (and ``"7"``); an integer that two ids read as (``"7"``
    and ``"007"``) maps to neither. The COCO results reader maps integers the
    same way (``tests/vocmap/test_box_formats.py`` checks it).
    """
    cached = _NUMERIC_IDS.get(ground_truth)
    if cached is not None:
        return cached
    index: dict[int, int] = {}
    clashes: set[int] = set()
    for i, image_id in enumerate(ground_truth.image_ids):
        if image_id.isascii() and image_id.isdigit():
            value = int(image_id)
            if value in index:
                clashes.add(value)
            index[value] = i
    for value in clashes:
        del index[value]
    _NUMERIC_IDS[ground_truth] = index
    return index


def one_image_id(image_id: object) -> object:
    """A 0-d or one-element tensor or NumPy value as its Python value; anything
    else as it is. A tensor of several values is a VocmapError."""
    if hasattr(image_id, "item") and not isinstance(image_id, str):
        array = as_host_array(image_id)
        if array.ndim != 0 and array.shape != (1,):
            raise VocmapError(f"an image id must be one value, not shape {array.shape}")
        return array.reshape(()).item()
    return image_id


def image_index_of(ground_truth: GroundTruth, image_id: object) -> int | None:
    """The index of one image id (a string exactly; an integer as
    :func:`numeric_id_index` reads it; a 0-d tensor or NumPy value as its value);
    None if it is not in the image set. Other types are a VocmapError."""
    image_id = one_image_id(image_id)
    if isinstance(image_id, str):
        return ground_truth.image_index.get(image_id)
    if isinstance(image_id, int) and not isinstance(image_id, bool):
        return numeric_id_index(ground_truth).get(image_id)
    raise VocmapError(f"an image id must be a string or an integer, not {type(image_id).__name__}")


def image_indices(ground_truth: GroundTruth, images: object, what: str) -> np.ndarray:
    """(n,) int64 indices of image ids (see :func:`image_index_of`); an unknown id
    is an InputError naming ``what``."""
    if isinstance(images, str):
        raise VocmapError(f"{what}: images must be a sequence of ids, not one string")
    array = as_host_array(images)
    if array.ndim > 1:
        raise VocmapError(f"{what}: images must have shape (n,), not {array.shape}")
    out = np.empty(array.size, dtype=np.int64)
    for i, image_id in enumerate(array.reshape(-1).tolist()):
        found = image_index_of(ground_truth, image_id)
        if found is None:
            raise InputError(f"{what}: image {image_id!r} is not in the image set")
        out[i] = found
    return out
