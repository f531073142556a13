"""pycocotools' COCOeval in plain Python, and the bridge to the real one (tests only).

* :func:`evaluate_images` and :func:`accumulate_category` transcribe
  ``COCOeval.evaluateImg`` and ``COCOeval.accumulate`` (pycocotools 2.0.11) line by
  line, on the same arrays as :mod:`vocmap.core.coco_kernels`: the kernels' twin.
* :func:`to_coco` writes a GroundTruth and Detections as COCO dicts with the
  documented mapping (:mod:`vocmap.core.coco`), and :func:`run_pycocotools` /
  :func:`run_faster_coco_eval` evaluate them with the real packages (the oracles;
  imported only when called).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np

from vocmap.core.coco import COCO_PARAMS, CocoParams, voc_to_coco_boxes
from vocmap.core.detections import Detections
from vocmap.core.ground_truth import GroundTruth
from vocmap.core.kernels import FALSE_POSITIVE, IGNORED, TRUE_POSITIVE


def bb_iou(d: Sequence[float], g: Sequence[float], crowd: bool) -> float:
    """maskApi.c's ``bbIou`` for one pair."""
    w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    i = w * h
    da = d[2] * d[3]
    ga = g[2] * g[3]
    u = da if crowd else da + ga - i
    return i / u


def evaluate_images(
    det_image, det_scores, det_boxes, det_area, gt_offsets, gt_boxes, gt_area, gt_crowd, params
):
    """evaluateImg per image (image order), as dicts: ``{"dt": [file index], "score",
    "outcome": [area][threshold][det], "gt_ignore": [area][gt]}``; images with
    neither objects nor detections give None (as in COCOeval)."""
    n_images = len(gt_offsets) - 1
    by_image: list[list[int]] = [[] for _ in range(n_images)]
    for d, image in enumerate(det_image):
        by_image[int(image)].append(d)
    max_det = params.max_dets[-1]
    out: list[dict | None] = []
    for image in range(n_images):
        g0, g1 = int(gt_offsets[image]), int(gt_offsets[image + 1])
        gts = list(range(g0, g1))
        dts = by_image[image]
        if not gts and not dts:
            out.append(None)
            continue
        # computeIoU: detections sorted, truncated, against ground truth in file order
        inds = np.argsort([-det_scores[d] for d in dts], kind="mergesort")
        dts = [dts[i] for i in inds][:max_det]
        ious = [[bb_iou(det_boxes[d], gt_boxes[g], bool(gt_crowd[g])) for g in gts] for d in dts]
        per_area, ignores = [], []
        for lo, hi in params.area_ranges:
            ig = [int(bool(gt_crowd[g]) or gt_area[g] < lo or gt_area[g] > hi) for g in gts]
            gtind = np.argsort(ig, kind="mergesort")
            g_sorted = [gts[i] for i in gtind]
            g_ig = [ig[i] for i in gtind]
            per_threshold = []
            for t in params.iou_thresholds:
                gtm = [0] * len(g_sorted)
                outcome = []
                for dind, d in enumerate(dts):
                    iou = min([t, 1 - 1e-10])
                    m = -1
                    for gind, g in enumerate(g_sorted):
                        if gtm[gind] > 0 and not gt_crowd[g]:
                            continue
                        if m > -1 and g_ig[m] == 0 and g_ig[gind] == 1:
                            break
                        if ious[dind][int(gtind[gind])] < iou:
                            continue
                        iou = ious[dind][int(gtind[gind])]
                        m = gind
                    if m == -1:
                        outside = det_area[d] < lo or det_area[d] > hi
                        outcome.append(IGNORED if outside else FALSE_POSITIVE)
                        continue
                    gtm[m] = 1
                    outcome.append(IGNORED if g_ig[m] else TRUE_POSITIVE)
                per_threshold.append(outcome)
            per_area.append(per_threshold)
            ignores.append(g_ig)
        out.append(
            {
                "dt": dts,
                "score": [det_scores[d] for d in dts],
                "outcome": per_area,
                "gt_ignore": ignores,
            }
        )
    return out


