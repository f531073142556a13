"""`compare` explains every difference, rule by rule, and names the detections."""

from __future__ import annotations

import json
import math

import pytest
from case_builder import make_case
from fixture_paths import GOLDEN

import vocmap
from vocmap.analysis.compare import compare, rule_path
from vocmap.cli import main
from vocmap.core.semantics import PRESETS, get_semantics
from vocmap.io.writers import VocObject

RANDOM_CASES = ["random_11", "random_12", "random_13", "random_large_14"]


def same_number(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


@pytest.mark.parametrize("case", RANDOM_CASES)
@pytest.mark.parametrize("other", ["py-faster-rcnn", "mmdet", "ssd_keras", "chainercv"])
def test_every_differing_class_has_a_reason(case, other):
    gt = vocmap.read_voc(GOLDEN / case, cache=False)
    dets = vocmap.read_detections(GOLDEN / case / "results", gt)
    comparison = compare(gt, dets, "devkit", other)
    assert comparison.unexplained == []
    differing = [c for c in comparison.classes if c.differs]
    assert differing, "the presets do differ from the devkit on these cases"
    devkit = vocmap.Evaluator(gt, semantics="devkit").evaluate(dets)
    preset = vocmap.Evaluator(gt, semantics=other).evaluate(dets)
    for c in comparison.classes:
        # Each side is the number an independent evaluation under that preset gives.
        assert same_number(c.ap_a, devkit.classes[c.name].ap)
        assert same_number(c.ap_b, preset.classes[c.name].ap)
        assert c.differs == (not same_number(c.ap_a, c.ap_b))
        for reason in c.reasons:
            assert reason.rule in get_semantics(other).differences(get_semantics("devkit"))
            assert reason.text


def test_path_switches_each_differing_rule_once_and_ends_at_b():
    a, b = PRESETS["devkit"], PRESETS["mmdet"]
    path = rule_path(a, b)
    assert [rule for rule, _ in path] == [r for r in a.differences(b)]
    assert path[-1][1].differences(b) == []


def test_threshold_equality_is_named_with_the_line(tmp_path):
    # Line 1 is an exact-0.5 overlap (TP under the devkit, FP under py-faster-rcnn).
    voc_root, results = make_case(
        tmp_path,
        {"000001": [VocObject("dog", (1, 1, 10, 10))]},
        {"dog": "000001 0.9 1 1 10 5\n"},
    )
    gt = vocmap.read_voc(voc_root, cache=False)
    dets = vocmap.read_detections(results, gt, ["dog"])
    (dog,) = compare(gt, dets, "devkit", "py-faster-rcnn", ["dog"]).classes
    rules = {r.rule: r for r in dog.reasons}
    assert set(rules) == {"strict_threshold"}
    reason = rules["strict_threshold"]
    assert reason.flips == {"TP->FP": 1} and reason.lines == (1,)
    assert "1 detections with overlap exactly 0.5" in reason.text
    assert reason.delta == -dog.ap_a


def test_recall_threshold_reason_says_which_threshold(capsys):
    case = GOLDEN / "edge_recall_three_fifths"
    assert (
        main(
            [
                "compare",
                str(case / "results"),
                "--voc-root",
                str(case),
                "--classes",
                "horse",
                "--semantics",
                "devkit",
                "--semantics",
                "py-faster-rcnn",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "recall thresholds" in out
    assert "threshold 0.6 -> 0.6000000000000001" in out
    assert "a recall of exactly 0.6 is reached" in out
    assert "1 of 1 classes differ; every one is explained below." in out


def test_compare_json(tmp_path):
    case = GOLDEN / "random_11"
    out = tmp_path / "c.json"
    assert (
        main(
            [
                "compare",
                str(case / "results"),
                "--voc-root",
                str(case),
                "--semantics",
                "py-faster-rcnn",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    data = json.loads(out.read_text())
    assert data["a"] == "devkit" and data["b"] == "py-faster-rcnn"
    assert len(data["classes"]) == 20
    assert any(c["reasons"] for c in data["classes"].values())


def test_compare_needs_one_or_two_semantics(capsys):
    case = GOLDEN / "random_11"
    assert main(["compare", str(case / "results"), "--voc-root", str(case)]) == 2
    assert "give --semantics once" in capsys.readouterr().err
