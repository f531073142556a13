"""TIDE as the ``tidecv`` package computes it (``vocmap diagnose --metric coco50``).

This mode follows tidecv 1.0.1's code, not its paper, wherever they differ, so
that its figures equal tidecv's on the same detections (a test checks ``==``):

* matching: per image, predictions of all classes sorted together by decreasing
  score (stable), cut to ``max_dets`` (100) per image, not per class; each takes
  the unmatched same-class object of largest IoU (``>= 0.5``, pycocotools' box
  IoU, no ``+1``); ignore regions (VOC difficult objects, tidecv's
  ``add_ignore_region``, as its COCO loader does for ``iscrowd``) then swallow
  unmatched predictions of their class whose intersection over the prediction's
  area is ``> 0.5`` (strictly; COCOeval's is ``>=``);
* error types, tested in tidecv's order: Loc (largest same-class IoU in
  [0.1, 0.5], both ends included, even when that object is already matched),
  Cls (other-class IoU >= 0.5), Dupe, Bkg (largest IoU <= 0.1, or no object in
  the image), Both (everything else). Predictions swallowed by an ignore region
  are typed too and counted, although they never enter the AP;
* fixes: a Loc or Cls error becomes a true positive only if it is the
  best-scoring Loc/Cls error of an unmatched object (one ``BestGTMatch`` shared by
  both types; so fixing Loc alone also drops a Loc error beaten by a Cls error);
  all other fixed false positives are removed; fixing Miss removes objects that
  no Loc/Cls error points at; a negative dAP is reported as 0;
* TIDE's own AP: 101 recall points ``x / 100``, precision made non-increasing,
  no ``eps``; classes with neither detections nor objects leave the mean; the
  order of the points (and of the classes in the mean) is tidecv's push order.

Boxes enter as VOC pixels and are converted with :func:`voc_to_coco_boxes`
(``x = xmin - 1``, ``w = xmax - xmin + 1``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vocmap.analysis import tide_kernels as tk
from vocmap.analysis.tide_types import (
    ERROR_TYPES,
    ErrorBreakdown,
    ErrorRecords,
    TideAnalysis,
    count_by_class,
)
from vocmap.core.detections import Detections
from vocmap.core.ground_truth import GroundTruth

_X_RANGE = np.array([x / 100 for x in range(101)])


def voc_to_coco_boxes(boxes: np.ndarray) -> np.ndarray:
    """(n, 4) VOC ``(xmin, ymin, xmax, ymax)`` to COCO ``[x, y, w, h]``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = np.empty_like(boxes)
    out[:, 0] = boxes[:, 0] - 1.0
    out[:, 1] = boxes[:, 1] - 1.0
    out[:, 2] = boxes[:, 2] - boxes[:, 0] + 1.0
    out[:, 3] = boxes[:, 3] - boxes[:, 1] + 1.0
    return out


def tide_ap_percent(scores: np.ndarray, is_true: np.ndarray, npos: int) -> float:
    """tidecv's ``APDataObject.get_ap``: percent, points in push order."""
    if npos == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    correct = is_true[order]
    tp = np.cumsum(correct)
    fp = np.cumsum(~correct)
    precision = tp / (tp + fp)
    recall = tp / npos
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    indices = np.searchsorted(recall, _X_RANGE, side="left")
    n = precision.shape[0]
    values = [float(precision[i]) if i < n else 0.0 for i in indices.tolist()]
    return sum(values) / len(values) * 100


def _csr(image_of: np.ndarray, n_images: int) -> np.ndarray:
    offsets = np.zeros(n_images + 1, dtype=np.int64)
    np.cumsum(np.bincount(image_of, minlength=n_images), out=offsets[1:])
    return offsets


