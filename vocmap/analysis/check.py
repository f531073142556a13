"""``vocmap check``: first aid for a low mAP, the facts behind common silent mistakes.

Each finding states what was seen in the detections (counts, examples) and, where
a correction can be made mechanically, what the mAP becomes with it: the
detections are corrected and evaluated again with the same settings, so the
effect is measured, not guessed. Findings:

* ``zero_based``: boxes that look 0-based (many at coordinate 0, which no VOC
  pixel has; with image sizes, none reaching the last pixel). Corrections tried:
  ``voc0`` (every coordinate + 1) and ``xyxy`` (the minimum corner + 1).
* ``outside_image``: boxes beyond the image (``<size>`` of the XML, the image
  headers of YOLO data, COCO's ``width``/``height``); corrected by clipping.
* ``swapped_or_xywh``: boxes with ``xmax < xmin`` or ``ymax < ymin`` (width and
  height given as corners, or the axes swapped); corrected as ``[x, y, w, h]``
  (1-based: ``xmax = x + w - 1``) or by swapping x and y, whichever is meant.
* ``scores``: all scores equal (the AP then depends on file order only: measured
  by evaluating with the tied detections in reverse order) or outside [0, 1]
  (no effect on the AP, which uses only their order).
* ``images_without_detections``, ``classes_without_detections``: with the
  objects they hold (nothing to correct: their objects are missed).
* ``duplicates``: the same box on the same image twice or more in one class;
  corrected by keeping the first (highest-scored) of each.
* ``coco_max_dets`` (``metric="coco"``/``"coco50"``): images where a class has more
  than 100 detections, whose lowest-scored pycocotools ignores.

Boxes are VOC pixels (1-based, inclusive: width = xmax - xmin + 1).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from vocmap.core.detections import ClassDetections, Detections
from vocmap.core.errors import VocmapError
from vocmap.core.evaluate import Evaluator
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.settings import EvalSettings

FORMAT = "vocmap-check"
FORMAT_VERSION = 1
#: pycocotools' largest maxDets.
COCO_MAX_DETS = 100
#: How many examples a finding lists.
EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    """One fact behind a possibly low AP.

    Attributes:
        code: a stable name (the module docstring lists them).
        title: one line saying what was seen.
        count: how many detections (or images, classes) it concerns.
        examples: a few of them, as ``class image box`` text.
        correction: what was changed to measure the effect, or None.
        map_corrected: the mAP with that correction (same settings), or None.
        effect: the effect on the AP in words.
    """

    code: str
    title: str
    count: int
    examples: tuple[str, ...]
    correction: str | None
    map_corrected: float | None
    effect: str

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "title": self.title,
            "count": self.count,
            "examples": list(self.examples),
            "correction": self.correction,
            "map_corrected": self.map_corrected,
            "effect": self.effect,
        }


@dataclass(frozen=True)
class CheckReport:
    """What ``check`` found; ``map`` is the mAP of the detections as given."""

    settings: EvalSettings
    classes: tuple[str, ...]
    map: float
    detections: int
    images: int
    sizes_known: bool
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "metric": self.settings.metric,
            "iou": self.settings.iou,
            "semantics": self.settings.semantics.name,
            "classes": list(self.classes),
            "map": self.map,
            "detections": self.detections,
            "images": self.images,
            "image_sizes_known": self.sizes_known,
            "findings": [finding.to_dict() for finding in self.findings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=True) + "\n"


# -- the checks ------------------------------------------------------------------


@dataclass(frozen=True)
class _Inputs:
    ground_truth: GroundTruth
    detections: Detections
    classes: tuple[str, ...]
    evaluator: Evaluator
    sizes: np.ndarray | None  # (n_images, 2) width, height; or None

    def all_boxes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(boxes (n, 4), image index (n,), class position (n,))`` over all classes."""
        parts = [self.detections[name] for name in self.classes]
        boxes = np.concatenate([p.boxes for p in parts]) if parts else np.zeros((0, 4))
        images = np.concatenate([p.image_index for p in parts]) if parts else np.zeros(0, int)
        labels = (
            np.concatenate([np.full(len(p), k) for k, p in enumerate(parts)]) if parts else images
        )
        return boxes.reshape(-1, 4), images.astype(np.int64), labels.astype(np.int64)

    def example(self, rows: np.ndarray) -> tuple[str, ...]:
        boxes, images, labels = self.all_boxes()
        ids = self.ground_truth.image_ids
        return tuple(
            f"{self.classes[labels[r]]} {ids[images[r]]} " + " ".join(f"{v:g}" for v in boxes[r])
            for r in rows[:EXAMPLES]
        )

    def corrected(self, fix: Callable[[ClassDetections], ClassDetections]) -> float:
        """The mAP with ``fix`` applied to every class's detections."""
        fixed = Detections({name: fix(self.detections[name]) for name in self.classes})
        return self.evaluator.evaluate(fixed).map


