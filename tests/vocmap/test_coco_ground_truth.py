"""Ground truth from COCO-format json and from VOCDetection targets (issue 12 item 4)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from framework_case import cli_aps, demo_images, result_aps, same

import vocmap
from vocmap.integrations.torchvision import ground_truth_from_voc_targets


def voc_as_coco(gt: vocmap.GroundTruth, flag: str = "difficult") -> dict:
    """The XML ground truth converted to COCO json, as mmdet's converter does."""
    names = sorted(set(gt.class_names))
    categories = [{"id": 10 + k, "name": n} for k, n in enumerate(names)]  # not 1..20
    annotations = []
    for row in range(gt.object_image.shape[0]):
        x1, y1, x2, y2 = gt.boxes[row]
        record = {
            "id": row,
            "image_id": int(gt.image_ids[gt.object_image[row]]),
            "category_id": 10 + names.index(gt.class_names[gt.object_class[row]]),
            "bbox": [x1 - 1, y1 - 1, x2 - x1 + 1, y2 - y1 + 1],
            "area": 0,
        }
        record[flag] = int(gt.difficult[row])
        annotations.append(record)
    images = [{"id": int(i), "file_name": f"JPEGImages/{i}.jpg"} for i in gt.image_ids]
    return {"images": images, "annotations": annotations, "categories": categories}


@pytest.mark.parametrize("flag", ["difficult", "iscrowd", "ignore"])
def test_voc_xml_converted_to_coco_json_gives_identical_aps(tmp_path, flag):
    gt, images = demo_images()
    expected = cli_aps(images, tmp_path)
    path = tmp_path / "instances_test.json"
    path.write_text(json.dumps(voc_as_coco(gt, flag)))
    coco_gt = vocmap.read_coco_ground_truth(path)
    assert coco_gt.image_ids == tuple(str(int(i)) for i in gt.image_ids)
    assert coco_gt.boxes.tobytes() == gt.boxes.tobytes()  # objects in file order
    assert coco_gt.difficult.tolist() == gt.difficult.tolist()
    assert coco_gt.source == os.fspath(path)
    # the detections name the images by the file's integer ids
    acc = vocmap.Evaluator(coco_gt).accumulator("xyxy")
    for im in images:
        acc.add(int(im.image_id), im.boxes, im.scores, im.labels)
    assert same(result_aps(acc.evaluate()), expected)


def test_file_stem_ids_match_devkit_result_files(tmp_path):
    gt, images = demo_images()
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(voc_as_coco(gt)))
    coco_gt = vocmap.read_coco_ground_truth(path, image_ids="file_stem")
    assert coco_gt.image_ids == gt.image_ids
    folder = tmp_path / "results"
    from framework_case import write_result_files

    write_result_files(images, folder)
    got = vocmap.Evaluator(coco_gt).evaluate(vocmap.read_detections(folder, coco_gt))
    assert same(result_aps(got), cli_aps(images, tmp_path / "cli"))


def test_the_category_mapping_is_the_files_or_the_callers_never_a_position(tmp_path):
    document = {
        "images": [{"id": 5}],
        "annotations": [{"image_id": 5, "category_id": 3, "bbox": [0, 0, 10, 10]}],
        "categories": [{"id": 3, "name": "dog"}],
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(document))
    assert vocmap.read_coco_ground_truth(path).class_names == ("dog",)
    assert vocmap.read_coco_ground_truth(path, categories={3: "cat"}).class_names == ("cat",)
    with pytest.raises(vocmap.InputError, match="annotation 0: category_id 3 is not a category"):
        vocmap.read_coco_ground_truth(path, categories={1: "dog"})


def write(tmp_path, document, name="gt.json"):
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


