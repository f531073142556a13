"""Plain-Python twins of the diagnose kernels (tests only).

* :func:`naive_group_overlaps` of ``analysis.diagnose_kernels.group_overlaps``;
* :func:`naive_subset_outcomes` of ``analysis.diagnose_kernels.subset_outcomes``;
* :func:`naive_tide_assign` of ``analysis.tide_kernels.tide_assign``, written from
  tidecv's ``TIDEExample._run`` / ``TIDERun._eval_image`` with lists.
"""

from __future__ import annotations

FP, TP, IGNORED = 0, 1, 2


def _devkit_overlap(b, g):
    iw = min(b[2], g[2]) - max(b[0], g[0]) + 1.0
    ih = min(b[3], g[3]) - max(b[1], g[1]) + 1.0
    if iw > 0 and ih > 0:
        ua = (
            (b[2] - b[0] + 1.0) * (b[3] - b[1] + 1.0)
            + (g[2] - g[0] + 1.0) * (g[3] - g[1] + 1.0)
            - iw * ih
        )
        return iw * ih / ua
    return None


def naive_group_overlaps(
    det_image, det_boxes, det_class, obj_offsets, obj_boxes, obj_class, relation, n_groups
):
    best = [[0.0] * n_groups for _ in det_image]
    rows = [[-1] * n_groups for _ in det_image]
    for d, image in enumerate(det_image):
        for j in range(obj_offsets[image], obj_offsets[image + 1]):
            if obj_class[j] < 0 or relation[det_class[d]][obj_class[j]] < 0:
                continue
            group = relation[det_class[d]][obj_class[j]]
            ov = _devkit_overlap(list(det_boxes[d]), list(obj_boxes[j]))
            if ov is not None and ov > best[d][group]:
                best[d][group] = ov
                rows[d][group] = j
    return best, rows


def naive_subset_outcomes(best_row, best_overlap, counted, min_overlap):
    claimed = set()
    out = []
    for row, ov in zip(best_row, best_overlap):
        if row >= 0 and ov >= min_overlap:
            if not counted[row]:
                out.append(IGNORED)
            elif row not in claimed:
                claimed.add(row)
                out.append(TP)
            else:
                out.append(FP)
        else:
            out.append(FP)
    return out


def coco_iou(d, g, crowd=False):
    """pycocotools' bbIou for one pair of [x, y, w, h] boxes."""
    da = d[2] * d[3]
    w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    i = w * h
    return i / da if crowd else i / (da + g[2] * g[3] - i)


def _match(b, score, p, used, usable, best, best_score):
    """tidecv's BestGTMatch."""
    if used[b]:
        return
    usable[b] = True
    if best_score[b] < score:
        best_score[b] = score
        best[b] = p


def _argmax(values):
    k = 0
    for j, v in enumerate(values):
        if v > values[k]:
            k = j
    return k


def naive_tide_assign(preds, gts, ignores, pos, bg):  # noqa: C901 (a transcription)
    """``preds``/``gts``/``ignores``: per image, lists of (class, score, box) / (class,
    box) in tidecv's order. Returns (status, error, target, used, usable, best) as
    flat lists (predictions, then objects, numbered across images in order)."""
    status, error, target = [], [], []
    used_all, usable_all, best_all = [], [], []
    p_base = g_base = 0
    for image_preds, image_gts, image_ignores in zip(preds, gts, ignores):
        n, ng = len(image_preds), len(image_gts)
        st = [FP] * n
        er = [-1] * n
        tg = [-1] * n
        used = [False] * ng
        usable = [False] * ng
        best = [-1] * ng
        best_score = [-1.0] * ng
        iou = [[coco_iou(p[2], g[1]) for g in image_gts] for p in image_preds]
        same = [[p[0] == g[0] for g in image_gts] for p in image_preds]
        cls_iou = [[iou[a][b] if same[a][b] else 0.0 for b in range(ng)] for a in range(n)]
        non = [[0.0 if same[a][b] else iou[a][b] for b in range(ng)] for a in range(n)]
        if ng:
            buffer = [row[:] for row in cls_iou]
            for a in range(n):
                b = _argmax(buffer[a])
                if buffer[a][b] >= pos:
                    st[a] = TP
                    used[b] = True
                    for row in buffer:
                        row[b] = 0.0
        for cls, box in image_ignores:
            for a in range(n):
                p = image_preds[a]
                if st[a] != TP and coco_iou(p[2], box, True) > pos and cls == p[0]:
                    st[a] = IGNORED

        for a in range(n):
            if st[a] == TP:
                continue
            if ng == 0:
                er[a] = 4
                continue
            b = _argmax(cls_iou[a])
            if bg <= cls_iou[a][b] <= pos:
                er[a], tg[a] = 1, g_base + b
                _match(b, image_preds[a][1], p_base + a, used, usable, best, best_score)
                continue
            b = _argmax(non[a])
            if non[a][b] >= pos:
                er[a], tg[a] = 0, g_base + b
                _match(b, image_preds[a][1], p_base + a, used, usable, best, best_score)
                continue
            used_cls = [cls_iou[a][b] if used[b] else 0.0 for b in range(ng)]
            if used_cls[_argmax(used_cls)] >= pos:
                er[a] = 3
                continue
            er[a] = 4 if iou[a][_argmax(iou[a])] <= bg else 2
        status += st
        error += er
        target += tg
        used_all += used
        usable_all += usable
        best_all += best
        p_base += n
        g_base += ng
    return status, error, target, used_all, usable_all, best_all