def _with_boxes(detections: ClassDetections, boxes: np.ndarray) -> ClassDetections:
    return replace(detections, boxes=np.ascontiguousarray(boxes, dtype=np.float64))


def _zero_based(inputs: _Inputs) -> list[Finding]:
    boxes, images, _ = inputs.all_boxes()
    at_zero = np.flatnonzero((boxes[:, 0] == 0) | (boxes[:, 1] == 0))
    if len(at_zero) == 0:
        return []
    facts = f"{len(at_zero)} of {len(boxes)} detections have a corner at 0 (VOC pixels start at 1)"
    corners = False  # continuous 0-based corners reach the image's far edge exactly
    if inputs.sizes is not None:
        width, height = inputs.sizes[images, 0], inputs.sizes[images, 1]
        reach = int(np.count_nonzero((boxes[:, 2] >= width) | (boxes[:, 3] >= height)))
        facts += f"; {reach} reach the image's last pixel"
        corners = reach > 0
    voc0 = inputs.corrected(lambda d: _with_boxes(d, d.boxes + 1.0))
    xyxy = inputs.corrected(lambda d: _with_boxes(d, d.boxes + np.array([1.0, 1.0, 0.0, 0.0])))
    how, after = (
        ("the minimum corner + 1 (0-based continuous corners)", xyxy)
        if corners
        else ("every coordinate + 1 (0-based pixels)", voc0)
    )
    return [
        Finding(
            "zero_based",
            "boxes look 0-based: " + facts,
            len(at_zero),
            inputs.example(at_zero),
            how,
            after,
            f"mAP {voc0:.4f} with every coordinate + 1, {xyxy:.4f} with the minimum corner + 1",
        )
    ]


def _outside_image(inputs: _Inputs) -> list[Finding]:
    if inputs.sizes is None:
        return []
    boxes, images, _ = inputs.all_boxes()
    sizes = inputs.sizes
    outside = np.flatnonzero(_outside(boxes, sizes[images]))
    if len(outside) == 0:
        return []

    def clip(d: ClassDetections) -> ClassDetections:
        w, h = sizes[d.image_index, 0], sizes[d.image_index, 1]
        return _with_boxes(d, np.clip(d.boxes, 1, np.stack([w, h, w, h], 1)))

    def swap_axes(d: ClassDetections) -> ClassDetections:
        return _with_boxes(d, d.boxes[:, [1, 0, 3, 2]])

    clipped = inputs.corrected(clip)
    effect = f"mAP {clipped:.4f} with the boxes clipped"
    best, how = clipped, "boxes clipped to the image"
    still_outside = int(np.count_nonzero(_outside(boxes[:, [1, 0, 3, 2]], sizes[images])))
    if still_outside < len(outside) / 2:  # most fit once x and y trade places
        swapped = inputs.corrected(swap_axes)
        effect += f", {swapped:.4f} with x and y swapped ({still_outside} still outside)"
        best, how = swapped, "x and y swapped"
    return [
        Finding(
            "outside_image",
            f"{len(outside)} of {len(boxes)} detections reach outside their image (its size)",
            len(outside),
            inputs.example(outside),
            how,
            best,
            effect,
        )
    ]


