"""YOLO-format ground truth and predictions: the box mapping against globox (an
independent reader), image headers, the class list, and every refusal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from yolo_case import CLASSES, jpeg_bytes, make_split, png_bytes

from vocmap import Evaluator
from vocmap.core.boxes import to_voc_boxes
from vocmap.core.errors import InputError, VocmapError
from vocmap.io.image_size import image_size
from vocmap.io.yolo import (
    default_images_folder,
    read_yolo_classes,
    read_yolo_ground_truth,
    read_yolo_predictions,
)
from vocmap.testing import devkit_reference


def test_boxes_and_sizes_equal_globox(tmp_path):
    """globox (rel_to_abs then xywh_to_ltrb, 0-based corners) read through the
    ``xyxy`` mapping gives the same doubles as vocmap's YOLO readers."""
    globox = pytest.importorskip("globox")
    image_dir, label_dir, pred_dir = make_split(tmp_path, np.random.default_rng(3))
    data = read_yolo_ground_truth(label_dir, tmp_path / "data.yaml")
    detections = read_yolo_predictions(pred_dir, data)
    for kind, folder in (("gt", label_dir), ("pred", pred_dir)):
        for image_id, image in zip(data.ground_truth.image_ids, range(1000)):
            suffix = ".png" if image % 2 else ".jpg"
            size = globox.image_utils.get_image_size(image_dir / f"{image_id}{suffix}")
            assert size == (data.widths[image], data.heights[image])
            lines = (folder / f"{image_id}.txt").read_text().split("\n")
            for name_index, name in enumerate(CLASSES):
                boxes = [
                    globox.BoundingBox.from_yolo(line, image_size=size, conf_last=True)
                    if kind == "pred"
                    else globox.BoundingBox.from_yolo(line, image_size=size)
                    for line in lines
                    if line.strip() and int(line.split()[0]) == name_index
                ]
                expected = to_voc_boxes(np.array([b.ltrb for b in boxes]), "xyxy")
                if kind == "gt":
                    gt = data.ground_truth.for_class(name)
                    got = gt.boxes[gt.offsets[image] : gt.offsets[image + 1]]
                else:
                    mine = detections[name]
                    got = mine.boxes[mine.image_index == image]
                    scores = mine.scores[mine.image_index == image]
                    assert scores.tolist() == [b.confidence for b in boxes]
                assert got.tobytes() == expected.tobytes()


def test_yolo_ap_equals_the_devkit_transcription_on_globox_boxes(tmp_path):
    """End to end: vocmap's AP of a YOLO split == the plain-Python devkit
    transcription run on the boxes and scores globox reads from the same files."""
    globox = pytest.importorskip("globox")
    image_dir, label_dir, pred_dir = make_split(tmp_path, np.random.default_rng(5), images=30)
    data = read_yolo_ground_truth(label_dir, list(CLASSES), image_dir)
    evaluator = Evaluator(data.ground_truth, data.classes)
    result = evaluator.evaluate(read_yolo_predictions(pred_dir, data))
    image_ids = list(data.ground_truth.image_ids)
    objects, predictions = [], []
    for image, image_id in enumerate(image_ids):
        suffix = ".png" if image % 2 else ".jpg"
        size = globox.image_utils.get_image_size(image_dir / f"{image_id}{suffix}")
        for line in (label_dir / f"{image_id}.txt").read_text().split("\n"):
            if line.strip():
                box = globox.BoundingBox.from_yolo(line, image_size=size)
                voc = tuple(to_voc_boxes(np.array([box.ltrb]), "xyxy")[0])
                objects.append((image, CLASSES[int(box.label)], False, voc))
        for line in (pred_dir / f"{image_id}.txt").read_text().split("\n"):
            if line.strip():
                box = globox.BoundingBox.from_yolo(line, image_size=size, conf_last=True)
                voc = tuple(to_voc_boxes(np.array([box.ltrb]), "xyxy")[0])
                predictions.append((image_id, CLASSES[int(box.label)], box.confidence, voc))
    per_image = [[(n, d, b) for i, n, d, b in objects if i == k] for k in range(len(image_ids))]
    for name in CLASSES:
        mine = [p for p in predictions if p[1] == name]
        _, _, ap = devkit_reference.evaluate_parsed(
            [p[0] for p in mine],
            [p[2] for p in mine],
            [p[3] for p in mine],
            image_ids,
            per_image,
            name,
        )
        assert result.classes[name].ap == ap
    assert 0.0 < result.map <= 1.0


def test_a_box_covering_the_image_maps_to_its_pixels(tmp_path):
    image_dir, label_dir = tmp_path / "images", tmp_path / "labels"
    image_dir.mkdir()
    label_dir.mkdir()
    (image_dir / "a.png").write_bytes(png_bytes(500, 375))
    (label_dir / "a.txt").write_text("1 0.5 0.5 1 1\n")
    data = read_yolo_ground_truth(label_dir, CLASSES)
    assert data.ground_truth.boxes.tolist() == [[1.0, 1.0, 500.0, 375.0]]
    assert data.ground_truth.class_names == ("dog",)


