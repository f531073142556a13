"""COCO's metric on COCO data (issue 20 item 3): ``==`` pycocotools 2.0.11.

Seeded COCO-shaped cases (vocmap.testing.coco_cases) carry what VOC converted to
COCO lacks: ``area`` unlike ``w * h`` (some exactly at 32^2 and 96^2), crowd
regions, integer image ids listed out of order (pycocotools visits them sorted;
that order breaks score ties), category ids with gaps, images past 100 detections.
The ground truth goes through ``read_coco_ground_truth``; every one of the twelve
numbers, every per-class AP and the precision and recall arrays must be equal.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import vocmap
from vocmap.core import coco
from vocmap.core.detections import Detections
from vocmap.testing import coco_reference as ref
from vocmap.testing.coco_cases import coco_case


def vocmap_inputs(tmp_path, ground_truth: dict, results: list[dict]):
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(ground_truth))
    gt = vocmap.read_coco_ground_truth(path)
    names = {c["id"]: c["name"] for c in ground_truth["categories"]}
    classes = [names[c] for c in sorted(names)]  # pycocotools' order: sorted ids
    per_class: dict[str, tuple[list, list, list]] = {c: ([], [], []) for c in classes}
    for record in results:
        images, scores, boxes = per_class[names[record["category_id"]]]
        images.append(record["image_id"])
        scores.append(record["score"])
        boxes.append(record["bbox"])
    arrays = {
        c: (np.array(i, dtype=np.int64), np.array(s), np.array(b).reshape(-1, 4))
        for c, (i, s, b) in per_class.items()
    }
    return gt, Detections.from_arrays(gt, arrays, box_format="xywh"), classes


def check_equal(tmp_path, ground_truth: dict, results: list[dict]) -> None:
    gt, dets, classes = vocmap_inputs(tmp_path, ground_truth, results)
    their_precision, their_recall, stats = ref.run_pycocotools(ground_truth, results)
    precision, recall = coco.coco_arrays(gt, dets, classes, coco.COCO_PARAMS)
    assert np.array_equal(precision, their_precision)
    assert np.array_equal(recall, their_recall)
    result = vocmap.Evaluator(gt, classes, metric="coco").evaluate(dets)
    assert list(result.summary.values()) == stats
    for k, name in enumerate(classes):
        cells = their_precision[:, :, k, 0, -1]
        expected = float(np.mean(cells[cells > -1])) if (cells > -1).any() else float("nan")
        assert result.classes[name].ap == expected or (
            np.isnan(expected) and np.isnan(result.classes[name].ap)
        )


@pytest.mark.parametrize(
    ("n_images", "n_categories", "n_detections", "seed"),
    [(12, 4, 60, 1), (40, 10, 700, 2), (60, 80, 900, 3), (25, 3, 1200, 4)],
)
def test_coco_shaped_cases_equal_pycocotools(
    tmp_path, monkeypatch, n_images, n_categories, n_detections, seed
):
    monkeypatch.setattr(coco, "PARALLEL_MIN_WORK", 0)  # every thread numba has, even here
    ground_truth, results = coco_case(n_images, n_categories, n_detections, seed=seed, crowd=0.05)
    check_equal(tmp_path, ground_truth, results)


def small_case(annotations: list[dict], results: list[dict], image_ids=(7,)) -> dict:
    return {
        "images": [{"id": i, "file_name": f"{i}.jpg"} for i in image_ids],
        "annotations": [{"id": n + 1, **a} for n, a in enumerate(annotations)],
        "categories": [{"id": 3, "name": "car"}],
    }


def test_the_area_field_sets_the_size_range_not_the_box(tmp_path):
    # A 50x50 box (2500: medium) whose segment covers 900 (small): small, as pycocotools.
    annotation = {"image_id": 7, "category_id": 3, "bbox": [10, 10, 50, 50], "area": 900.0}
    results = [{"image_id": 7, "category_id": 3, "bbox": [10, 10, 50, 50], "score": 0.9}]
    ground_truth = small_case([{**annotation, "iscrowd": 0}], results)
    gt, dets, classes = vocmap_inputs(tmp_path, ground_truth, results)
    summary = vocmap.Evaluator(gt, classes, metric="coco").evaluate(dets).summary
    assert summary["APs"] == 1.0 / (1.0 + np.spacing(1)) and summary["APm"] == -1.0
    check_equal(tmp_path, ground_truth, results)


def test_iscrowd_and_difficult_stay_apart(tmp_path):
    # difficult (VOC) but not a crowd region: COCO's metric counts it, VOC's ignores it.
    annotation = {"image_id": 7, "category_id": 3, "bbox": [10, 10, 50, 50], "area": 2500.0}
    results = [{"image_id": 7, "category_id": 3, "bbox": [10, 10, 50, 50], "score": 0.9}]
    ground_truth = small_case([{**annotation, "iscrowd": 0, "difficult": 1}], results)
    gt, dets, classes = vocmap_inputs(tmp_path, ground_truth, results)
    assert gt.difficult.tolist() == [True] and gt.iscrowd.tolist() == [False]
    assert vocmap.Evaluator(gt, classes, metric="coco").evaluate(dets).map > 0.99
    assert vocmap.Evaluator(gt, classes).evaluate(dets).classes["car"].ignored == 1
    check_equal(tmp_path, ground_truth, results)


def test_images_are_visited_in_increasing_integer_id_on_score_ties(tmp_path):
    # Two images listed 20 then 3; one object each; equal scores: a false positive
    # in image 3 and a true positive in image 20. pycocotools visits 3 first (FP
    # then TP); the file order would give TP then FP, another precision.
    annotations = [
        {"image_id": 20, "category_id": 3, "bbox": [0, 0, 40, 40], "area": 1600.0, "iscrowd": 0},
        {"image_id": 3, "category_id": 3, "bbox": [0, 0, 40, 40], "area": 1600.0, "iscrowd": 0},
    ]
    results = [
        {"image_id": 20, "category_id": 3, "bbox": [0, 0, 40, 40], "score": 0.5},
        {"image_id": 3, "category_id": 3, "bbox": [200, 200, 40, 40], "score": 0.5},
    ]
    ground_truth = small_case(annotations, results, image_ids=(20, 3))
    gt, dets, classes = vocmap_inputs(tmp_path, ground_truth, results)
    assert gt.coco_image_ids.tolist() == [20, 3]
    check_equal(tmp_path, ground_truth, results)
    ap50 = vocmap.Evaluator(gt, classes, metric="coco").evaluate(dets).summary["AP50"]
    assert ap50 < 0.5  # the FP comes first: precision 0.5 at recall 0.5


@pytest.mark.parametrize("area", ["900", None, True, float("inf"), 10**400])
def test_an_area_that_is_not_a_finite_number_is_refused(tmp_path, area):
    annotation = {"image_id": 7, "category_id": 3, "bbox": [10, 10, 50, 50], "area": area}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(small_case([annotation], [])).replace("Infinity", "1e999"))
    with pytest.raises(vocmap.InputError, match="annotation 0: area must be a finite number"):
        vocmap.read_coco_ground_truth(path)


def test_without_iscrowd_keys_the_difficult_flags_are_the_crowd_regions(tmp_path):
    annotation = {"image_id": 7, "category_id": 3, "bbox": [10, 10, 50, 50], "difficult": 1}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(small_case([annotation], [])))
    gt = vocmap.read_coco_ground_truth(path)
    assert gt.iscrowd is None and gt.difficult.tolist() == [True]
    assert gt.area.tolist() == [2500.0]  # no area: w * h


def test_from_arrays_keeps_the_coco_columns_in_image_order_and_refuses_a_nan_area():
    gt = vocmap.GroundTruth.from_arrays(
        ["a", "b"],
        np.array([1, 0]),
        ["car", "car"],
        np.array([[1, 1, 10, 10], [1, 1, 20, 20]], dtype=float),
        area=np.array([5.0, 7.0]),
        iscrowd=np.array([True, False]),
    )
    assert gt.area.tolist() == [7.0, 5.0] and gt.iscrowd.tolist() == [False, True]
    with pytest.raises(vocmap.InputError, match="area"):
        vocmap.GroundTruth.from_arrays(
            ["a"], np.array([0]), ["car"], np.ones((1, 4)), area=np.array([np.nan])
        )
