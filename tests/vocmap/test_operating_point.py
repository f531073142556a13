"""The operating point (best F1, or a given threshold) and the PR curves as data.

The independent computation is brute force in plain Python: the devkit's outcomes from
the transcription of VOCevaldet.m (vocmap/testing/devkit_reference.py), then, for every
candidate threshold, the detections scored at least that much counted one by one, and
F1 compared as exact fractions.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from budget import examples
from fixture_paths import GOLDEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vocmap
from vocmap.analysis.operating_point import class_operating_point, pr_curves
from vocmap.cli import main
from vocmap.core import kernels
from vocmap.testing import devkit_reference as ref

CASE = GOLDEN / "random_11"
CLI_CASE = ["evaluate", str(CASE / "results"), "--voc-root", str(CASE), "--classes", "dog", "cat"]


def same(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


def golden():
    gt = vocmap.read_voc(CASE, cache=False)
    dets = vocmap.read_detections(CASE / "results", gt)
    return gt, dets


# --------------------------------------------------------------------------- #
# Against brute force on random cases
# --------------------------------------------------------------------------- #


@st.composite
def matched_class(draw):
    """Scores with ties and the devkit's outcomes for them (from the transcription)."""
    n_images = draw(st.integers(1, 4))
    gt_by_image, row = [], 0
    for _ in range(n_images):
        objects = []
        for _ in range(draw(st.integers(0, 3))):
            x, y = draw(st.integers(1, 30)), draw(st.integers(1, 30))
            objects.append((row, (x, y, x + 9.0, y + 9.0), draw(st.booleans())))
            row += 1
        gt_by_image.append(objects)
    n = draw(st.integers(0, 25))
    det_image = [draw(st.integers(0, n_images - 1)) for _ in range(n)]
    boxes = []
    for image in det_image:
        if gt_by_image[image] and draw(st.booleans()):
            _, box, _ = gt_by_image[image][draw(st.integers(0, len(gt_by_image[image]) - 1))]
            boxes.append(tuple(v + draw(st.integers(-2, 2)) for v in box))
        else:
            boxes.append((5.0, 5.0, 14.0, 14.0))
    scores = [draw(st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9, -0.2])) for _ in range(n)]
    order = ref.naive_stable_descending_order(scores)
    outcome, _, _ = ref.naive_match_detections(order, det_image, boxes, gt_by_image)
    by_detection = [0] * n
    for rank, d in enumerate(order):
        by_detection[d] = outcome[rank]
    npos = sum(1 for objects in gt_by_image for _, _, difficult in objects if not difficult)
    return scores, by_detection, npos


def brute_force_point(scores, outcome, npos, threshold):
    kept = [o for s, o in zip(scores, outcome) if s >= threshold]
    tp = kept.count(kernels.TRUE_POSITIVE)
    fp = kept.count(kernels.FALSE_POSITIVE)
    return tp, fp, len(kept) - tp - fp


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matched_class(), st.sampled_from([None, 0.5, 0.3, -1.0, 2.0, 0.65]))
def test_operating_point_equals_brute_force(case, threshold):
    scores, outcome, npos = case
    point = class_operating_point(
        "dog", np.array(scores, dtype=np.float64), np.array(outcome, dtype=np.int8), npos, threshold
    )
    assert point.detections == point.tp + point.fp + point.ignored
    if threshold is not None:
        assert (point.tp, point.fp, point.ignored) == brute_force_point(
            scores, outcome, npos, threshold
        )
        assert point.threshold == threshold
    else:
        candidates = sorted(set(scores), reverse=True)
        best, best_t = None, math.nan
        for t in candidates:  # highest threshold first: ties keep the higher one
            tp, fp, _ = brute_force_point(scores, outcome, npos, t)
            if tp + fp + npos == 0:
                continue
            f1 = Fraction(2 * tp, tp + fp + npos)
            if best is None or f1 > best:
                best, best_t = f1, t
        if best is None:
            assert math.isnan(point.threshold) and point.detections == 0
            return
        assert point.threshold == best_t
        assert (point.tp, point.fp, point.ignored) == brute_force_point(
            scores, outcome, npos, best_t
        )
        assert point.f1 == float(best)
    for kept in (point.tp + point.fp,):
        assert same(point.precision, point.tp / kept if kept else math.nan)
    assert same(point.recall, point.tp / npos if npos else math.nan)


