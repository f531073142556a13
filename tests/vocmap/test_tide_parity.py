"""diagnose --metric coco50 equals the tidecv package (the TIDE authors' code) with ==.

tidecv (pinned, installed by ``make setup-dev``) is given the same ground truth and
detections the way its own COCO loader would (tests/helpers/tide_oracle.py).
"""

from __future__ import annotations

import json
import math

import pytest
from budget import examples
from fixture_paths import DEMO, GOLDEN
from hypothesis import HealthCheck, given, settings

import vocmap
from vocmap.analysis.tide_coco import tide_coco50

tidecv = pytest.importorskip("tidecv", reason="tidecv (the diagnose-test extra) not installed")
from diagnose_cases import small_cases  # noqa: E402
from tide_oracle import run_tidecv  # noqa: E402

SHORT = {"cls": "Cls", "loc": "Loc", "both": "Both", "dupe": "Dupe", "bkg": "Bkg", "miss": "Miss"}


def assert_equal_to_tidecv(gt, dets, classes):
    ours = tide_coco50(gt, dets, classes)
    try:
        tide, run = run_tidecv(gt, dets, classes)
    except ZeroDivisionError:
        # no class has anything to score: tidecv's mAP divides by zero, vocmap says NaN
        assert math.isnan(ours.overall.ap)
        return ours
    try:
        main = tide.get_main_errors()["run"]
        special = tide.get_special_errors()["run"]
    except ZeroDivisionError:
        # a fix left no class with anything to score: tidecv divides by zero, vocmap says NaN
        values = [*ours.overall.dap.values(), ours.overall.false_positive_dap]
        assert any(math.isnan(v) for v in values)
        return ours
    assert ours.overall.ap == run.ap / 100
    for ours_name, theirs in SHORT.items():
        assert ours.overall.dap[ours_name] == main[theirs] / 100, ours_name
        error_type = next(e for e in tidecv.TIDE._error_types if e.short_name == theirs)
        assert ours.overall.counts[ours_name] == len(run.error_dict[error_type])
    assert ours.overall.false_positive_dap == special["FalsePos"] / 100
    assert ours.overall.false_negative_dap == special["FalseNeg"] / 100
    # per class: tidecv's own AP objects, before and after each fix
    for k, name in enumerate(classes, start=1):
        if k in run.ap_data.objs:
            assert ours.classes[name].ap == run.ap_data.objs[k].get_ap() / 100
    for error_type in tidecv.TIDE._error_types:
        fixed = run.fix_errors(lambda e, t=error_type: isinstance(e, t))
        ours_name = next(n for n, s in SHORT.items() if s == error_type.short_name)
        for k, name in enumerate(classes, start=1):
            if k in run.ap_data.objs and k in fixed.objs:
                before = run.ap_data.objs[k].get_ap()
                want = max(fixed.objs[k].get_ap() - before, 0) / 100
                assert ours.classes[name].dap[ours_name] == want, (name, ours_name)
    return ours


def _case(folder):
    classes = json.loads((folder / "case.json").read_text())["classes"]
    gt = vocmap.read_voc(folder, cache=False)
    return gt, vocmap.read_detections(folder / "results", gt, classes), classes


@pytest.mark.parametrize(
    "case",
    [
        "random_11",
        "random_12",
        "random_13",
        "random_large_14",
        "edge_score_ties",
        "edge_duplicates_and_empty_classes",
        "edge_only_difficult_matches",
        "edge_difficult_best_match",
        "edge_iou_exactly_half",
        "edge_coordinates",
    ],
)
def test_coco50_breakdown_equals_tidecv_on_the_golden_cases(case):
    assert_equal_to_tidecv(*_case(GOLDEN / case))


def test_coco50_breakdown_equals_tidecv_on_the_demo():
    gt = vocmap.read_voc(DEMO / "VOC2007", cache=False)
    classes = list(vocmap.VOC_CLASSES)
    dets = vocmap.read_detections(DEMO / "results", gt, classes)
    ours = assert_equal_to_tidecv(gt, dets, classes)
    assert sum(ours.overall.counts.values()) > 1000  # a real workload, not a trivial one


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases())
def test_coco50_breakdown_equals_tidecv_on_random_small_cases(case):
    gt, dets = case
    has_objects = (~gt.difficult).any()
    has_dets = any(len(dets[c]) for c in ("cat", "dog"))
    if not (has_objects or has_dets):
        return  # tidecv divides by zero on a set with nothing in it
    assert_equal_to_tidecv(gt, dets, ["cat", "dog"])
