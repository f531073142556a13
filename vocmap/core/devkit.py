"""The VOC2007 devkit's evaluation of one class, in the devkit's order.

``VOCevaldet.m`` in four steps, each a kernel of :mod:`vocmap.core.kernels`:

1. sort the detections by decreasing confidence, stably (``sort(-confidence)``);
2. visit them in that order; each takes the ground-truth box of its image with the
   largest overlap (pixel-inclusive sizes, first box on ties); at overlap
   ``>= 0.5`` it is a true positive if the box is unclaimed, a false positive if
   claimed, and neither if the box is difficult; below it, a false positive;
3. ``rec = cumsum(tp) / npos``, ``prec = cumsum(tp) ./ (cumsum(fp) + cumsum(tp))``,
   ``npos`` counting the non-difficult boxes;
4. the 11-point AP: ``ap = ap + max(prec(rec >= t)) / 11`` for ``t = 0:0.1:1``
   (``VOCap.m``'s area under the precision envelope for VOC2010+).
"""

from __future__ import annotations

from vocmap.core import kernels
from vocmap.core.detections import ClassDetections
from vocmap.core.ground_truth import ClassGroundTruth
from vocmap.core.results import ClassResult


def evaluate_class_devkit(
    name: str,
    ground_truth: ClassGroundTruth,
    detections: ClassDetections,
    metric: str = "voc07",
    min_overlap: float = 0.5,
) -> ClassResult:
    """One class, exactly as the devkit evaluates it.

    Args:
        name: the class name (for the result).
        ground_truth: the class's objects, CSR over the image set, XML order.
        detections: the class's detections in file order; VOC boxes (n, 4),
            1-based and inclusive (width = xmax - xmin + 1).
        metric: "voc07" (11-point AP) or "voc12" (area AP).
        min_overlap: ``VOCopts.minoverlap`` (0.5).
    """
    order = kernels.stable_descending_order(detections.scores)
    outcome, best_gt, best_overlap = kernels.match_detections(
        order,
        detections.image_index,
        detections.boxes,
        ground_truth.offsets,
        ground_truth.boxes,
        ground_truth.difficult,
        min_overlap,
    )
    rec, prec = kernels.precision_recall(outcome, ground_truth.npos)
    if metric == "voc07":
        ap = kernels.average_precision_11point(rec, prec)
    else:
        ap = kernels.average_precision_area(rec, prec)
    known = best_gt >= 0
    best_gt[known] = ground_truth.rows[best_gt[known]]  # class row -> GroundTruth row
    return ClassResult.from_curves(
        name, ap, ground_truth.npos, rec, prec, order, outcome, best_gt, best_overlap
    )
