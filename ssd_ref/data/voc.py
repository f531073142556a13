"""Reading VOC-format data sets, and the two box conventions.

VOC annotations (and the devkit's result files) use **1-based inclusive pixel**
boxes: ``xmin = 1`` is the first column, a box with ``xmin = 1, xmax = 10``
covers 10 columns, ``width = xmax - xmin + 1``. The network uses **normalised
continuous corners**: pixel ``p`` (1-based) covers ``[p - 1, p)``, so

    x1 = (xmin - 1) / W        x2 = xmax / W        (and likewise for y with H)

and back ``xmin = x1 * W + 1``, ``xmax = x2 * W``. Widths agree exactly:
``(x2 - x1) * W = xmax - xmin + 1``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vocmap.core.errors import InputError
from vocmap.io.voc import read_image_set as read_voc_image_set
from vocmap.io.voc_root import year_folder
from vocmap.io.voc_xml import read_annotation_record


def voc_to_normalized(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """VOC 1-based inclusive ``(N, 4)`` pixel boxes -> normalised corners (float32)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scale = np.array([width, height, width, height], dtype=np.float64)
    shift = np.array([1.0, 1.0, 0.0, 0.0])
    return ((boxes - shift) / scale).astype(np.float32)


def normalized_to_voc(boxes: np.ndarray, width: int, height: int, clip: bool = True) -> np.ndarray:
    """Normalised corners ``(N, 4)`` -> VOC 1-based pixel boxes (float64).

    With ``clip`` the result is limited to the image, ``1 <= x <= W`` and
    ``1 <= y <= H``, as Caffe clips detections before writing them.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scale = np.array([width, height, width, height], dtype=np.float64)
    out = boxes * scale + np.array([1.0, 1.0, 0.0, 0.0])
    if clip:
        upper = np.array([width, height, width, height], dtype=np.float64)
        out = np.clip(out, 1.0, upper)
    return out


@dataclass(frozen=True)
class Annotation:
    """One image's annotation; ``boxes (N, 4)`` are VOC 1-based pixels (float64)."""

    image_id: str
    width: int
    height: int
    boxes: np.ndarray
    labels: np.ndarray  # (N,) int64, index into the class list
    difficult: np.ndarray  # (N,) bool


def parse_annotation(path: str | os.PathLike, classes: Sequence[str]) -> Annotation:
    """Read one VOC XML file with vocmap's reader (the evaluator's rules: every
    field checked, file and line in errors); objects of classes not in ``classes``
    are left out. The file must have a ``<size>``."""
    record = read_annotation_record(path)
    if record.width is None or record.height is None:
        raise InputError("no <size> (the trainer needs the image size)", path)
    index = {name: i for i, name in enumerate(classes)}
    kept = [obj for obj in record.objects if obj.name in index]
    return Annotation(
        image_id=Path(path).stem,
        width=record.width,
        height=record.height,
        boxes=np.array([obj.box for obj in kept], dtype=np.float64).reshape(-1, 4),
        labels=np.array([index[obj.name] for obj in kept], dtype=np.int64),
        difficult=np.array([obj.difficult for obj in kept], dtype=bool),
    )


def read_image_set(year_root: str | os.PathLike, image_set: str) -> list[str]:
    """The ids listed in ``<year_root>/ImageSets/Main/<image_set>.txt`` (vocmap's
    reader: ids are checked to be plain file names, repeats are errors)."""
    return read_voc_image_set(Path(year_root) / "ImageSets" / "Main" / f"{image_set}.txt")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image as BGR uint8 ``(H, W, 3)``."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return image


@dataclass(frozen=True)
class VocItem:
    """Where one image of a :class:`VocDataset` lives, and its annotation."""

    image_path: Path
    annotation: Annotation


class VocDataset:
    """The images of one or more ``(year folder, image set)`` pairs, annotations in memory.

    ``VocDataset(root, [("VOC2007", "trainval"), ("VOC2012", "trainval")], classes)``;
    a pair's year folder may also be "." (``root`` is then the year folder itself).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        sets: Sequence[tuple[str, str]],
        classes: Sequence[str],
        max_images: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.classes = tuple(classes)
        items: list[VocItem] = []
        for year, image_set in sets:
            year_root = self.root / year
            for image_id in read_image_set(year_root, image_set):
                annotation = parse_annotation(
                    year_root / "Annotations" / f"{image_id}.xml", self.classes
                )
                items.append(VocItem(year_root / "JPEGImages" / f"{image_id}.jpg", annotation))
        if max_images is not None:
            items = items[:max_images]
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def image(self, index: int) -> np.ndarray:
        return read_image(self.items[index].image_path)

    def annotation(self, index: int) -> Annotation:
        return self.items[index].annotation


def resolve_year_root(voc_root: str | os.PathLike, image_set: str) -> Path:
    """The year folder: ``voc_root`` itself, or its only year subfolder having
    ``ImageSets/Main/<image_set>.txt`` (so a VOCdevkit folder holding VOC2007 works);
    vocmap's :func:`vocmap.io.voc_root.year_folder`, shared by both tools."""
    return year_folder(voc_root, image_set)