def _outside(boxes: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """(n,) True where a VOC box (n, 4) leaves its image of size (n, 2) (width, height)."""
    return (
        (boxes[:, 0] < 1)
        | (boxes[:, 1] < 1)
        | (boxes[:, 2] > sizes[:, 0])
        | (boxes[:, 3] > sizes[:, 1])
    )


def _swapped_or_xywh(inputs: _Inputs) -> list[Finding]:
    boxes, _, _ = inputs.all_boxes()
    reversed_rows = np.flatnonzero((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))
    if len(reversed_rows) == 0:
        return []

    def as_xywh(d: ClassDetections) -> ClassDetections:
        b = d.boxes
        return _with_boxes(
            d, np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2] - 1, b[:, 1] + b[:, 3] - 1], 1)
        )

    after = inputs.corrected(as_xywh)
    return [
        Finding(
            "swapped_or_xywh",
            f"{len(reversed_rows)} of {len(boxes)} detections have xmax < xmin or ymax < ymin "
            "(a width and height given as the far corner?)",
            len(reversed_rows),
            inputs.example(reversed_rows),
            "read as [x, y, w, h]",
            after,
            f"mAP {after:.4f} read as [x, y, w, h] (xmax = x + w - 1)",
        )
    ]


def _scores(inputs: _Inputs) -> list[Finding]:
    scores = np.concatenate([inputs.detections[name].scores for name in inputs.classes])
    if len(scores) == 0:
        return []
    findings = []
    if len(scores) > 1 and np.all(scores == scores[0]):

        def reverse(d: ClassDetections) -> ClassDetections:
            order = np.arange(len(d))[::-1]
            return replace(
                d,
                image_index=d.image_index[order],
                scores=d.scores[order],
                boxes=np.ascontiguousarray(d.boxes[order]),
                line_numbers=None,
            )

        after = inputs.corrected(reverse)
        findings.append(
            Finding(
                "scores",
                f"all {len(scores)} scores are equal ({scores[0]:g}): the ranking is the file order",
                len(scores),
                (),
                "the detections taken in reverse file order",
                after,
                f"mAP {after:.4f} in reverse file order: the AP measures the file order, not the detector",
            )
        )
    outside = np.flatnonzero((scores < 0) | (scores > 1))
    if len(outside):
        findings.append(
            Finding(
                "scores",
                f"{len(outside)} of {len(scores)} scores lie outside [0, 1] "
                f"(from {scores.min():g} to {scores.max():g}): logits?",
                len(outside),
                (),
                None,
                None,
                "none on the AP, which uses only the order of the scores; "
                "a score threshold chosen for probabilities would be wrong",
            )
        )
    return findings


def _without_detections(inputs: _Inputs) -> list[Finding]:
    gt = inputs.ground_truth
    counted = np.isin(
        gt.object_class, [k for k, n in enumerate(gt.class_names) if n in inputs.classes]
    )
    seen = np.zeros(gt.num_images, dtype=bool)
    for name in inputs.classes:
        seen[inputs.detections[name].image_index] = True
    findings = []
    empty = np.flatnonzero(~seen)
    if len(empty):
        objects = int(np.count_nonzero(counted & ~gt.difficult & ~seen[gt.object_image]))
        total = int(np.count_nonzero(counted & ~gt.difficult))
        findings.append(
            Finding(
                "images_without_detections",
                f"{len(empty)} of {gt.num_images} images have no detection; they hold "
                f"{objects} of the {total} objects that count",
                len(empty),
                tuple(gt.image_ids[i] for i in empty[:EXAMPLES]),
                None,
                None,
                f"their {objects} objects are missed: recall is at most "
                f"{(total - objects) / total:.4f}"
                if total
                else "none: they hold no object",
            )
        )
    missing = [name for name in inputs.classes if len(inputs.detections[name]) == 0]
    if missing:
        positives = {name: gt.npos(name) for name in missing}
        findings.append(
            Finding(
                "classes_without_detections",
                f"{len(missing)} class(es) have no detection: "
                + ", ".join(f"{n} ({positives[n]} objects)" for n in missing),
                len(missing),
                tuple(missing[:EXAMPLES]),
                None,
                None,
                "each has AP 0 (or NaN without objects), "
                f"{len(missing)} of the {len(inputs.classes)} terms of the mean",
            )
        )
    return findings


