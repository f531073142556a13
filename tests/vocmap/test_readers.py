"""Reading result files (all the spellings people produce), COCO JSON and arrays."""

from __future__ import annotations

import json

import numpy as np
import pytest
from case_builder import cat, dog, make_case

import vocmap
from vocmap.io.result_files import find_result_files


@pytest.fixture
def case(tmp_path):
    voc_root, results = make_case(
        tmp_path, {"000001": [dog()], "000002": [cat(), dog((200, 200, 260, 280))], "000003": []}
    )
    return voc_root, results, vocmap.read_voc(voc_root, cache=False)


def read_text(tmp_path, gt, data: bytes):
    path = tmp_path / "dog.txt"
    path.write_bytes(data)
    detections, dropped = vocmap.read_result_file(path, gt)
    assert dropped == 0
    return detections


def test_blank_space_crlf_bom_and_notation_all_read_alike(case, tmp_path):
    _, _, gt = case
    plain = read_text(tmp_path, gt, b"000001 0.5 10 10 50 50\n000002 0.25 200 200 260 280\n")
    for variant in [
        b"\xef\xbb\xbf000001 0.5 10 10 50 50\r\n000002 0.25 200 200 260 280\r\n",
        b"  000001\t5E-1  1e1 10.0 50 5.0e+01\n\n\n000002 .25 2e2 200 260 280",
        b"000001 +0.50 10 10 50 50\r\n   \r\n000002 2.5e-1 200.000 200 260 280\n\n",
    ]:
        other = read_text(tmp_path, gt, variant)
        np.testing.assert_array_equal(other.image_index, plain.image_index)
        np.testing.assert_array_equal(other.scores, plain.scores)
        np.testing.assert_array_equal(other.boxes, plain.boxes)


def test_line_numbers_count_blank_lines(case, tmp_path):
    _, _, gt = case
    dets = read_text(tmp_path, gt, b"\n000001 0.5 10 10 50 50\n\n000002 0.1 1 1 2 2\n")
    assert dets.line_numbers.tolist() == [2, 4]


def test_many_digits_are_rounded_like_strtod(case, tmp_path):
    _, _, gt = case
    dets = read_text(
        tmp_path, gt, b"000001 0.50000000000000001 10 10 50 50\n000001 1e-400 1 1 2 2\n"
    )
    assert dets.scores.tolist() == [0.5, 0.0]


def test_empty_file_is_zero_detections(case, tmp_path):
    _, _, gt = case
    assert len(read_text(tmp_path, gt, b"")) == 0
    assert len(read_text(tmp_path, gt, b"\n \n")) == 0


@pytest.mark.parametrize(
    ("names", "image_set", "expected"),
    [
        (["comp4_det_test_dog.txt"], "test", "comp4_det_test_dog.txt"),
        (["comp3_det_val_dog.txt"], "val", "comp3_det_val_dog.txt"),
        (["comp3_det_val_dog.txt"], "my_subset", "comp3_det_val_dog.txt"),
        (["dog.txt", "hotdog.txt"], "test", "dog.txt"),
        (["comp4_det_test_dog.txt", "comp4_det_val_dog.txt"], "test", "comp4_det_test_dog.txt"),
        (["my_run_det_my_set_dog.txt"], "my_set", "my_run_det_my_set_dog.txt"),
    ],
)
def test_result_file_names(tmp_path, names, image_set, expected):
    for name in names:
        (tmp_path / name).write_text("")
    assert find_result_files(tmp_path, ["dog"], image_set=image_set)["dog"].name == expected


def test_ambiguous_result_files_are_an_error(tmp_path):
    (tmp_path / "comp3_det_test_dog.txt").write_text("")
    (tmp_path / "comp4_det_test_dog.txt").write_text("")
    with pytest.raises(vocmap.InputError, match="several result files for class 'dog'"):
        find_result_files(tmp_path, ["dog"], image_set="test")


def coco(records):
    return json.dumps(records)


