"""VOC folders: image sets and annotation XML files, read into a GroundTruth.

Boxes are read as written: float64 ``(xmin, ymin, xmax, ymax)`` in VOC pixel
coordinates, 1-based and inclusive (width = xmax - xmin + 1).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth
from vocmap.io import cache as annotation_cache


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


def read_voc(
    voc_root: str | os.PathLike, image_set: str = "test", *, cache: bool = True
) -> GroundTruth:
    """Read a VOC year folder (``VOCdevkit/VOC2007``): ``Annotations/*.xml`` and
    ``ImageSets/Main/<image_set>.txt``."""
    root = Path(voc_root)
    if not root.is_dir():
        raise InputError("VOC root folder not found", root)
    return read_annotations(
        root / "Annotations", root / "ImageSets" / "Main" / f"{image_set}.txt", cache=cache
    )


def read_annotations(
    annotations_dir: str | os.PathLike,
    image_set_file: str | os.PathLike,
    *,
    cache: bool = True,
) -> GroundTruth:
    """Read ``<annotations_dir>/<id>.xml`` for every id of ``image_set_file``.

    With ``cache=True`` the parsed arrays are kept on disk, keyed by the image
    set's content and every XML file's size, times and inode, so a changed,
    added or removed file is never served stale (see :mod:`vocmap.io.cache`).
    """
    annotations_dir = Path(annotations_dir)
    if not annotations_dir.is_dir():
        raise InputError("annotations folder not found", annotations_dir)
    image_ids = read_image_set(image_set_file)
    if cache:
        return annotation_cache.load_or_parse(
            annotations_dir, Path(image_set_file), image_ids, parse_annotations
        )
    return parse_annotations(annotations_dir, image_ids)


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
    path: Path, parser=None, truncated_out: list[bool] | None = None
) -> list[tuple[str, bool, list[float]]]:
    """The objects of one VOC XML file: ``(name, difficult, xmin, ymin, xmax, ymax)``.

    Raises InputError naming the file and line for a missing or malformed file,
    an object without ``<name>`` or ``<bndbox>``, a coordinate that is missing or
    not a finite number, or a ``<difficult>`` other than 0 or 1 (missing means 0).
    With ``truncated_out``, each object's ``<truncated>`` (0 or 1, missing means 0;
    anything else is an error too) is appended to it.
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
        objects.append((name, difficult, coords))
        if truncated_out is not None:
            truncated_out.append(_parse_flag(obj, "truncated", path))
    return objects


def _parse_flag(obj, tag: str, path: Path) -> bool:
    """An object's 0/1 flag ``<tag>`` (missing means 0)."""
    element = obj.find(tag)
    if element is None:
        return False
    text = (element.text or "").strip()
    if text not in ("0", "1"):
        raise InputError(f"<{tag}> must be 0 or 1, not {text!r}", path, element.sourceline)
    return text == "1"


def parse_annotations(annotations_dir: Path, image_ids: list[str]) -> GroundTruth:
    """Parse ``<annotations_dir>/<id>.xml`` for each id into a GroundTruth."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    names: dict[str, int] = {}
    object_image: list[int] = []
    object_class: list[int] = []
    coords: list[float] = []
    difficult: list[bool] = []
    truncated: list[bool] = []
    for index, image_id in enumerate(image_ids):
        for name, is_difficult, box in read_annotation_file(
            annotations_dir / f"{image_id}.xml", parser, truncated
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
        truncated=np.array(truncated, dtype=bool),
    )