# --------------------------------------------------------------------------- #
# The curves are the AP's points
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("metric", ["voc07", "voc12"])
@pytest.mark.parametrize("semantics", ["devkit", "py-faster-rcnn", "ssd_keras", "chainercv"])
def test_curve_points_are_the_ones_the_ap_was_computed_from(metric, semantics):
    gt, dets = golden()
    result = vocmap.Evaluator(gt, metric=metric, semantics=semantics).evaluate(dets)
    curves = vocmap.pr_curves(result, dets)
    for name, c in curves.items():
        r = result.classes[name]
        n = r.detections
        # The counts add up at every rank, and precision and recall come from them.
        assert np.array_equal(c.tp + c.fp + c.ignored, np.arange(1, n + 1))
        assert (c.tp[-1], c.fp[-1], c.ignored[-1]) == (r.tp, r.fp, r.ignored) if n else True
        if semantics == "devkit":
            with np.errstate(invalid="ignore", divide="ignore"):
                assert np.array_equal(c.recall, c.tp / r.npos, equal_nan=True)
                assert np.array_equal(c.precision, c.tp / (c.tp + c.fp), equal_nan=True)
            # The AP recomputed from the exported points is the AP, bit for bit.
            if metric == "voc07":
                again = kernels.average_precision_11point(c.recall, c.precision)
            else:
                again = kernels.average_precision_area(c.recall, c.precision)
            assert same(again, r.ap)
        assert np.all(np.diff(c.score) <= 0) or semantics != "devkit"


def test_curve_matches_the_devkit_transcription_on_a_golden_class():
    gt, dets = golden()
    result = vocmap.Evaluator(gt, ["dog"]).evaluate(dets)
    curve = pr_curves(result, dets)["dog"]
    image_ids = ref.read_image_set(CASE / "ImageSets" / "Main" / "test.txt")
    objects = ref.load_ground_truth(CASE / "Annotations", image_ids)
    ids, confidence, boxes = ref.read_results(CASE / "results" / "comp4_det_test_dog.txt")
    rec, prec, ap = ref.evaluate_parsed(ids, confidence, boxes, image_ids, objects, "dog")
    assert np.array_equal(curve.recall, rec) and np.array_equal(
        curve.precision, prec, equal_nan=True
    )
    assert curve.score.tolist() == sorted(confidence, reverse=True)
    assert ap == result.classes["dog"].ap


def test_operating_points_micro_row_adds_the_counts():
    gt, dets = golden()
    result = vocmap.Evaluator(gt).evaluate(dets)
    for threshold in (None, 0.5):
        points = vocmap.operating_points(result, dets, threshold)
        for key in ("tp", "fp", "ignored", "npos", "detections"):
            assert getattr(points.micro, key) == sum(
                getattr(p, key) for p in points.classes.values()
            )
        micro = points.micro
        assert micro.f1 == 2 * micro.tp / (micro.tp + micro.fp + micro.npos)
        assert points.rule == ("max-f1" if threshold is None else "threshold")
        data = points.to_dict()
        assert set(data["classes"]) == set(result.classes)
        json.dumps(data, allow_nan=False)


# --------------------------------------------------------------------------- #
# API: bad input
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("threshold", [math.nan, math.inf, -math.inf, "0.5", True, None])
def test_a_bad_threshold_is_refused(threshold):
    gt, dets = golden()
    result = vocmap.Evaluator(gt, ["dog"]).evaluate(dets)
    if threshold is None:
        assert vocmap.operating_points(result, dets, threshold).threshold is None
        return
    with pytest.raises(vocmap.VocmapError, match="threshold"):
        vocmap.operating_points(result, dets, threshold)


