"""A plain-Python transcription of the VOC2007 devkit's ``VOCevaldet.m``.

No numba, no NumPy in the arithmetic: Python floats (IEEE doubles, as MATLAB's)
and lists, one statement per MATLAB statement, so it can be read side by side
with the MATLAB source. The tests compare vocmap's kernels with these functions
(``naive_*``) on random inputs; the benchmark times :func:`voc_eval_devkit` as the
reference.

MATLAB source (VOCdevkit 2007, VOCcode/VOCevaldet.m), abridged::

    [gtids,t]=textread(sprintf(VOCopts.imgsetpath,VOCopts.testset),'%s %d');
    for i=1:length(gtids)
        rec=PASreadrecord(sprintf(VOCopts.annopath,gtids{i}));
        clsinds=strmatch(cls,{rec.objects(:).class},'exact');
        gt(i).BB=cat(1,rec.objects(clsinds).bbox)';
        gt(i).diff=[rec.objects(clsinds).difficult];
        gt(i).det=false(length(clsinds),1);
        npos=npos+sum(~gt(i).diff);
    end
    [ids,confidence,b1,b2,b3,b4]=textread(sprintf(VOCopts.detrespath,id,cls),'%s %f %f %f %f %f');
    BB=[b1 b2 b3 b4]';
    [sc,si]=sort(-confidence);
    ids=ids(si);
    BB=BB(:,si);
    nd=length(confidence);
    tp=zeros(nd,1);
    fp=zeros(nd,1);
    for d=1:nd
        i=strmatch(ids{d},gtids,'exact');
        if isempty(i)
            error('unrecognized image "%s"',ids{d});
        elseif length(i)>1
            error('multiple image "%s"',ids{d});
        end
        bb=BB(:,d);
        ovmax=-inf;
        for j=1:size(gt(i).BB,2)
            bbgt=gt(i).BB(:,j);
            bi=[max(bb(1),bbgt(1)) ; max(bb(2),bbgt(2)) ; min(bb(3),bbgt(3)) ; min(bb(4),bbgt(4))];
            iw=bi(3)-bi(1)+1;
            ih=bi(4)-bi(2)+1;
            if iw>0 & ih>0
                ua=(bb(3)-bb(1)+1)*(bb(4)-bb(2)+1)+...
                   (bbgt(3)-bbgt(1)+1)*(bbgt(4)-bbgt(2)+1)-...
                   iw*ih;
                ov=iw*ih/ua;
                if ov>ovmax
                    ovmax=ov;
                    jmax=j;
                end
            end
        end
        if ovmax>=VOCopts.minoverlap
            if ~gt(i).diff(jmax)
                if ~gt(i).det(jmax)
                    tp(d)=1;
                    gt(i).det(jmax)=true;
                else
                    fp(d)=1;
                end
            end
        else
            fp(d)=1;
        end
    end
    fp=cumsum(fp);
    tp=cumsum(tp);
    rec=tp/npos;
    prec=tp./(fp+tp);
    ap=0;
    for t=0:0.1:1
        p=max(prec(rec>=t));
        if isempty(p)
            p=0;
        end
        ap=ap+p/11;
    end
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

FALSE_POSITIVE, TRUE_POSITIVE, IGNORED = 0, 1, 2

# MATLAB's 0:0.1:1 (first half k*0.1, second half 1 - k*0.1).
MATLAB_THRESHOLDS = [k * 0.1 for k in range(6)] + [1 - (10 - k) * 0.1 for k in range(6, 11)]


class DevkitError(Exception):
    """Where the devkit calls ``error(...)``."""


def matlab_max(values: list[float]) -> float:
    """MATLAB ``max`` of a non-empty vector: NaNs skipped; all NaN gives NaN."""
    best = math.nan
    for v in values:
        if not math.isnan(v) and (math.isnan(best) or v > best):
            best = v
    return best


def naive_stable_descending_order(scores: list[float]) -> list[int]:
    """``[~, si] = sort(-confidence)``: stable, ties keep file order."""
    return sorted(range(len(scores)), key=lambda k: -scores[k])


def naive_match_detections(
    order,
    det_image,
    det_boxes,
    gt_by_image,
    iou_threshold=0.5,
    strict=False,
    pixel_offset=1.0,
    intersection_offset=None,
    all_candidates=False,
    det_area=None,
):
    """The devkit's assignment loop (with the general kernel's switches).

    Args:
        order: visiting order (indices into the detections).
        det_image: image index of each detection.
        det_boxes: list of (x1, y1, x2, y2) per detection.
        gt_by_image: per image, a list of (row, (x1, y1, x2, y2), difficult).
        intersection_offset: added to the intersection's sides (default: pixel_offset).
        all_candidates: every object competes (NumPy argmax: first maximum or
            first NaN; NaN passes the threshold), not only intersecting ones.
        det_area: per detection, an area to use instead of the computed one.

    Returns: (outcome, best_row, best_overlap) lists in visiting order.
    """
    if intersection_offset is None:
        intersection_offset = pixel_offset
    claimed = set()
    outcome, best_row, best_overlap = [], [], []
    for d in order:
        bb = det_boxes[d]
        if det_area is not None:
            area_d = det_area[d]
        else:
            area_d = (bb[2] - bb[0] + pixel_offset) * (bb[3] - bb[1] + pixel_offset)
        ovmax = -math.inf
        jmax = -1
        for row, bbgt, _difficult in gt_by_image[det_image[d]]:
            ov = _naive_overlap(bb, bbgt, area_d, pixel_offset, intersection_offset, all_candidates)
            if ov is None:
                continue
            if _naive_wins(ov, ovmax, jmax, all_candidates):
                ovmax, jmax = ov, row
        best_row.append(jmax)
        best_overlap.append(ovmax)
        if jmax == -1:
            matched = False
        elif all_candidates:
            matched = not (ovmax < iou_threshold or (strict and ovmax == iou_threshold))
        else:
            matched = ovmax > iou_threshold if strict else ovmax >= iou_threshold
        if not matched:
            outcome.append(FALSE_POSITIVE)
        elif next(diff for row, _, diff in gt_by_image[det_image[d]] if row == jmax):
            outcome.append(IGNORED)
        elif jmax not in claimed:
            outcome.append(TRUE_POSITIVE)
            claimed.add(jmax)
        else:
            outcome.append(FALSE_POSITIVE)
    return outcome, best_row, best_overlap


def _naive_wins(ov, ovmax, jmax, all_candidates) -> bool:
    """Whether an overlap replaces the best so far: ``>`` (the devkit), or NumPy's
    ``argmax`` order (the first candidate, then ``>``, a NaN winning for good)."""
    if all_candidates:
        return jmax == -1 or (not math.isnan(ovmax) and (math.isnan(ov) or ov > ovmax))
    return ov > ovmax


def _naive_overlap(bb, bbgt, area_d, pixel_offset, intersection_offset, all_candidates):
    """The overlap of a detection and an object; None when the object does not compete."""
    iw = min(bb[2], bbgt[2]) - max(bb[0], bbgt[0]) + intersection_offset
    ih = min(bb[3], bbgt[3]) - max(bb[1], bbgt[1]) + intersection_offset
    if iw > 0 and ih > 0:
        inter = iw * ih
    elif all_candidates:
        inter = 0.0
    else:
        return None
    ua = area_d + (bbgt[2] - bbgt[0] + pixel_offset) * (bbgt[3] - bbgt[1] + pixel_offset)
    return _divide(inter, ua - inter)


def _divide(a: float, b: float) -> float:
    """IEEE division as MATLAB does it (x/0 is +-inf, 0/0 is NaN)."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def naive_precision_recall(outcome, npos, precision_floor=0.0):
    """``fp=cumsum(fp); tp=cumsum(tp); rec=tp/npos; prec=tp./(fp+tp)``."""
    tp = fp = 0.0
    rec, prec = [], []
    for o in outcome:
        if o == TRUE_POSITIVE:
            tp += 1.0
        elif o == FALSE_POSITIVE:
            fp += 1.0
        rec.append(_divide(tp, float(npos)))
        total = fp + tp
        if precision_floor > 0 and total < precision_floor:
            total = precision_floor
        prec.append(_divide(tp, total))
    return rec, prec