class _Prepared:
    """tidecv's inputs as arrays: predictions in its order, objects, ignore regions."""

    def __init__(
        self, gt: GroundTruth, detections: Detections, classes: Sequence[str], max_dets: int
    ):
        index = {name: i for i, name in enumerate(classes)}
        obj_class = np.array([index.get(n, -1) for n in gt.class_names], dtype=np.int64)
        obj_class = obj_class[gt.object_class] if gt.object_class.size else obj_class[:0]
        evaluated = obj_class >= 0
        keep = evaluated & ~gt.difficult
        ignore = evaluated & gt.difficult
        n_images = gt.num_images
        self.g_rows = np.flatnonzero(keep)
        self.g_class = obj_class[self.g_rows]
        self.g_image = gt.object_image[self.g_rows]
        self.g_box = voc_to_coco_boxes(gt.boxes[self.g_rows])
        self.g_offsets = _csr(self.g_image, n_images)
        rows = np.flatnonzero(ignore)
        self.i_class = obj_class[rows]
        self.i_box = voc_to_coco_boxes(gt.boxes[rows])
        self.i_offsets = _csr(gt.object_image[rows], n_images)
        parts = [detections[c] for c in classes]
        image = np.concatenate([p.image_index for p in parts]).astype(np.int64)
        score = np.concatenate([p.scores for p in parts])
        boxes = np.concatenate([p.boxes.reshape(-1, 4) for p in parts])
        cls = np.concatenate([np.full(len(p), i, dtype=np.int64) for i, p in enumerate(parts)])
        within = np.concatenate([np.arange(len(p), dtype=np.int64) for p in parts])
        insertion = np.arange(image.shape[0], dtype=np.int64)
        order = np.lexsort((insertion, -score, image))
        start = _csr(image, n_images)
        rank = np.arange(order.shape[0]) - start[image[order]]
        order = order[rank < max_dets]
        self.p_image = image[order]
        self.p_class = cls[order]
        self.p_score = score[order]
        self.p_index = within[order]  # index in its class's detections (file order)
        self.p_box = voc_to_coco_boxes(boxes[order])
        self.p_offsets = _csr(self.p_image, n_images)
        self.dropped = int(image.shape[0] - order.shape[0])


def _take(values: np.ndarray, index: np.ndarray, mask: np.ndarray, fill) -> np.ndarray:
    """``values[index]`` where ``mask``, ``fill`` elsewhere (``values`` may be empty)."""
    if values.size == 0:
        return np.full(index.shape[0], fill, dtype=values.dtype)
    return np.where(mask, values[np.where(mask, index, 0)], fill)


def _class_order(prep: _Prepared, pushed: np.ndarray, n_classes: int) -> list[int]:
    """The order tidecv's ClassedAPDataObject first touches each class: image by
    image, the objects' classes, then the pushed predictions' classes."""
    images = np.concatenate([prep.g_image, prep.p_image[pushed]])
    phase = np.concatenate([np.zeros(prep.g_image.shape[0]), np.ones(int(pushed.sum()))])
    position = np.concatenate([np.arange(prep.g_image.shape[0]), np.flatnonzero(pushed)])
    classes = np.concatenate([prep.g_class, prep.p_class[pushed]])
    sequence = classes[np.lexsort((position, phase, images))]
    _, first = np.unique(sequence, return_index=True)
    seen = np.unique(sequence)
    return [int(c) for c in seen[np.argsort(first)]] if n_classes else []


