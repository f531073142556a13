"""Box conventions at every array entry point (issue 12 item 1), and the arrays'
shapes and ownership (issue 10 item 8)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import vocmap
from vocmap.core.boxes import BOX_FORMATS, to_voc_boxes
from vocmap.core.detections import image_index_of
from vocmap.io.coco_json import read_coco_results


def one_image_gt(ids=("000001", "000007")):
    return vocmap.GroundTruth.from_arrays(
        list(ids),
        object_image=[0],
        object_class_names=["dog"],
        boxes=[[11.0, 21.0, 50.0, 80.0]],
        difficult=[False],
    )


def test_each_format_maps_as_the_readme_table_says():
    box = [[10.0, 20.0, 50.0, 80.0]]
    assert to_voc_boxes(box, "voc").tolist() == [[10.0, 20.0, 50.0, 80.0]]
    assert to_voc_boxes(box, "xyxy").tolist() == [[11.0, 21.0, 50.0, 80.0]]
    assert to_voc_boxes(box, "xywh").tolist() == [[11.0, 21.0, 60.0, 100.0]]
    assert to_voc_boxes(box, "voc0").tolist() == [[11.0, 21.0, 51.0, 81.0]]
    assert set(BOX_FORMATS) == {"voc", "xyxy", "xywh", "voc0"}


def test_xywh_is_bit_for_bit_the_coco_results_readers_mapping(tmp_path):
    rng = np.random.default_rng(3)
    xywh = rng.uniform(0, 500, size=(200, 4))  # arbitrary doubles: sums round
    gt = one_image_gt()
    records = [
        {"image_id": "000001", "category": "dog", "bbox": [float(v) for v in b], "score": 0.5}
        for b in xywh
    ]
    (tmp_path / "r.json").write_text(json.dumps(records))
    read = read_coco_results(tmp_path / "r.json", gt, ["dog"])["dog"].boxes
    assert read.tobytes() == to_voc_boxes(xywh, "xywh").tobytes()


def test_xyxy_agrees_with_the_coco_mapping_of_the_same_box():
    # x2 = x + w holds exactly for these values, so both frames name one box.
    xyxy = np.array([[0.0, 0.0, 10.0, 10.0], [12.5, 3.25, 100.75, 40.0]])
    xywh = np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]])
    assert to_voc_boxes(xyxy, "xyxy").tobytes() == to_voc_boxes(xywh, "xywh").tobytes()
    # the VOC width is the continuous width
    voc = to_voc_boxes(xyxy, "xyxy")
    assert (voc[:, 2] - voc[:, 0] + 1).tolist() == (xyxy[:, 2] - xyxy[:, 0]).tolist()


def test_unconverted_zero_based_boxes_cannot_be_passed_without_naming_their_format():
    gt = one_image_gt()
    evaluator = vocmap.Evaluator(gt, ["dog"])
    message = "box_format is required"
    with pytest.raises(vocmap.VocmapError, match=message):
        vocmap.Detections.from_arrays(gt, {"dog": (["000001"], [0.5], [[10, 20, 50, 80]])})
    with pytest.raises(vocmap.VocmapError, match=message):
        evaluator.accumulator()
    with pytest.raises(vocmap.VocmapError, match=message):
        vocmap.DetectionAccumulator(evaluator)
    with pytest.raises(vocmap.VocmapError, match="unknown box_format 'cxcywh'"):
        evaluator.accumulator("cxcywh")


def test_the_same_detection_in_each_format_gives_the_same_result():
    gt = one_image_gt()
    evaluator = vocmap.Evaluator(gt, ["dog"])
    by_format = {
        "voc": [11.0, 21.0, 50.0, 80.0],
        "xyxy": [10.0, 20.0, 50.0, 80.0],
        "xywh": [10.0, 20.0, 40.0, 60.0],
        "voc0": [10.0, 20.0, 49.0, 79.0],
    }
    for box_format, box in by_format.items():
        dets = vocmap.Detections.from_arrays(
            gt, {"dog": (["000001"], [0.5], [box])}, box_format=box_format
        )
        assert dets["dog"].boxes.tolist() == [[11.0, 21.0, 50.0, 80.0]]
        assert evaluator.evaluate(dets).classes["dog"].tp == 1
    # Unconverted 0-based corners named "voc" are one pixel off: still a match
    # here, but the overlap is not 1 (this is the mAP shift the formats prevent).
    shifted = vocmap.Detections.from_arrays(
        gt, {"dog": (["000001"], [0.5], [by_format["xyxy"]])}, box_format="voc"
    )
    assert evaluator.evaluate(shifted).classes["dog"].best_overlap[0] < 1.0


@pytest.mark.parametrize(
    "shape", [(2, 2), (1, 2, 2), (4,), (1, 5), (2, 4, 1)], ids=lambda s: "x".join(map(str, s))
)
def test_boxes_of_another_shape_are_refused_not_reshaped(shape):
    gt = one_image_gt()
    boxes = np.arange(np.prod(shape), dtype=float).reshape(shape) + 1
    with pytest.raises(vocmap.VocmapError, match=r"must have shape \(n, 4\)"):
        vocmap.Detections.from_arrays(gt, {"dog": (["000001"], [0.5], boxes)}, box_format="voc")
    acc = vocmap.Evaluator(gt, ["dog"]).accumulator("voc")
    with pytest.raises(vocmap.VocmapError, match=r"must have shape \(n, 4\)"):
        acc.add("000001", boxes, [0.5], ["dog"])


def test_scores_of_another_shape_are_refused():
    gt = one_image_gt()
    acc = vocmap.Evaluator(gt, ["dog"]).accumulator("voc")
    with pytest.raises(vocmap.VocmapError, match=r"scores must have shape \(n,\)"):
        acc.add("000001", [[11, 21, 50, 80]], [[0.5]], ["dog"])


def test_from_arrays_copies_so_reusing_a_score_buffer_changes_nothing():
    gt = one_image_gt()
    evaluator = vocmap.Evaluator(gt, ["dog"])
    scores = np.array([0.9, 0.1])
    boxes = np.array([[11.0, 21.0, 50.0, 80.0], [100.0, 100.0, 120.0, 120.0]])
    dets = vocmap.Detections.from_arrays(
        gt, {"dog": (["000001", "000001"], scores, boxes)}, box_format="voc"
    )
    before = evaluator.evaluate(dets).classes["dog"].ap
    scores[:] = [0.1, 0.9]  # the caller's next batch in the same buffer
    boxes[0] = [300.0, 300.0, 310.0, 310.0]
    assert before > 0.99  # the hit first: AP 1 (as 11 sums of 1/11)
    assert evaluator.evaluate(dets).classes["dog"].ap == before


def test_accumulator_copies_what_it_is_given():
    gt = one_image_gt()
    acc = vocmap.Evaluator(gt, ["dog"]).accumulator("voc")
    scores = np.array([0.9])
    boxes = np.array([[11.0, 21.0, 50.0, 80.0]])
    acc.add("000001", boxes, scores, ["dog"])
    scores[0], boxes[0, 0] = 0.0, 999.0
    assert acc.detections()["dog"].scores.tolist() == [0.9]
    assert acc.detections()["dog"].boxes.tolist() == [[11.0, 21.0, 50.0, 80.0]]


def test_tensors_with_grad_in_float32_and_bfloat16_are_detached_and_moved():
    torch = pytest.importorskip("torch")
    gt = one_image_gt()
    evaluator = vocmap.Evaluator(gt, ["dog"])
    boxes = torch.tensor([[10.0, 20.0, 50.0, 80.0]], requires_grad=True)
    scores = torch.tensor([0.5], requires_grad=True)
    acc = evaluator.accumulator("xyxy")
    acc.add(torch.tensor(1), boxes * 1, scores * 1, torch.tensor([0]))
    acc.add("000007", boxes.to(torch.bfloat16), scores.to(torch.bfloat16), torch.tensor([0]))
    dets = acc.detections()["dog"]
    assert dets.boxes.tolist() == [[11.0, 21.0, 50.0, 80.0]] * 2
    assert dets.image_index.tolist() == [0, 1]
    via_arrays = vocmap.Detections.from_arrays(
        gt, {"dog": (torch.tensor([7]), scores, boxes)}, box_format="xyxy"
    )
    assert via_arrays["dog"].boxes.dtype == np.float64
    assert via_arrays["dog"].image_index.tolist() == [1]


def test_integer_image_ids_map_as_the_coco_reader_maps_them(tmp_path):
    gt = vocmap.GroundTruth.from_arrays(["000001", "7", "007", "x12", "000012"])
    records = [
        {"image_id": n, "category": "dog", "bbox": [1, 1, 5, 5], "score": 0.5} for n in (1, 12)
    ]
    (tmp_path / "r.json").write_text(json.dumps(records))
    from_reader = read_coco_results(tmp_path / "r.json", gt, ["dog"])["dog"].image_index
    assert [image_index_of(gt, n) for n in (1, 12)] == from_reader.tolist() == [0, 4]
    # "7" and "007" both read as 7: neither, in both paths
    assert image_index_of(gt, 7) is None
    (tmp_path / "seven.json").write_text(json.dumps([{**records[0], "image_id": 7}]))
    with pytest.raises(vocmap.InputError, match="not in the image set"):
        read_coco_results(tmp_path / "seven.json", gt, ["dog"])
    assert image_index_of(gt, np.int64(12)) == 4
    assert image_index_of(gt, "7") == 1  # strings match exactly
    with pytest.raises(vocmap.VocmapError, match="string or an integer"):
        image_index_of(gt, True)
    with pytest.raises(vocmap.VocmapError, match="string or an integer"):
        image_index_of(gt, 1.0)


def test_from_arrays_takes_positions_only_when_asked():
    gt = one_image_gt()
    by_position = vocmap.Detections.from_arrays(
        gt, {"dog": ([1], [0.5], [[1, 1, 2, 2]])}, box_format="voc", image_index=True
    )
    by_id = vocmap.Detections.from_arrays(
        gt, {"dog": ([7], [0.5], [[1, 1, 2, 2]])}, box_format="voc"
    )
    assert by_position["dog"].image_index.tolist() == by_id["dog"].image_index.tolist() == [1]
    with pytest.raises(vocmap.InputError, match="not in the image set"):
        vocmap.Detections.from_arrays(gt, {"dog": ([0], [0.5], [[1, 1, 2, 2]])}, box_format="voc")


# -- issue 10 item 8, already fixed on this base: regression tests ------------------


def test_iou_true_is_refused_not_taken_as_one():
    gt = one_image_gt()
    with pytest.raises(vocmap.VocmapError, match="iou must be a number"):
        vocmap.Evaluator(gt, iou=True)


def test_classes_as_a_bare_string_is_refused_not_split_into_letters():
    gt = one_image_gt()
    with pytest.raises(vocmap.VocmapError, match=r"write \['dog'\] for one class"):
        vocmap.Evaluator(gt, classes="dog")


def test_classes_option_of_only_commas_is_an_error_not_all_twenty(capsys):
    from fixture_paths import DEMO

    from vocmap.cli import main

    code = main(
        ["evaluate", str(DEMO / "results"), "--voc-root", str(DEMO / "VOC2007"), "--classes", ","]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "class" in err
