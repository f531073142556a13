"""The readers' front doors: detections from a folder or a JSON file, ground truth
from a VOC folder. The CLI, the run scorer and the Python API read through here."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from vocmap.core.detections import Detections
from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth
from vocmap.io.coco_json import read_coco_results
from vocmap.io.result_files import read_result_folder


def read_detections(
    source: str | os.PathLike,
    ground_truth: GroundTruth,
    classes: Sequence[str] | None = None,
    *,
    image_set: str | None = None,
    ignore_unknown_images: bool = False,
) -> Detections:
    """Read a folder of devkit result files, or a COCO-style ``.json`` results file."""
    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".json":
        return read_coco_results(
            source, ground_truth, classes, ignore_unknown_images=ignore_unknown_images
        )
    if source.is_file():
        raise InputError("expected a folder of result files or a .json results file", source)
    return read_result_folder(
        source,
        ground_truth,
        classes,
        image_set=image_set,
        ignore_unknown_images=ignore_unknown_images,
    )
