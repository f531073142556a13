"""Write VOC-format annotation XML files and image sets (for generators and tests).

Boxes are VOC pixel coordinates: 1-based and inclusive, so a box covering the
first 10 pixel columns has ``xmin=1, xmax=10`` (width = xmax - xmin + 1).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from vocmap.core.atomic import atomic_write_text


@dataclass(frozen=True)
class VocObject:
    """One annotated object: class name, VOC box (xmin, ymin, xmax, ymax), difficult flag."""

    name: str
    box: tuple[float, float, float, float]
    difficult: bool = False
    truncated: bool = False


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def annotation_xml(
    filename: str, width: int, height: int, objects: Iterable[VocObject], folder: str = "VOC2007"
) -> str:
    """The text of one VOC annotation file, in the layout of the VOC2007 release."""
    parts = [
        "<annotation>",
        f"\t<folder>{escape(folder)}</folder>",
        f"\t<filename>{escape(filename)}</filename>",
        "\t<size>",
        f"\t\t<width>{int(width)}</width>",
        f"\t\t<height>{int(height)}</height>",
        "\t\t<depth>3</depth>",
        "\t</size>",
        "\t<segmented>0</segmented>",
    ]
    for obj in objects:
        xmin, ymin, xmax, ymax = obj.box
        parts += [
            "\t<object>",
            f"\t\t<name>{escape(obj.name)}</name>",
            "\t\t<pose>Unspecified</pose>",
            f"\t\t<truncated>{int(obj.truncated)}</truncated>",
            f"\t\t<difficult>{int(obj.difficult)}</difficult>",
            "\t\t<bndbox>",
            f"\t\t\t<xmin>{_number(xmin)}</xmin>",
            f"\t\t\t<ymin>{_number(ymin)}</ymin>",
            f"\t\t\t<xmax>{_number(xmax)}</xmax>",
            f"\t\t\t<ymax>{_number(ymax)}</ymax>",
            "\t\t</bndbox>",
            "\t</object>",
        ]
    parts.append("</annotation>\n")
    return "\n".join(parts)


def write_annotation(
    annotations_dir: str | os.PathLike,
    image_id: str,
    width: int,
    height: int,
    objects: Iterable[VocObject],
    folder: str = "VOC2007",
) -> Path:
    """Write ``<annotations_dir>/<image_id>.xml`` atomically and return its path."""
    path = Path(annotations_dir) / f"{image_id}.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, annotation_xml(f"{image_id}.jpg", width, height, objects, folder))
    return path


def write_image_set(path: str | os.PathLike, image_ids: Sequence[str]) -> Path:
    """Write an image-set file (one id a line), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(f"{image_id}\n" for image_id in image_ids))
    return path