def naive_ap_11point(rec, prec, thresholds=MATLAB_THRESHOLDS, sum_then_divide=False, skip_nan=True):
    """``for t=0:0.1:1, p=max(prec(rec>=t)); if isempty(p), p=0; end; ap=ap+p/11; end``.

    ``skip_nan=False`` takes NumPy's ``max`` (a NaN in the selection gives NaN)."""
    ap = 0.0
    k = len(thresholds)
    for t in thresholds:
        selected = [p for r, p in zip(rec, prec) if r >= t]
        if not selected:
            p = 0.0
        elif not skip_nan and any(math.isnan(v) for v in selected):
            p = math.nan
        else:
            p = matlab_max(selected)
        ap = ap + p if sum_then_divide else ap + p / k
    return ap / k if sum_then_divide else ap


def naive_ap_area(rec, prec):
    """VOC2010+ ``VOCap.m``: area under the non-increasing precision envelope."""
    mrec = [0.0, *rec, 1.0]
    mpre = [0.0, *prec, 0.0]
    for i in range(len(mpre) - 2, -1, -1):
        a, b = mpre[i], mpre[i + 1]
        # MATLAB max(a, b) returns the non-NaN operand when one is NaN.
        if math.isnan(a) or (not math.isnan(b) and b > a):
            mpre[i] = b
    ap = 0.0
    for i in range(1, len(mrec)):
        if mrec[i] != mrec[i - 1]:
            ap = ap + (mrec[i] - mrec[i - 1]) * mpre[i]
    return ap


