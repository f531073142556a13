"""A torchmetrics ``Metric`` giving the VOC devkit's AP: :class:`VocMeanAveragePrecision`.

``update(preds, target)`` takes torchmetrics' detection format (the one of its
``MeanAveragePrecision``): per image a dict ``{"boxes", "scores", "labels"}`` and a
target ``{"boxes", "labels"}`` with, optionally, ``"image_id"``, ``"difficult"`` and
``"iscrowd"``. ``compute()`` returns ``{"map", "map_per_class", "classes"}`` as
float64 tensors (the exact doubles of ``vocmap evaluate``) and keeps the whole
:class:`~vocmap.core.results.EvalResult` in ``.result``. The states are
torchmetrics' own, so DDP (Lightning's included) syncs them.

Usage (README, "In training frameworks")::

    metric = VocMeanAveragePrecision(label_offset=1)        # boxes "xyxy", as torchvision
    metric.update(preds, targets)                           # each validation step
    metric.compute()["map"]                                 # at the end of the epoch
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torchmetrics import Metric

from vocmap.core.accumulator import DetectionAccumulator
from vocmap.core.boxes import check_box_format, to_vector, to_voc_boxes
from vocmap.core.detections import image_index_of, one_image_id
from vocmap.core.errors import InputError, VocmapError
from vocmap.core.evaluate import Evaluator, class_list
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.results import EvalResult
from vocmap.integrations.distributed import world

_STATES = (
    "image_keys",  # per image added: its key (index into ground_truth, or its id)
    "det_counts",  # per image added: how many detections
    "det_class",
    "det_scores",
    "det_boxes",  # flattened (4 per detection), VOC pixels
    "gt_counts",  # targets as ground truth only: per image, how many objects
    "gt_class",
    "gt_boxes",
    "gt_difficult",
)
_LARGEST_KEY = 2**53  # keys travel as float64


class VocMeanAveragePrecision(Metric):
    """The VOC devkit's mAP as a torchmetrics ``Metric``.

    Args:
        ground_truth: the annotations (``vocmap.read_voc``,
            ``vocmap.read_coco_ground_truth``); then each target needs only its
            ``"image_id"`` (a string, or an integer as the COCO reader reads
            it). None (default): the targets are the ground truth, as in
            torchmetrics; ``"difficult"`` or ``"iscrowd"`` make an object difficult.
        classes: the class names, indexed by ``label - label_offset`` (default:
            the 20 VOC classes).
        box_format: the frame of predicted and target boxes: "xyxy" (default,
            torchmetrics' and torchvision's), "xywh", "voc" or "voc0".
        label_offset: subtracted from labels (1 when label 0 is the background).
        metric, iou, semantics: as for :class:`vocmap.Evaluator`.
        duplicates: "error" or "drop-repeats" (DistributedSampler's padding).

    Images are evaluated in the image set's order (with ``ground_truth``), by
    increasing ``image_id`` (targets with ids), or in ``update`` order (targets
    without ids: one process only, since ranks cannot be ordered otherwise).
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(
        self,
        ground_truth: GroundTruth | None = None,
        classes: Sequence[str] | None = None,
        *,
        box_format: str = "xyxy",
        label_offset: int = 0,
        metric: str = "voc07",
        iou: float = 0.5,
        semantics: Any = "devkit",
        duplicates: str = "error",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("dist_sync_fn", _gather_as_float64)
        super().__init__(**kwargs)
        if ground_truth is not None and not isinstance(ground_truth, GroundTruth):
            raise VocmapError("ground_truth must be a GroundTruth or None")
        self.ground_truth = ground_truth
        self.classes = class_list(classes)
        self.box_format = check_box_format(box_format)
        self.label_offset = int(label_offset)
        self.options = {"metric": metric, "iou": iou, "semantics": semantics}
        if ground_truth is not None:  # bad options fail here, not after an epoch
            Evaluator(ground_truth, self.classes, **self.options)
        self.duplicates = duplicates
        self.result: EvalResult | None = None
        self._sequence = 0
        for name in _STATES:
            self.add_state(name, default=[], dist_reduce_fx="cat")

    # -- update ----------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> None:
        """Same as ``update``: a batch's own mAP against the image set means nothing."""
        self.update(*args, **kwargs)

    def update(self, preds: Sequence[dict], target: Sequence[dict]) -> None:
        """Add a batch: ``preds`` and ``target`` are lists of per-image dicts."""
        if len(preds) != len(target):
            raise InputError(f"{len(preds)} predictions for {len(target)} targets")
        for pred, truth in zip(preds, target):
            self._update_one(pred, truth)

    def _update_one(self, pred: dict, truth: dict) -> None:
        key = self._image_key(truth)
        where = f"image {truth.get('image_id', key)!r}"
        boxes = to_voc_boxes(pred["boxes"], self.box_format, f"{where}: predicted boxes")
        scores = to_vector(pred["scores"], f"{where}: scores")
        labels = self._class_ids(pred["labels"], f"{where}: labels")
        if not (boxes.shape[0] == scores.shape[0] == labels.shape[0]):
            raise InputError(f"{where}: boxes, scores and labels differ in length")
        self._append("image_keys", [key])
        self._append("det_counts", [scores.shape[0]])
        self._append("det_class", labels)
        self._append("det_scores", scores)
        self._append("det_boxes", boxes.reshape(-1))
        if self.ground_truth is None:
            gt_boxes = to_voc_boxes(truth["boxes"], self.box_format, f"{where}: target boxes")
            gt_labels = self._class_ids(truth["labels"], f"{where}: target labels")
            if gt_boxes.shape[0] != gt_labels.shape[0]:
                raise InputError(f"{where}: target boxes and labels differ in length")
            difficult = np.zeros(gt_labels.shape[0], dtype=bool)
            for flag in ("difficult", "iscrowd"):
                if flag in truth:
                    values = to_vector(truth[flag], f"{where}: {flag}", dtype=None)
                    if values.shape != difficult.shape or not np.isin(values, (0, 1)).all():
                        raise InputError(f"{where}: {flag} must be 0/1, one per target box")
                    difficult |= values.astype(bool)
            self._append("gt_counts", [gt_labels.shape[0]])
            self._append("gt_class", gt_labels)
            self._append("gt_boxes", gt_boxes.reshape(-1))
            self._append("gt_difficult", difficult)

    def _append(self, name: str, values: Any) -> None:
        array = np.asarray(values, dtype=np.float64)
        getattr(self, name).append(torch.as_tensor(array, device=self.device))

    def _image_key(self, truth: dict) -> float:
        has_id = "image_id" in truth
        if self.ground_truth is not None:
            if not has_id:
                raise InputError("with ground_truth=..., every target needs its 'image_id'")
            index = image_index_of(self.ground_truth, truth["image_id"])
            if index is None:
                raise InputError(f"image {truth['image_id']!r} is not in the image set")
            return float(index)
        if not has_id:  # keys below 0 number the images in update order
            self._sequence += 1
            return float(-self._sequence)
        value = one_image_id(truth["image_id"])
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(
                f"image_id {value!r}: targets used as ground truth need integer ids "
                "(string ids: give ground_truth=...)"
            )
        if not 0 <= value < _LARGEST_KEY:
            raise InputError(f"image_id {value!r} is outside 0..2**53")
        return float(value)

    def _class_ids(self, labels: Any, what: str) -> np.ndarray:
        array = to_vector(labels, what, dtype=None)
        if array.size == 0:
            return np.zeros(0, dtype=np.int64)
        if array.dtype.kind not in "iu":
            raise InputError(f"{what} must be integers, not {array.dtype}")
        ids = array.astype(np.int64) - self.label_offset
        if ids.min() < 0 or ids.max() >= len(self.classes):
            raise InputError(f"{what}: a label outside the class list (label_offset?)")
        return ids

    # -- compute ---------------------------------------------------------------

    def reset(self) -> None:
        super().reset()
        self._sequence = 0

    def compute(self) -> dict[str, torch.Tensor]:
        """``{"map", "map_per_class", "classes"}``; ``self.result`` the EvalResult."""
        states = {name: _host(getattr(self, name)) for name in _STATES}
        keys = states["image_keys"].astype(np.int64)
        if self.ground_truth is not None:
            ground_truth = self.ground_truth
            image_ids = [ground_truth.image_ids[k] for k in keys.tolist()]
        else:
            ground_truth, image_ids = self._ground_truth_from_targets(keys, states)
        evaluator = Evaluator(ground_truth, self.classes, **self.options)
        accumulator = DetectionAccumulator(evaluator, "voc", duplicates=self.duplicates)
        counts = states["det_counts"].astype(np.int64)
        ends = np.cumsum(counts)
        boxes = states["det_boxes"].reshape(-1, 4)
        for image_id, start, end in zip(image_ids, (ends - counts).tolist(), ends.tolist()):
            accumulator.add(
                image_id,
                boxes[start:end],
                states["det_scores"][start:end],
                states["det_class"][start:end].astype(np.int64),
            )
        accumulator.gathered_ranks = world()[1]  # torchmetrics has synced the states
        self.result = accumulator.evaluate()
        aps = [self.result.classes[name].ap for name in self.classes]
        return {
            "map": torch.tensor(self.result.map, dtype=torch.float64),
            "map_per_class": torch.tensor(aps, dtype=torch.float64),
            "classes": torch.arange(len(self.classes), dtype=torch.int64) + self.label_offset,
        }

    def _ground_truth_from_targets(
        self, keys: np.ndarray, states: dict[str, np.ndarray]
    ) -> tuple[GroundTruth, list[str]]:
        numbered = keys < 0
        if numbered.any() and not numbered.all():
            raise InputError("some targets have an 'image_id' and some do not")
        if numbered.any() and world()[1] > 1:
            raise InputError(
                "targets without 'image_id' cannot be put back in the data set's order "
                "across processes: give each target its image_id (or ground_truth=...)"
            )
        counts = states["gt_counts"].astype(np.int64)
        ends = np.cumsum(counts)
        starts = ends - counts
        boxes = states["gt_boxes"].reshape(-1, 4)
        first: dict[int, int] = {}
        for occurrence, key in enumerate(keys.tolist()):
            if key not in first:
                first[key] = occurrence
                continue
            a, b = first[key], occurrence
            same = (
                counts[a] == counts[b]
                and np.array_equal(boxes[starts[a] : ends[a]], boxes[starts[b] : ends[b]])
                and np.array_equal(
                    states["gt_class"][starts[a] : ends[a]],
                    states["gt_class"][starts[b] : ends[b]],
                )
            )
            if self.duplicates == "drop-repeats" and not same:
                raise InputError(f"image {key} was added twice with different targets")
        ordered = sorted(first, key=lambda k: -k if k < 0 else k)  # ids, or update order
        position = {key: i for i, key in enumerate(ordered)}
        rows = [np.arange(starts[first[k]], ends[first[k]]) for k in ordered]
        take = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        object_image = np.repeat(
            np.arange(len(ordered), dtype=np.int64), [int(counts[first[k]]) for k in ordered]
        )
        image_ids = tuple(str(k) if k >= 0 else f"#{-k}" for k in ordered)
        ground_truth = GroundTruth.from_arrays(
            image_ids,
            object_image=object_image,
            object_class_names=[self.classes[int(c)] for c in states["gt_class"][take]],
            boxes=boxes[take],
            difficult=states["gt_difficult"][take].astype(bool),
        )
        return ground_truth, [image_ids[position[k]] for k in keys.tolist()]


def _gather_as_float64(tensor: torch.Tensor, group: Any = None) -> list[torch.Tensor]:
    """torchmetrics' gather, every state as float64: the empty placeholder of a rank
    without images has the metric's dtype (float32 after any ``.to``), ours float64."""
    from torchmetrics.utilities.distributed import gather_all_tensors

    return gather_all_tensors(tensor.to(torch.float64), group=group)


def _host(state: Any) -> np.ndarray:
    """A list state (or its synced tensor) as one float64 NumPy vector."""
    if isinstance(state, list):
        if not state:
            return np.zeros(0, dtype=np.float64)
        state = torch.cat([t.reshape(-1) for t in state])
    return state.detach().cpu().numpy().astype(np.float64).reshape(-1)
