"""Collect detections image by image as a model produces them, then evaluate.

The accumulator is the training-loop API: ``reset`` / ``add`` / ``evaluate``, and
for several processes ``state`` / ``merge`` (``vocmap.integrations.distributed``
gathers them over ``torch.distributed``).

Order: the detections of each image are kept as one block, in the order given;
the blocks are evaluated in the image set's order, whatever the order of the
``add`` calls or of the processes. So the tie order, and every tie-broken number,
is that of a result file written image by image in image-set order.
"""

from __future__ import annotations

import hashlib
import sys
import warnings
from collections.abc import Mapping
from typing import Any, Literal, Protocol

import numpy as np

from vocmap.core.arguments import whole_number
from vocmap.core.boxes import check_box_format, to_vector, to_voc_boxes
from vocmap.core.detections import ClassDetections, Detections, image_index_of
from vocmap.core.errors import InputError, VocmapError
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.results import EvalResult
from vocmap.core.settings import EvalSettings

DUPLICATE_RULES = ("error", "drop-repeats")
STATE_FORMAT = "vocmap.accumulator/1"


class EvaluatorProtocol(Protocol):
    """What the accumulator needs of :class:`vocmap.core.evaluate.Evaluator` (which
    makes accumulators, so this module does not import it: no cycle)."""

    ground_truth: GroundTruth
    classes: tuple[str, ...]
    settings: EvalSettings

    def evaluate(self, detections: Detections) -> EvalResult: ...

    def on_ground_truth(self, ground_truth: GroundTruth) -> EvaluatorProtocol: ...


class IncompleteImageSetWarning(UserWarning):
    """An evaluation over the whole image set after only some of its images were added."""


class _Block:
    """One image's detections: class indices (n,), scores (n,), VOC boxes (n, 4)."""

    __slots__ = ("boxes", "class_ids", "scores")

    def __init__(self, class_ids: np.ndarray, scores: np.ndarray, boxes: np.ndarray) -> None:
        self.class_ids = class_ids
        self.scores = scores
        self.boxes = boxes

    def same_as(self, other: _Block) -> bool:
        return (
            np.array_equal(self.class_ids, other.class_ids)
            and self.scores.tobytes() == other.scores.tobytes()
            and self.boxes.tobytes() == other.boxes.tobytes()
        )


