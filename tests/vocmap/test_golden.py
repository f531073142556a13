"""The devkit's own answers (data_fixtures/golden, made by VOCevaldet.m) reproduced exactly.

Every comparison is ``==`` on doubles (NaN where the devkit gives NaN), never a
tolerance.
"""

from __future__ import annotations

import json
import math

import pytest
from fixture_paths import GOLDEN

import vocmap
from vocmap.cli import main
from vocmap.testing import devkit_reference as reference_devkit

CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def _load(case: str) -> tuple[dict, dict]:
    folder = GOLDEN / case
    return (
        json.loads((folder / "case.json").read_text()),
        json.loads((folder / "expected.json").read_text())["classes"],
    )


def _same(actual: float, expected: float | None) -> bool:
    """Bitwise-equal doubles, with null meaning NaN."""
    if expected is None:
        return math.isnan(actual)
    return actual == expected and math.copysign(1, actual) == math.copysign(1, expected)


def _same_vector(actual, expected) -> bool:
    return len(actual) == len(expected) and all(
        _same(float(a), e) for a, e in zip(actual, expected)
    )


def test_every_golden_case_is_present():
    assert len(CASES) == 15
    assert {"random_large_14", "edge_recall_on_thresholds", "edge_unknown_image"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_api_reproduces_devkit(case):
    meta, expected = _load(case)
    ground_truth = vocmap.read_voc(GOLDEN / case, "test", cache=False)
    evaluator = vocmap.Evaluator(ground_truth, meta["classes"])
    for cls in meta["classes"]:
        want = expected[cls]
        path = GOLDEN / case / "results" / f"comp4_det_test_{cls}.txt"
        if "error" in want:
            with pytest.raises(vocmap.InputError) as caught:
                vocmap.read_result_file(path, ground_truth)
            # The devkit: 'unrecognized image "999999"'; we name the id, file and line.
            image_id = want["error"].split('"')[1]
            assert f'image "{image_id}" is not in the image set' in str(caught.value)
            assert str(path) in str(caught.value)
            continue
        detections, dropped = vocmap.read_result_file(path, ground_truth)
        assert dropped == 0
        result = evaluator.evaluate_class(cls, detections)
        assert _same(result.ap, want["ap"]), (cls, result.ap, want["ap"])
        assert result.detections == want["detections"]
        if "rec" in want:
            assert _same_vector(result.recall, want["rec"]), cls
            assert _same_vector(result.precision, want["prec"]), cls


@pytest.mark.parametrize("case", CASES)
def test_cli_json_reproduces_devkit(case, tmp_path):
    meta, expected = _load(case)
    out = tmp_path / "result.json"
    argv = [
        "evaluate",
        str(GOLDEN / case / "results"),
        "--voc-root",
        str(GOLDEN / case),
        "--classes",
        *meta["classes"],
        "--json",
        str(out),
        "--quiet",
    ]
    status = main(argv)
    if any("error" in e for e in expected.values()):
        assert status == 2
        assert not out.exists()
        return
    assert status == 0
    written = json.loads(out.read_text())
    assert written["metric"] == "voc07" and written["iou"] == 0.5
    for cls in meta["classes"]:
        ap = written["classes"][cls]["ap"]
        assert (ap is None and expected[cls]["ap"] is None) or ap == expected[cls]["ap"]
    aps = [math.nan if e["ap"] is None else e["ap"] for e in expected.values()]
    total = 0.0
    for ap in aps:
        total += ap
    mean = total / len(aps)
    assert (written["map"] is None and math.isnan(mean)) or written["map"] == mean


@pytest.mark.parametrize("case", CASES)
def test_plain_python_reference_reproduces_devkit(case):
    """The transcription the parity tests trust is itself right on every case."""
    meta, expected = _load(case)
    folder = GOLDEN / case
    image_ids = reference_devkit.read_image_set(folder / "ImageSets" / "Main" / "test.txt")
    objects = reference_devkit.load_ground_truth(folder / "Annotations", image_ids)
    for cls in meta["classes"]:
        path = folder / "results" / f"comp4_det_test_{cls}.txt"
        if "error" in expected[cls]:
            with pytest.raises(reference_devkit.DevkitError, match="unrecognized image"):
                reference_devkit.voc_eval_devkit(path, image_ids, objects, cls)
            continue
        rec, prec, ap = reference_devkit.voc_eval_devkit(path, image_ids, objects, cls)
        assert _same(ap, expected[cls]["ap"])
        if "rec" in expected[cls]:
            assert _same_vector(rec, expected[cls]["rec"])
            assert _same_vector(prec, expected[cls]["prec"])


def test_numpy_arange_thresholds_would_break_parity():
    """Guards the reason for MATLAB's thresholds: with arange, these cases change."""
    from vocmap.core.kernels import MATLAB_RECALL_THRESHOLDS

    arange = [k * 0.1 for k in range(11)]
    assert list(MATLAB_RECALL_THRESHOLDS) != arange
    assert MATLAB_RECALL_THRESHOLDS[6] == 0.6 and MATLAB_RECALL_THRESHOLDS[7] == 0.7
    meta, expected = _load("edge_recall_on_thresholds")
    ground_truth = vocmap.read_voc(GOLDEN / "edge_recall_on_thresholds", cache=False)
    cls = meta["classes"][0]
    detections, _ = vocmap.read_result_file(
        GOLDEN / "edge_recall_on_thresholds" / "results" / f"comp4_det_test_{cls}.txt", ground_truth
    )
    result = vocmap.Evaluator(ground_truth, [cls]).evaluate_class(cls, detections)
    wrong = reference_devkit.naive_ap_11point(
        list(result.recall), list(result.precision), thresholds=arange
    )
    assert result.ap == expected[cls]["ap"]
    assert wrong != expected[cls]["ap"]
