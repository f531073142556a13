"""``--semantics ssd_keras`` and ``--semantics chainercv`` give those evaluators' numbers, ``==``.

The oracles are the evaluators' own code, transcribed with provenance
(tests/helpers/ssd_keras_oracle.py, chainercv_oracle.py), run on the golden cases and
on random cases built to hit their rules: score ties (their NumPy sorts), zero-area
and inverted boxes (NaN overlaps), difficult objects first in line (0/0 precision),
fractional detection boxes (float32), images and classes without objects.
"""

from __future__ import annotations

import json
import math
import struct

import chainercv_oracle
import numpy as np
import pytest
import ssd_keras_oracle
from budget import examples
from fixture_paths import GOLDEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vocmap
from vocmap.testing import devkit_reference as ref

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the oracles divide 0 by 0
ORACLES = {"ssd_keras": ssd_keras_oracle, "chainercv": chainercv_oracle}
ELEVEN = sum([1 / 11] * 11)  # every p(t) = 1, accumulated: 1.0000000000000002
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and p.name != "edge_unknown_image")


def bits(value: float) -> bytes:
    return b"nan" if math.isnan(value) else struct.pack("<d", value)


def golden_inputs(case: str):
    meta = json.loads((GOLDEN / case / "case.json").read_text())
    classes = meta["classes"]
    image_ids = ref.read_image_set(GOLDEN / case / "ImageSets" / "Main" / "test.txt")
    objects = ref.load_ground_truth(GOLDEN / case / "Annotations", image_ids)
    detections = {}
    for name in classes:
        path = GOLDEN / case / "results" / f"comp4_det_test_{name}.txt"
        ids, scores, boxes = ref.read_results(path) if path.exists() else ([], [], [])
        detections[name] = list(zip(ids, scores, boxes))
    return image_ids, objects, classes, detections


def vocmap_numbers(image_ids, objects, classes, detections, semantics, metric, iou):
    flat = [(k, o) for k, objs in enumerate(objects) for o in objs]
    gt = vocmap.GroundTruth.from_arrays(
        image_ids,
        object_image=np.array([k for k, _ in flat], dtype=np.int64),
        object_class_names=[o[0] for _, o in flat],
        boxes=np.array([o[2] for _, o in flat], dtype=np.float64).reshape(-1, 4),
        difficult=np.array([o[1] for _, o in flat], dtype=bool),
    )
    dets = vocmap.Detections.from_arrays(
        gt,
        {
            name: (
                [d[0] for d in detections[name]],
                np.array([d[1] for d in detections[name]], dtype=np.float64),
                np.array([d[2] for d in detections[name]], dtype=np.float64).reshape(-1, 4),
            )
            for name in classes
        },
        box_format="voc",
    )
    result = vocmap.Evaluator(
        gt, list(classes), metric=metric, iou=iou, semantics=semantics
    ).evaluate(dets)
    return result.map, [result.classes[c].ap for c in classes]


def oracle_runs(semantics, image_ids, objects, classes, detections) -> bool:
    """ssd_keras itself stops (IndexError) on a class without predictions or an
    image without objects; those inputs have no number to compare."""
    if semantics != "ssd_keras":
        return True
    return all(detections[c] for c in classes) and all(objects)


def assert_same_numbers(semantics, inputs, metric="voc07", iou=0.5):
    expected_map, expected = ORACLES[semantics].evaluate(*inputs, metric=metric, iou=iou)
    got_map, got = vocmap_numbers(*inputs, semantics, metric, iou)
    assert [bits(a) for a in got] == [bits(a) for a in expected], (got, expected)
    assert bits(got_map) == bits(expected_map), (got_map, expected_map)


@pytest.mark.parametrize("metric", ["voc07", "voc12"])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("semantics", sorted(ORACLES))
def test_golden_cases_equal_the_evaluators_own_code(semantics, case, metric):
    inputs = golden_inputs(case)
    if not oracle_runs(semantics, *inputs):
        pytest.skip("ssd_keras raises IndexError on this input (a class without detections)")
    assert_same_numbers(semantics, inputs, metric)


# --------------------------------------------------------------------------- #
# Random cases
# --------------------------------------------------------------------------- #

CLASSES = ["cat", "dog", "person"]


