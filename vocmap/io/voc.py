"""VOC folders: image sets and annotation XML files, read into a GroundTruth.

One XML file is :mod:`vocmap.io.voc_xml`'s job; this module reads image sets,
checks their ids and puts the files of a folder together (through the cache).

Boxes are read as written: float64 ``(xmin, ymin, xmax, ymax)`` in VOC pixel
coordinates, 1-based and inclusive (width = xmax - xmin + 1).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth
from vocmap.io import cache as annotation_cache
from vocmap.io.files import file_name_problem, read_input_file
from vocmap.io.sources import voc_year_source
from vocmap.io.voc_xml import make_parser, read_annotation_file, read_annotation_record


def _decode_text(raw: bytes, path: Path) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text ({error.reason})", path, line) from None
    return text.removeprefix("\ufeff")


_BLANKS = re.compile("[ \t\r\v\f]+")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")


def read_image_set(path: str | os.PathLike) -> list[str]:
    """The image ids of an image-set file, one a line, in file order.

    Fields are separated by ASCII blank space; a second column (as in the
    per-class ``<class>_test.txt`` files) is ignored; blank lines, CRLF and a
    UTF-8 BOM are accepted. Errors, with file and line: a repeated id (the devkit
    stops on it with "multiple image"), and an id that is not a plain file name
    (``../x``, ``/abs``, NUL or other unprintable characters, U+00A0, too long):
    an id names ``Annotations/<id>.xml`` and nothing else.
    """
    path = Path(path)
    raw = read_input_file(path, "image set file")
    text = _decode_text(raw, path)
    # Plain ASCII without control characters (the usual file): str.split splits
    # on ASCII blank space only, and an id can fail only a few checks.
    plain = text.isascii() and _CONTROL.search(text) is None
    ids: list[str] = []
    first_line: dict[str, int] = {}
    for line_no, line in enumerate(text.split("\n"), start=1):
        if plain:
            fields = line.split(None, 1)
            if not fields:
                continue
            image_id = fields[0]
        else:
            line = line.strip(" \t\r\v\f")
            if not line:
                continue
            image_id = _BLANKS.split(line, 1)[0]
        if image_id in first_line:
            raise InputError(
                f'image id "{image_id}" repeats line {first_line[image_id]} '
                '(the devkit would stop with "multiple image")',
                path,
                line_no,
            )
        if (
            not plain
            or "/" in image_id
            or "\\" in image_id
            or "." in image_id
            or len(image_id) > 200
        ):
            problem = file_name_problem(image_id, ".xml")
            if problem is not None:
                raise InputError(f'image id "{image_id}" {problem}', path, line_no)
        first_line[image_id] = line_no
        ids.append(image_id)
    if not ids:
        raise InputError("image set is empty", path)
    return ids


def read_voc(
    voc_root: str | os.PathLike,
    image_set: str = "test",
    *,
    cache: bool = True,
    follow_symlinks: bool = False,
) -> GroundTruth:
    """Read a VOC year folder (``VOCdevkit/VOC2007``): ``Annotations/*.xml`` and
    ``ImageSets/Main/<image_set>.txt``."""
    source = voc_year_source(voc_root, image_set)
    return read_annotations(
        source.annotations,
        source.image_set_file,
        cache=cache,
        follow_symlinks=follow_symlinks,
    )


def read_annotations(
    annotations_dir: str | os.PathLike,
    image_set_file: str | os.PathLike,
    *,
    cache: bool = True,
    follow_symlinks: bool = False,
) -> GroundTruth:
    """Read ``<annotations_dir>/<id>.xml`` for every id of ``image_set_file``.

    With ``cache=True`` the parsed arrays are kept on disk, keyed by the image
    set's content and every XML file's size, times and inode, so a changed,
    added or removed file is never served stale (see :mod:`vocmap.io.cache`).
    An XML file that is a symbolic link leading outside ``annotations_dir`` is
    refused unless ``follow_symlinks``.
    """
    annotations_dir = Path(annotations_dir)
    if not annotations_dir.is_dir():
        raise InputError("annotations folder not found", annotations_dir)
    image_ids = read_image_set(image_set_file)

    def parse(folder: Path, ids: list[str]) -> GroundTruth:
        return parse_annotations(folder, ids, follow_symlinks=follow_symlinks)

    if cache:
        return annotation_cache.load_or_parse(
            annotations_dir, Path(image_set_file), image_ids, parse, follow_symlinks=follow_symlinks
        )
    return parse(annotations_dir, image_ids)


def parse_annotations(
    annotations_dir: Path, image_ids: list[str], *, follow_symlinks: bool = False
) -> GroundTruth:
    """Parse ``<annotations_dir>/<id>.xml`` for each id into a GroundTruth.

    The ids must be plain file names (read_image_set checks them).
    """
    parser = make_parser()
    folder = os.fspath(annotations_dir)
    names: dict[str, int] = {}
    object_image: list[int] = []
    object_class: list[int] = []
    coords: list[float] = []
    difficult: list[bool] = []
    truncated: list[bool] = []
    for index, image_id in enumerate(image_ids):
        path = os.path.join(folder, f"{image_id}.xml")
        for obj in read_annotation_file(
            path, parser, folder=folder, follow_symlinks=follow_symlinks
        ):
            object_image.append(index)
            object_class.append(names.setdefault(obj.name, len(names)))
            coords.extend(obj.box)
            difficult.append(obj.difficult)
            truncated.append(obj.truncated)
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


def read_image_sizes(
    annotations_dir: str | os.PathLike,
    image_ids: list[str] | tuple[str, ...],
    *,
    follow_symlinks: bool = False,
) -> np.ndarray | None:
    """(n_images, 2) int64 width and height from each ``<id>.xml``'s ``<size>``,
    or None when a file has no ``<size>`` (the evaluation does not need it)."""
    parser = make_parser()
    folder = os.fspath(annotations_dir)
    sizes = np.zeros((len(image_ids), 2), dtype=np.int64)
    for index, image_id in enumerate(image_ids):
        record = read_annotation_record(
            os.path.join(folder, f"{image_id}.xml"),
            parser,
            folder=folder,
            follow_symlinks=follow_symlinks,
        )
        if record.width is None or record.height is None:
            return None
        sizes[index] = record.width, record.height
    return sizes
