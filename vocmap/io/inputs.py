"""Reading what an evaluation needs: the ground truth, the classes, the detections.

One loader for the CLI (every command that evaluates detections), the API
(:func:`vocmap.evaluate_folder`) and the adapters. Paths are resolved by
:mod:`vocmap.io.sources`; nothing here prints: what the caller may want to say
(the classes inferred, records dropped) is returned.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

from vocmap.core.detections import Detections
from vocmap.core.evaluate import class_list
from vocmap.core.ground_truth import GroundTruth
from vocmap.io.read import detection_classes, read_detections
from vocmap.io.sources import GroundTruthSource
from vocmap.io.voc import read_annotations


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