@st.composite
def random_inputs(draw, every_class_detected: bool):
    n_images = draw(st.integers(1, 5))
    image_ids = [f"{k:06d}" for k in range(n_images)]
    corner = st.integers(1, 40)
    objects = []
    for _ in range(n_images):
        image = []
        for _ in range(draw(st.integers(1 if every_class_detected else 0, 5))):
            x, y = draw(corner), draw(corner)
            # -1 makes a zero-area box (x2 = x1 - 1), -3 an inverted one.
            w, h = draw(st.sampled_from([-3, -1, 0, 3, 9, 20])), draw(st.integers(-1, 20))
            image.append(
                (draw(st.sampled_from(CLASSES)), draw(st.booleans()), (x, y, x + w, y + h))
            )
        objects.append(image)
    all_objects = [(image_ids[k], o) for k, objs in enumerate(objects) for o in objs]
    score_pool = draw(st.lists(st.sampled_from([0.1, 0.5, 0.9, 0.25, 0.75]), min_size=1))
    detections = {}
    for name in CLASSES:
        records = []
        for _ in range(draw(st.integers(1 if every_class_detected else 0, 12))):
            kind = draw(st.integers(0, 3))
            if all_objects and kind <= 1:
                image, (_, _, box) = all_objects[draw(st.integers(0, len(all_objects) - 1))]
                if kind == 0:
                    jitter = draw(st.sampled_from([0, 0, 1, -2, 0.3, -0.7]))
                    box = tuple(v + jitter * (k % 2) for k, v in enumerate(box))
                else:
                    box = (box[0], box[1], box[2], box[1] + (box[3] - box[1]) * 1.9)
            else:
                image = image_ids[draw(st.integers(0, n_images - 1))]
                x = draw(st.integers(1, 40)) + draw(st.sampled_from([0.0, 0.1, 0.55]))
                y = draw(st.integers(1, 40))
                w, h = draw(st.sampled_from([-1, 0, 5, 15])), draw(st.sampled_from([-1, 0, 5, 15]))
                box = (x, y, x + w, y + h)
            records.append((image, draw(st.sampled_from(score_pool)), tuple(map(float, box))))
        detections[name] = records
    return image_ids, objects, CLASSES, detections