def test_other_detections_or_a_coco_result_are_refused():
    gt, dets = golden()
    result = vocmap.Evaluator(gt, ["dog"]).evaluate(dets)
    other = vocmap.read_detections(
        GOLDEN / "random_12" / "results", vocmap.read_voc(GOLDEN / "random_12", cache=False)
    )
    with pytest.raises(vocmap.VocmapError, match="not the detections of this result"):
        vocmap.pr_curves(result, other)
    with pytest.raises(vocmap.VocmapError, match="EvalResult"):
        vocmap.operating_points({"dog": 1}, dets)
    with pytest.raises(vocmap.VocmapError, match="Detections"):
        vocmap.pr_curves(result, {"dog": []})
    coco = vocmap.Evaluator(gt, ["dog"], metric="coco50").evaluate(dets)
    with pytest.raises(vocmap.VocmapError, match="VOC metric"):
        vocmap.operating_points(coco, dets)


# --------------------------------------------------------------------------- #
# CLI
# --------------------------------------------------------------------------- #


def test_cli_shows_both_tables_and_the_json_carries_them(capsys, tmp_path):
    assert main([*CLI_CASE, "--operating-point", "--threshold", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "score threshold with the best F1" in out and "every class at score >= 0.5" in out
    assert out.count("\nmicro ") == 2
    assert main([*CLI_CASE, "--operating-point", "--json", str(tmp_path / "r.json")]) == 0
    data = json.loads((tmp_path / "r.json").read_text())
    (points,) = data["operating_points"]
    assert points["rule"] == "max-f1" and set(points["classes"]) == {"dog", "cat"}


@pytest.mark.parametrize("suffix", [".csv", ".json", ".CSV"])
def test_cli_curves_file_by_extension(tmp_path, suffix):
    path = tmp_path / f"curves{suffix}"
    assert main([*CLI_CASE, "--curves", str(path), "--quiet"]) == 0
    gt, dets = golden()
    result = vocmap.Evaluator(gt, ["dog", "cat"]).evaluate(dets)
    text = path.read_text()
    if suffix == ".json":
        data = json.loads(text)["classes"]
        assert data["dog"]["recall"] == result.classes["dog"].recall.tolist()
        assert len(data["cat"]["score"]) == result.classes["cat"].detections
    else:
        rows = text.splitlines()
        assert rows[0] == "class,rank,score,tp,fp,ignored,precision,recall"
        assert len(rows) == 1 + result.classes["dog"].detections + result.classes["cat"].detections
        last_dog = [r for r in rows if r.startswith("dog,")][-1].split(",")
        assert float(last_dog[7]) == result.classes["dog"].recall[-1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--threshold", "nan"], "--threshold"),
        (["--threshold", "inf"], "--threshold"),
        (["--threshold", "abc"], "--threshold"),
        (["--curves", "curves.txt"], "--curves"),
        (["--curves", ""], "--curves"),
        (["--curves", "-", "--json", "-"], "stdout"),
        (["--operating-point", "--metric", "coco50"], "VOC metric"),
        (["--curves", "c.csv", "--metric", "coco"], "VOC metric"),
    ],
)
def test_cli_bad_operating_point_options_are_one_line(
    capsys, tmp_path, monkeypatch, extra, message
):
    monkeypatch.chdir(tmp_path)
    try:
        code = main([*CLI_CASE, *extra, "--quiet"])
    except SystemExit as stop:  # argparse's own refusals (usage, then the line)
        code = stop.code
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err.strip().splitlines()[-1]
    assert "Traceback" not in captured.err
    assert list(tmp_path.iterdir()) == []  # nothing written
