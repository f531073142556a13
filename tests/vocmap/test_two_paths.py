"""The devkit's straight path and the general path give the same bits under the
devkit's rules, and any Semantics (presets or custom) works end to end."""

from __future__ import annotations

import json
import math
import struct
from dataclasses import replace

import numpy as np
import pytest
from budget import examples
from fixture_paths import GOLDEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vocmap
from vocmap.analysis.compare import compare
from vocmap.core.devkit import evaluate_class_devkit
from vocmap.core.general import evaluate_class_general
from vocmap.core.semantics import DEVKIT, Semantics
from vocmap.core.settings import EvalSettings
from vocmap.report.text import format_result

CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and p.name != "edge_unknown_image")


def bits(values) -> list[bytes]:
    return [b"nan" if math.isnan(v) else struct.pack("<d", v) for v in np.asarray(values).ravel()]


def assert_identical(a, b) -> None:
    assert bits([a.ap]) == bits([b.ap])
    assert bits(a.recall) == bits(b.recall) and bits(a.precision) == bits(b.precision)
    assert a.order.tolist() == b.order.tolist()
    assert a.outcome.tolist() == b.outcome.tolist()
    assert a.best_gt.tolist() == b.best_gt.tolist()
    assert bits(a.best_overlap) == bits(b.best_overlap)
    assert (a.tp, a.fp, a.ignored, a.npos) == (b.tp, b.fp, b.ignored, b.npos)


@pytest.mark.parametrize("metric", ["voc07", "voc12"])
@pytest.mark.parametrize("case", CASES)
def test_both_paths_agree_bit_for_bit_on_the_golden_cases(case, metric):
    gt = vocmap.read_voc(GOLDEN / case, cache=False)
    meta = json.loads((GOLDEN / case / "case.json").read_text())
    dets = vocmap.read_detections(GOLDEN / case / "results", gt, meta["classes"])
    settings = EvalSettings(metric)
    for name in meta["classes"]:
        straight = evaluate_class_devkit(name, gt.for_class(name), dets[name], metric)
        general = evaluate_class_general(name, gt.for_class(name), dets[name], settings)
        assert_identical(straight, general)


@st.composite
def random_case(draw):
    n_images = draw(st.integers(1, 6))
    image_ids = [f"{k:06d}" for k in range(n_images)]
    n_objects = draw(st.integers(0, 12))
    object_image = sorted(draw(st.integers(0, n_images - 1)) for _ in range(n_objects))
    corner = st.integers(1, 40).map(float)
    size = st.integers(0, 25).map(float)
    boxes = []
    for _ in range(n_objects):
        x, y, w, h = draw(corner), draw(corner), draw(size), draw(size)
        boxes.append((x, y, x + w, y + h))
    difficult = [draw(st.booleans()) for _ in range(n_objects)]
    gt = vocmap.GroundTruth.from_arrays(
        image_ids, object_image, ["dog"] * n_objects, np.array(boxes).reshape(-1, 4), difficult
    )
    n_dets = draw(st.integers(0, 25))
    det_boxes, det_images = [], []
    for _ in range(n_dets):
        if boxes and draw(st.booleans()):
            k = draw(st.integers(0, n_objects - 1))
            jitter = draw(st.integers(-3, 3))
            det_boxes.append(tuple(v + jitter * (i % 2) for i, v in enumerate(boxes[k])))
            det_images.append(object_image[k])
        else:
            x, y, w, h = draw(corner), draw(corner), draw(size), draw(size)
            det_boxes.append((x, y, x + w, y + h))
            det_images.append(draw(st.integers(0, n_images - 1)))
    scores = [draw(st.sampled_from([0.1, 0.5, 0.9, 0.0, -0.0])) for _ in range(n_dets)]
    dets = vocmap.Detections.from_arrays(
        gt,
        {"dog": (np.array(det_images, np.int64), scores, np.array(det_boxes).reshape(-1, 4))},
        box_format="voc",
        image_index=True,
    )
    return gt, dets


@settings(max_examples=examples(500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case(), st.sampled_from(["voc07", "voc12"]), st.sampled_from([0.5, 0.3, 0.7]))
def test_both_paths_agree_bit_for_bit_on_random_cases(case, metric, iou):
    gt, dets = case
    settings_ = EvalSettings(metric, iou)
    straight = evaluate_class_devkit("dog", gt.for_class("dog"), dets["dog"], metric, iou)
    general = evaluate_class_general("dog", gt.for_class("dog"), dets["dog"], settings_)
    assert_identical(straight, general)


def test_the_evaluator_takes_the_straight_path_for_devkit_rules(monkeypatch):
    """A renamed copy of the devkit's rules is still the devkit's number (and path)."""
    import vocmap.core.evaluate as evaluate_module

    def general_path(*args, **kwargs):
        raise AssertionError("the devkit's rules took the general path")

    monkeypatch.setattr(evaluate_module, "evaluate_class_general", general_path)
    gt = vocmap.read_voc(GOLDEN / "random_11", cache=False)
    dets = vocmap.read_detections(GOLDEN / "random_11" / "results", gt)
    renamed = replace(DEVKIT, name="my-devkit", summary="a copy")
    result = vocmap.Evaluator(gt, semantics=renamed).evaluate(dets)
    assert result.map == vocmap.Evaluator(gt).evaluate(dets).map
    assert result.settings.is_voc2007


def test_a_custom_semantics_works_end_to_end(tmp_path):
    """Evaluate, print, write JSON, store under its own key and compare: no name lookup."""
    gt = vocmap.read_voc(GOLDEN / "edge_iou_exactly_half", cache=False)
    meta = json.loads((GOLDEN / "edge_iou_exactly_half" / "case.json").read_text())
    dets = vocmap.read_detections(GOLDEN / "edge_iou_exactly_half" / "results", gt, meta["classes"])
    custom = Semantics(name="strict", summary="the devkit with > 0.5", strict_threshold=True)
    result = vocmap.Evaluator(gt, meta["classes"], semantics=custom).evaluate(dets)
    devkit = vocmap.Evaluator(gt, meta["classes"]).evaluate(dets)
    assert result.map < devkit.map  # the exact-0.5 matches are lost
    text = format_result(result)
    assert "IoU > 0.5, strict semantics" in text and "not the VOC2007 devkit's number" in text
    assert json.loads(result.to_json(tmp_path / "r.json"))["semantics"] == "strict"
    key = result.settings.key
    assert key.startswith("voc07-iou0.5-strict~") and key != EvalSettings().key
    # A different rule set under the same name gets another key.
    other = replace(custom, precision_floor=1e-9)
    assert EvalSettings(semantics=other).key != key
    comparison = compare(gt, dets, DEVKIT, custom, meta["classes"])
    assert comparison.unexplained == []
    assert {r.rule for c in comparison.classes for r in c.reasons} == {"strict_threshold"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("sort", "quicksort"), ("strict_threshold", 1), ("pixel_offset", 2.0), ("ap_sum", "sum")],
)
def test_a_rule_value_outside_its_choices_is_refused(field, value):
    with pytest.raises(vocmap.VocmapError, match=field):
        Semantics(name="typo", summary="", **{field: value})
