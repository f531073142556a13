"""An MMEngine ``BaseMetric`` giving the VOC devkit's AP: :class:`VocDevkitMetric`.

``process(data_batch, data_samples)`` reads each sample's ``img_id`` and
``pred_instances`` (``bboxes``, ``scores``, ``labels``) and keeps one record per
image; MMEngine gathers the records of every rank (dropping its sampler's
padding) and calls ``compute_metrics`` on the main process.

The box frame depends on mmdet's dataset class, so it has no default:
``box_format="xyxy"`` for ``CocoDataset`` (VOC as COCO json), ``"voc0"`` for
``VOCDataset``/``XMLDataset`` (which load every XML coordinate minus 1).

Usage (README, "In training frameworks")::

    custom_imports = dict(imports=["vocmap.integrations.mmengine"])
    val_evaluator = dict(type="VocDevkitMetric", ground_truth="data/VOCdevkit/VOC2007",
                         box_format="voc0")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from vocmap.core.boxes import check_box_format, to_vector, to_voc_boxes
from vocmap.core.errors import VocmapError
from vocmap.core.evaluate import Evaluator
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.results import EvalResult
from vocmap.integrations.distributed import world


@METRICS.register_module()
class VocDevkitMetric(BaseMetric):
    """The VOC devkit's mAP as an MMEngine metric.

    Args:
        ground_truth: a GroundTruth, or a path: a VOC year folder (read with
            ``image_set``) or a COCO-format annotations ``.json``.
        box_format: the frame of ``pred_instances.bboxes``, required ("xyxy"
            for mmdet's CocoDataset, "voc0" for its VOCDataset).
        classes: names indexed by the predicted labels (default: the dataset's
            ``classes`` from ``dataset_meta``, else the 20 VOC classes).
        image_set: the image set of a VOC folder ("test").
        duplicates: "error" or "drop-repeats".
        metric, iou, semantics: as for :class:`vocmap.Evaluator`.
        collect_device, prefix, collect_dir: MMEngine's (prefix "vocmap").

    ``compute_metrics`` returns ``{"mAP": .., "AP-<class>": ..}`` with the exact
    APs; ``self.result`` keeps the whole EvalResult on the main process.
    """

    default_prefix = "vocmap"

    def __init__(
        self,
        ground_truth: GroundTruth | str | os.PathLike,
        box_format: str | None = None,
        classes: Sequence[str] | None = None,
        *,
        image_set: str = "test",
        duplicates: str = "error",
        metric: str = "voc07",
        iou: float = 0.5,
        semantics: Any = "devkit",
        collect_device: str = "cpu",
        prefix: str | None = None,
        collect_dir: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.box_format = check_box_format(box_format)
        self._ground_truth = ground_truth
        self._image_set = image_set
        self._classes = None if classes is None else tuple(classes)
        self.duplicates = duplicates
        self.options = {"metric": metric, "iou": iou, "semantics": semantics}
        self.result: EvalResult | None = None

    @property
    def ground_truth(self) -> GroundTruth:
        """The annotations, read on first use."""
        if not isinstance(self._ground_truth, GroundTruth):
            from vocmap.io.coco_ground_truth import read_coco_ground_truth
            from vocmap.io.voc import read_voc

            path = os.fspath(self._ground_truth)
            if path.endswith(".json"):
                self._ground_truth = read_coco_ground_truth(path)
            else:
                self._ground_truth = read_voc(path, self._image_set)
        return self._ground_truth

    def class_names(self) -> tuple[str, ...] | None:
        """The classes given, else the dataset's, else None (the 20 VOC classes)."""
        if self._classes is not None:
            return self._classes
        meta = self.dataset_meta or {}
        names = meta.get("classes")
        return tuple(names) if names else None

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """One record per image: ``(img_id, VOC boxes (n, 4), scores (n,), labels (n,))``."""
        for sample in data_samples:
            if "img_id" not in sample or "pred_instances" not in sample:
                raise VocmapError("each data sample needs 'img_id' and 'pred_instances'")
            image_id = sample["img_id"]
            if hasattr(image_id, "item") and not isinstance(image_id, str):
                image_id = image_id.item()  # a tensor or NumPy scalar
            pred = sample["pred_instances"]
            where = f"image {image_id!r}"
            self.results.append(
                (
                    image_id,
                    to_voc_boxes(pred["bboxes"], self.box_format, f"{where}: bboxes"),
                    to_vector(pred["scores"], f"{where}: scores"),
                    to_vector(pred["labels"], f"{where}: labels", dtype=None),
                )
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Evaluate every rank's records (MMEngine calls it on the main process)."""
        evaluator = Evaluator(self.ground_truth, self.class_names(), **self.options)
        accumulator = evaluator.accumulator("voc", duplicates=self.duplicates)
        for image_id, boxes, scores, labels in results:
            accumulator.add(image_id, boxes, scores, labels)
        accumulator.gathered_ranks = world()[1]  # MMEngine gathered the records
        self.result = accumulator.evaluate()
        values = {"mAP": self.result.map}
        for name, per_class in self.result.classes.items():
            values[f"AP-{name}"] = per_class.ap
        return values