def _duplicate_rows(d: ClassDetections) -> np.ndarray:
    """Rows that repeat an earlier-ranked (higher score, then file order) detection's
    image and box; (k,) indices into ``d``."""
    if len(d) < 2:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-d.scores, kind="mergesort")
    keys = np.concatenate([d.image_index[order, None].astype(np.float64), d.boxes[order]], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    repeated = np.ones(len(d), dtype=bool)
    repeated[first] = False
    return order[repeated]


def _duplicates(inputs: _Inputs) -> list[Finding]:
    per_class = {name: _duplicate_rows(inputs.detections[name]) for name in inputs.classes}
    count = sum(len(rows) for rows in per_class.values())
    if count == 0:
        return []
    offsets = np.cumsum([0] + [len(inputs.detections[n]) for n in inputs.classes])
    rows = np.concatenate([offsets[k] + per_class[n] for k, n in enumerate(inputs.classes)])

    def dedupe(d: ClassDetections) -> ClassDetections:
        keep = np.ones(len(d), dtype=bool)
        keep[_duplicate_rows(d)] = False
        return replace(
            d,
            image_index=d.image_index[keep],
            scores=d.scores[keep],
            boxes=np.ascontiguousarray(d.boxes[keep]),
            line_numbers=None if d.line_numbers is None else d.line_numbers[keep],
        )

    after = inputs.corrected(dedupe)
    return [
        Finding(
            "duplicates",
            f"{count} detections repeat the box of a higher-ranked detection on the same image",
            count,
            inputs.example(np.sort(rows)),
            "each repeat removed",
            after,
            f"mAP {after:.4f} without the repeats (each counts as a false positive)",
        )
    ]


def _coco_max_dets(inputs: _Inputs) -> list[Finding]:
    if inputs.evaluator.settings.metric not in ("coco", "coco50"):
        return []
    over_images, dropped = set(), 0
    for name in inputs.classes:
        counts = np.bincount(
            inputs.detections[name].image_index, minlength=inputs.ground_truth.num_images
        )
        beyond = counts > COCO_MAX_DETS
        over_images.update(np.flatnonzero(beyond).tolist())
        dropped += int((counts[beyond] - COCO_MAX_DETS).sum())
    if not over_images:
        return []
    ids = inputs.ground_truth.image_ids
    return [
        Finding(
            "coco_max_dets",
            f"{len(over_images)} images have more than {COCO_MAX_DETS} detections of a class; "
            f"pycocotools ignores the {dropped} lowest-scored",
            dropped,
            tuple(ids[i] for i in sorted(over_images)[:EXAMPLES]),
            None,
            None,
            f"those {dropped} detections are never matched (maxDets={COCO_MAX_DETS})",
        )
    ]


_CHECKS = (
    _zero_based,
    _outside_image,
    _swapped_or_xywh,
    _scores,
    _without_detections,
    _duplicates,
    _coco_max_dets,
)


def check(
    ground_truth: GroundTruth,
    detections: Detections,
    classes: Sequence[str] | None = None,
    *,
    image_sizes: np.ndarray | None = None,
    settings: EvalSettings | None = None,
) -> CheckReport:
    """Every check on one set of detections (see the module docstring).

    Args:
        ground_truth, detections, classes: as for :class:`vocmap.Evaluator`.
        image_sizes: (n_images, 2) width and height in pixels of each image of
            ``ground_truth`` (VOC's ``<size>``), or None: the size checks are skipped.
        settings: the evaluation settings (the devkit's VOC2007 AP by default).
    """
    evaluator = Evaluator(ground_truth, classes, settings=settings)
    sizes = None
    if image_sizes is not None:
        sizes = np.asarray(image_sizes)
        if sizes.shape != (ground_truth.num_images, 2) or sizes.dtype.kind not in "iuf":
            raise VocmapError(
                f"image_sizes must be numbers of shape ({ground_truth.num_images}, 2), "
                f"not {sizes.dtype} {sizes.shape}"
            )
        if not np.all(np.isfinite(sizes)) or np.any(sizes <= 0):
            raise VocmapError("image_sizes must be positive and finite")
    base = evaluator.evaluate(detections)
    inputs = _Inputs(ground_truth, detections, tuple(evaluator.classes), evaluator, sizes)
    findings = tuple(finding for check_one in _CHECKS for finding in check_one(inputs))
    return CheckReport(
        settings=evaluator.settings,
        classes=tuple(evaluator.classes),
        map=base.map,
        detections=sum(len(detections[name]) for name in evaluator.classes),
        images=ground_truth.num_images,
        sizes_known=sizes is not None,
        findings=findings,
    )
