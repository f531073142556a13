"""vocmap diagnose on small cases derived by hand, and its consistency on random ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
from budget import examples
from case_builder import make_case
from diagnose_cases import small_cases
from hypothesis import HealthCheck, given, settings

import vocmap
from vocmap.analysis.diagnose import diagnose
from vocmap.analysis.hoiem_groups import similar_classes, summary_sets
from vocmap.core import kernels
from vocmap.core.errors import InputError, VocmapError
from vocmap.io.writers import VocObject


def sequential(values):
    total = 0.0
    for v in values:
        total = total + v
    return total


PERFECT_11 = sequential([1 / 11] * 11)  # the devkit's AP of a perfect detector: 1.0000000000000002

D1, D2, C1, D3 = (1, 1, 100, 100), (201, 1, 300, 100), (1, 201, 100, 300), (401, 1, 500, 100)


def hand_case():
    """One image: dogs D1, D2 (never detected), D3 (difficult), cat C1.

    dog detections (file order): d0 .9 on D1 (TP), d1 .8 on D1 (duplicate), d2 .7 on the
    top 40 rows of D1 (overlap 0.4: localisation), d3 .6 on C1 (classification, C1 is
    unclaimed), d4 .5 far away (background), d5 .4 on D3 (difficult: no error).
    cat detections: c0 .3 on D1 (classification, D1 already claimed).
    """
    gt = vocmap.GroundTruth.from_arrays(
        ["a"],
        np.zeros(4, dtype=np.int64),
        ["dog", "dog", "cat", "dog"],
        np.array([D1, D2, C1, D3], dtype=float),
        np.array([False, False, False, True]),
        truncated=np.array([True, False, False, False]),
    )
    dog_boxes = [D1, D1, (1, 1, 100, 40), C1, (600, 600, 650, 650), D3]
    dets = vocmap.Detections.from_arrays(
        gt,
        {
            "dog": (
                np.zeros(6, dtype=np.int64),
                np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]),
                np.array(dog_boxes, dtype=float),
            ),
            "cat": (np.zeros(1, dtype=np.int64), np.array([0.3]), np.array([D1], dtype=float)),
        },
        box_format="voc",
        image_index=True,
    )
    return gt, dets


def test_tide_devkit_mode_on_a_case_derived_by_hand():
    gt, dets = hand_case()
    d = vocmap.diagnose(gt, dets, ["dog", "cat"])
    dog, cat, overall = d.tide.classes["dog"], d.tide.classes["cat"], d.tide.overall
    assert dog.counts == {"cls": 1, "loc": 1, "both": 0, "dupe": 1, "bkg": 1, "miss": 1}
    assert cat.counts == {"cls": 1, "loc": 0, "both": 0, "dupe": 0, "bkg": 0, "miss": 0}
    # dog: rec stays 0.5 (npos 2), precision 1 at the first detection: 6 of the 11 points
    assert dog.ap == sequential([1 / 11] * 6) == d.result.classes["dog"].ap
    assert cat.ap == 0.0
    # fixing cls moves d3 into cat as a true positive of C1: cat becomes perfect
    assert cat.dap["cls"] == PERFECT_11 and dog.dap["cls"] == 0.0
    # fixing miss drops D2: the dog's recall reaches 1 at its first detection
    assert dog.dap["miss"] == PERFECT_11 - dog.ap
    # removing the other false positives changes nothing: precision 1 was already reached
    assert dog.dap["loc"] == dog.dap["dupe"] == dog.dap["bkg"] == 0.0
    assert dog.ap_all_fixed == cat.ap_all_fixed == PERFECT_11
    assert overall.ap == (dog.ap + cat.ap) / 2 == d.result.map
    assert overall.dap["cls"] == (dog.ap + PERFECT_11) / 2 - overall.ap
    assert overall.ap_all_fixed == PERFECT_11


def test_hoiem_types_and_groups_on_the_hand_case():
    gt, dets = hand_case()
    d = diagnose(gt, dets, ["dog", "cat"])
    dog = d.hoiem.classes["dog"]
    # d1 (duplicate) and d2 (0.4) are loc; d3 on a cat, a similar class; d4 background
    assert dog.counts == {"loc": 2, "sim": 1, "oth": 0, "bg": 1}
    assert dog.duplicates == 1
    assert d.hoiem.classes["cat"].counts == {"loc": 0, "sim": 1, "oth": 0, "bg": 0}
    assert d.hoiem.impact["dog"]["without_loc"] == d.result.classes["dog"].ap


def test_hoiem_similar_classes_are_those_of_the_matlab_code():
    assert similar_classes("person") == {"bird", "cat", "cow", "dog", "horse", "sheep"}
    assert similar_classes("aeroplane") == {
        "bird",
        "boat",
        "bus",
        "car",
        "train",
        "bicycle",
        "motorbike",
    }
    assert similar_classes("sofa") == {"chair", "diningtable"}
    assert similar_classes("bottle") == frozenset()
    assert summary_sets(vocmap.VOC_CLASSES)["animals"] == (
        "bird",
        "cat",
        "cow",
        "dog",
        "horse",
        "sheep",
    )


def test_confusion_matrix_on_the_hand_case():
    gt, dets = hand_case()
    c = diagnose(gt, dets, ["dog", "cat"], score_threshold=0.5).confusion
    assert c.rows == ("dog", "cat", "background") and c.columns == ("dog", "cat", "missed")
    # dog kept: d0 TP, d3 on the cat (cat row), d1 d2 d4 background; D2 missed; cat's c0 < 0.5
    assert c.counts.tolist() == [[1, 0, 1], [1, 0, 1], [3, 0, 0]]
    assert c.ignored.tolist() == [0, 0]


def test_sensitivity_bins_on_the_hand_case():
    gt, dets = hand_case()
    s = diagnose(gt, dets, ["dog", "cat"]).sensitivity
    truncated = s.figures["truncated"]
    assert truncated["yes"]["dog"].objects == 1 and truncated["yes"]["dog"].recall == 1.0
    assert truncated["no"]["dog"].objects == 1 and truncated["no"]["dog"].recall == 0.0
    # the difficult bin counts D3 as a positive: d5 finds it
    assert s.figures["difficult"]["yes"]["dog"].recall == 1.0
    assert s.figures["difficult"]["no"]["dog"].ap == s.figures["difficult"]["no"]["dog"].ap
    assert s.figures["difficult"]["no"]["dog"].ap == sequential([1 / 11] * 6)
    # all three objects are 100 x 100 = 10000 > 96**2 pixels
    assert s.figures["size"]["large"]["overall"].objects == 3
    assert s.figures["size"]["small"]["overall"].objects == 0
    assert math.isnan(s.figures["size"]["small"]["overall"].ap)


def test_top_errors_on_the_hand_case():
    gt, dets = hand_case()
    d = diagnose(gt, dets, ["dog", "cat"], top=10)
    assert [(e["class"], e["score"], e["why"]) for e in d.top_false_positives] == [
        ("dog", 0.8, "dupe"),
        ("dog", 0.7, "loc"),
        ("dog", 0.6, "cls"),
        ("dog", 0.5, "bkg"),
        ("cat", 0.3, "cls"),
    ]
    assert d.top_false_positives[2]["object"] == {
        "class": "cat",
        "box": list(map(float, C1)),
        "difficult": False,
    }
    assert d.top_false_positives[2]["fix_makes_true_positive"]
    missed = {(e["class"], tuple(e["box"])): e["why"] for e in d.top_missed}
    assert missed == {("dog", tuple(map(float, D2))): "miss", ("cat", tuple(map(float, C1))): "cls"}


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases())
def test_devkit_mode_is_consistent(case):
    """The AP before fixes is evaluate's; no fix lowers it; all fixes give a perfect AP."""
    gt, dets = case
    classes = ["cat", "dog"]
    result = vocmap.Evaluator(gt, classes).evaluate(dets)
    d = diagnose(gt, dets, classes)
    for name in classes:
        b, r = d.tide.classes[name], result.classes[name]
        assert b.ap == r.ap or (math.isnan(b.ap) and math.isnan(r.ap))
        assert all(v >= 0 or math.isnan(v) for v in b.dap.values())
        if r.npos > b.counts["miss"]:  # something left to find once the misses are gone
            assert b.ap_all_fixed == PERFECT_11
        elif r.npos:
            assert math.isnan(b.ap_all_fixed)  # nothing left to score: leaves the mean
        errors = (
            b.counts["cls"]
            + b.counts["loc"]
            + b.counts["both"]
            + b.counts["dupe"]
            + b.counts["bkg"]
        )
        assert errors == r.fp  # every false positive gets exactly one type
    assert sum(d.tide.overall.counts.values()) == sum(
        sum(b.counts.values()) for b in d.tide.classes.values()
    )


