"""The Python API for training loops: one ground truth, many evaluations, an accumulator."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from fixture_paths import DEMO

import vocmap
from vocmap.core.evaluate import mean_ap


@pytest.fixture(scope="module")
def demo():
    gt = vocmap.read_voc(DEMO / "VOC2007", cache=False)
    return gt, vocmap.read_detections(DEMO / "results", gt)


def test_the_demo_has_a_known_map(demo):
    """A regression anchor: the shipped demo's VOC2007 mAP (devkit semantics)."""
    gt, dets = demo
    result = vocmap.Evaluator(gt).evaluate(dets)
    assert result.map == 0.7863302603064434
    assert list(result.classes) == list(vocmap.VOC_CLASSES)
    for r in result.classes.values():
        assert r.tp + r.fp + r.ignored == r.detections
        assert r.recall.shape == r.precision.shape == (r.detections,)


def test_one_evaluator_many_detection_sets(demo):
    gt, dets = demo
    evaluator = vocmap.Evaluator(gt)
    first = evaluator.evaluate(dets)
    halved = vocmap.Detections(
        {
            name: vocmap.ClassDetections(d.image_index, d.scores * 0.5, d.boxes)
            for name, d in dets.by_class.items()
        }
    )
    assert evaluator.evaluate(halved).map == first.map  # AP depends on the order only
    assert evaluator.evaluate(dets).map == first.map


def test_accumulator_equals_reading_the_files(demo):
    gt, dets = demo
    evaluator = vocmap.Evaluator(gt)
    expected = evaluator.evaluate(dets)
    # Feed image by image, as a model would; the file order within each image and
    # class is kept, so ties break the same way.
    rows = []
    for k, (name, d) in enumerate(dets.by_class.items()):
        for i in range(len(d)):
            rows.append((int(d.line_numbers[i]), k, name, i))
    acc = evaluator.accumulator(box_format="voc")
    by_image: dict[int, list] = {}
    for _, k, name, i in sorted(rows):
        by_image.setdefault(int(dets[name].image_index[i]), []).append((k, name, i))
    for image in sorted(by_image):
        entries = by_image[image]
        acc.add(
            gt.image_ids[image],
            np.array([dets[n].boxes[i] for _, n, i in entries]),
            np.array([dets[n].scores[i] for _, n, i in entries]),
            np.array([k for k, _, _ in entries]),
        )
    got = acc.evaluate()
    # The demo's files list each class's detections image by image, so feeding
    # images in order keeps every class's file order: the results are identical.
    assert acc.images_seen == len(by_image)
    for name in vocmap.VOC_CLASSES:
        assert got.classes[name].ap == expected.classes[name].ap
        assert got.classes[name].detections == expected.classes[name].detections
    assert got.map == expected.map


def test_accumulator_labels_names_and_offsets(demo):
    gt, _ = demo
    evaluator = vocmap.Evaluator(gt, ["dog", "cat"])
    box = np.array([[1, 1, 10, 10]])
    by_name = evaluator.accumulator(box_format="voc")
    by_name.add(gt.image_ids[0], box, [0.5], ["cat"])
    by_offset = evaluator.accumulator(box_format="voc", label_offset=1)
    by_offset.add(gt.image_ids[0], box, [0.5], [2])
    assert by_name.detections()["cat"].scores.tolist() == [0.5]
    assert by_offset.detections()["cat"].scores.tolist() == [0.5]
    with pytest.raises(vocmap.InputError, match="label outside the class list"):
        by_offset.add(gt.image_ids[0], box, [0.5], [0])
    with pytest.raises(vocmap.InputError, match="not in the image set"):
        by_name.add("nope", box, [0.5], ["cat"])
    by_name.reset()
    assert len(by_name.detections()["cat"]) == 0


def test_tie_order_is_file_order():
    gt = vocmap.GroundTruth.from_arrays(
        ["a", "b"],
        object_image=[0, 1],
        object_class_names=["dog", "dog"],
        boxes=[[1, 1, 10, 10], [1, 1, 10, 10]],
        difficult=[False, False],
    )
    hit, miss = [1, 1, 10, 10], [50, 50, 60, 60]
    evaluator = vocmap.Evaluator(gt, ["dog"])
    first_hit = vocmap.Detections.from_arrays(
        gt, {"dog": (["a", "b"], [0.5, 0.5], [hit, miss])}, box_format="voc"
    )
    first_miss = vocmap.Detections.from_arrays(
        gt, {"dog": (["b", "a"], [0.5, 0.5], [miss, hit])}, box_format="voc"
    )
    assert evaluator.evaluate(first_hit).classes["dog"].precision.tolist() == [1.0, 0.5]
    assert evaluator.evaluate(first_miss).classes["dog"].precision.tolist() == [0.0, 0.5]


def test_other_metrics_are_labelled_as_not_voc2007(demo):
    gt, dets = demo
    official = vocmap.Evaluator(gt).evaluate(dets)
    assert official.is_voc2007 and "not the VOC2007" not in official.label
    area = vocmap.Evaluator(gt, metric="voc12").evaluate(dets)
    strict_iou = vocmap.Evaluator(gt, iou=0.7).evaluate(dets)
    assert "VOC2010+ area AP" in area.label and "not the VOC2007" in area.label
    assert "IoU >= 0.7" in strict_iou.label and "not the VOC2007" in strict_iou.label
    assert strict_iou.map < official.map
    assert area.map != official.map


def test_json_round_trips_floats_and_nan(tmp_path):
    gt = vocmap.GroundTruth.from_arrays(
        ["a"],
        object_image=[0, 0, 0],
        object_class_names=["bird", "bird", "dog"],
        boxes=[[10, 10, 60, 60], [200, 200, 260, 260], [1, 1, 9, 9]],
        difficult=[True, False, False],
    )
    dets = vocmap.Detections.from_arrays(
        gt,
        {
            "bird": (["a"], [0.9], [[10, 10, 60, 60]]),
            "dog": (["a", "a"], [0.3, 0.2], [[1, 1, 9, 9], [1, 1, 9, 9]]),
        },
        box_format="voc",
    )
    result = vocmap.Evaluator(gt, ["bird", "dog"]).evaluate(dets)
    assert math.isnan(result.classes["bird"].ap)  # only a difficult match: prec 0/0
    data = json.loads(result.to_json(tmp_path / "r.json"))
    assert data == json.loads((tmp_path / "r.json").read_text())
    assert data["classes"]["bird"]["ap"] is None and data["map"] is None
    assert data["classes"]["dog"] == {
        "ap": result.classes["dog"].ap,
        "npos": 1,
        "detections": 2,
        "tp": 1,
        "fp": 1,
        "ignored": 0,
    }
    assert data["classes"]["bird"]["ignored"] == 1
    curves = result.to_dict(curves=True)["classes"]["dog"]
    assert curves["prec"] == [1.0, 0.5] and curves["rec"] == [1.0, 1.0]
    assert result.flat()["ap/dog"] == result.classes["dog"].ap


def test_mean_is_summed_in_order():
    values = [0.1, 0.2, 0.3, 1e-17, 0.7]
    total = 0.0
    for v in values:
        total += v
    assert mean_ap(values) == total / 5
    assert math.isnan(mean_ap([0.5, math.nan]))
    assert math.isnan(mean_ap([]))