class DetectionAccumulator:
    """Collect detections image by image, then evaluate them (reset / add / evaluate).

    Args:
        evaluator: the Evaluator holding ground truth and options.
        box_format: the frame of the boxes given to ``add``, required: "voc"
            (1-based inclusive pixels), "xyxy" (0-based corners, as torchvision,
            detectron2 and mmdet output), "xywh" (COCO) or "voc0"
            (:mod:`vocmap.core.boxes`).
        label_offset: subtracted from integer labels to index ``evaluator.classes``
            (1 for detectors whose label 0 is the background).
        duplicates: an image added twice (here or in a merged state) is an error
            ("error"), or, with "drop-repeats" (DistributedSampler's padding), a
            repeat identical to the first is dropped and a different one is an error.

    Example::

        acc = evaluator.accumulator(box_format="xyxy", label_offset=1)
        for image_id, (boxes, scores, labels) in model_outputs:
            acc.add(image_id, boxes, scores, labels)   # boxes (n, 4) in box_format
        result = acc.evaluate()
    """

    def __init__(
        self,
        evaluator: EvaluatorProtocol,
        box_format: str | None = None,
        label_offset: int = 0,
        duplicates: str = "error",
    ) -> None:
        self.evaluator = evaluator
        self.box_format = check_box_format(box_format)
        if duplicates not in DUPLICATE_RULES:
            raise VocmapError(
                f"duplicates must be one of {', '.join(map(repr, DUPLICATE_RULES))}, "
                f"not {duplicates!r}"
            )
        self.duplicates = duplicates
        self.label_offset = whole_number(label_offset, "label_offset", 0, 2**31)
        self._class_index = {name: k for k, name in enumerate(evaluator.classes)}
        self.gathered_ranks = 1
        self.reset()

    def reset(self) -> None:
        """Forget everything added so far."""
        self._blocks: dict[int, _Block] = {}
        self.repeats_dropped = 0
        self.gathered_ranks = 1

    @property
    def images_seen(self) -> int:
        """Distinct images added (an image without detections counts)."""
        return len(self._blocks)

    # -- adding ------------------------------------------------------------

    def add(self, image_id: object, boxes: object, scores: object, labels: object) -> None:
        """Add one image's detections (all of them, once).

        Args:
            image_id: an id of the ground truth's image set: a string exactly, an
                integer as the COCO reader reads it (``7`` is ``"000007"``).
            boxes: (n, 4) in the accumulator's ``box_format`` (arrays, lists or
                tensors on any device; copied).
            scores: (n,) confidences.
            labels: (n,) class names, or integer labels (``label - label_offset``
                indexes ``evaluator.classes``).
        """
        index = image_index_of(self.evaluator.ground_truth, image_id)
        if index is None:
            raise InputError(f"image {image_id!r} is not in the image set")
        where = f"image {image_id!r}"
        box_array = to_voc_boxes(boxes, self.box_format, f"{where}: boxes")
        score_array = to_vector(scores, f"{where}: scores")
        label_array = to_vector(labels, f"{where}: labels", dtype=None)
        if not (box_array.shape[0] == score_array.shape[0] == label_array.shape[0]):
            raise InputError(f"{where}: boxes, scores and labels differ in length")
        if not (np.isfinite(box_array).all() and np.isfinite(score_array).all()):
            raise InputError(f"{where}: a NaN or infinite box or score")
        class_ids = self._class_ids(label_array, where)
        self._put(index, _Block(class_ids, score_array, box_array))

    def _class_ids(self, labels: np.ndarray, where: str) -> np.ndarray:
        if labels.size == 0:
            return np.zeros(0, dtype=np.int64)
        if labels.dtype.kind in "iu":
            class_ids = labels.astype(np.int64) - self.label_offset
            if class_ids.min() < 0 or class_ids.max() >= len(self._class_index):
                raise InputError(f"{where}: label outside the class list")
            return class_ids
        if labels.dtype.kind == "b" or labels.dtype.kind == "f":
            raise InputError(f"{where}: labels must be integers or class names, not {labels.dtype}")
        try:
            return np.array([self._class_index[str(n)] for n in labels.tolist()], dtype=np.int64)
        except KeyError as unknown:
            raise InputError(f"{where}: unknown class {unknown.args[0]!r}") from None

    def _put(self, index: int, block: _Block) -> None:
        first = self._blocks.get(index)
        if first is None:
            self._blocks[index] = block
            return
        image_id = self.evaluator.ground_truth.image_ids[index]
        if self.duplicates == "error":
            raise InputError(
                f"image {image_id!r} was added twice; if that is DistributedSampler's "
                "padding, pass duplicates='drop-repeats'"
            )
        if not block.same_as(first):
            raise InputError(
                f"image {image_id!r} was added twice with different detections "
                "(duplicates='drop-repeats' drops identical repeats only)"
            )
        self.repeats_dropped += 1

    # -- several processes ---------------------------------------------------

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        for part in (*self.evaluator.classes, "\0", *self.evaluator.ground_truth.image_ids):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
        return digest.hexdigest()

    def state(self) -> dict[str, Any]:
        """What has been added, as a picklable dict of NumPy arrays (VOC boxes).

        Merge it into an accumulator of the same ground truth and classes with
        :meth:`merge`; the boxes are already in VOC pixels, so any box_format merges.
        """
        images = np.array(sorted(self._blocks), dtype=np.int64)
        blocks = [self._blocks[int(i)] for i in images]
        counts = np.array([len(b.scores) for b in blocks], dtype=np.int64)
        return {
            "format": STATE_FORMAT,
            "fingerprint": self._fingerprint(),
            "images": images,
            "counts": counts,
            "class_ids": _concat([b.class_ids for b in blocks], np.int64, (0,)),
            "scores": _concat([b.scores for b in blocks], np.float64, (0,)),
            "boxes": _concat([b.boxes for b in blocks], np.float64, (0, 4)),
            "repeats_dropped": self.repeats_dropped,
        }

    def merge(self, *others: DetectionAccumulator | Mapping[str, Any]) -> DetectionAccumulator:
        """Add other accumulators (or their :meth:`state`) to this one; returns self.

        The result does not depend on the order of the merges: images are
        evaluated in image-set order. An image present twice follows this
        accumulator's ``duplicates`` rule.
        """
        for other in others:
            state = other.state() if isinstance(other, DetectionAccumulator) else other
            self._merge_state(state)
        return self

    def _merge_state(self, state: Mapping[str, Any]) -> None:
        """Check the whole state (a pickled one may be crafted), then add it at once:
        a state that is refused leaves this accumulator as it was."""
        if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
            raise VocmapError("not an accumulator state (DetectionAccumulator.state())")
        if state.get("fingerprint") != self._fingerprint():
            raise VocmapError(
                "cannot merge an accumulator state of another image set or class list"
            )
        images = _state_array(state, "images", "iu", 1)
        counts = _state_array(state, "counts", "iu", 1)
        class_ids = _state_array(state, "class_ids", "iu", 1)
        scores = _state_array(state, "scores", "iuf", 1).astype(np.float64)
        boxes = _state_array(state, "boxes", "iuf", 2).astype(np.float64)
        repeats = state.get("repeats_dropped", 0)
        if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 0:
            raise VocmapError("inconsistent accumulator state: repeats_dropped")
        total = int(counts.sum()) if counts.size else 0
        n_images = self.evaluator.ground_truth.num_images
        if (
            images.shape != counts.shape
            or (counts < 0).any()
            or class_ids.shape != (total,)
            or scores.shape != (total,)
            or boxes.shape != (total, 4)
            or (images.size and (images.min() < 0 or images.max() >= n_images))
            or (
                class_ids.size
                and (class_ids.min() < 0 or class_ids.max() >= len(self._class_index))
            )
        ):
            raise VocmapError("inconsistent accumulator state")
        if not (np.isfinite(scores).all() and np.isfinite(boxes).all()):
            raise VocmapError("inconsistent accumulator state: a NaN or infinite box or score")
        kept, kept_repeats = dict(self._blocks), self.repeats_dropped
        ends = np.cumsum(counts)
        starts = ends - counts
        try:
            for index, start, end in zip(images.tolist(), starts.tolist(), ends.tolist()):
                self._put(
                    index,
                    _Block(
                        class_ids[start:end].astype(np.int64),
                        scores[start:end].copy(),
                        np.ascontiguousarray(boxes[start:end]),
                    ),
                )
        except VocmapError:
            self._blocks, self.repeats_dropped = kept, kept_repeats  # all or nothing
            raise
        self.repeats_dropped += int(repeats)

    # -- results ---------------------------------------------------------------

    def detections(self) -> Detections:
        """What has been added, as :class:`Detections` (image-set order, then add order)."""
        images = sorted(self._blocks)
        blocks = [self._blocks[i] for i in images]
        counts = np.array([len(b.scores) for b in blocks], dtype=np.int64)
        image_index = np.repeat(np.array(images, dtype=np.int64), counts)
        class_ids = _concat([b.class_ids for b in blocks], np.int64, (0,))
        scores = _concat([b.scores for b in blocks], np.float64, (0,))
        boxes = _concat([b.boxes for b in blocks], np.float64, (0, 4))
        by_class = {}
        for k, name in enumerate(self.evaluator.classes):
            rows = np.flatnonzero(class_ids == k)
            if rows.size:
                by_class[name] = ClassDetections(
                    image_index=image_index[rows],
                    scores=np.ascontiguousarray(scores[rows]),
                    boxes=np.ascontiguousarray(boxes[rows]),
                )
            else:
                by_class[name] = ClassDetections.empty()
        return Detections(by_class)

    def evaluate(self, images: Literal["all", "seen"] | None = None) -> EvalResult:
        """Evaluate everything added so far.

        Args:
            images: None (default): over the whole image set, warning
                (:class:`IncompleteImageSetWarning`) if some of its images were
                never added, and refusing in one process of several that has not
                gathered the others; "all": over the whole image set, images not
                added count as having no detections (their objects are missed),
                without a word; "seen": over the images added only (their objects
                are the positives).
        """
        if images not in (None, "all", "seen"):
            raise VocmapError(f"images must be 'all' or 'seen', not {images!r}")
        total = self.evaluator.ground_truth.num_images
        seen = self.images_seen
        if images == "seen":
            return self._evaluate_seen()
        if images is None and seen < total:
            rank, world = _distributed_rank_and_size()
            if world > 1 and self.gathered_ranks < world:
                raise VocmapError(
                    f"this process (rank {rank} of {world}) has {seen:,} of the "
                    f"{total:,} images: gather the other processes' detections first "
                    "(vocmap.integrations.distributed.gather_accumulator), or pass "
                    "images='seen' to score this process's images only"
                )
            warnings.warn(
                f"evaluated after {seen:,} of {total:,} images: the objects of the "
                f"{total - seen:,} images never added count as missed; pass "
                "images='seen' to score the images added, or images='all' to keep this",
                IncompleteImageSetWarning,
                stacklevel=2,
            )
        return self.evaluator.evaluate(self.detections())

    def _evaluate_seen(self) -> EvalResult:
        keep = np.array(sorted(self._blocks), dtype=np.int64)
        ground_truth = _restrict(self.evaluator.ground_truth, keep)
        evaluator = self.evaluator.on_ground_truth(ground_truth)
        renumber = np.full(self.evaluator.ground_truth.num_images, -1, dtype=np.int64)
        renumber[keep] = np.arange(keep.size, dtype=np.int64)
        dets = self.detections()
        moved = {
            name: ClassDetections(renumber[d.image_index], d.scores, d.boxes)
            for name, d in dets.by_class.items()
        }
        return evaluator.evaluate(Detections(moved))


