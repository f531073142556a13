"""Reading what an evaluation needs: the ground truth, the classes, the detections.

One loader for the CLI (every command that evaluates detections), the API
(:func:`vocmap.evaluate_folder`) and the adapters. Paths are resolved by
:mod:`vocmap.io.sources`; nothing here prints: what the caller may want to say
(the classes inferred, records dropped) is returned.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from vocmap.core.detections import Detections
from vocmap.core.errors import VocmapError
from vocmap.core.evaluate import class_list
from vocmap.core.ground_truth import GroundTruth
from vocmap.io.read import detection_classes, read_detections
from vocmap.io.sources import GroundTruthSource
from vocmap.io.voc import read_annotations

if TYPE_CHECKING:
    from vocmap.io.yolo import YoloData


class Inputs(NamedTuple):
    """What :func:`read_inputs` read."""

    ground_truth: GroundTruth
    classes: tuple[str, ...]
    detections: Detections
    #: why the classes are not the 20 VOC classes, when they were inferred; else None
    inferred: str | None


def load_ground_truth(
    source: GroundTruthSource, *, cache: bool = True, follow_symlinks: bool = False
) -> GroundTruth:
    """The annotations of ``source`` (through the annotation cache unless ``cache=False``)."""
    return read_annotations(
        source.annotations, source.image_set_file, cache=cache, follow_symlinks=follow_symlinks
    )


def read_inputs(
    detections: str | os.PathLike,
    ground_truth: GroundTruth,
    classes: Sequence[str] | None = None,
    *,
    image_set: str | None = None,
    infer_classes: bool = True,
    prefix: str | None = None,
    follow_symlinks: bool = False,
    ignore_unknown_images: bool = False,
    ignore_unknown_categories: bool = False,
) -> Inputs:
    """The classes and the detections of ``detections`` (a folder, a .json, ``-``).

    The classes are ``classes``; when None (and ``infer_classes``), those the
    result files have if they are not the 20 VOC classes (``Inputs.inferred``
    says so), else a COCO ground truth's categories in id order, else the 20 VOC
    classes.
    """
    inferred = None
    names: Sequence[str] | None = classes
    if names is None and infer_classes:
        names, inferred = detection_classes(detections, ground_truth, image_set, prefix=prefix)
    if names is None and ground_truth.categories is not None:
        from vocmap.io.coco_categories import default_classes

        names = default_classes(ground_truth)  # a COCO json's categories, in id order
    checked = class_list(names)
    read = read_detections(
        detections,
        ground_truth,
        checked,
        image_set=image_set,
        ignore_unknown_images=ignore_unknown_images,
        ignore_unknown_categories=ignore_unknown_categories,
        prefix=prefix,
        follow_symlinks=follow_symlinks,
    )
    return Inputs(ground_truth, checked, read, inferred)


def read_yolo_inputs(
    detections: str | os.PathLike,
    labels_folder: str | os.PathLike,
    class_file: str | os.PathLike,
    *,
    images_folder: str | os.PathLike | None = None,
    missing_labels: str = "error",
    predictions: bool = False,
    classes: Sequence[str] | None = None,
    prefix: str | None = None,
    follow_symlinks: bool = False,
    ignore_unknown_images: bool = False,
    ignore_unknown_categories: bool = False,
) -> tuple[YoloData, Inputs]:
    """YOLO ground truth (:func:`vocmap.io.yolo.read_yolo_ground_truth`) and the
    detections of ``detections``: ultralytics' prediction files with ``predictions``,
    else a folder of result files or a results JSON (``category_id`` is the class
    index of the class list). The classes are ``classes`` (each in the class list),
    else the class list's."""
    from vocmap.io.yolo import read_yolo_ground_truth, read_yolo_predictions

    data = read_yolo_ground_truth(
        labels_folder, class_file, images_folder, missing_labels=missing_labels
    )
    unknown = [name for name in classes or () if name not in data.classes]
    if unknown:
        raise VocmapError(
            f"--classes {', '.join(unknown)}: not in the class list of {os.fspath(class_file)}"
        )
    checked = class_list(list(classes) if classes is not None else list(data.classes))
    if predictions:
        read = read_yolo_predictions(detections, data, ignore_unknown_images=ignore_unknown_images)
    else:
        read = read_detections(
            detections,
            data.ground_truth,
            checked,
            ignore_unknown_images=ignore_unknown_images,
            ignore_unknown_categories=ignore_unknown_categories,
            prefix=prefix,
            follow_symlinks=follow_symlinks,
        )
    return data, Inputs(data.ground_truth, checked, read, None)