# --------------------------------------------------------------------------- #
# Whole evaluation from files, as the devkit runs it
# --------------------------------------------------------------------------- #


def read_image_set(path: Path) -> list[str]:
    return [line.split()[0] for line in Path(path).read_text().splitlines() if line.split()]


def _text(element: ET.Element, tag: str) -> str:
    """The stripped text of ``element``'s child ``tag`` ("" if it has none)."""
    child = element.find(tag)
    return "" if child is None or child.text is None else child.text.strip()


def read_objects(xml_path: Path) -> list[tuple[str, bool, tuple[float, ...]]]:
    """``(class, difficult, (xmin, ymin, xmax, ymax))`` per object (``PASreadrecord``)."""
    root = ET.parse(xml_path).getroot()
    objects = []
    for obj in root.findall("object"):
        difficult = _text(obj, "difficult") == "1"
        box = obj.find("bndbox")
        if box is None:
            raise DevkitError(f"{xml_path}: an object has no <bndbox>")
        coords = tuple(float(_text(box, tag)) for tag in ("xmin", "ymin", "xmax", "ymax"))
        objects.append((_text(obj, "name"), difficult, coords))
    return objects


def load_ground_truth(annotations_dir: Path, image_ids: list[str]):
    """Per image, its objects; done once for all classes (the devkit re-reads per class)."""
    return [read_objects(Path(annotations_dir) / f"{i}.xml") for i in image_ids]


def read_results(path: Path):
    ids, confidence, boxes = [], [], []
    for line in Path(path).read_text(encoding="utf-8-sig").splitlines():
        fields = line.split()
        if not fields:
            continue
        ids.append(fields[0])
        confidence.append(float(fields[1]))
        boxes.append(tuple(float(v) for v in fields[2:6]))
    return ids, confidence, boxes


def class_ground_truth(objects_per_image, cls):
    """``gt(i).BB``, ``gt(i).diff`` and ``npos`` of one class: per image a list of
    ``(row, box, difficult)``, rows numbered over the whole image set."""
    gt_by_image = []
    npos = 0
    row = 0
    for objects in objects_per_image:
        entries = []
        for name, difficult, box in objects:
            if name == cls:
                entries.append((row, box, difficult))
                npos += 0 if difficult else 1
                row += 1
        gt_by_image.append(entries)
    return gt_by_image, npos


def evaluate_parsed(ids, confidence, boxes, image_ids, objects_per_image, cls, min_overlap=0.5):
    """``[rec, prec, ap]`` of one class from its parsed result lines."""
    gt_by_image, npos = class_ground_truth(objects_per_image, cls)
    position = {}
    for k, image_id in enumerate(image_ids):
        if image_id in position:
            raise DevkitError(f'multiple image "{image_id}"')
        position[image_id] = k
    det_image = []
    for image_id in ids:
        if image_id not in position:
            raise DevkitError(f'unrecognized image "{image_id}"')
        det_image.append(position[image_id])
    order = naive_stable_descending_order(confidence)
    outcome, _, _ = naive_match_detections(order, det_image, boxes, gt_by_image, min_overlap)
    rec, prec = naive_precision_recall(outcome, npos)
    return rec, prec, naive_ap_11point(rec, prec)


def voc_eval_devkit(results_path, image_ids, objects_per_image, cls, min_overlap=0.5):
    """``[rec, prec, ap] = VOCevaldet(...)`` for one class, from its result file."""
    ids, confidence, boxes = read_results(results_path)
    return evaluate_parsed(ids, confidence, boxes, image_ids, objects_per_image, cls, min_overlap)
