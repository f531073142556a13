"""Regressions: a results file's ``category_id`` read by position instead of through
the COCO ground truth's ``categories`` (issue 18 §1 item 1), and a list or dict
``category_id`` in COCO ground truth giving a TypeError (issue 18 §2, API).

With COCO's own ids (1..90 with gaps) the mAP was 0.0032 where pycocotools gives
0.0202; with ids 7, 3, 12 for cat, dog, person every record was dropped without a
word (AP 0.0 for each class). Ids now go through the ground truth's categories,
as pycocotools matches them, and the numbers equal pycocotools' (``==``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import vocmap
from vocmap.testing import coco_reference as ref

# COCO's 80 category ids (1..90 with gaps) and names.
COCO_IDS = [
    *range(1, 12), *range(13, 26), 27, 28, *range(31, 45), *range(46, 66), 67, 70,
    *range(72, 83), *range(84, 91),
]  # fmt: skip


def coco_case(ids_names: list[tuple[int, str]], seed: int, images: int = 40):
    """A seeded COCO-format ground truth and a detector-like results list.

    Integer boxes, ``area`` = w * h and no crowd, so that pycocotools and vocmap
    see the same objects (the metric's own area and crowd rules are not at stake).
    """
    rng = np.random.default_rng(seed)
    annotations, results = [], []
    for image in range(1, images + 1):
        for _ in range(int(rng.integers(0, 4))):
            cid = ids_names[int(rng.integers(len(ids_names)))][0]
            x, y = (int(v) for v in rng.integers(0, 300, size=2))
            w, h = (int(v) for v in rng.integers(40, 120, size=2))
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image,
                    "category_id": cid,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
            for _ in range(int(rng.integers(1, 3))):  # hits of varying overlap and class
                hit_id = (
                    cid if rng.random() < 0.7 else ids_names[int(rng.integers(len(ids_names)))][0]
                )
                dx, dy = (int(v) for v in rng.integers(-4, 5, size=2))
                results.append(
                    {
                        "image_id": image,
                        "category_id": hit_id,
                        "bbox": [x + dx, y + dy, w, h],
                        "score": round(float(rng.random()), 4),
                    }
                )
        for _ in range(int(rng.integers(0, 4))):  # background
            x, y = (int(v) for v in rng.integers(0, 300, size=2))
            results.append(
                {
                    "image_id": image,
                    "category_id": ids_names[int(rng.integers(len(ids_names)))][0],
                    "bbox": [x, y, 30, 30],
                    "score": round(float(rng.random()) * 0.5, 4),
                }
            )
    document = {
        "images": [{"id": i, "width": 500, "height": 500} for i in range(1, images + 1)],
        "annotations": annotations,
        "categories": [{"id": cid, "name": name} for cid, name in ids_names],
    }
    return document, results


def vocmap_and_pycocotools(tmp_path, ids_names, seed, images=40):
    document, results = coco_case(ids_names, seed, images)
    gt_path = tmp_path / "instances.json"
    gt_path.write_text(json.dumps(document))
    results_path = tmp_path / "results.json"
    results_path.write_text(json.dumps(results))
    gt = vocmap.read_coco_ground_truth(gt_path)
    classes = [name for _, name in sorted(ids_names)]  # pycocotools' order: sorted ids
    dets = vocmap.read_coco_results(results_path, gt, classes)
    got = vocmap.Evaluator(gt, classes, metric="coco").evaluate(dets)
    precision, _, stats = ref.run_pycocotools(document, results)
    return got, precision, stats, classes


def per_class_ap(precision: np.ndarray, k: int) -> float:
    cells = precision[:, :, k, 0, -1]
    return float(np.mean(cells[cells > -1])) if (cells > -1).any() else float("nan")


@pytest.mark.parametrize("seed", [0, 1])
def test_cocos_own_ids_with_gaps_give_pycocotools_numbers(tmp_path, seed):
    ids_names = [(cid, f"category{cid}") for cid in COCO_IDS]
    got, precision, stats, classes = vocmap_and_pycocotools(tmp_path, ids_names, seed, 120)
    assert list(got.summary.values()) == stats
    assert got.map == stats[0]
    for k, name in enumerate(classes):
        ap = got.classes[name].ap
        assert ap == per_class_ap(precision, k) or (
            np.isnan(ap) and (precision[:, :, k] == -1).all()
        )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ids_7_3_12_for_cat_dog_person_give_pycocotools_aps(tmp_path, seed):
    ids_names = [(7, "cat"), (3, "dog"), (12, "person")]
    got, precision, stats, classes = vocmap_and_pycocotools(tmp_path, ids_names, seed)
    assert classes == ["dog", "cat", "person"]
    assert list(got.summary.values()) == stats
    aps = [got.classes[name].ap for name in classes]
    assert aps == [per_class_ap(precision, k) for k in range(3)]
    assert all(ap > 0 for ap in aps)  # not the 0.0 of records silently dropped


def small_gt(tmp_path):
    document = {
        "images": [{"id": 1}],
        "annotations": [{"image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 10]}],
        "categories": [{"id": 7, "name": "cat"}, {"id": 3, "name": "dog"}],
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(document))
    return vocmap.read_coco_ground_truth(path)


def write_results(tmp_path, records):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(records, indent=1))
    return path


def test_an_id_the_ground_truth_does_not_list_is_an_error_naming_record_and_line(tmp_path):
    gt = small_gt(tmp_path)
    good = {"image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 10], "score": 0.9}
    path = write_results(tmp_path, [good, {**good, "category_id": 1}])
    with pytest.raises(vocmap.InputError) as caught:
        vocmap.read_coco_results(path, gt, ["cat", "dog"])
    assert caught.value.line == 13  # json.dumps(indent=1): 11 lines a record
    assert "record 1: category_id 1 is not one of the ground truth's 2 category ids (3, 7)" in str(
        caught.value
    )
    assert "--ignore-unknown-categories" in str(caught.value)
    dets = vocmap.read_coco_results(path, gt, ["cat", "dog"], ignore_unknown_categories=True)
    assert dets.dropped_categories == 1
    assert len(dets["cat"]) == 1 and len(dets["dog"]) == 0


def test_the_voc_order_applies_only_without_ground_truth_categories(tmp_path):
    gt = small_gt(tmp_path)
    record = {"image_id": 1, "category_id": 8, "bbox": [0, 0, 10, 10], "score": 0.9}
    path = write_results(tmp_path, [record])  # 8 is cat in VOC's order, not in this file
    with pytest.raises(vocmap.InputError, match="category_id 8 is not one of"):
        vocmap.read_coco_results(path, gt, ["cat", "dog"])
    xml_like = vocmap.GroundTruth.from_arrays(["1"])
    assert len(vocmap.read_coco_results(path, xml_like, ["cat", "dog"])["cat"]) == 1


def test_results_default_to_the_ground_truths_categories_in_id_order(tmp_path):
    gt = small_gt(tmp_path)
    records = [
        {"image_id": 1, "category_id": 7, "bbox": [0, 0, 10, 10], "score": 0.9},
        {"image_id": 1, "category_id": 3, "bbox": [0, 0, 10, 10], "score": 0.8},
    ]
    dets = vocmap.read_coco_results(write_results(tmp_path, records), gt)
    assert list(dets.by_class) == ["dog", "cat"]
    assert len(dets["dog"]) == len(dets["cat"]) == 1


@pytest.mark.parametrize("bad", [[1], {"id": 1}, 1.0, "1", None, True])
def test_a_category_id_of_the_wrong_type_in_coco_ground_truth_is_an_input_error(tmp_path, bad):
    document = {
        "images": [{"id": 1}],
        "annotations": [{"image_id": 1, "category_id": bad, "bbox": [0, 0, 10, 10]}],
        "categories": [{"id": 1, "name": "cat"}],
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(document))
    with pytest.raises(vocmap.InputError, match=r"annotation 0: category_id .* is not an integer"):
        vocmap.read_coco_ground_truth(path)


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("image_id", [1], "image_id \\[1\\] is not in 'images'"),
        ("image_id", {"a": 1}, "image_id .* is not in 'images'"),
        ("image_id", 1.0, "image_id 1.0 is not in 'images'"),
        ("bbox", {"x": 1}, "bbox must be"),
        ("bbox", [[0], 0, 1, 1], "bbox must be numbers"),
        ("iscrowd", [1], "iscrowd must be 0 or 1"),
        ("iscrowd", {"a": 1}, "iscrowd must be 0 or 1"),
        ("difficult", 1.0, "difficult must be 0 or 1"),
    ],
)
def test_other_annotation_fields_of_the_wrong_type_are_input_errors(tmp_path, field, bad, message):
    record = {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], field: bad}
    document = {
        "images": [{"id": 1}],
        "annotations": [record],
        "categories": [{"id": 1, "name": "cat"}],
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(document))
    with pytest.raises(vocmap.InputError, match=f"annotation 0: {message}"):
        vocmap.read_coco_ground_truth(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"categories": [{"id": [1], "name": "cat"}]}, "category 0: id \\[1\\] is not an integer"),
        ({"categories": [{"id": 1.0, "name": "cat"}]}, "category 0: id 1.0 is not an integer"),
        ({"categories": [{"id": 1, "name": ["cat"]}]}, "category 0: name"),
        ({"categories": {"1": "cat"}}, "no 'categories' list"),
        ({"images": [{"id": [1]}]}, "image 0: id \\[1\\] is not an integer or a string"),
        ({"images": [{"id": {"a": 1}}]}, "image 0: id .* is not an integer or a string"),
        ({"images": [{"id": 1.5}]}, "image 0: id 1.5 is not an integer or a string"),
        ({"images": [[1]]}, "image 0 is not an object"),
        ({"annotations": {"0": {}}}, "'annotations' must be a list"),
        ({"annotations": [[1]]}, "annotation 0 is not an object"),
    ],
)
def test_other_fields_of_the_wrong_type_are_input_errors(tmp_path, change, message):
    document = {
        "images": [{"id": 1}],
        "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]}],
        "categories": [{"id": 1, "name": "cat"}],
        **change,
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(document))
    with pytest.raises(vocmap.InputError, match=message):
        vocmap.read_coco_ground_truth(path)


@pytest.mark.parametrize("categories", [[(1, "cat")], "cat", 7])
def test_a_categories_argument_that_is_not_a_mapping_is_an_input_error(tmp_path, categories):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    with pytest.raises(vocmap.InputError, match="categories must be a mapping"):
        vocmap.read_coco_ground_truth(path, categories=categories)
