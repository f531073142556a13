"""What every analysis of ``vocmap diagnose`` starts from: the devkit's matching,
and for each false positive its overlaps with the objects of other classes.

:class:`MatchedSet` is built once per diagnosis from an :class:`EvalResult` of
the devkit's semantics (which carries, per class, the visiting order, each
detection's outcome and its best-overlap object), the ground truth and the
detections. Overlaps are the devkit's (pixel-inclusive).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vocmap.analysis import diagnose_kernels
from vocmap.analysis.hoiem_groups import similar_classes
from vocmap.core import kernels
from vocmap.core.detections import Detections
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.results import EvalResult

SAME, SIMILAR, OTHER = 0, 1, 2


@dataclass(frozen=True, eq=False)
class MatchedSet:
    """The devkit's matching of every class, with the cross-class overlaps of its
    false positives.

    Attributes:
        classes: the evaluated classes, in order (class index = position).
        ground_truth, detections, result: the inputs and the devkit's evaluation.
        obj_class: (m,) int64 class index of each GroundTruth row (-1: a class not
            evaluated; such objects are invisible to the analyses).
        claimed: (m,) bool, the object is some true positive's.
        npos: (k,) int64 non-difficult objects per class.
        fp_class, fp_rank, fp_det: (f,) int64 each false positive's class, rank in
            its class's visiting order, and index in its class's detections.
        fp_score, fp_image: (f,) its score and image.
        overlap: (f, 3) float64 largest overlap with objects of the same class,
            of classes similar to it (Hoiem's groups), of the other classes.
        row: (f, 3) int64 the GroundTruth rows of those overlaps (-1: none).
    """

    classes: tuple[str, ...]
    ground_truth: GroundTruth
    detections: Detections
    result: EvalResult
    obj_class: np.ndarray
    claimed: np.ndarray
    npos: np.ndarray
    fp_class: np.ndarray
    fp_rank: np.ndarray
    fp_det: np.ndarray
    fp_score: np.ndarray
    fp_image: np.ndarray
    overlap: np.ndarray
    row: np.ndarray

    @property
    def other_overlap(self) -> tuple[np.ndarray, np.ndarray]:
        """The largest overlap with any other class (similar or not) and its row:
        the first object in XML order on ties."""
        sim, oth = self.overlap[:, SIMILAR], self.overlap[:, OTHER]
        rs, ro = self.row[:, SIMILAR], self.row[:, OTHER]
        pick_sim = (sim > oth) | ((sim == oth) & (rs >= 0) & ((ro < 0) | (rs < ro)))
        return np.where(pick_sim, sim, oth), np.where(pick_sim, rs, ro)

    def scores_in_order(self, c: int) -> np.ndarray:
        """Class ``c``'s scores in its visiting order."""
        r = self.result.classes[self.classes[c]]
        return self.detections[self.classes[c]].scores[r.order]


def relation_matrix(classes: Sequence[str]) -> np.ndarray:
    """(k, k) int64: SAME on the diagonal, SIMILAR for Hoiem's similar pairs, else OTHER."""
    k = len(classes)
    relation = np.full((k, k), OTHER, dtype=np.int64)
    for i, name in enumerate(classes):
        similar = similar_classes(name)
        for j, other in enumerate(classes):
            if other in similar:
                relation[i, j] = SIMILAR
        relation[i, i] = SAME
    return relation


def build_matched_set(
    ground_truth: GroundTruth,
    detections: Detections,
    result: EvalResult,
    classes: Sequence[str],
) -> MatchedSet:
    """The MatchedSet of a devkit evaluation (``result``) of ``detections``."""
    classes = tuple(classes)
    index = {name: i for i, name in enumerate(classes)}
    by_name = np.array([index.get(n, -1) for n in ground_truth.class_names], dtype=np.int64)
    m = ground_truth.object_image.shape[0]
    obj_class = by_name[ground_truth.object_class] if m else np.zeros(0, dtype=np.int64)
    claimed = np.zeros(m, dtype=bool)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("cls", "rank", "det", "score", "img")}
    boxes = []
    for c, name in enumerate(classes):
        r = result.classes[name]
        tp = r.outcome == kernels.TRUE_POSITIVE
        claimed[r.best_gt[tp]] = True
        ranks = np.flatnonzero(r.outcome == kernels.FALSE_POSITIVE)
        dets = r.order[ranks]
        d = detections[name]
        parts["cls"].append(np.full(ranks.size, c, dtype=np.int64))
        parts["rank"].append(ranks.astype(np.int64))
        parts["det"].append(dets.astype(np.int64))
        parts["score"].append(d.scores[dets])
        parts["img"].append(d.image_index[dets].astype(np.int64))
        boxes.append(d.boxes.reshape(-1, 4)[dets])
    cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    fp_boxes = np.concatenate(boxes) if boxes else np.zeros((0, 4))
    offsets = np.zeros(ground_truth.num_images + 1, dtype=np.int64)
    np.cumsum(
        np.bincount(ground_truth.object_image, minlength=ground_truth.num_images), out=offsets[1:]
    )
    overlap, rows = diagnose_kernels.group_overlaps(
        cat["img"].astype(np.int64),
        np.ascontiguousarray(fp_boxes, dtype=np.float64),
        cat["cls"].astype(np.int64),
        offsets,
        ground_truth.boxes,
        obj_class,
        relation_matrix(classes),
        3,
    )
    npos = np.array([result.classes[n].npos for n in classes], dtype=np.int64)
    return MatchedSet(
        classes=classes,
        ground_truth=ground_truth,
        detections=detections,
        result=result,
        obj_class=obj_class,
        claimed=claimed,
        npos=npos,
        fp_class=cat["cls"].astype(np.int64),
        fp_rank=cat["rank"].astype(np.int64),
        fp_det=cat["det"].astype(np.int64),
        fp_score=cat["score"].astype(np.float64),
        fp_image=cat["img"].astype(np.int64),
        overlap=overlap,
        row=rows,
    )