def test_truncated_is_read_from_the_xml_and_survives_the_cache(tmp_path):
    voc_root, _ = make_case(
        tmp_path,
        {
            "000001": [
                VocObject("dog", (1, 1, 10, 10), truncated=True),
                VocObject("dog", (20, 20, 30, 30)),
            ]
        },
    )
    first = vocmap.read_voc(voc_root)
    assert first.truncated.tolist() == [True, False]
    cached = vocmap.read_voc(voc_root)  # second read: from the cache when it could store it
    assert cached.truncated.tolist() == [True, False]


def test_a_truncated_value_other_than_0_or_1_names_file_and_line(tmp_path):
    voc_root, _ = make_case(tmp_path, {"000001": [VocObject("dog", (1, 1, 10, 10))]})
    xml = voc_root / "Annotations" / "000001.xml"
    xml.write_text(
        xml.read_text().replace("<truncated>0</truncated>", "<truncated>yes</truncated>")
    )
    with pytest.raises(InputError, match=r"000001\.xml:13: <truncated> must be 0 or 1"):
        vocmap.read_voc(voc_root, cache=False)


def test_a_missing_truncated_reads_as_0(tmp_path):
    voc_root, _ = make_case(tmp_path, {"000001": [VocObject("dog", (1, 1, 10, 10))]})
    xml = voc_root / "Annotations" / "000001.xml"
    xml.write_text(xml.read_text().replace("\t\t<truncated>0</truncated>\n", ""))
    assert vocmap.read_voc(voc_root, cache=False).truncated.tolist() == [False]


