"""A detectron2 ``DatasetEvaluator`` giving the VOC devkit's AP: :class:`VocDevkitEvaluator`.

It follows detectron2's evaluator protocol (``reset`` / ``process(inputs,
outputs)`` / ``evaluate``), so ``inference_on_dataset`` and ``DatasetEvaluators``
take it as they take ``PascalVOCDetectionEvaluator``; it reads the ``Instances``
of ``outputs[i]["instances"]`` (``pred_boxes``, ``scores``, ``pred_classes``) and
``inputs[i]["image_id"]``. detectron2 itself is not imported: anything with that
shape works. Boxes are detectron2's 0-based continuous corners ("xyxy"), the
frame its VOC loader makes by subtracting 1 from ``xmin`` and ``ymin``.

Usage (README, "In training frameworks")::

    evaluator = VocDevkitEvaluator(vocmap.read_voc("datasets/VOC2007", "test"))
    results = inference_on_dataset(model, test_loader, evaluator)
    results["voc07"]["mAP"]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from vocmap.core.accumulator import DetectionAccumulator
from vocmap.core.evaluate import Evaluator
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.results import EvalResult
from vocmap.integrations.distributed import gather_accumulator


class VocDevkitEvaluator:
    """detectron2's evaluator protocol over a vocmap accumulator.

    Args:
        ground_truth: the annotations (``vocmap.read_voc``, ``vocmap.read_coco_ground_truth``).
        classes: names indexed by ``pred_classes`` (default: the 20 VOC classes,
            detectron2's ``CLASS_NAMES`` order for VOC).
        box_format: "xyxy" (detectron2's frame) unless the model was trained otherwise.
        duplicates: "error" or "drop-repeats" (a padded distributed loader).
        metric, iou, semantics: as for :class:`vocmap.Evaluator`.

    ``evaluate()`` gathers every rank's detections (call it on every rank, as
    detectron2 does) and returns, on every rank, ``{settings key: {"mAP": ..,
    "AP-<class>": ..}}`` with the exact APs (fractions, not percents);
    ``self.result`` is the whole :class:`~vocmap.core.results.EvalResult`.
    """

    def __init__(
        self,
        ground_truth: GroundTruth,
        classes: Sequence[str] | None = None,
        *,
        box_format: str = "xyxy",
        duplicates: str = "error",
        metric: str = "voc07",
        iou: float = 0.5,
        semantics: Any = "devkit",
    ) -> None:
        self.evaluator = Evaluator(
            ground_truth, classes, metric=metric, iou=iou, semantics=semantics
        )
        self._accumulator = self.evaluator.accumulator(box_format, duplicates=duplicates)
        self.result: EvalResult | None = None

    def reset(self) -> None:
        """Forget the images processed so far."""
        self._accumulator.reset()
        self.result = None

    def process(self, inputs: Sequence[dict], outputs: Sequence[dict]) -> None:
        """Add a batch: ``inputs[i]["image_id"]`` and ``outputs[i]["instances"]``."""
        for input_, output in zip(inputs, outputs, strict=True):
            instances = output["instances"]
            boxes = instances.pred_boxes
            boxes = getattr(boxes, "tensor", boxes)  # detectron2's Boxes, or a tensor
            self._accumulator.add(
                input_["image_id"], boxes, instances.scores, instances.pred_classes
            )

    def evaluate(self) -> dict[str, dict[str, float]]:
        """Every rank's detections evaluated: ``{key: {"mAP", "AP-<class>" ...}}``."""
        merged: DetectionAccumulator = gather_accumulator(self._accumulator)
        self.result = merged.evaluate()
        values: dict[str, float] = OrderedDict(mAP=self.result.map)
        for name, per_class in self.result.classes.items():
            values[f"AP-{name}"] = per_class.ap
        return {self.result.settings.key: values}
