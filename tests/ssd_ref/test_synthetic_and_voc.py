"""The synthetic VOC set, the VOC reader, and the mapping of detections to result lines."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ssd_ref.config import SYNTHETIC_CLASSES, VOC_CLASSES
from ssd_ref.data.synthetic import make_synthetic_voc, synthetic_image
from ssd_ref.data.voc import VocDataset, parse_annotation, read_image_set, resolve_year_root
from ssd_ref.engine.inference import format_lines
from ssd_ref.modeling.postprocess import Detections


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = make_synthetic_voc(tmp_path / "a", seed=1, num_trainval=6, num_test=3)
    b = make_synthetic_voc(tmp_path / "b", seed=1, num_trainval=6, num_test=3)
    c = make_synthetic_voc(tmp_path / "c", seed=2, num_trainval=6, num_test=3)
    for path in sorted(a.rglob("*.*")):
        assert path.read_bytes() == (b / path.relative_to(a)).read_bytes()
    assert (a / "JPEGImages" / "000001.jpg").read_bytes() != (
        c / "JPEGImages" / "000001.jpg"
    ).read_bytes()
    assert read_image_set(a, "trainval") == [f"{i:06d}" for i in range(1, 7)]
    assert read_image_set(a, "test") == ["000007", "000008", "000009"]


def test_annotations_are_valid_voc_boxes_with_some_difficult(tmp_path):
    year = make_synthetic_voc(tmp_path, seed=0, num_trainval=60, num_test=0)
    assert set(SYNTHETIC_CLASSES) <= set(VOC_CLASSES)
    difficult, seen = 0, set()
    for image_id in read_image_set(year, "trainval"):
        annotation = parse_annotation(year / "Annotations" / f"{image_id}.xml", SYNTHETIC_CLASSES)
        image = cv2.imread(str(year / "JPEGImages" / f"{image_id}.jpg"))
        assert image.shape[:2] == (annotation.height, annotation.width)
        assert len(annotation.labels) >= 1
        for (x1, y1, x2, y2), label in zip(annotation.boxes, annotation.labels, strict=True):
            assert 1 <= x1 <= x2 <= annotation.width and 1 <= y1 <= y2 <= annotation.height
            seen.add(int(label))
        difficult += int(annotation.difficult.sum())
    assert seen == set(range(len(SYNTHETIC_CLASSES)))
    assert difficult > 0


def test_boxes_are_tight_around_the_drawn_shapes():
    rng = np.random.default_rng(0)
    for _ in range(30):
        image, objects = synthetic_image(rng, SYNTHETIC_CLASSES)
        saturation = image.max(axis=2).astype(int) - image.min(axis=2)
        for obj in objects:
            x1, y1, x2, y2 = (int(v) for v in obj.box)
            inside = saturation[y1 - 1 : y2, x1 - 1 : x2]  # VOC 1-based inclusive
            # The shape's strong colour (saturation >= 100 when drawn) reaches every
            # edge of its box, so no box is larger than its shape.
            for edge in (inside[0], inside[-1], inside[:, 0], inside[:, -1]):
                assert edge.max() > 80


def test_voc_dataset_reads_sets_and_resolves_the_year_folder(tmp_path):
    year = make_synthetic_voc(tmp_path, seed=0, num_trainval=4, num_test=2)
    voc = VocDataset(tmp_path, [("SYNTH", "trainval"), ("SYNTH", "test")], SYNTHETIC_CLASSES)
    assert len(voc) == 6 and voc.image(0).dtype == np.uint8
    assert resolve_year_root(tmp_path, "test") == year
    assert resolve_year_root(year, "test") == year
    only_cats = VocDataset(year, [(".", "trainval")], ("cat",))
    assert all(set(a.annotation.labels.tolist()) <= {0} for a in only_cats.items)


def test_detections_become_devkit_lines_in_the_original_frame():
    detections = Detections(
        boxes=torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.25, 0.5, 0.5, 0.75], [-0.1, 0.2, 0.3, 1.2]]),
        scores=torch.tensor([0.9, 0.5, 0.25]),
        labels=torch.tensor([1, 0, 1]),
    )
    lines = format_lines("000042", detections, width=200, height=100, num_classes=3)
    assert lines[0] == ["000042 0.500000 51.00 51.00 100.00 75.00\n"]
    assert lines[1] == [
        "000042 0.900000 1.00 1.00 200.00 100.00\n",  # the whole image: 1 .. W, 1 .. H
        "000042 0.250000 1.00 21.00 60.00 100.00\n",  # clipped to the image
    ]
    assert lines[2] == []


def test_the_trainer_reads_annotations_with_the_evaluators_rules(tmp_path):
    """One VOC reader for both packages: what vocmap refuses, ssd_ref refuses too."""
    import pytest

    from vocmap.core.errors import InputError

    good = (
        "<annotation><size><width>500</width><height>375</height></size>"
        "<object><name>dog</name><difficult>1</difficult>"
        "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox>"
        "</object></annotation>"
    )
    path = tmp_path / "000001.xml"
    path.write_text(good)
    annotation = parse_annotation(path, VOC_CLASSES)
    assert (annotation.width, annotation.height) == (500, 375)
    assert annotation.boxes.tolist() == [[1.0, 2.0, 30.0, 40.0]]
    assert annotation.difficult.tolist() == [True]
    for bad, why in (
        (good.replace("<xmin>1</xmin>", "<xmin>2_00</xmin>"), "not a number"),
        (good.replace("<size><width>500</width><height>375</height></size>", ""), "no <size>"),
        (good.replace("<width>500</width>", "<width>-5</width>"), "positive whole number"),
    ):
        path.write_text(bad)
        with pytest.raises(InputError, match=why) as caught:
            parse_annotation(path, VOC_CLASSES)
        assert str(path) in str(caught.value)
