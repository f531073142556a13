"""The seeded case generator behind the demo and the benchmarks."""

from __future__ import annotations

import filecmp

import vocmap
from vocmap.testing.synthetic import generate_case


def test_same_seed_same_files_and_annotations_independent_of_detection_count(tmp_path):
    a = generate_case(tmp_path / "a", images=30, detections_per_image=10, seed=5)
    b = generate_case(tmp_path / "b", images=30, detections_per_image=10, seed=5)
    c = generate_case(tmp_path / "c", images=30, detections_per_image=50, seed=5)
    for sub in ("VOC2007/Annotations", "results"):
        cmp = filecmp.dircmp(tmp_path / "a" / sub, tmp_path / "b" / sub)
        assert not cmp.diff_files and not cmp.left_only and not cmp.right_only
    same_annotations = filecmp.dircmp(
        tmp_path / "a/VOC2007/Annotations", tmp_path / "c/VOC2007/Annotations"
    )
    assert not same_annotations.diff_files
    assert (a.detections, c.detections) == (300, 1500)
    assert a.objects == b.objects == c.objects and 0 < a.difficult < a.objects


def test_generated_case_looks_like_a_detector(tmp_path):
    summary = generate_case(tmp_path, images=100, detections_per_image=40, seed=1)
    result = vocmap.evaluate_folder(summary.results, summary.voc_root)
    assert 0.4 < result.map < 0.95
    assert sum(r.detections for r in result.classes.values()) == 4000
    lines = (summary.results / "comp4_det_test_dog.txt").read_text().splitlines()
    _, score, *box = lines[0].split()
    assert len(score.split(".")[1]) == 6 and all(len(v.split(".")[1]) == 1 for v in box)
