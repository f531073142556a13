"""The bootstrap replicate in plain Python: the copies expanded literally (tests only).

The twin of :mod:`vocmap.analysis.bootstrap_kernels`: each detection, in the
devkit's visiting order, is repeated once per copy of its image (the copies
together, at the detection's place), ``npos`` is summed over the copies, and the
devkit transcription (:mod:`vocmap.testing.devkit_reference`) computes the AP.
:func:`literal_resample` builds the duplicated data set itself, for the devkit path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vocmap.core.detections import Detections
from vocmap.core.ground_truth import GroundTruth
from vocmap.testing import devkit_reference as ref


def replicate_ap(
    weights: Sequence[int],
    det_image: Sequence[int],
    outcome: Sequence[int],
    npos_by_image: Sequence[int],
    metric: str = "voc07",
) -> float:
    """The devkit's AP of the duplicated data set, from the outcomes in visiting order."""
    expanded = [o for image, o in zip(det_image, outcome) for _ in range(weights[image])]
    npos = sum(w * n for w, n in zip(weights, npos_by_image))
    rec, prec = ref.naive_precision_recall(expanded, npos)
    return ref.naive_ap_11point(rec, prec) if metric == "voc07" else ref.naive_ap_area(rec, prec)


def literal_resample(
    ground_truth: GroundTruth, detections: Detections, weights: Sequence[int]
) -> tuple[GroundTruth, Detections]:
    """The resampled data set itself: image ``i`` copied ``weights[i]`` times (ids
    ``"<id>#<copy>"``, copies in image order), its objects with it, and each
    detection line repeated once per copy, the copies together at its place."""
    copies: dict[tuple[int, int], int] = {}  # (image, copy) -> new index
    ids: list[str] = []
    for i, image_id in enumerate(ground_truth.image_ids):
        for c in range(int(weights[i])):
            copies[i, c] = len(ids)
            ids.append(f"{image_id}#{c}")
    object_image, names, boxes, difficult = [], [], [], []
    for row in range(ground_truth.object_image.shape[0]):
        i = int(ground_truth.object_image[row])
        for c in range(int(weights[i])):
            object_image.append(copies[i, c])
            names.append(ground_truth.class_names[int(ground_truth.object_class[row])])
            boxes.append(ground_truth.boxes[row])
            difficult.append(bool(ground_truth.difficult[row]))
    if object_image:
        gt = GroundTruth.from_arrays(
            ids, np.array(object_image), names, np.array(boxes), np.array(difficult)
        )
    else:
        gt = GroundTruth.from_arrays(ids)
    per_class: dict = {}
    for name, d in detections.by_class.items():
        images, scores, dets = [], [], []
        for image, score, box in zip(d.image_index.tolist(), d.scores.tolist(), d.boxes):
            for c in range(int(weights[image])):
                images.append(copies[image, c])
                scores.append(score)
                dets.append(box)
        per_class[name] = (
            np.array(images, dtype=np.int64),
            np.array(scores, dtype=np.float64),
            np.array(dets, dtype=np.float64).reshape(-1, 4),
        )
    return gt, Detections.from_arrays(gt, per_class, box_format="voc", image_index=True)
