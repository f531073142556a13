"""Detections as columnar arrays, per class, in file order.

Per class, detections keep their file order (the devkit breaks score ties by it).
Boxes are float64 ``(xmin, ymin, xmax, ymax)`` in VOC pixel coordinates, 1-based
and inclusive (width = xmax - xmin + 1). Reading result files is
:mod:`vocmap.io`'s job; this module only holds arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vocmap.core.errors import InputError
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