GOOD = {
    "images": [{"id": 1}],
    "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]}],
    "categories": [{"id": 1, "name": "dog"}],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"images": "x"}, "'images' must be a list"),
        ({"images": [{"id": 1}, {"id": 1}]}, "image 1: id 1 is listed twice"),
        ({"images": [{"id": True}]}, "is not an integer or a string"),
        ({"categories": [{"id": 1, "name": "dog"}, {"id": 1, "name": "cat"}]}, "listed twice"),
        ({"categories": [{"id": 1, "name": "dog"}, {"id": 2, "name": "dog"}]}, "same name"),
        ({"annotations": [{"image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}]}, "image_id 2"),
        (
            {"annotations": [{"image_id": "1", "category_id": 1, "bbox": [0, 0, 1, 1]}]},
            "image_id '1'",
        ),
        (
            {"annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1]}]},
            r"\[x, y, w, h\]",
        ),
        ({"annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, "1"]}]}, "numbers"),
        (
            {"annotations": [{"image_id": 1, "category_id": 1, "bbox": [1e308, 0, 1e308, 1]}]},
            "overflows",
        ),
        (
            {
                "annotations": [
                    {"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": 2}
                ]
            },
            "iscrowd must be 0 or 1",
        ),
        ({"categories": None}, "no 'categories' list"),
    ],
)
def test_malformed_annotations_are_one_error_naming_file_and_record(tmp_path, change, message):
    path = write(tmp_path, {**GOOD, **change})
    with pytest.raises(vocmap.InputError, match=message) as caught:
        vocmap.read_coco_ground_truth(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "malformed JSON"),
        ('{"images": [{"id": ' + "9" * 5000 + "}]}", "malformed JSON"),
        ("\xff", "not UTF-8"),
        ("[]", "expected a JSON object"),
    ],
)
def test_hostile_json_is_one_error(tmp_path, text, message):
    path = tmp_path / "gt.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(vocmap.InputError, match=message):
        vocmap.read_coco_ground_truth(path)


def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "gt.json"
    os.mkfifo(fifo)
    with pytest.raises(vocmap.InputError, match="not a regular file"):
        vocmap.read_coco_ground_truth(fifo)
    with pytest.raises(vocmap.InputError, match="not found"):
        vocmap.read_coco_ground_truth(tmp_path / "missing.json")


def test_control_characters_in_values_are_escaped(tmp_path):
    path = write(
        tmp_path,
        {
            **GOOD,
            "images": [{"id": "\x1b]0;x\x07"}],
            "annotations": [{"image_id": "\x1b[31m", "category_id": 1, "bbox": [0, 0, 1, 1]}],
        },
    )
    with pytest.raises(vocmap.InputError) as caught:
        vocmap.read_coco_ground_truth(path)
    assert "\x1b" not in str(caught.value) and "\\x1b" in str(caught.value)


# -- torchvision VOCDetection targets -----------------------------------------------


def voc_targets(gt: vocmap.GroundTruth) -> list[dict]:
    """The parsed-XML dicts torchvision's VOCDetection returns (strings everywhere)."""
    targets = []
    for index, image_id in enumerate(gt.image_ids):
        objects = []
        for row in np.flatnonzero(gt.object_image == index):
            box = gt.boxes[row]
            objects.append(
                {
                    "name": gt.class_names[gt.object_class[row]],
                    "difficult": str(int(gt.difficult[row])),
                    "bndbox": dict(zip(("xmin", "ymin", "xmax", "ymax"), (f"{v:g}" for v in box))),
                }
            )
        annotation = {"filename": f"{image_id}.jpg"}
        if objects:
            annotation["object"] = objects if len(objects) > 1 else objects[0]
        targets.append({"annotation": annotation})
    return targets


def test_voc_detection_targets_give_the_xml_ground_truth(tmp_path):
    gt, images = demo_images()
    from_targets = ground_truth_from_voc_targets(voc_targets(gt))
    assert from_targets.image_ids == gt.image_ids
    assert from_targets.boxes.tobytes() == gt.boxes.tobytes()
    assert from_targets.difficult.tolist() == gt.difficult.tolist()
    acc = vocmap.Evaluator(from_targets).accumulator("xyxy")
    for im in images:
        acc.add(im.image_id, im.boxes, im.scores, im.labels)
    assert same(result_aps(acc.evaluate()), cli_aps(images, tmp_path))


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (
            {"name": "dog", "bndbox": {"xmin": "2_00", "ymin": "1", "xmax": "5", "ymax": "5"}},
            "xmin",
        ),
        (
            {"name": "dog", "bndbox": {"xmin": "\u0662", "ymin": "1", "xmax": "5", "ymax": "5"}},
            "xmin",
        ),
        (
            {"name": "dog", "bndbox": {"xmin": "1e999", "ymin": "1", "xmax": "5", "ymax": "5"}},
            "finite",
        ),
        ({"name": "dog", "difficult": "2", "bndbox": {}}, "difficult must be 0 or 1"),
        ({"bndbox": {}}, "has no 'name'"),
        ({"name": "dog"}, "has no 'bndbox'"),
    ],
)
def test_bad_targets_are_one_error_naming_the_image(obj, message):
    target = {"annotation": {"filename": "000001.jpg", "object": [obj]}}
    with pytest.raises(vocmap.InputError, match=message) as caught:
        ground_truth_from_voc_targets([target])
    assert "'000001'" in str(caught.value)


def test_image_ids_can_be_given(tmp_path):
    gt = ground_truth_from_voc_targets([{"annotation": {}}], image_ids=["a"])
    assert gt.image_ids == ("a",) and gt.num_images == 1
