"""Collect detections image by image as a model produces them, then evaluate.

The accumulator is the training-loop API: ``reset`` / ``add`` / ``evaluate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from vocmap.core.detections import ClassDetections, Detections
from vocmap.core.errors import InputError
from vocmap.core.results import EvalResult

if TYPE_CHECKING:
    from vocmap.core.evaluate import Evaluator


class DetectionAccumulator:
    """Collect detections image by image, then evaluate them (reset / add / evaluate).

    Args:
        evaluator: the Evaluator holding ground truth and options.
        label_offset: subtracted from integer labels to index ``evaluator.classes``
            (1 for detectors whose label 0 is the background).

    Example::

        acc = evaluator.accumulator(label_offset=1)
        for image_id, (boxes, scores, labels) in model_outputs:
            acc.add(image_id, boxes, scores, labels)   # boxes (n, 4) VOC frame
        result = acc.evaluate()

    The order of ``add`` calls (and of rows within a call) is the "file order"
    that breaks score ties.
    """

    def __init__(self, evaluator: Evaluator, label_offset: int = 0) -> None:
        self.evaluator = evaluator
        self.label_offset = int(label_offset)
        self._class_index = {name: k for k, name in enumerate(evaluator.classes)}
        self.reset()

    def reset(self) -> None:
        """Forget everything added so far."""
        n = len(self.evaluator.classes)
        self._images: list[list[np.ndarray]] = [[] for _ in range(n)]
        self._scores: list[list[np.ndarray]] = [[] for _ in range(n)]
        self._boxes: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.images_seen = 0

    def add(self, image_id: str, boxes, scores, labels) -> None:
        """Add one image's detections.

        Args:
            image_id: an id of the ground truth's image set.
            boxes: (n, 4) VOC boxes (1-based, inclusive pixels).
            scores: (n,) confidences.
            labels: (n,) class names, or integer labels (``label - label_offset``
                indexes ``evaluator.classes``).
        """
        index = self.evaluator.ground_truth.image_index.get(str(image_id))
        if index is None:
            raise InputError(f'image "{image_id}" is not in the image set')
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        labels = np.asarray(labels).reshape(-1)
        if not (boxes.shape[0] == scores.shape[0] == labels.shape[0]):
            raise InputError(f'image "{image_id}": boxes, scores and labels differ in length')
        if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
            raise InputError(f'image "{image_id}": a NaN or infinite box or score')
        if labels.dtype.kind in "iu":
            class_ids = labels.astype(np.int64) - self.label_offset
            if class_ids.size and (class_ids.min() < 0 or class_ids.max() >= len(self._images)):
                raise InputError(f'image "{image_id}": label outside the class list')
        else:
            try:
                class_ids = np.array([self._class_index[str(n)] for n in labels], dtype=np.int64)
            except KeyError as unknown:
                raise InputError(f'image "{image_id}": unknown class {unknown.args[0]!r}') from None
        for k in np.unique(class_ids):
            rows = class_ids == k
            count = int(np.count_nonzero(rows))
            self._images[k].append(np.full(count, index, dtype=np.int64))
            self._scores[k].append(scores[rows])
            self._boxes[k].append(boxes[rows])
        self.images_seen += 1

    def detections(self) -> Detections:
        """What has been added, as :class:`Detections`."""
        by_class = {}
        for k, name in enumerate(self.evaluator.classes):
            if self._scores[k]:
                by_class[name] = ClassDetections(
                    image_index=np.concatenate(self._images[k]),
                    scores=np.concatenate(self._scores[k]),
                    boxes=np.ascontiguousarray(np.concatenate(self._boxes[k])),
                )
            else:
                by_class[name] = ClassDetections.empty()
        return Detections(by_class)

    def evaluate(self) -> EvalResult:
        """Evaluate everything added so far."""
        return self.evaluator.evaluate(self.detections())