def test_coco_json_maps_ids_categories_and_pixels(case, tmp_path):
    _voc_root, results, gt = case
    (results / "comp4_det_test_dog.txt").write_text(
        "000001 0.9 10 10 50 50\n000002 0.8 200 200 260 280\n"
    )
    (results / "comp4_det_test_cat.txt").write_text("000002 0.7 100 100 150 150\n")
    dog_id = vocmap.VOC_CLASSES.index("dog") + 1
    path = tmp_path / "results.json"
    # COCO [x, y, w, h] with x = xmin - 1, w = xmax - xmin + 1.
    path.write_text(
        coco(
            [
                {"image_id": "000001", "category_id": dog_id, "bbox": [9, 9, 41, 41], "score": 0.9},
                {"image_id": 2, "category": "dog", "bbox": [199, 199, 61, 81], "score": 0.8},
                {"image_id": "000002", "category": "cat", "bbox": [99, 99, 51, 51], "score": 0.7},
            ]
        )
    )
    from_json = vocmap.read_detections(path, gt, ["dog", "cat"])
    from_txt = vocmap.read_detections(results, gt, ["dog", "cat"])
    for cls in ("dog", "cat"):
        np.testing.assert_array_equal(from_json[cls].boxes, from_txt[cls].boxes)
        np.testing.assert_array_equal(from_json[cls].scores, from_txt[cls].scores)
        np.testing.assert_array_equal(from_json[cls].image_index, from_txt[cls].image_index)


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ("{", "malformed JSON"),
        (coco({"a": 1}), "expected a JSON list"),
        (coco([{"image_id": "000001", "category": "dog", "score": 1}]), "record 0 has no 'bbox'"),
        (
            coco([{"image_id": "000009", "category": "dog", "bbox": [1, 1, 2, 2], "score": 1}]),
            "not in the image set",
        ),
        (
            coco([{"image_id": "000001", "category_id": 99, "bbox": [1, 1, 2, 2], "score": 1}]),
            "category_id 99",
        ),
        (
            coco([{"image_id": "000001", "category": "dog", "bbox": [1, 1, 2], "score": 1}]),
            "bbox must be",
        ),
        (
            '[{"image_id": "000001", "category": "dog", "bbox": [1, 1, 2, 2], "score": NaN}]',
            "NaN or infinite",
        ),
    ],
)
def test_bad_coco_json(case, tmp_path, records, message):
    _, _, gt = case
    path = tmp_path / "bad.json"
    path.write_text(records)
    with pytest.raises(vocmap.InputError, match=message) as caught:
        vocmap.read_detections(path, gt, ["dog", "cat"])
    assert str(path) in str(caught.value)


def test_arrays_accept_ids_or_indices(case):
    _, _, gt = case
    boxes = np.array([[10, 10, 50, 50], [200, 200, 260, 280]], dtype=float)
    by_id = vocmap.Detections.from_arrays(
        gt, {"dog": (["000001", "000002"], [0.9, 0.8], boxes)}, box_format="voc"
    )
    by_index = vocmap.Detections.from_arrays(
        gt, {"dog": (np.array([0, 1]), [0.9, 0.8], boxes)}, box_format="voc", image_index=True
    )
    np.testing.assert_array_equal(by_id["dog"].image_index, by_index["dog"].image_index)
    with pytest.raises(vocmap.InputError, match="not in the image set"):
        vocmap.Detections.from_arrays(gt, {"dog": (["nope"], [0.9], boxes[:1])}, box_format="voc")
    with pytest.raises(vocmap.InputError, match="NaN or infinite"):
        vocmap.Detections.from_arrays(
            gt, {"dog": ([0], [np.nan], boxes[:1])}, box_format="voc", image_index=True
        )


def test_images_without_objects_are_valid(case):
    _, _, gt = case
    assert gt.num_images == 3
    assert gt.for_class("dog").offsets.tolist() == [0, 1, 2, 2]
    assert gt.npos("dog") == 2 and gt.npos("cat") == 1 and gt.npos("bird") == 0


def test_ground_truth_keeps_xml_order_within_an_image(tmp_path):
    voc_root, _ = make_case(tmp_path, {"a": [dog((1, 1, 5, 5)), cat(), dog((9, 9, 20, 20), True)]})
    gt = vocmap.read_voc(voc_root, cache=False)
    dogs = gt.for_class("dog")
    assert dogs.boxes.tolist() == [[1, 1, 5, 5], [9, 9, 20, 20]]
    assert dogs.difficult.tolist() == [False, True]