@pytest.mark.parametrize("sof", [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC9, 0xCF])
def test_jpeg_frame_headers_of_every_kind(tmp_path, sof):
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg_bytes(640, 480, sof=sof))
    assert image_size(path) == (640, 480)


@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (640, 480)), (3, (640, 480)), (6, (480, 640)), (8, (480, 640))]
)
def test_exif_quarter_turns_swap_width_and_height(tmp_path, orientation, size):
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg_bytes(640, 480, orientation=orientation))
    assert image_size(path) == size


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"GIF89a....", "neither a JPEG nor a PNG"),
        (b"", "neither a JPEG nor a PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "without a frame header"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "IHDR"),
        (png_bytes(0, 5), "size of 0 x 5"),
        (jpeg_bytes(0, 5), "size of 0 x 5"),
        (b"\xff\xd8\xff\xe0\x00\x01", "length of 1"),
    ],
)
def test_unreadable_image_headers_are_refused(tmp_path, content, message):
    path = tmp_path / "a.jpg"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        image_size(path)
    assert caught.value.path == str(path)


def test_an_image_that_is_a_fifo_or_a_folder_is_refused(tmp_path):
    import os

    os.mkfifo(tmp_path / "f.jpg")
    (tmp_path / "d.png").mkdir()
    for name in ("f.jpg", "d.png"):
        with pytest.raises(InputError, match="not a regular file"):
            image_size(tmp_path / name)


@pytest.mark.parametrize(
    "text",
    [
        "names: [cat, dog, person]\nnc: 3\n",
        "names: ['cat', \"dog\",\n  person]  # three\n",
        "path: x\nnames:\n  - cat\n  - dog\n  - person\ntrain: images\n",
        "names:\n  2: person\n  0: cat   # first\n  1: dog\n",
    ],
)
def test_class_lists_in_each_form(tmp_path, text):
    path = tmp_path / "data.yaml"
    path.write_text(text)
    assert read_yolo_classes(path) == CLASSES


def test_a_names_file_is_one_class_a_line(tmp_path):
    path = tmp_path / "obj.names"
    path.write_text("cat\ndog\n\nperson\n")
    assert read_yolo_classes(path) == CLASSES


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("nc: 2\nnames: [cat, dog, person]\n", "nc: 2 but names: lists 3", None),
        ("names:\n  0: cat\n  2: dog\n", "index 2 where 1 belongs", 3),
        ("names: [cat, cat]\n", 'class "cat" repeats line 1', 1),
        ("train: x\n", "no top-level names", None),
        ("names: cat\n", "takes a list or an index", 1),
        ("names: [cat, dog\n", "is not closed", 1),
        ("names:\n  cat\n", "expected '- name'", 2),
        ("names:\n  - cat\n  1: dog\n", "mixes a list and a mapping", 1),
        ("names: []\n", "no class names", None),
        ("nc: x\nnames: [a]\n", "not a number of classes", 1),
        ("names:\n  - [a]\n", "as a class name", 2),
    ],
)
def test_bad_class_lists_are_refused_with_their_line(tmp_path, text, message, line):
    path = tmp_path / "data.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as caught:
        read_yolo_classes(path)
    assert caught.value.line == line


def _one_image(tmp_path: Path, label: str | None) -> tuple[Path, Path]:
    image_dir, label_dir = tmp_path / "images", tmp_path / "labels"
    image_dir.mkdir(exist_ok=True)
    label_dir.mkdir(exist_ok=True)
    (image_dir / "a.jpg").write_bytes(jpeg_bytes(100, 50))
    if label is not None:
        (label_dir / "a.txt").write_text(label)
    return image_dir, label_dir


@pytest.mark.parametrize(
    ("label", "message", "line"),
    [
        ("0 0.5 0.5 0.1 0.1\n3 0.5 0.5 0.1 0.1\n", "class index '3' is not one of 0..2", 2),
        ("-1 0.5 0.5 0.1 0.1\n", "class index '-1'", 1),
        ("1.0 0.5 0.5 0.1 0.1\n", "class index '1.0'", 1),
        ("0 50 25 10 10\n", "normalised to \\[0, 1\\]", 1),
        ("0 0.5 0.5 -0.1 0.1\n", "normalised", 1),
        ("0 nan 0.5 0.1 0.1\n", "'nan' is not a number", 1),
        ("0 1_0 0.5 0.1 0.1\n", "'1_0' is not a number", 1),
        ("\n0 0.5 0.5 0.1\n", "4 values where a label has 5", 2),
        ("0 0.5 0.5 0.1 0.1 0.9\n", "is this a prediction file", 1),
        ("0 0.1 0.1 0.2 0.1 0.2 0.2 0.1\n", "segmentation label", 1),
        (b"0 0.5 \xff 0.1 0.1\n".decode("latin-1"), "not UTF-8", 1),
    ],
)
def test_bad_label_lines_are_refused_with_file_and_line(tmp_path, label, message, line):
    _, label_dir = _one_image(tmp_path, None)
    (label_dir / "a.txt").write_bytes(label.encode("latin-1"))
    with pytest.raises(InputError, match=message) as caught:
        read_yolo_ground_truth(label_dir, CLASSES)
    assert caught.value.path == str(label_dir / "a.txt")
    assert caught.value.line == line


