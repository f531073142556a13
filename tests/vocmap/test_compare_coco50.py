"""`vocmap compare --semantics coco50`: every class whose devkit AP differs from its
COCO AP50 gets reasons, each step's AP is computed, and the last one lands on
pycocotools' number exactly (no residual 'arithmetic' step)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fixture_paths import DEMO, GOLDEN

import vocmap
from vocmap.analysis.compare_metrics import compare_with_coco50
from vocmap.core.detections import Detections
from vocmap.core.ground_truth import GroundTruth

CASES = [
    *sorted(GOLDEN.glob("random_*")),
    GOLDEN / "edge_score_ties",
    GOLDEN / "edge_only_difficult_matches",
    GOLDEN / "edge_difficult_best_match",
    DEMO,
]


def load(root):
    if (root / "VOC2007").exists():
        gt = vocmap.read_voc(root / "VOC2007", cache=False)
        classes = None
    else:
        gt = vocmap.read_voc(root, cache=False)
        classes = json.loads((root / "case.json").read_text())["classes"]
    return gt, vocmap.read_detections(root / "results", gt, classes), classes


@pytest.mark.parametrize("metric", ["voc07", "voc12"])
@pytest.mark.parametrize("root", CASES, ids=lambda p: p.name)
def test_every_difference_is_explained_and_the_steps_land_on_coco50(root, metric):
    gt, dets, classes = load(root)
    comparison = compare_with_coco50(gt, dets, classes, metric=metric)
    assert comparison.unexplained == []
    coco50 = vocmap.Evaluator(gt, classes, metric="coco50").evaluate(dets)
    for c in comparison.classes:
        assert c.ap_b == coco50.classes[c.name].ap or np.isnan(c.ap_b)
        assert all(r.rule != "arithmetic" for r in c.reasons), c.name
        if c.differs and not (np.isnan(c.ap_a) or np.isnan(c.ap_b)):
            total = sum(r.delta for r in c.reasons)
            assert abs(total - (c.ap_b - c.ap_a)) < 1e-12
    assert comparison.result_b.map == coco50.map


def test_the_matching_step_names_the_detection_coco_matches_differently():
    # A = x 1..10, B = x 5..14; two detections x 3..12 overlap both by 80/120: the
    # devkit gives both to A (TP, then FP: A is taken); COCO gives the first to B
    # (the later object on ties) and the second to A: FP -> TP for the second.
    gt = GroundTruth.from_arrays(
        ["000001"], np.array([0, 0]), ["a", "a"], np.array([(1, 1, 10, 10), (5, 1, 14, 10)], float)
    )
    dets = Detections.from_arrays(
        gt,
        {"a": (np.array([0, 0]), np.array([0.9, 0.8]), np.array([(3, 1, 12, 10)] * 2, float))},
        box_format="voc",
        image_index=True,
    )
    comparison = compare_with_coco50(gt, dets, ["a"])
    (cls,) = comparison.classes
    six_elevenths = 0.0
    for _ in range(6):  # p = 1 at t = 0..0.5, accumulated as the devkit does
        six_elevenths = six_elevenths + 1.0 / 11.0
    # COCO: recall 0.5, 1 at precision 1/(1+eps), 2/(2+eps) = 1.0; the envelope is 1.0
    assert (cls.ap_a, cls.ap_b) == (six_elevenths, 1.0)
    matching = [r for r in cls.reasons if r.rule == "matching"]
    assert matching and matching[0].flips == {"FP->TP": 1}
    assert matching[0].delta > 0.45  # 11 thresholds at precision 1 after the switch