def tide_coco50(
    ground_truth: GroundTruth,
    detections: Detections,
    classes: Sequence[str],
    *,
    pos_threshold: float = 0.5,
    background_threshold: float = 0.1,
    max_dets: int = 100,
) -> TideAnalysis:
    """TIDE's breakdown exactly as tidecv computes it (see the module's notes).

    Detections are added to tidecv class by class in ``classes`` order, each in
    file order; every image of the image set is registered first (as tidecv's
    COCO loader does), difficult objects are ignore regions of their class.
    """
    k = len(classes)
    prep = _Prepared(ground_truth, detections, classes, max_dets)
    status, error, target, g_used, g_usable, g_best = tk.tide_assign(
        prep.p_offsets,
        prep.p_class,
        prep.p_score,
        prep.p_box,
        prep.g_offsets,
        prep.g_class,
        prep.g_box,
        prep.i_offsets,
        prep.i_class,
        prep.i_box,
        float(pos_threshold),
        float(background_threshold),
    )
    pushed = status != tk.PRED_IGNORED
    npos = np.bincount(prep.g_class, minlength=k)
    base_order = _class_order(prep, pushed, k)
    # The error list, in tidecv's order: per image, its predictions' errors in
    # their order, then its missed objects.
    p_err = np.flatnonzero(status != tk.PRED_TRUE)
    missed = np.flatnonzero(~g_used & ~g_usable)
    seq = np.lexsort(
        (
            np.concatenate([p_err, missed]),
            np.concatenate([np.zeros(p_err.size), np.ones(missed.size)]),
            np.concatenate([prep.p_image[p_err], prep.g_image[missed]]),
        )
    )
    is_pred = np.concatenate([np.ones(p_err.size, bool), np.zeros(missed.size, bool)])[seq]
    ref = np.concatenate([p_err, missed])[seq]
    kind = _take(error, ref, is_pred, tk.ERR_MISS).astype(np.int64)
    state = _FixState(prep, status, target, g_best, npos, base_order, k)
    base_map, base_ap = state.baseline()
    breakdowns = {}
    per_type = {}
    for t, name in enumerate(ERROR_TYPES):
        per_type[name] = state.evaluate(ref, is_pred, kind, fix=(t,))
    all_map, all_ap = state.evaluate(ref, is_pred, kind, fix=tuple(range(6)))
    fp_map, fp_ap = state.evaluate(ref, is_pred, kind, fix=(), perfect_precision=True)
    fn_map, fn_ap = state.evaluate(ref, is_pred, kind, fix=(), drop_false_negatives=g_used)
    err_class = np.where(
        is_pred, _take(prep.p_class, ref, is_pred, 0), _take(prep.g_class, ref, ~is_pred, 0)
    )
    counts = count_by_class(kind, err_class, k)
    for c, name in enumerate(classes):
        breakdowns[name] = ErrorBreakdown(
            ap=base_ap.get(c, 0.0) / 100,
            counts={t: int(counts[c, i]) for i, t in enumerate(ERROR_TYPES)},
            dap={
                t: max(per_type[t][1].get(c, 0.0) - base_ap.get(c, 0.0), 0) / 100
                for t in ERROR_TYPES
            },
            false_positive_dap=(fp_ap.get(c, 0.0) - base_ap.get(c, 0.0)) / 100,
            false_negative_dap=(fn_ap.get(c, 0.0) - base_ap.get(c, 0.0)) / 100,
            ap_all_fixed=all_ap.get(c, 0.0) / 100,
        )
    overall = ErrorBreakdown(
        ap=base_map / 100,
        counts={t: int(counts[:, i].sum()) for i, t in enumerate(ERROR_TYPES)},
        dap={t: max(per_type[t][0] - base_map, 0) / 100 for t in ERROR_TYPES},
        false_positive_dap=(fp_map - base_map) / 100,
        false_negative_dap=(fn_map - base_map) / 100,
        ap_all_fixed=all_map / 100,
    )
    records = _records(prep, ref, is_pred, kind, target, g_best)
    notes = [
        "tidecv's matching and 101-point AP (not pycocotools'); max_dets "
        f"{max_dets} per image over all classes"
    ]
    if prep.dropped:
        notes.append(f"{prep.dropped} detections beyond {max_dets} per image were left out")
    return TideAnalysis(
        "coco50",
        float(pos_threshold),
        float(background_threshold),
        breakdowns,
        overall,
        records,
        tuple(notes),
    )


