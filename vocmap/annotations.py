"""Ground truth: VOC XML annotations and image sets, read into columnar arrays.

Boxes are float64 ``(xmin, ymin, xmax, ymax)`` in VOC pixel coordinates, 1-based
and inclusive (width = xmax - xmin + 1), exactly as written in the XML.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from vocmap.errors import InputError


def _decode_text(raw: bytes, path: Path) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text ({error.reason})", path, line) from None
    return text.removeprefix("\ufeff")


def read_image_set(path: str | os.PathLike) -> list[str]:
    """The image ids of an image-set file, one a line, in file order.

    A second column (as in the per-class ``<class>_test.txt`` files) is ignored;
    blank lines, CRLF and a UTF-8 BOM are accepted. A repeated id is an error
    (the devkit stops on it with "multiple image").
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("image set file not found", path) from None
    except OSError as error:
        raise InputError(f"cannot read image set: {error.strerror}", path) from None
    ids: list[str] = []
    first_line: dict[str, int] = {}
    for line_no, line in enumerate(_decode_text(raw, path).splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        image_id = fields[0]
        if image_id in first_line:
            raise InputError(
                f'image id "{image_id}" repeats line {first_line[image_id]} '
                '(the devkit would stop with "multiple image")',
                path,
                line_no,
            )
        first_line[image_id] = line_no
        ids.append(image_id)
    if not ids:
        raise InputError("image set is empty", path)
    return ids


@dataclass(frozen=True)
class ClassGroundTruth:
    """The objects of one class, grouped by image (CSR layout).

    Attributes:
        offsets: (n_images + 1,) int64; image ``i`` owns rows ``offsets[i]:offsets[i+1]``.
        boxes: (m, 4) float64 VOC boxes, per image in XML order.
        difficult: (m,) bool.
        rows: (m,) int64 row of each object in the GroundTruth's object arrays.
    """

    offsets: np.ndarray
    boxes: np.ndarray
    difficult: np.ndarray
    rows: np.ndarray

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

    def __post_init__(self) -> None:
        m = self.object_image.shape[0]
        if not (
            self.object_class.shape == (m,)
            and self.boxes.shape == (m, 4)
            and self.difficult.shape == (m,)
        ):
            raise ValueError("object arrays of different lengths")

    # -- construction ------------------------------------------------------

    @classmethod
    def from_voc(
        cls,
        voc_root: str | os.PathLike,
        image_set: str = "test",
        *,
        cache: bool = True,
    ) -> GroundTruth:
        """Read a VOC year folder (``VOCdevkit/VOC2007``): ``Annotations/*.xml`` and
        ``ImageSets/Main/<image_set>.txt``."""
        root = Path(voc_root)
        if not root.is_dir():
            raise InputError("VOC root folder not found", root)
        return cls.from_folder(
            root / "Annotations", root / "ImageSets" / "Main" / f"{image_set}.txt", cache=cache
        )

    @classmethod
    def from_folder(
        cls,
        annotations_dir: str | os.PathLike,
        image_set_file: str | os.PathLike,
        *,
        cache: bool = True,
    ) -> GroundTruth:
        """Read ``<annotations_dir>/<id>.xml`` for every id of ``image_set_file``.

        With ``cache=True`` the parsed arrays are kept on disk, keyed by the image
        set's content and every XML file's size, times and inode, so a changed,
        added or removed file is never served stale (see ``annotation_cache``).
        """
        annotations_dir = Path(annotations_dir)
        if not annotations_dir.is_dir():
            raise InputError("annotations folder not found", annotations_dir)
        image_ids = read_image_set(image_set_file)
        if cache:
            from vocmap import annotation_cache

            return annotation_cache.load_or_parse(annotations_dir, Path(image_set_file), image_ids)
        return parse_annotations(annotations_dir, image_ids)

    @classmethod
    def from_arrays(
        cls,
        image_ids: list[str] | tuple[str, ...],
        object_image: np.ndarray | None = None,
        object_class_names: list[str] | None = None,
        boxes: np.ndarray | None = None,
        difficult: np.ndarray | None = None,
    ) -> GroundTruth:
        """Ground truth from memory.

        Give either the per-object columns (``object_image`` indices into
        ``image_ids``, ``object_class_names``, ``boxes`` (m, 4) VOC boxes,
        ``difficult`` (m,)), in image then XML order, or nothing for an empty set.
        """
        image_ids = tuple(image_ids)
        if len(set(image_ids)) != len(image_ids):
            raise InputError("image ids repeat")
        if object_image is None:
            object_image = np.zeros(0, dtype=np.int64)
            object_class_names = []
            boxes = np.zeros((0, 4))
            difficult = np.zeros(0, dtype=bool)
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
        boxes = np.ascontiguousarray(boxes, dtype=np.float64).reshape(-1, 4)
        if not np.all(np.isfinite(boxes)):
            raise InputError("ground-truth box with a NaN or infinite coordinate")
        return cls(
            image_ids=image_ids,
            class_names=tuple(names),
            object_image=object_image,
            object_class=object_class,
            boxes=boxes,
            difficult=np.ascontiguousarray(difficult, dtype=bool),
        )

    # -- queries -----------------------------------------------------------

    @property
    def num_images(self) -> int:
        return len(self.image_ids)

    @cached_property
    def image_index(self) -> dict[str, int]:
        """Image id to its index in the image set."""
        return {image_id: i for i, image_id in enumerate(self.image_ids)}

    @cached_property
    def id_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(id_bytes, id_offsets, slots)``: the image ids for the numba parser."""
        from vocmap import kernels

        encoded = [image_id.encode("utf-8") for image_id in self.image_ids]
        id_offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=id_offsets[1:])
        id_bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        slots, duplicate = kernels.build_id_table(id_bytes, id_offsets)
        if duplicate >= 0:
            raise InputError(f'image id "{self.image_ids[duplicate]}" repeats')
        return id_bytes, id_offsets, slots

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
        )
        self._by_class[name] = result
        return result

    def npos(self, name: str) -> int:
        """Non-difficult objects of class ``name``."""
        return self.for_class(name).npos


# --------------------------------------------------------------------------- #
# XML parsing
# --------------------------------------------------------------------------- #

_COORDINATES = ("xmin", "ymin", "xmax", "ymax")


def _parse_number(element, tag: str, path: Path, what: str) -> float:
    child = element.find(tag)
    if child is None:
        raise InputError(f"{what} has no <{tag}>", path, element.sourceline)
    text = (child.text or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"<{tag}> is not a number: {text!r}", path, child.sourceline) from None
    if not math.isfinite(value):
        raise InputError(f"<{tag}> is not finite: {text!r}", path, child.sourceline)
    return value


def read_annotation_file(
    path: Path, parser=None
) -> list[tuple[str, bool, float, float, float, float]]:
    """The objects of one VOC XML file: ``(name, difficult, xmin, ymin, xmax, ymax)``.

    Raises InputError naming the file and line for a missing or malformed file,
    an object without ``<name>`` or ``<bndbox>``, a coordinate that is missing or
    not a finite number, or a ``<difficult>`` other than 0 or 1 (missing means 0).
    """
    from lxml import etree

    try:
        tree = etree.parse(os.fspath(path), parser)
    except OSError:
        if not path.exists():
            raise InputError("annotation file not found", path) from None
        raise InputError("cannot read annotation file", path) from None
    except etree.XMLSyntaxError as error:
        raise InputError(f"malformed XML: {error.msg}", path, error.lineno) from None
    objects = []
    for obj in tree.getroot().iterfind("object"):
        name_element = obj.find("name")
        name = (name_element.text or "").strip() if name_element is not None else ""
        if not name:
            raise InputError("<object> has no <name>", path, obj.sourceline)
        difficult_element = obj.find("difficult")
        difficult = False
        if difficult_element is not None:
            text = (difficult_element.text or "").strip()
            if text not in ("0", "1"):
                raise InputError(
                    f"<difficult> must be 0 or 1, not {text!r}", path, difficult_element.sourceline
                )
            difficult = text == "1"
        box = obj.find("bndbox")
        if box is None:
            raise InputError(f"object {name!r} has no <bndbox>", path, obj.sourceline)
        coords = [_parse_number(box, tag, path, "<bndbox>") for tag in _COORDINATES]
        objects.append((name, difficult, *coords))
    return objects


def parse_annotations(annotations_dir: Path, image_ids: list[str]) -> GroundTruth:
    """Parse ``<annotations_dir>/<id>.xml`` for each id into a GroundTruth."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    names: dict[str, int] = {}
    object_image: list[int] = []
    object_class: list[int] = []
    coords: list[float] = []
    difficult: list[bool] = []
    for index, image_id in enumerate(image_ids):
        for name, is_difficult, *box in read_annotation_file(
            annotations_dir / f"{image_id}.xml", parser
        ):
            object_image.append(index)
            object_class.append(names.setdefault(name, len(names)))
            coords.extend(box)
            difficult.append(is_difficult)
    return GroundTruth(
        image_ids=tuple(image_ids),
        class_names=tuple(names),
        object_image=np.array(object_image, dtype=np.int64),
        object_class=np.array(object_class, dtype=np.int64),
        boxes=np.array(coords, dtype=np.float64).reshape(-1, 4),
        difficult=np.array(difficult, dtype=bool),
        source=os.fspath(annotations_dir),
    )
