"""YOLO-format data: ``labels/<id>.txt`` ground truth, ultralytics' prediction
files, and a ``data.yaml``-style class list.

A label line is ``class cx cy w h``, a prediction line (ultralytics' ``save_txt``
with ``save_conf``) ``class cx cy w h conf``: a class index into the class list,
then a box normalised by its image's width and height. Image sizes come from the
image files' headers (:mod:`vocmap.io.image_size`, no pixels decoded); the
mapping to VOC pixels is :func:`vocmap.core.boxes.yolo_to_voc`.

The image set is the images folder's JPEG and PNG files, sorted by name, each
image's id its file name without the extension. Refused with file and line: a
class index outside the class list, a value that is not a number or lies outside
[0, 1], a line of another length (a segmentation label), a label file without an
image, an image without a label file (unless ``missing_labels="empty"``: the
image has no objects, as ultralytics treats it), an unreadable image header.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocmap.core.boxes import yolo_to_voc
from vocmap.core.detections import ClassDetections, Detections
from vocmap.core.errors import InputError, VocmapError, display_text
from vocmap.core.ground_truth import GroundTruth
from vocmap.io.files import read_input_file
from vocmap.io.image_size import IMAGE_SUFFIXES, image_size

#: A number as label files write it (no ``nan``, ``inf``, ``1_0`` or hex, which
#: Python's float() would take).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_INDEX = re.compile(r"\d{1,9}\Z")


@dataclass(frozen=True, eq=False)
class YoloData:
    """A YOLO data set read into vocmap's arrays.

    Attributes:
        ground_truth: the objects, VOC boxes (1-based, inclusive pixels).
        classes: the class list, index ``i`` being class ``i`` of the label files.
        widths, heights: (n_images,) int64 pixel size of each image of the set.
    """

    ground_truth: GroundTruth
    classes: tuple[str, ...]
    widths: np.ndarray
    heights: np.ndarray


# -- the class list --------------------------------------------------------------


def read_yolo_classes(path: str | os.PathLike) -> tuple[str, ...]:
    """The class names of a ``data.yaml`` (its ``names:`` key, a list or an
    ``index: name`` mapping; ``nc:`` checked if present), or of a plain text file
    with one name a line (darknet's ``obj.names``, ``classes.txt``)."""
    path = Path(path)
    text = _text(read_input_file(path, "class list"), path)
    if path.suffix.lower() in (".yaml", ".yml"):
        names, count = _yaml_names(text, path)
        if count is not None and count != len(names):
            raise InputError(f"nc: {count} but names: lists {len(names)} classes", path)
    else:
        names = [
            (line.strip(), number)
            for number, line in enumerate(text.split("\n"), 1)
            if line.strip()
        ]
    return _checked_names(names, path)


def _text(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text ({error.reason})", path, line) from None


def _checked_names(names: list[tuple[str, int]], path: Path) -> tuple[str, ...]:
    if not names:
        raise InputError("no class names", path)
    seen: dict[str, int] = {}
    for name, line in names:
        if not name.isprintable():
            raise InputError(f"class name {display_text(repr(name))} is not printable", path, line)
        if name in seen:
            raise InputError(f'class "{name}" repeats line {seen[name]}', path, line)
        seen[name] = line
    return tuple(name for name, _ in names)


def _strip_comment(line: str) -> str:
    quote = None
    for position, character in enumerate(line):
        if quote:
            if character == quote:
                quote = None
        elif character in "'\"":
            quote = character
        elif character == "#" and (position == 0 or line[position - 1] in " \t"):
            return line[:position]
    return line


def _scalar(token: str, path: Path, line: int) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    if not token or token[0] in "'\"[]{}&*!|>%@`":
        raise InputError(f"cannot read {display_text(token)!r} as a class name", path, line)
    return token


def _flow_items(text: str, path: Path, line: int) -> list[str]:
    items, current, quote = [], "", None
    for character in text:
        if quote:
            current += character
            if character == quote:
                quote = None
        elif character in "'\"":
            quote = character
            current += character
        elif character == ",":
            items.append(current)
            current = ""
        else:
            current += character
    if quote:
        raise InputError("a quote is not closed in names: [...]", path, line)
    if current.strip():
        items.append(current)
    return [_scalar(item, path, line) for item in items]


def _yaml_names(text: str, path: Path) -> tuple[list[tuple[str, int]], int | None]:
    """``names:`` and ``nc:`` of a data.yaml, the forms ultralytics and darknet write."""
    lines = [_strip_comment(line).rstrip() for line in text.split("\n")]
    starts = [number for number, line in enumerate(lines, 1) if line.startswith("names:")]
    if not starts:
        raise InputError("no top-level names: key (the class list)", path)
    if len(starts) > 1:
        raise InputError(f"names: repeats line {starts[0]}", path, starts[1])
    start = starts[0]
    rest = lines[start - 1][len("names:") :].strip()
    if rest.startswith("["):
        return _flow_names(lines, start, path), _class_count(lines, path)
    if rest:
        raise InputError("names: takes a list or an index: name mapping", path, start)
    return _block_names(lines, start, path), _class_count(lines, path)


def _class_count(lines: list[str], path: Path) -> int | None:
    count = None
    for number, line in enumerate(lines, 1):
        if line.startswith("nc:"):
            value = line[3:].strip()
            if not _INDEX.match(value):
                raise InputError(
                    f"nc: {display_text(value)!r} is not a number of classes", path, number
                )
            count = int(value)
    return count


def _flow_names(lines: list[str], start: int, path: Path) -> list[tuple[str, int]]:
    """``names: [a, b, ...]``, possibly over several lines."""
    flow, end = lines[start - 1][len("names:") :].strip(), start
    while not flow.endswith("]"):
        if end >= len(lines):
            raise InputError("names: [ is not closed", path, start)
        flow += " " + lines[end].strip()
        end += 1
    return [(name, start) for name in _flow_items(flow[1:-1], path, start)]


def _block_names(lines: list[str], start: int, path: Path) -> list[tuple[str, int]]:
    """The indented ``- name`` or ``index: name`` lines under ``names:``."""
    listed: list[tuple[str, int]] = []
    indexed: list[tuple[int, str, int]] = []
    for number in range(start + 1, len(lines) + 1):
        line = lines[number - 1]
        if not line.strip():
            continue
        if not line[0].isspace():
            break
        entry = line.strip()
        if entry.startswith("- ") or entry == "-":
            listed.append((_scalar(entry[1:], path, number), number))
            continue
        key, colon, value = entry.partition(":")
        if not colon or not _INDEX.match(key.strip()):
            raise InputError("expected '- name' or 'index: name' under names:", path, number)
        indexed.append((int(key), _scalar(value, path, number), number))
    if listed and indexed:
        raise InputError("names: mixes a list and a mapping", path, start)
    for position, (index, _, number) in enumerate(sorted(indexed)):
        if index != position:
            raise InputError(
                f"names: index {index} where {position} belongs (indices run 0, 1, ...)",
                path,
                number,
            )
    return listed or [(name, number) for _, name, number in sorted(indexed)]


# -- label and prediction files --------------------------------------------------


def _rows(
    path: Path, classes: tuple[str, ...], fields: int, folder: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(class index (k,), values (k, fields - 1), line numbers (k,))`` of one file."""
    what = "label file" if fields == 5 else "prediction file"
    text = _text(read_input_file(path, what, folder=folder), path)
    labels, values, numbers = [], [], []
    for number, line in enumerate(text.split("\n"), 1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != fields:
            raise InputError(_length_message(len(tokens), fields), path, number)
        if not _INDEX.match(tokens[0]) or int(tokens[0]) >= len(classes):
            raise InputError(
                f"class index {display_text(tokens[0])!r} is not one of 0..{len(classes) - 1} "
                f"(the class list has {len(classes)})",
                path,
                number,
            )
        row = []
        for token in tokens[1:]:
            if not _NUMBER.match(token):
                raise InputError(f"{display_text(token)!r} is not a number", path, number)
            row.append(float(token))
        if not all(0.0 <= value <= 1.0 for value in row[:4]):
            raise InputError(
                "box values must be normalised to [0, 1] (class cx cy w h); "
                "these look like pixels or are out of the image",
                path,
                number,
            )
        labels.append(int(tokens[0]))
        values.append(row)
        numbers.append(number)
    return (
        np.array(labels, dtype=np.int64),
        np.array(values, dtype=np.float64).reshape(-1, fields - 1),
        np.array(numbers, dtype=np.int64),
    )


def _length_message(found: int, fields: int) -> str:
    if fields == 5:
        if found == 6:
            return "6 values where a label has 5 (class cx cy w h): is this a prediction file?"
        if found > 6:
            return (
                f"{found} values: a segmentation label? vocmap reads box labels (class cx cy w h)"
            )
        return f"{found} values where a label has 5 (class cx cy w h)"
    if found == 5:
        return (
            "5 values where a prediction has 6 (class cx cy w h conf): predict with save_conf=True"
        )
    return f"{found} values where a prediction has 6 (class cx cy w h conf)"


def _images(folder: Path) -> dict[str, Path]:
    """Image id to image file, for the JPEG and PNG files of ``folder``."""
    if not folder.is_dir():
        raise InputError("images folder not found", folder)
    found: dict[str, Path] = {}
    for entry in sorted(os.listdir(folder)):
        path = folder / entry
        if path.suffix not in IMAGE_SUFFIXES:
            continue
        if path.stem in found:
            raise InputError(f"two images with the id {path.stem!r}: {found[path.stem].name}", path)
        found[path.stem] = path
    if not found:
        raise InputError("no JPEG or PNG images in the images folder", folder)
    return found


def default_images_folder(labels_folder: str | os.PathLike) -> Path:
    """ultralytics' rule: the last ``labels`` part of the path becomes ``images``."""
    parts = list(Path(labels_folder).parts)
    if "labels" not in parts:
        raise VocmapError(
            f"cannot tell the images folder of {display_text(os.fspath(labels_folder))}: "
            "give it (images_folder=, --yolo-images)"
        )
    index = len(parts) - 1 - parts[::-1].index("labels")
    parts[index] = "images"
    return Path(*parts)


def read_yolo_ground_truth(
    labels_folder: str | os.PathLike,
    classes: str | os.PathLike | tuple[str, ...] | list[str],
    images_folder: str | os.PathLike | None = None,
    *,
    missing_labels: str = "error",
) -> YoloData:
    """A YOLO data set split: ``labels_folder/<id>.txt`` for each image of
    ``images_folder`` (by default the path with ``labels`` replaced by ``images``).

    ``classes`` is the class list or the path of a data.yaml / names file.
    ``missing_labels``: "error" (default) or "empty" (an image without a label
    file has no objects, as ultralytics treats background images).
    """
    if missing_labels not in ("error", "empty"):
        raise VocmapError(f"missing_labels is 'error' or 'empty', not {missing_labels!r}")
    names = _class_names(classes)
    for given, what in ((labels_folder, "labels"), (images_folder, "images")):
        if given is not None and not os.fspath(given):
            raise VocmapError(f"the {what} folder's name is empty")
    labels_folder = Path(labels_folder)
    if not labels_folder.is_dir():
        raise InputError("labels folder not found", labels_folder)
    images_folder = Path(images_folder) if images_folder else default_images_folder(labels_folder)
    images = _images(images_folder)
    label_files = {
        p.stem: p for p in map(Path, sorted(os.listdir(labels_folder))) if p.suffix == ".txt"
    }
    for stem in label_files:
        if stem not in images:
            raise InputError(
                "label file without an image (no JPEG or PNG of that name)",
                labels_folder / f"{stem}.txt",
            )
    image_ids = tuple(images)
    widths = np.zeros(len(image_ids), dtype=np.int64)
    heights = np.zeros(len(image_ids), dtype=np.int64)
    object_image, object_class, normalised = [], [], []
    for index, image_id in enumerate(image_ids):
        widths[index], heights[index] = image_size(images[image_id], folder=images_folder)
        if image_id not in label_files:
            if missing_labels == "error":
                raise InputError(
                    "image without a label file (missing_labels='empty', or "
                    "--yolo-missing-labels empty, reads it as an image without objects)",
                    labels_folder / f"{image_id}.txt",
                )
            continue
        labels, values, _ = _rows(labels_folder / f"{image_id}.txt", names, 5, labels_folder)
        object_image.append(np.full(len(labels), index, dtype=np.int64))
        object_class.append(labels)
        normalised.append(values)
    rows = np.concatenate(object_image) if object_image else np.zeros(0, dtype=np.int64)
    labels = np.concatenate(object_class) if object_class else np.zeros(0, dtype=np.int64)
    boxes = yolo_to_voc(
        np.concatenate(normalised) if normalised else np.zeros((0, 4)),
        widths[rows],
        heights[rows],
    )
    ground_truth = GroundTruth.from_arrays(
        image_ids, rows, [names[i] for i in labels], boxes, np.zeros(len(rows), dtype=bool)
    )
    # a results JSON's category_id is the class index (as ultralytics writes it)
    ground_truth = dataclasses.replace(
        ground_truth,
        source=os.fspath(labels_folder),
        categories=tuple(enumerate(names)),
    )
    return YoloData(ground_truth, names, widths, heights)


def _class_names(classes: str | os.PathLike | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if isinstance(classes, (str, os.PathLike)):
        return read_yolo_classes(classes)
    names = tuple(classes)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise VocmapError("classes must be a non-empty list of class names")
    if len(set(names)) != len(names):
        raise VocmapError("classes repeat")
    return names


def read_yolo_predictions(
    folder: str | os.PathLike,
    data: YoloData,
    *,
    ignore_unknown_images: bool = False,
) -> Detections:
    """ultralytics' prediction files (``<id>.txt``, ``class cx cy w h conf`` a
    line) of the images of ``data``, as Detections of every class of its list.

    An image without a file has no detections (ultralytics writes none). Files are
    read in name order, lines in file order: that is the order that breaks score
    ties. A file of an image not in the set is an error, or dropped and counted
    with ``ignore_unknown_images``.
    """
    if not os.fspath(folder):
        raise VocmapError("the predictions folder's name is empty")
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("predictions folder not found", folder)
    if not any(name.endswith(".txt") for name in os.listdir(folder)):
        raise InputError(
            "no prediction files (<image id>.txt) in the folder: ultralytics writes them "
            "into runs/detect/<name>/labels with save_txt=True, save_conf=True",
            folder,
        )
    index = data.ground_truth.image_index
    per_class: list[list[tuple[np.ndarray, ...]]] = [[] for _ in data.classes]
    dropped = 0
    for entry in sorted(os.listdir(folder)):
        path = folder / entry
        if path.suffix != ".txt":
            continue
        labels, values, _ = _rows(path, data.classes, 6, folder)
        image = index.get(path.stem)
        if image is None:
            if ignore_unknown_images:
                dropped += len(labels)
                continue
            raise InputError(
                "prediction file of an image that is not in the data set "
                "(ignore_unknown_images, --ignore-unknown-images, drops it)",
                path,
            )
        boxes = yolo_to_voc(
            values[:, :4],
            np.full(len(labels), data.widths[image]),
            np.full(len(labels), data.heights[image]),
        )
        for label in np.unique(labels):
            chosen = labels == label
            per_class[label].append(
                (
                    np.full(int(chosen.sum()), image, dtype=np.int64),
                    values[chosen, 4],
                    boxes[chosen],
                )
            )
    by_class = {}
    for label, name in enumerate(data.classes):
        parts = per_class[label]
        if not parts:
            by_class[name] = ClassDetections.empty(os.fspath(folder))
            continue
        by_class[name] = ClassDetections(
            image_index=np.concatenate([p[0] for p in parts]),
            scores=np.concatenate([p[1] for p in parts]),
            boxes=np.ascontiguousarray(np.concatenate([p[2] for p in parts])),
            source=os.fspath(folder),
        )
    return Detections(by_class, dropped_unknown=dropped)