def _state_array(state: Mapping[str, Any], name: str, kinds: str, ndim: int) -> np.ndarray:
    """``state[name]`` as an array of one of the dtype ``kinds`` and ``ndim`` dimensions."""
    try:
        array = np.asarray(state[name])
    except KeyError:
        raise VocmapError(f"inconsistent accumulator state: no {name!r}") from None
    except (TypeError, ValueError):
        raise VocmapError(f"inconsistent accumulator state: {name!r} is not an array") from None
    if array.dtype.kind not in kinds or array.ndim != ndim:
        raise VocmapError(
            f"inconsistent accumulator state: {name!r} is {array.dtype} of shape {array.shape}"
        )
    return array


def _concat(parts: list[np.ndarray], dtype: type, empty_shape: tuple[int, ...]) -> np.ndarray:
    if not parts:
        return np.zeros(empty_shape, dtype=dtype)
    return np.ascontiguousarray(np.concatenate(parts), dtype=dtype)


def _restrict(ground_truth: GroundTruth, keep: np.ndarray) -> GroundTruth:
    """The ground truth of the images ``keep`` (sorted indices), in the same order."""
    renumber = np.full(ground_truth.num_images, -1, dtype=np.int64)
    renumber[keep] = np.arange(keep.size, dtype=np.int64)
    rows = renumber[ground_truth.object_image] >= 0
    return GroundTruth(
        image_ids=tuple(ground_truth.image_ids[i] for i in keep.tolist()),
        class_names=ground_truth.class_names,
        object_image=renumber[ground_truth.object_image[rows]],
        object_class=ground_truth.object_class[rows],
        boxes=np.ascontiguousarray(ground_truth.boxes[rows]),
        difficult=np.ascontiguousarray(ground_truth.difficult[rows]),
        source=ground_truth.source,
    )


def _distributed_rank_and_size() -> tuple[int, int]:
    """(rank, world size) of torch.distributed if this process already uses it,
    else (0, 1). Never imports torch."""
    dist = sys.modules.get("torch.distributed")
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return int(dist.get_rank()), int(dist.get_world_size())
    except Exception:  # a half-initialised or foreign module: not distributed
        return 0, 1
    return 0, 1