class _FixState:
    """tidecv's ``TIDERun.fix_errors``: the AP data after fixing some error types."""

    def __init__(self, prep, status, target, g_best, npos, base_order, k):
        self.prep, self.status, self.target, self.g_best = prep, status, target, g_best
        self.npos, self.base_order, self.k = npos, base_order, k
        tp = np.flatnonzero(status == tk.PRED_TRUE)
        # "Add back all the correct ones": class by class in the AP data's order,
        # each class's in push order.
        rank = np.zeros(max(k, 1), dtype=np.int64)
        rank[base_order] = np.arange(len(base_order))
        self.tp = tp[np.lexsort((tp, rank[prep.p_class[tp]]))] if tp.size else tp

    def baseline(self) -> tuple[float, dict[int, float]]:
        """(mAP, {class: AP}) in percent of the AP data as matched (push order)."""
        pushed = np.flatnonzero(self.status != tk.PRED_IGNORED)
        prep = self.prep
        truth = self.status[pushed] == tk.PRED_TRUE
        return self._aps(prep.p_class[pushed], prep.p_score[pushed], truth, self.npos, None)

    def evaluate(
        self,
        ref,
        is_pred,
        kind,
        fix: tuple[int, ...],
        perfect_precision: bool = False,
        drop_false_negatives: np.ndarray | None = None,
    ) -> tuple[float, dict[int, float]]:
        """(mAP, {class: AP}) in percent after fixing the error types ``fix``."""
        prep = self.prep
        chosen = np.isin(kind, fix)
        status = _take(self.status, ref, is_pred, tk.PRED_TRUE)
        orig_ok = is_pred & (status == tk.PRED_FALSE)
        tgt = _take(self.target, ref, is_pred, -1)
        best = _take(self.g_best, tgt, tgt >= 0, -2)
        winner = is_pred & (tgt >= 0) & (best == ref)
        fixed_ok = winner & ((kind == tk.ERR_LOC) | (kind == tk.ERR_CLS))
        own_class = _take(prep.p_class, ref, is_pred, -1)
        fixed_class = np.where(
            kind == tk.ERR_CLS, _take(prep.g_class, tgt, tgt >= 0, -1), own_class
        )
        use = np.where(chosen, fixed_ok, orig_ok)
        point_class = np.where(chosen, fixed_class, own_class)[use]
        point_score = _take(prep.p_score, ref, is_pred, 0.0)[use]
        point_true = (chosen & fixed_ok)[use]
        gt_pos = self.npos.astype(np.int64).copy()
        miss = ~is_pred & chosen
        np.subtract.at(gt_pos, prep.g_class[ref[miss]], 1)
        if drop_false_negatives is not None:
            gt_pos -= np.bincount(prep.g_class[~drop_false_negatives], minlength=self.k)
        tp = self.tp
        classes = np.concatenate([point_class, prep.p_class[tp]])
        scores = np.concatenate([point_score, prep.p_score[tp]])
        truth = np.concatenate([point_true, np.ones(tp.size, bool)])
        if perfect_precision:
            scores = truth.astype(np.float64)
        return self._aps(classes, scores, truth, gt_pos, _first_touch(classes, self.base_order))

    def _aps(self, classes, scores, truth, gt_pos, order) -> tuple[float, dict[int, float]]:
        order = self.base_order if order is None else order
        by_class = np.argsort(classes, kind="stable")
        bounds = np.searchsorted(classes[by_class], np.arange(self.k + 1))
        aps: dict[int, float] = {}
        for c in order:
            rows = by_class[bounds[c] : bounds[c + 1]]
            if rows.size == 0 and gt_pos[c] == 0:
                continue  # is_empty(): leaves the mean
            aps[c] = tide_ap_percent(scores[rows], truth[rows], int(gt_pos[c]))
        values = list(aps.values())
        return (sum(values) / len(values) if values else float("nan")), aps


def _first_touch(classes: np.ndarray, base_order: list[int]) -> list[int]:
    """The class order of a fixed ClassedAPDataObject: first push, then the rest of
    the original classes (added by ``add_gt_positives``)."""
    _, first = np.unique(classes, return_index=True)
    pushed = [int(c) for c in np.unique(classes)[np.argsort(first)]]
    seen = set(pushed)
    return pushed + [c for c in base_order if c not in seen]


def _records(prep, ref, is_pred, kind, target, g_best) -> ErrorRecords:
    tgt = _take(target, ref, is_pred, -1)
    obj = np.where(
        is_pred, _take(prep.g_rows, tgt, tgt >= 0, -1), _take(prep.g_rows, ref, ~is_pred, -1)
    )
    fixes = is_pred & (tgt >= 0) & (_take(g_best, tgt, tgt >= 0, -2) == ref)
    return ErrorRecords(
        kind=kind,
        det_class=_take(prep.p_class, ref, is_pred, -1),
        det_index=_take(prep.p_index, ref, is_pred, -1),
        obj_row=obj.astype(np.int64),
        overlap=np.full(kind.shape[0], np.nan),
        fixes_object=fixes,
    )
