"""chainercv's ``eval_detection_voc``, transcribed: the oracle of ``--semantics chainercv``.

Provenance: https://github.com/chainer/chainercv, branch master, commit
7159616642e0be7c5b3ef380b848e16b7e99355b (2020-01-07; the file's last change is
ae1da0b, 2019-02-20). MIT License, Copyright (c) 2017 Preferred Networks, Inc.

- ``chainercv/evaluations/eval_detection_voc.py``: ``eval_detection_voc``,
  ``calc_detection_voc_prec_rec``, ``calc_detection_voc_ap``;
- ``chainercv/utils/bbox/bbox_iou.py``: ``bbox_iou``.

Transcribed statement for statement; changed only: ``six.moves.zip``/``range`` are
the built-ins, ``cuda.get_array_module`` is NumPy, docstrings are left out, and the
0/0 warnings are silenced (``numpy.errstate``, no value changes). The input side
follows chainercv's ``VOCBboxDataset`` (``int(text) - 1`` as float32, ``(y, x)``
order, difficult objects returned) and a chainercv model's 0-based float32 boxes:
a VOC result line's box ``(x1, y1, x2, y2)`` is ``float32(v - 1)`` in that frame.
"""

# Transcribed code keeps the original's statements, so these style rules stay off here:
# ruff: noqa: C901, SIM118, E741

from __future__ import annotations

import itertools
import warnings
from collections import defaultdict

import numpy as np


def bbox_iou(bbox_a, bbox_b):
    if bbox_a.shape[1] != 4 or bbox_b.shape[1] != 4:
        raise IndexError
    xp = np

    # top left
    tl = xp.maximum(bbox_a[:, None, :2], bbox_b[:, :2])
    # bottom right
    br = xp.minimum(bbox_a[:, None, 2:], bbox_b[:, 2:])

    area_i = xp.prod(br - tl, axis=2) * (tl < br).all(axis=2)
    area_a = xp.prod(bbox_a[:, 2:] - bbox_a[:, :2], axis=1)
    area_b = xp.prod(bbox_b[:, 2:] - bbox_b[:, :2], axis=1)
    return area_i / (area_a[:, None] + area_b - area_i)


def eval_detection_voc(
    pred_bboxes,
    pred_labels,
    pred_scores,
    gt_bboxes,
    gt_labels,
    gt_difficults=None,
    iou_thresh=0.5,
    use_07_metric=False,
):
    prec, rec = calc_detection_voc_prec_rec(
        pred_bboxes,
        pred_labels,
        pred_scores,
        gt_bboxes,
        gt_labels,
        gt_difficults,
        iou_thresh=iou_thresh,
    )

    ap = calc_detection_voc_ap(prec, rec, use_07_metric=use_07_metric)

    with warnings.catch_warnings():  # nanmean of all-NaN warns
        warnings.simplefilter("ignore", RuntimeWarning)
        return {"ap": ap, "map": np.nanmean(ap)}


def calc_detection_voc_prec_rec(
    pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels, gt_difficults=None, iou_thresh=0.5
):
    pred_bboxes = iter(pred_bboxes)
    pred_labels = iter(pred_labels)
    pred_scores = iter(pred_scores)
    gt_bboxes = iter(gt_bboxes)
    gt_labels = iter(gt_labels)
    if gt_difficults is None:
        gt_difficults = itertools.repeat(None)
    else:
        gt_difficults = iter(gt_difficults)

    n_pos = defaultdict(int)
    score = defaultdict(list)
    match = defaultdict(list)

    for pred_bbox, pred_label, pred_score, gt_bbox, gt_label, gt_difficult in zip(
        pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels, gt_difficults
    ):
        if gt_difficult is None:
            gt_difficult = np.zeros(gt_bbox.shape[0], dtype=bool)

        for l in np.unique(np.concatenate((pred_label, gt_label)).astype(int)):
            pred_mask_l = pred_label == l
            pred_bbox_l = pred_bbox[pred_mask_l]
            pred_score_l = pred_score[pred_mask_l]
            # sort by score
            order = pred_score_l.argsort()[::-1]
            pred_bbox_l = pred_bbox_l[order]
            pred_score_l = pred_score_l[order]

            gt_mask_l = gt_label == l
            gt_bbox_l = gt_bbox[gt_mask_l]
            gt_difficult_l = gt_difficult[gt_mask_l]

            n_pos[l] += np.logical_not(gt_difficult_l).sum()
            score[l].extend(pred_score_l)

            if len(pred_bbox_l) == 0:
                continue
            if len(gt_bbox_l) == 0:
                match[l].extend((0,) * pred_bbox_l.shape[0])
                continue

            # VOC evaluation follows integer typed bounding boxes.
            pred_bbox_l = pred_bbox_l.copy()
            pred_bbox_l[:, 2:] += 1
            gt_bbox_l = gt_bbox_l.copy()
            gt_bbox_l[:, 2:] += 1

            with np.errstate(invalid="ignore", divide="ignore"):
                iou = bbox_iou(pred_bbox_l, gt_bbox_l)
            gt_index = iou.argmax(axis=1)
            # set -1 if there is no matching ground truth
            gt_index[iou.max(axis=1) < iou_thresh] = -1
            del iou

            selec = np.zeros(gt_bbox_l.shape[0], dtype=bool)
            for gt_idx in gt_index:
                if gt_idx >= 0:
                    if gt_difficult_l[gt_idx]:
                        match[l].append(-1)
                    else:
                        if not selec[gt_idx]:
                            match[l].append(1)
                        else:
                            match[l].append(0)
                    selec[gt_idx] = True
                else:
                    match[l].append(0)

    for iter_ in (pred_bboxes, pred_labels, pred_scores, gt_bboxes, gt_labels, gt_difficults):
        if next(iter_, None) is not None:
            raise ValueError("Length of input iterables need to be same.")

    n_fg_class = max(n_pos.keys()) + 1
    prec = [None] * n_fg_class
    rec = [None] * n_fg_class

    for l in n_pos.keys():
        score_l = np.array(score[l])
        match_l = np.array(match[l], dtype=np.int8)

        order = score_l.argsort()[::-1]
        match_l = match_l[order]

        tp = np.cumsum(match_l == 1)
        fp = np.cumsum(match_l == 0)

        # If an element of fp + tp is 0,
        # the corresponding element of prec[l] is nan.
        with np.errstate(invalid="ignore"):
            prec[l] = tp / (fp + tp)
        # If n_pos[l] is 0, rec[l] is None.
        if n_pos[l] > 0:
            rec[l] = tp / n_pos[l]

    return prec, rec


