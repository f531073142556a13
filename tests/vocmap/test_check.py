"""``vocmap check``: each common mistake, made on purpose on the demo data, is
found, and the measured correction gives back the demo's own mAP where the
mistake can be undone exactly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vocmap import Evaluator, read_detections, read_voc
from vocmap.analysis.check import check
from vocmap.core.detections import ClassDetections, Detections
from vocmap.core.errors import VocmapError
from vocmap.core.settings import EvalSettings
from vocmap.io.voc import read_image_sizes

DEMO = Path(__file__).resolve().parents[2] / "data_fixtures" / "demo"


@pytest.fixture(scope="module")
def demo():
    ground_truth = read_voc(DEMO / "VOC2007", cache=False)
    detections = read_detections(DEMO / "results", ground_truth)
    sizes = read_image_sizes(DEMO / "VOC2007" / "Annotations", ground_truth.image_ids)
    base = Evaluator(ground_truth).evaluate(detections).map
    return ground_truth, detections, sizes, base


def _map_each(detections: Detections, fix) -> Detections:
    return Detections({name: fix(name, d) for name, d in detections.by_class.items()})


def _boxes(d: ClassDetections, boxes: np.ndarray) -> ClassDetections:
    return replace(d, boxes=np.ascontiguousarray(boxes))


def _codes(report) -> list[str]:
    return [finding.code for finding in report.findings]


def test_the_demo_as_shipped_has_no_finding(demo):
    ground_truth, detections, sizes, base = demo
    report = check(ground_truth, detections, image_sizes=sizes)
    assert report.map == base
    assert _codes(report) == []
    assert report.to_dict()["findings"] == []


def test_zero_based_boxes_are_found_and_undone(demo):
    ground_truth, detections, sizes, base = demo
    shifted = _map_each(detections, lambda _, d: _boxes(d, d.boxes - 1.0))
    report = check(ground_truth, shifted, image_sizes=sizes)
    (finding,) = [f for f in report.findings if f.code == "zero_based"]
    assert finding.count > 0
    assert finding.map_corrected == base
    assert report.map != base
    assert "every coordinate + 1" in finding.correction


def test_boxes_given_as_xywh_are_found_and_undone(demo):
    ground_truth, detections, sizes, base = demo
    as_xywh = _map_each(
        detections,
        lambda _, d: _boxes(
            d, np.concatenate([d.boxes[:, :2], d.boxes[:, 2:] - d.boxes[:, :2] + 1], 1)
        ),
    )
    report = check(ground_truth, as_xywh, image_sizes=sizes)
    finding = next(f for f in report.findings if f.code == "swapped_or_xywh")
    assert finding.correction == "read as [x, y, w, h]"
    assert finding.map_corrected == pytest.approx(base, abs=1e-12)


def test_swapped_axes_are_found_through_the_image_size(demo):
    ground_truth, detections, sizes, base = demo
    swapped = _map_each(detections, lambda _, d: _boxes(d, d.boxes[:, [1, 0, 3, 2]]))
    report = check(ground_truth, swapped, image_sizes=sizes)
    finding = next(f for f in report.findings if f.code == "outside_image")
    assert finding.correction == "x and y swapped"
    assert finding.map_corrected == base
    assert "outside_image" not in _codes(check(ground_truth, swapped))  # sizes unknown


def test_boxes_beyond_the_image_are_clipped(demo):
    ground_truth, detections, sizes, _ = demo
    wide = _map_each(detections, lambda _, d: _boxes(d, d.boxes + np.array([0, 0, 600.0, 0])))
    report = check(ground_truth, wide, image_sizes=sizes)
    finding = next(f for f in report.findings if f.code == "outside_image")
    assert finding.count == sum(len(d) for d in detections.by_class.values())
    assert finding.correction == "boxes clipped to the image"
    assert finding.map_corrected > report.map


def test_equal_scores_and_logits(demo):
    ground_truth, detections, _, _ = demo
    flat = _map_each(detections, lambda _, d: replace(d, scores=np.full(len(d), 0.5)))
    report = check(ground_truth, flat)
    finding = next(f for f in report.findings if f.code == "scores")
    assert "the ranking is the file order" in finding.title
    assert finding.map_corrected != report.map
    logits = _map_each(detections, lambda _, d: replace(d, scores=d.scores * 10 - 5))
    report = check(ground_truth, logits)
    finding = next(f for f in report.findings if f.code == "scores")
    assert "outside [0, 1]" in finding.title
    assert finding.map_corrected is None


def test_duplicates_are_counted_and_removed(demo):
    ground_truth, detections, _, base = demo

    def repeat(_, d):
        rows = np.concatenate([np.arange(len(d)), np.arange(0, len(d), 7)])
        return replace(
            d,
            image_index=d.image_index[rows],
            scores=d.scores[rows],
            boxes=d.boxes[rows],
            line_numbers=None,
        )

    doubled = _map_each(detections, repeat)
    report = check(ground_truth, doubled)
    finding = next(f for f in report.findings if f.code == "duplicates")
    assert finding.count == sum(len(range(0, len(d), 7)) for d in detections.by_class.values())
    assert finding.map_corrected == base
    assert report.map < base


def test_images_and_classes_without_detections(demo):
    ground_truth, detections, _, _ = demo
    dropped = set(range(10))

    def without(name, d):
        if name == "cat":
            return ClassDetections.empty()
        keep = ~np.isin(d.image_index, list(dropped))
        return replace(
            d,
            image_index=d.image_index[keep],
            scores=d.scores[keep],
            boxes=d.boxes[keep],
            line_numbers=None,
        )

    report = check(ground_truth, _map_each(detections, without))
    images = next(f for f in report.findings if f.code == "images_without_detections")
    assert images.count == 10
    assert images.examples == ground_truth.image_ids[:5]
    classes = next(f for f in report.findings if f.code == "classes_without_detections")
    assert classes.examples == ("cat",)
    assert f"cat ({ground_truth.npos('cat')} objects)" in classes.title


def test_coco_max_dets(demo):
    ground_truth, detections, _, _ = demo
    settings = EvalSettings.create("coco50")

    def crowd(name, d):
        if name != "dog":
            return d
        extra = 150
        return ClassDetections(
            np.concatenate([d.image_index, np.zeros(extra, dtype=np.int64)]),
            np.concatenate([d.scores, np.linspace(0.01, 0.02, extra)]),
            np.concatenate([d.boxes, np.tile([[10.0, 10.0, 50.0, 50.0]], (extra, 1))]),
        )

    report = check(ground_truth, _map_each(detections, crowd), settings=settings)
    finding = next(f for f in report.findings if f.code == "coco_max_dets")
    dogs_on_first = int(np.count_nonzero(detections["dog"].image_index == 0)) + 150
    assert finding.count == dogs_on_first - 100
    assert "coco_max_dets" not in _codes(check(ground_truth, _map_each(detections, crowd)))


def test_bad_image_sizes_are_refused(demo):
    ground_truth, detections, sizes, _ = demo
    for bad in (
        sizes[:-1],
        sizes.astype(str),
        np.where(sizes == sizes[0, 0], 0, sizes),
        sizes * np.nan,
    ):
        with pytest.raises(VocmapError, match="image_sizes"):
            check(ground_truth, detections, image_sizes=bad)


def test_the_text_report_names_each_finding_and_its_effect(demo):
    from vocmap.report.check_text import format_check

    ground_truth, detections, sizes, base = demo
    shifted = _map_each(detections, lambda _, d: _boxes(d, d.boxes - 1.0))
    text = format_check(check(ground_truth, shifted, image_sizes=sizes))
    assert "[zero_based] boxes look 0-based" in text
    assert f"mAP {base:.4f}" in text
    assert "no common mistake found" in format_check(check(ground_truth, detections))
    assert "image sizes unknown" in format_check(check(ground_truth, detections))