def test_an_image_without_a_label_file_is_refused_unless_asked(tmp_path):
    _, label_dir = _one_image(tmp_path, None)
    with pytest.raises(InputError, match="image without a label file"):
        read_yolo_ground_truth(label_dir, CLASSES)
    data = read_yolo_ground_truth(label_dir, CLASSES, missing_labels="empty")
    assert data.ground_truth.image_ids == ("a",)
    assert data.ground_truth.boxes.shape == (0, 4)
    with pytest.raises(VocmapError, match="missing_labels"):
        read_yolo_ground_truth(label_dir, CLASSES, missing_labels="skip")


def test_a_label_file_without_an_image_is_refused(tmp_path):
    _, label_dir = _one_image(tmp_path, "0 0.5 0.5 0.1 0.1\n")
    (label_dir / "b.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(InputError, match="label file without an image") as caught:
        read_yolo_ground_truth(label_dir, CLASSES)
    assert caught.value.path == str(label_dir / "b.txt")


def test_folders_are_checked(tmp_path):
    with pytest.raises(InputError, match="labels folder not found"):
        read_yolo_ground_truth(tmp_path / "labels", CLASSES)
    (tmp_path / "somewhere").mkdir()
    with pytest.raises(VocmapError, match="cannot tell the images folder"):
        read_yolo_ground_truth(tmp_path / "somewhere", CLASSES)
    (tmp_path / "labels").mkdir()
    with pytest.raises(InputError, match="images folder not found"):
        read_yolo_ground_truth(tmp_path / "labels", CLASSES)
    (tmp_path / "images").mkdir()
    with pytest.raises(InputError, match="no JPEG or PNG"):
        read_yolo_ground_truth(tmp_path / "labels", CLASSES)
    (tmp_path / "images" / "a.jpg").write_bytes(jpeg_bytes(5, 5))
    (tmp_path / "images" / "a.png").write_bytes(png_bytes(5, 5))
    with pytest.raises(InputError, match="two images with the id 'a'"):
        read_yolo_ground_truth(tmp_path / "labels", CLASSES)


def test_the_images_folder_follows_ultralytics_rule():
    assert default_images_folder("d/labels/val") == Path("d/images/val")
    assert default_images_folder("labels/x/labels") == Path("labels/x/images")


def test_a_label_file_linking_out_of_its_folder_is_not_read(tmp_path):
    _, label_dir = _one_image(tmp_path, None)
    secret = tmp_path / "secret.txt"
    secret.write_text("0 0.5 0.5 0.1 0.1\n")
    (label_dir / "a.txt").symlink_to(secret)
    with pytest.raises(InputError, match="leads outside"):
        read_yolo_ground_truth(label_dir, CLASSES)


def test_class_lists_given_as_lists_are_checked(tmp_path):
    _, label_dir = _one_image(tmp_path, "0 0.5 0.5 0.1 0.1\n")
    for bad in ([], ["a", "a"], ["a", 3], [""]):
        with pytest.raises(VocmapError):
            read_yolo_ground_truth(label_dir, bad)


def test_prediction_files_are_checked(tmp_path):
    _, label_dir = _one_image(tmp_path, "0 0.5 0.5 0.1 0.1\n")
    data = read_yolo_ground_truth(label_dir, CLASSES)
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(InputError, match="save_conf=True") as caught:
        read_yolo_predictions(pred, data)
    assert (caught.value.path, caught.value.line) == (str(pred / "a.txt"), 1)
    (pred / "a.txt").write_text("0 0.5 0.5 0.1 0.1 0.9\n")
    (pred / "zz.txt").write_text("1 0.5 0.5 0.1 0.1 0.8\n2 0.5 0.5 0.1 0.1 0.7\n")
    with pytest.raises(InputError, match="not in the data set"):
        read_yolo_predictions(pred, data)
    detections = read_yolo_predictions(pred, data, ignore_unknown_images=True)
    assert detections.dropped_unknown == 2
    assert [len(detections[name]) for name in CLASSES] == [1, 0, 0]
    with pytest.raises(InputError, match="predictions folder not found"):
        read_yolo_predictions(tmp_path / "none", data)