def test_ground_truth_without_truncated_leaves_that_property_out():
    gt, dets = hand_case()
    plain = vocmap.GroundTruth.from_arrays(
        gt.image_ids, gt.object_image, ["dog", "dog", "cat", "dog"], gt.boxes, gt.difficult
    )
    s = diagnose(plain, vocmap.Detections(dets.by_class), ["dog", "cat"]).sensitivity
    assert "truncated" not in s.figures and s.missing == ("truncated",)


def test_diagnose_refuses_bad_thresholds_and_metrics():
    gt, dets = hand_case()
    with pytest.raises(VocmapError, match="background overlap"):
        diagnose(gt, dets, ["dog", "cat"], background_iou=0.6)
    with pytest.raises(VocmapError, match="unknown metric"):
        diagnose(gt, dets, ["dog", "cat"], metric="coco")


def test_diagnosis_json_round_trips_and_is_exact():
    import json

    gt, dets = hand_case()
    d = diagnose(gt, dets, ["dog", "cat"])
    data = json.loads(d.to_json())
    assert data["format"] == "vocmap-diagnosis"
    assert data["tide"]["classes"]["dog"]["dap"]["miss"] == d.tide.classes["dog"].dap["miss"]
    assert data["result"]["classes"]["dog"]["rec"]  # the curves travel with it (for the report)
    assert kernels.TRUE_POSITIVE == 1