def accumulate_category(evaluated, params: CocoParams, rec_thresholds):
    """accumulate for one category: precision (T, R, A, M), recall (T, A, M)."""
    T, R = len(params.iou_thresholds), len(rec_thresholds)
    A, M = len(params.area_ranges), len(params.max_dets)
    precision = -np.ones((T, R, A, M))
    recall = -np.ones((T, A, M))
    E = [e for e in evaluated if e is not None]
    if not E:
        return precision, recall
    for a in range(A):
        for m, max_det in enumerate(params.max_dets):
            scores = np.concatenate([np.array(e["score"][0:max_det], dtype=float) for e in E])
            inds = np.argsort(-scores, kind="mergesort")
            npig = sum(g == 0 for e in E for g in e["gt_ignore"][a])
            if npig == 0:
                continue
            for t in range(T):
                codes = np.concatenate(
                    [np.array(e["outcome"][a][t][0:max_det], dtype=np.int8) for e in E]
                )[inds]
                tps = codes == TRUE_POSITIVE
                fps = codes == FALSE_POSITIVE
                tp = np.cumsum(tps).astype(dtype=float)
                fp = np.cumsum(fps).astype(dtype=float)
                nd = len(tp)
                rc = tp / npig
                pr = tp / (fp + tp + np.spacing(1))
                q = np.zeros((R,))
                recall[t, a, m] = rc[-1] if nd else 0
                pr = pr.tolist()
                q = q.tolist()
                for i in range(nd - 1, 0, -1):
                    if pr[i] > pr[i - 1]:
                        pr[i - 1] = pr[i]
                found = np.searchsorted(rc, rec_thresholds, side="left")
                try:
                    for ri, pi in enumerate(found):
                        q[ri] = pr[pi]
                except IndexError:
                    pass
                precision[t, :, a, m] = np.array(q)
    return precision, recall


# --------------------------------------------------------------------------- #
# The real pycocotools and faster-coco-eval
# --------------------------------------------------------------------------- #


def to_coco(
    ground_truth: GroundTruth, detections: Detections, classes: Sequence[str]
) -> tuple[dict, list[dict]]:
    """The COCO ground-truth dict and results list for these inputs.

    Images get ids 1, 2, ... in image-set order, categories 1.. in ``classes``
    order; objects keep image then XML order (ids from 1), ``iscrowd`` is the
    difficult flag and ``area`` is ``w * h``; results are listed class by class,
    each in file order.
    """
    images = [{"id": i + 1, "width": 1000, "height": 1000} for i in range(ground_truth.num_images)]
    categories = [{"id": k + 1, "name": name} for k, name in enumerate(classes)]
    annotations = []
    for k, name in enumerate(classes):
        gt = ground_truth.for_class(name)
        boxes = voc_to_coco_boxes(gt.boxes)
        for row, box in zip(gt.rows.tolist(), boxes.tolist()):
            annotations.append(
                {
                    "row": row,
                    "image_id": int(ground_truth.object_image[row]) + 1,
                    "category_id": k + 1,
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": int(ground_truth.difficult[row]),
                }
            )
    annotations.sort(key=lambda a: a["row"])  # image, then XML order
    for number, annotation in enumerate(annotations, start=1):
        del annotation["row"]
        annotation["id"] = number
    results = []
    for k, name in enumerate(classes):
        d = detections[name]
        for image, score, box in zip(
            d.image_index.tolist(), d.scores.tolist(), voc_to_coco_boxes(d.boxes).tolist()
        ):
            results.append(
                {"image_id": image + 1, "category_id": k + 1, "bbox": box, "score": score}
            )
    return {"images": images, "annotations": annotations, "categories": categories}, results


def _run(coco_cls, eval_cls, gt: dict, results: list[dict], params: CocoParams, **kwargs):
    import copy

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco_cls()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        evaluator = eval_cls(coco_gt, coco_dt, "bbox", **kwargs)
        evaluator.params.iouThrs = np.array(params.iou_thresholds)
        evaluator.params.areaRng = [list(r) for r in params.area_ranges.tolist()]
        evaluator.params.areaRngLbl = list(params.area_labels)
        evaluator.params.maxDets = list(params.max_dets)
        evaluator.evaluate()
        evaluator.accumulate()
        summary = None
        if params is COCO_PARAMS:
            evaluator.summarize()
            summary = [float(v) for v in evaluator.stats]
    return evaluator.eval["precision"], evaluator.eval["recall"], summary


def run_pycocotools(gt: dict, results: list[dict], params: CocoParams = COCO_PARAMS):
    """``(precision, recall, stats or None)`` from pycocotools' COCOeval (stats with
    the default params only: summarize() assumes them)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    return _run(COCO, COCOeval, gt, results, params)


def run_faster_coco_eval(gt: dict, results: list[dict], params: CocoParams = COCO_PARAMS):
    """The same from faster-coco-eval's C++ COCOeval."""
    from faster_coco_eval import COCO, COCOeval_faster

    return _run(COCO, COCOeval_faster, gt, results, params, print_function=lambda *a: None)
