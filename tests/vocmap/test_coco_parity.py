"""Property tests of --metric coco50/coco: the kernels against their plain-Python twin
(vocmap.testing.coco_reference), and against pycocotools itself, bit for bit.

Random cases stress COCO's rules: crowd (difficult) objects, boxes whose area is
at or next to 32^2 and 96^2 (the inclusive area bins), equal overlaps with two
objects (the later one wins), score ties, more detections in an image than
maxDets, and images with detections but no objects; through the parallel kernel
and the serial one. Also run under ``NUMBA_DISABLE_JIT=1`` (Makefile).
"""

from __future__ import annotations

import numpy as np
from budget import NO_JIT, examples
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vocmap.core import coco
from vocmap.core.coco import AREA_LABELS, AREA_RANGES, IOU_THRESHOLDS, CocoParams
from vocmap.core.detections import Detections
from vocmap.core.ground_truth import GroundTruth
from vocmap.testing import coco_reference as ref

#: maxDets small enough that the random cases cross them.
SMALL_MAX_DETS = CocoParams(IOU_THRESHOLDS, AREA_RANGES, AREA_LABELS, (1, 3, 10))

SIDES = [1, 5, 31, 32, 33, 40, 95, 96, 97, 120]


@st.composite
def voc_box(draw):
    x1 = float(draw(st.integers(1, 60)))
    y1 = float(draw(st.integers(1, 60)))
    if draw(st.booleans()):
        w, h = draw(st.sampled_from(SIDES)), draw(st.sampled_from(SIDES))
    else:
        w = draw(st.floats(0.5, 130, allow_nan=False))
        h = draw(st.floats(0.5, 130, allow_nan=False))
    return (x1, y1, x1 + w - 1, y1 + h - 1)


@st.composite
def case(draw):
    """(GroundTruth, Detections) of one class "a" (and a second class "b")."""
    n_images = draw(st.integers(1, 4))
    image_ids = [f"{i:06d}" for i in range(n_images)]
    object_image, names, boxes, difficult = [], [], [], []
    for image in range(n_images):
        for _ in range(draw(st.integers(0, 5))):
            object_image.append(image)
            names.append(draw(st.sampled_from(["a", "a", "a", "b"])))
            boxes.append(draw(voc_box()))
            difficult.append(draw(st.integers(0, 3)) == 0)
    if object_image:
        gt = GroundTruth.from_arrays(
            image_ids, np.array(object_image), names, np.array(boxes), np.array(difficult)
        )
    else:
        gt = GroundTruth.from_arrays(image_ids)
    pool = draw(st.lists(st.sampled_from([0.1, 0.5, 0.5, 0.9, 1.0]), min_size=1, max_size=3))
    per_class = {}
    for name in ("a", "b"):
        targets = [(i, b) for i, n, b in zip(object_image, names, boxes) if n == name]
        images, scores, dets = [], [], []
        for _ in range(draw(st.integers(0, 24))):
            choice = draw(st.integers(0, 4))
            if targets and choice <= 2:
                image, (x1, y1, x2, y2) = targets[draw(st.integers(0, len(targets) - 1))]
                dx, dy = draw(st.integers(-4, 4)), draw(st.integers(-4, 4))
                if choice == 2:  # a copy that straddles two objects' overlaps
                    dets.append((x1 + dx, y1, x2 + dx, y2 + dy))
                else:
                    dets.append((x1 + dx, y1 + dy, x2 + dx, y2 + dy))
            else:
                image = draw(st.integers(0, n_images - 1))
                dets.append(draw(voc_box()))
            images.append(image)
            tie = draw(st.booleans())
            scores.append(draw(st.sampled_from(pool)) if tie else draw(st.floats(0, 1)))
        per_class[name] = (
            np.array(images, dtype=np.int64),
            np.array(scores),
            np.array(dets).reshape(-1, 4),
        )
    return gt, Detections.from_arrays(gt, per_class, box_format="voc", image_index=True)


def twin(gt: GroundTruth, dets: Detections, name: str, params: CocoParams):
    g = gt.for_class(name)
    d = dets[name]
    det_boxes = coco.voc_to_coco_boxes(d.boxes)
    gt_boxes = coco.voc_to_coco_boxes(g.boxes)
    evaluated = ref.evaluate_images(
        d.image_index.tolist(),
        d.scores.tolist(),
        det_boxes.tolist(),
        (det_boxes[:, 2] * det_boxes[:, 3]).tolist(),
        g.offsets.tolist(),
        gt_boxes.tolist(),
        (gt_boxes[:, 2] * gt_boxes[:, 3]).tolist(),
        g.difficult.tolist(),
        params,
    )
    return evaluated, ref.accumulate_category(evaluated, params, coco.RECALL_THRESHOLDS)


def evaluate_one(gt, dets, name, params, parallel):
    """evaluate_class_coco through the parallel kernel or the serial one."""
    saved = coco.PARALLEL_MIN_WORK
    coco.PARALLEL_MIN_WORK = 0 if parallel else saved
    try:
        return coco.evaluate_class_coco(gt.for_class(name), dets[name], params)
    finally:
        coco.PARALLEL_MIN_WORK = saved


@settings(max_examples=examples(600), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case(),
    st.sampled_from([coco.COCO_PARAMS, SMALL_MAX_DETS, coco.COCO50_PARAMS]),
    st.booleans(),
)
def test_kernels_agree_with_the_plain_python_twin(data, params, parallel):
    gt, dets = data
    for name in ("a", "b"):
        mine = evaluate_one(gt, dets, name, params, parallel)
        evaluated, (precision, recall) = twin(gt, dets, name, params)
        assert np.array_equal(mine.precision, precision)
        assert np.array_equal(mine.recall, recall)
        # per detection: the kept ones in image then score order, and their outcomes
        kept = [i for e in evaluated if e is not None for i in e["dt"]]
        assert mine.kept.tolist() == kept
        for a in range(len(params.area_ranges)):
            for t in range(len(params.iou_thresholds)):
                outcomes = [o for e in evaluated if e is not None for o in e["outcome"][a][t]]
                assert mine.outcome[a, t].tolist() == outcomes


@settings(
    max_examples=examples(150) if not NO_JIT else 10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case(), st.sampled_from([coco.COCO_PARAMS, SMALL_MAX_DETS]))
def test_arrays_and_summary_equal_pycocotools(data, params):
    gt, dets = data
    assume(dets.total > 0)  # pycocotools' loadRes cannot read an empty result list
    classes = ["a", "b"]
    precision, recall = coco.coco_arrays(gt, dets, classes, params)
    coco_gt, results = ref.to_coco(gt, dets, classes)
    their_precision, their_recall, stats = ref.run_pycocotools(coco_gt, results, params)
    assert np.array_equal(precision, their_precision)
    assert np.array_equal(recall, their_recall)
    if stats is not None:
        assert list(coco.summarize(precision, recall).values()) == stats