RANDOM = settings(
    max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@RANDOM
@given(
    random_inputs(every_class_detected=True),
    st.sampled_from(["voc07", "voc12"]),
    st.sampled_from([0.5, 0.5, 0.3, 0.7]),
)
def test_ssd_keras_equals_its_code_on_random_cases(inputs, metric, iou):
    assert_same_numbers("ssd_keras", inputs, metric, iou)


@RANDOM
@given(
    random_inputs(every_class_detected=False),
    st.sampled_from(["voc07", "voc12"]),
    st.sampled_from([0.5, 0.5, 0.3, 0.7]),
)
def test_chainercv_equals_its_code_on_random_cases(inputs, metric, iou):
    _, objects, _, detections = inputs
    if not any(objects) and not any(detections.values()):
        return  # chainercv raises ValueError (max() of no classes)
    assert_same_numbers("chainercv", inputs, metric, iou)


# --------------------------------------------------------------------------- #
# One case per rule: the preset equals the code, and without that rule it would not
# --------------------------------------------------------------------------- #

# (preset, rule, the devkit's value of it, object box, detection box, iou, AP)
RULE_CASES = [
    # ssd_keras's iou(): intersection without the +1, areas with it. Object (1,1,10,10)
    # and detection (1,1,10,19): 9 * 9 = 81 over 100 + 190 - 81 = 209, 0.39: a miss
    # (the devkit: 100 / 190 = 0.53, a hit).
    ("ssd_keras", "intersection_plus_one", True, (1, 1, 10, 10), (1, 1, 10, 19), 0.5, 0.0),
    # Detection coordinates are a float32 array ('f4' fields): 7.470587969294118 becomes
    # 7.4705882, whose IoU reaches 0.5 (in doubles it is just below). Its area is then
    # float32 arithmetic too.
    (
        "ssd_keras",
        "det_box_dtype",
        "float64",
        (1, 1, 10, 10),
        (1, 1, 10, 7.470587969294118),
        0.5,
        1.0,
    ),
    ("ssd_keras", "iou_dtype", "float64", (1, 1, 10, 10), (1, 1, 10, 7.470587969294118), 0.5, 1.0),
    # Two zero-area boxes (x2 = x1 - 1): every object competes, IoU 0/0 = NaN is
    # numpy's argmax and is not < 0.5, so it matches (the devkit: no intersection).
    ("ssd_keras", "overlap_candidates", "intersecting", (5, 5, 4, 4), (5, 5, 4, 4), 0.5, 1.0),
    (
        "chainercv",
        "overlap_candidates",
        "intersecting",
        (5, 5, 4, 4),
        (5, 5, 4, 4),
        0.5,
        ELEVEN,
    ),
    # chainercv's boxes are float32: y2 = 4.9999999 is 5.0 there, IoU exactly 0.5.
    ("chainercv", "iou_dtype", "float64", (1, 1, 10, 10), (1, 1, 10, 4.9999999), 0.5, ELEVEN),
    # chainercv adds 1 to y2 in float32 first: 8388607.5 + 1 rounds to 8388608, so the
    # height is 8388607.5, not 8388608 as (y2 - y1) + 1 gives: IoU just under 0.5.
    (
        "chainercv",
        "plus_one_on_corners",
        False,
        (1, 1, 1, 16777216),
        (1, 1.5, 1, 8388608.5),
        0.5,
        0.0,
    ),
]


@pytest.mark.parametrize(
    ("preset", "rule", "devkit_value", "gt", "det", "iou", "expected"), RULE_CASES
)
def test_each_rule_is_needed_for_the_evaluators_number(
    preset, rule, devkit_value, gt, det, iou, expected
):
    from dataclasses import replace

    from vocmap.core.semantics import get_semantics

    inputs = (["000001"], [[("dog", False, gt)]], ["dog"], {"dog": [("000001", 0.5, det)]})
    oracle_map, _ = ORACLES[preset].evaluate(*inputs, iou=iou)
    rules = get_semantics(preset)
    assert getattr(rules, rule) != devkit_value
    assert vocmap_numbers(*inputs, rules, "voc07", iou)[0] == oracle_map == expected
    without = replace(rules, **{rule: devkit_value})
    assert vocmap_numbers(*inputs, without, "voc07", iou)[0] != oracle_map


def test_ssd_keras_integrate_mode_drops_the_first_step_and_the_last_recall():
    """--metric voc12: one detection, one object. The recall has one distinct value,
    so ssd_keras's loop over pairs of distinct recalls adds nothing: AP 0 (the devkit: 1)."""
    inputs = (
        ["000001"],
        [[("dog", False, (1, 1, 10, 10))]],
        ["dog"],
        {"dog": [("000001", 0.9, (1.0, 1.0, 10.0, 10.0))]},
    )
    assert ssd_keras_oracle.evaluate(*inputs, metric="voc12")[0] == 0.0
    assert vocmap_numbers(*inputs, "ssd_keras", "voc12", 0.5)[0] == 0.0
    assert vocmap_numbers(*inputs, "devkit", "voc12", 0.5)[0] == 1.0


def test_chainercv_class_without_positives_is_nan_and_left_out_of_the_mean():
    """A class with only a difficult object: chainercv's recall is None, its AP NaN, and
    numpy.nanmean leaves it out; the devkit gives AP 0 and counts it."""
    objects = [[("cat", True, (1, 1, 10, 10)), ("dog", False, (1, 1, 10, 10))]]
    dets = {
        "cat": [("000001", 0.9, (1.0, 1.0, 10.0, 10.0))],
        "dog": [("000001", 0.9, (1.0, 1.0, 10.0, 10.0))],
    }
    inputs = (["000001"], objects, ["cat", "dog"], dets)
    mean, aps = vocmap_numbers(*inputs, "chainercv", "voc07", 0.5)
    assert math.isnan(aps[0]) and aps[1] == ELEVEN and mean == ELEVEN
    assert chainercv_oracle.evaluate(*inputs)[0] == mean
    assert vocmap_numbers(*inputs, "devkit", "voc07", 0.5)[0] == ELEVEN / 2


def test_ssd_keras_stops_on_a_class_without_detections_and_vocmap_gives_it_ap_0():
    """ssd_keras's match_predictions skips such a class without appending its
    cumulative arrays, and compute_precision_recall then runs off the list's end.
    vocmap gives the class AP 0 (what its formulas give for an empty curve)."""
    objects = [[("cat", False, (1, 1, 10, 10)), ("dog", False, (1, 1, 10, 10))]]
    dets = {"cat": [], "dog": [("000001", 0.9, (1.0, 1.0, 10.0, 10.0))]}
    inputs = (["000001"], objects, ["cat", "dog"], dets)
    with pytest.raises(IndexError):
        ssd_keras_oracle.evaluate(*inputs)
    mean, aps = vocmap_numbers(*inputs, "ssd_keras", "voc07", 0.5)
    assert aps == [0.0, 1.0] and mean == 0.5