def calc_detection_voc_ap(prec, rec, use_07_metric=False):
    n_fg_class = len(prec)
    ap = np.empty(n_fg_class)
    for l in range(n_fg_class):
        if prec[l] is None or rec[l] is None:
            ap[l] = np.nan
            continue

        if use_07_metric:
            # 11 point metric
            ap[l] = 0
            for t in np.arange(0.0, 1.1, 0.1):
                if np.sum(rec[l] >= t) == 0:
                    p = 0
                else:
                    p = np.max(np.nan_to_num(prec[l])[rec[l] >= t])
                ap[l] += p / 11
        else:
            # correct AP calculation
            # first append sentinel values at the end
            mpre = np.concatenate(([0], np.nan_to_num(prec[l]), [0]))
            mrec = np.concatenate(([0], rec[l], [1]))

            mpre = np.maximum.accumulate(mpre[::-1])[::-1]

            # to calculate area under PR curve, look for points
            # where X axis (recall) changes value
            i = np.where(mrec[1:] != mrec[:-1])[0]

            # and sum (\Delta recall) * prec
            ap[l] = np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])

    return ap


def evaluate(image_ids, objects_per_image, classes, detections, metric="voc07", iou=0.5):
    """chainercv's numbers for vocmap-style inputs.

    Args:
        image_ids: the image set, in order.
        objects_per_image: per image, ``[(class, difficult, (xmin, ymin, xmax, ymax))]``
            (VOC 1-based coordinates; ``int(v) - 1`` as ``VOCBboxDataset`` reads them).
        classes: class names; label k is ``classes[k]``.
        detections: ``{class: [(image_id, score, (x1, y1, x2, y2)), ...]}`` in file
            order (VOC 1-based; each image's detections keep that order).

    Returns: ``(mAP, [AP per class])``; classes after chainercv's last label are NaN.
    """
    index = {image: k for k, image in enumerate(image_ids)}
    per_image = [[] for _ in image_ids]
    for label, name in enumerate(classes):
        for image, score, box in detections.get(name, []):
            per_image[index[image]].append((label, score, box))
    pred_bboxes, pred_labels, pred_scores = [], [], []
    for records in per_image:
        # Per class in file order (the mask keeps order; other classes' interleaving is moot).
        boxes = np.array([[b[1], b[0], b[3], b[2]] for _, _, b in records], dtype=np.float64)
        pred_bboxes.append((boxes.reshape(-1, 4) - 1.0).astype(np.float32))
        pred_labels.append(np.array([r[0] for r in records], dtype=np.int32))
        pred_scores.append(np.array([r[1] for r in records], dtype=np.float32))
    gt_bboxes, gt_labels, gt_difficults = [], [], []
    for objects in objects_per_image:
        kept = [o for o in objects if o[0] in classes]
        boxes = [[int(b[1]) - 1, int(b[0]) - 1, int(b[3]) - 1, int(b[2]) - 1] for _, _, b in kept]
        gt_bboxes.append(np.array(boxes, dtype=np.float32).reshape(-1, 4))
        gt_labels.append(np.array([classes.index(o[0]) for o in kept], dtype=np.int32))
        gt_difficults.append(np.array([bool(o[1]) for o in kept], dtype=bool))
    result = eval_detection_voc(
        pred_bboxes,
        pred_labels,
        pred_scores,
        gt_bboxes,
        gt_labels,
        gt_difficults,
        iou_thresh=iou,
        use_07_metric=metric == "voc07",
    )
    aps = [float(a) for a in result["ap"]]
    aps += [float("nan")] * (len(classes) - len(aps))
    return float(result["map"]), aps
