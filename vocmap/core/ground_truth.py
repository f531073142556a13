"""Ground truth as columnar arrays: the objects of an image set, and per-class views.

Boxes are float64 ``(xmin, ymin, xmax, ymax)`` in VOC pixel coordinates, 1-based
and inclusive (width = xmax - xmin + 1), exactly as written in the XML. Reading
annotation files is :mod:`vocmap.io`'s job; this module only holds arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from vocmap.core.errors import InputError


@dataclass(frozen=True)
class ClassGroundTruth:
    """The objects of one class, grouped by image (CSR layout).

    Attributes:
        offsets: (n_images + 1,) int64; image ``i`` owns rows ``offsets[i]:offsets[i+1]``.
        boxes: (m, 4) float64 VOC boxes, per image in XML order.
        difficult: (m,) bool.
        rows: (m,) int64 row of each object in the GroundTruth's object arrays.
        area: (m,) float64 COCO's ``area`` of each object, or None (``w * h``).
        iscrowd: (m,) bool COCO's crowd regions, or None (the difficult flags serve).
        image_rank: (n_images,) int64 each image's position in COCO's image order,
            or None (image-set order); see :attr:`GroundTruth.coco_image_ids`.
    """

    offsets: np.ndarray
    boxes: np.ndarray
    difficult: np.ndarray
    rows: np.ndarray
    area: np.ndarray | None = None
    iscrowd: np.ndarray | None = None
    image_rank: np.ndarray | None = None

    @property
    def npos(self) -> int:
        """Number of non-difficult objects (the devkit's ``npos``)."""
        return int(np.count_nonzero(~self.difficult))


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The annotated objects of an image set, one row per object.

    Attributes:
        image_ids: (n_images,) the image set's ids in file order.
        class_names: names of the classes that occur, in order of first appearance.
        object_image: (m,) int64 index into ``image_ids``.
        object_class: (m,) int64 index into ``class_names``.
        boxes: (m, 4) float64 VOC boxes (1-based, inclusive).
        difficult: (m,) bool.
        source: where the annotations came from (for messages), if known.
        truncated: (m,) bool from ``<truncated>``, or None where not known
            (ground truth built without it); used by ``vocmap diagnose`` only.
        area: (m,) float64 COCO's ``area`` (a segment's area), or None: COCO's
            metric then takes the box's ``w * h``. Read for the area ranges only.
        iscrowd: (m,) bool COCO's ``iscrowd`` (crowd regions for COCO's metric), or
            None: the difficult flags serve as crowd regions. The VOC metrics read
            ``difficult`` only, so a file with both keeps them apart.
        coco_image_ids: (n_images,) int64 the images' integer ids as COCO writes
            them, or None. COCO's metric visits images in increasing id (as
            pycocotools sorts them; it breaks score ties), else in image-set order.
        categories: ``((category_id, name), ...)`` of a COCO-format ground truth,
            through which results' ``category_id`` are read; None where the
            annotations have no category ids (VOC XML).

    Objects are ordered by image (image-set order), then by their order in the
    image's XML file; the devkit's "first ground truth wins a tie" relies on it.
    Images without objects are allowed.
    """

    image_ids: tuple[str, ...]
    class_names: tuple[str, ...]
    object_image: np.ndarray
    object_class: np.ndarray
    boxes: np.ndarray
    difficult: np.ndarray
    source: str | None = None
    _by_class: dict = field(default_factory=dict, repr=False, compare=False)
    truncated: np.ndarray | None = None
    area: np.ndarray | None = None
    iscrowd: np.ndarray | None = None
    coco_image_ids: np.ndarray | None = None
    categories: tuple[tuple[int, str], ...] | None = None

    def __post_init__(self) -> None:
        m = self.object_image.shape[0]
        if not (
            self.object_class.shape == (m,)
            and self.boxes.shape == (m, 4)
            and self.difficult.shape == (m,)
        ):
            raise ValueError("object arrays of different lengths")
        for column in (self.truncated, self.area, self.iscrowd):
            if column is not None and column.shape != (m,):
                raise ValueError("object arrays of different lengths")
        if self.coco_image_ids is not None and self.coco_image_ids.shape != (len(self.image_ids),):
            raise ValueError("coco_image_ids must have one id per image")

    # -- construction ------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        image_ids: list[str] | tuple[str, ...],
        object_image: np.ndarray | None = None,
        object_class_names: list[str] | None = None,
        boxes: np.ndarray | None = None,
        difficult: np.ndarray | None = None,
        truncated: np.ndarray | None = None,
        area: np.ndarray | None = None,
        iscrowd: np.ndarray | None = None,
    ) -> GroundTruth:
        """Ground truth from memory.

        Give either the per-object columns (``object_image`` indices into
        ``image_ids``, ``object_class_names``, ``boxes`` (m, 4) VOC boxes,
        ``difficult`` (m,)), in image then XML order, or nothing for an empty set.
        ``truncated`` (m,) bool, and COCO's ``area`` (m,) float and ``iscrowd`` (m,)
        bool, are optional (None: not known; see the class's attributes).
        """
        image_ids = tuple(image_ids)
        if len(set(image_ids)) != len(image_ids):
            raise InputError("image ids repeat")
        if object_image is None or object_class_names is None:
            object_image = np.zeros(0, dtype=np.int64)
            object_class_names = []
            boxes = np.zeros((0, 4))
            difficult = np.zeros(0, dtype=bool)
            truncated = None if truncated is None else np.zeros(0, dtype=bool)
            area = None if area is None else np.zeros(0)
            iscrowd = None if iscrowd is None else np.zeros(0, dtype=bool)
        if difficult is None:
            difficult = np.zeros(len(object_class_names), dtype=bool)
        names: dict[str, int] = {}
        object_class = np.array(
            [names.setdefault(n, len(names)) for n in object_class_names], dtype=np.int64
        )
        object_image = np.asarray(object_image, dtype=np.int64)
        if object_image.size and (object_image.min() < 0 or object_image.max() >= len(image_ids)):
            raise InputError("object image index outside the image set")
        if object_image.size and np.any(np.diff(object_image) < 0):
            order = np.argsort(object_image, kind="stable")
            object_image = object_image[order]
            object_class = object_class[order]
            boxes = np.asarray(boxes)[order]
            difficult = np.asarray(difficult)[order]
            if truncated is not None:
                truncated = np.asarray(truncated)[order]
            if area is not None:
                area = np.asarray(area)[order]
            if iscrowd is not None:
                iscrowd = np.asarray(iscrowd)[order]
        boxes = np.ascontiguousarray(boxes, dtype=np.float64).reshape(-1, 4)
        if not np.all(np.isfinite(boxes)):
            raise InputError("ground-truth box with a NaN or infinite coordinate")
        if area is not None and not np.all(np.isfinite(np.asarray(area, dtype=np.float64))):
            raise InputError("ground-truth area that is NaN or infinite")
        return cls(
            image_ids=image_ids,
            class_names=tuple(names),
            object_image=object_image,
            object_class=object_class,
            boxes=boxes,
            difficult=np.ascontiguousarray(difficult, dtype=bool),
            truncated=None if truncated is None else np.ascontiguousarray(truncated, dtype=bool),
            area=None if area is None else np.ascontiguousarray(area, dtype=np.float64),
            iscrowd=None if iscrowd is None else np.ascontiguousarray(iscrowd, dtype=bool),
        )

    # -- queries -----------------------------------------------------------

    @property
    def num_images(self) -> int:
        return len(self.image_ids)

    @cached_property
    def image_rank(self) -> np.ndarray | None:
        """(n_images,) int64 each image's position in COCO's image order (increasing
        ``coco_image_ids``), or None without them (image-set order)."""
        if self.coco_image_ids is None:
            return None
        rank = np.empty(self.num_images, dtype=np.int64)
        rank[np.argsort(self.coco_image_ids, kind="stable")] = np.arange(self.num_images)
        return rank

    @cached_property
    def image_index(self) -> dict[str, int]:
        """Image id to its index in the image set."""
        return {image_id: i for i, image_id in enumerate(self.image_ids)}

    def for_class(self, name: str) -> ClassGroundTruth:
        """The objects of class ``name`` in CSR layout (empty if it never occurs)."""
        cached = self._by_class.get(name)
        if cached is not None:
            return cached
        if name in self.class_names:
            rows = np.flatnonzero(self.object_class == self.class_names.index(name))
        else:
            rows = np.zeros(0, dtype=np.int64)
        counts = np.bincount(self.object_image[rows], minlength=self.num_images)
        offsets = np.zeros(self.num_images + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        result = ClassGroundTruth(
            offsets=offsets,
            boxes=np.ascontiguousarray(self.boxes[rows]),
            difficult=np.ascontiguousarray(self.difficult[rows]),
            rows=rows.astype(np.int64),
            area=None if self.area is None else np.ascontiguousarray(self.area[rows]),
            iscrowd=None if self.iscrowd is None else np.ascontiguousarray(self.iscrowd[rows]),
            image_rank=self.image_rank,
        )
        self._by_class[name] = result
        return result

    def npos(self, name: str) -> int:
        """Non-difficult objects of class ``name``."""
        return self.for_class(name).npos
