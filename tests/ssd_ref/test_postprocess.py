"""Detection output: greedy NMS (checked against a plain loop), thresholds, top k."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from budget import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from ssd_ref.config import DetectConfig, reference_config
from ssd_ref.modeling.box_utils import box_iou, encode
from ssd_ref.modeling.postprocess import detect_image, fixed_point_nms_mask, greedy_nms_mask
from ssd_ref.modeling.priors import prior_boxes

#: The CPU loop (numba) and the whole-tensor form (CUDA's), each checked below.
NMS_FORMS = {"cpu loop": greedy_nms_mask, "fixed point": fixed_point_nms_mask}


def reference_nms(boxes: torch.Tensor, threshold: float) -> list[int]:
    """Caffe ApplyNMSFast written as the textbook loop (boxes sorted best first), on
    box_iou's IoUs (compared as torch compares them: in float32)."""
    above = (box_iou(boxes, boxes) > threshold).tolist()
    kept: list[int] = []
    for i in range(len(boxes)):
        if not any(above[j][i] for j in kept):
            kept.append(i)
    return kept


def random_boxes(generator: torch.Generator, n: int) -> torch.Tensor:
    centres = torch.rand(n, 2, generator=generator)
    sizes = torch.rand(n, 2, generator=generator) * 0.3 + 0.02
    return torch.cat([centres - sizes / 2, centres + sizes / 2], dim=1)


@pytest.mark.parametrize("form", NMS_FORMS)
def test_nms_equals_the_textbook_loop(form):
    generator = torch.Generator().manual_seed(0)
    for trial in range(40):
        n = 1 + trial * 3
        boxes = random_boxes(generator, n)
        valid = torch.ones(1, n, dtype=torch.bool)
        keep = NMS_FORMS[form](boxes[None], valid, 0.45)[0]
        assert torch.nonzero(keep).flatten().tolist() == reference_nms(boxes, 0.45)


@pytest.mark.parametrize("form", NMS_FORMS)
def test_nms_chain_keeps_alternate_boxes(form):
    # Neighbours overlap with IoU 0.6, boxes two apart with IoU 1/3: greedy keeps
    # 0, 2, 4 (a one-pass "suppressed by any better box" rule would keep only 0).
    boxes = torch.tensor([[0.05 * i, 0.0, 0.05 * i + 0.2, 1.0] for i in range(5)])
    keep = NMS_FORMS[form](boxes[None], torch.ones(1, 5, dtype=torch.bool), 0.45)[0]
    assert keep.tolist() == [True, False, True, False, True]


@pytest.mark.parametrize("form", NMS_FORMS)
def test_invalid_boxes_neither_kept_nor_suppressing(form):
    boxes = torch.tensor([[[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5]]])
    valid = torch.tensor([[False, True, True]])
    assert NMS_FORMS[form](boxes, valid, 0.45)[0].tolist() == [False, True, True]


@pytest.mark.parametrize("form", NMS_FORMS)
def test_an_iou_equal_to_the_threshold_does_not_suppress(form):
    # IoU exactly 0.5 in float32 (areas 1 and 0.5, intersection 0.5): kept at 0.5,
    # suppressed just below; the threshold is compared in float32, as torch does.
    boxes = torch.tensor([[[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.5]]])
    valid = torch.ones(1, 2, dtype=torch.bool)
    assert NMS_FORMS[form](boxes, valid, 0.5)[0].tolist() == [True, True]
    assert NMS_FORMS[form](boxes, valid, 0.4999)[0].tolist() == [True, False]
    # IoU float32(0.1), which is above the double 0.1: kept at threshold 0.1.
    boxes = torch.tensor([[[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.1]]])
    assert NMS_FORMS[form](boxes, valid, 0.1)[0].tolist() == [True, True]


#: Coordinates on a coarse grid (many equal IoUs and ties with the threshold),
#: anywhere in [-0.5, 1.5], and the values a diverged network decodes to.
COORDINATE = st.one_of(
    st.integers(0, 10).map(lambda k: k / 10),
    st.floats(-0.5, 1.5, width=32),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 0.0, -0.0]),
)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda groups: st.integers(0, 12).flatmap(
            lambda count: st.tuples(
                st.lists(COORDINATE, min_size=groups * count * 4, max_size=groups * count * 4),
                st.lists(st.booleans(), min_size=groups * count, max_size=groups * count),
                st.just((groups, count)),
            )
        )
    ),
    st.sampled_from([0.0, 0.1, 0.3, 0.45, 0.5, 0.7, 1.0]),
)
def test_the_cpu_loop_keeps_what_the_fixed_point_keeps(drawn, threshold):
    coordinates, flags, (groups, count) = drawn
    boxes = torch.tensor(np.array(coordinates, np.float32).reshape(groups, count, 4))
    valid = torch.tensor(flags, dtype=torch.bool).reshape(groups, count)
    loop = greedy_nms_mask(boxes, valid, threshold)
    assert loop.tolist() == fixed_point_nms_mask(boxes, valid, threshold).tolist()


def make_outputs(boxes_by_prior: dict[int, tuple[list[float], int, float]], num_classes: int):
    """Network outputs that decode to given boxes with given class probabilities."""
    config = reference_config().model
    priors = prior_boxes(config)
    loc = torch.zeros(8732, 4)
    conf = torch.full((8732, num_classes), -30.0)
    conf[:, 0] = 30.0  # background everywhere else
    for prior, (box, label, prob) in boxes_by_prior.items():
        loc[prior] = encode(torch.tensor([box]), priors[prior : prior + 1], config.variances)[0]
        conf[prior] = -30.0
        conf[prior, label + 1] = 0.0
        conf[prior, 0] = float(torch.log(torch.tensor((1 - prob) / prob)))
    return loc, conf, priors, config.variances


def test_detect_image_thresholds_nms_and_labels():
    loc, conf, priors, variances = make_outputs(
        {
            100: ([0.1, 0.1, 0.4, 0.4], 0, 0.9),
            101: ([0.11, 0.1, 0.41, 0.4], 0, 0.8),  # suppressed by 100 (same class)
            102: ([0.11, 0.1, 0.41, 0.4], 1, 0.7),  # other class: kept
            103: ([0.6, 0.6, 0.9, 0.9], 2, 0.005),  # below 0.01: dropped
        },
        num_classes=4,
    )
    result = detect_image(loc, conf, priors, variances, DetectConfig())
    assert result.labels.tolist() == [0, 1]
    assert torch.allclose(result.scores, torch.tensor([0.9, 0.7]), atol=1e-4)
    assert torch.allclose(result.boxes[0], torch.tensor([0.1, 0.1, 0.4, 0.4]), atol=1e-5)


def test_keep_top_k_and_top_k():
    # 300 disjoint boxes, 100 per class, all with score 0.5.
    boxes = {p: ([0.003 * p, 0.0, 0.003 * p + 0.002, 0.01], p % 3, 0.5) for p in range(300)}
    loc, conf, priors, variances = make_outputs(boxes, num_classes=4)
    result = detect_image(loc, conf, priors, variances, DetectConfig(top_k=50, keep_top_k=70))
    assert len(result.scores) == 70  # 3 classes x 50 candidates, then the best 70
    assert torch.all(result.scores[:-1] >= result.scores[1:])
    few = detect_image(loc, conf, priors, variances, DetectConfig(top_k=10, keep_top_k=200))
    assert len(few.scores) == 30


# --- result-file conventions -------------------------------------------------------


def one_detection(box: list[float], score: float = 0.8765432):
    from ssd_ref.modeling.postprocess import Detections

    return Detections(torch.tensor([box]), torch.tensor([score]), torch.tensor([0]))


def test_ssd_ref_convention_is_the_inverse_of_the_voc_conversion():
    from ssd_ref.engine.inference import format_lines

    lines = format_lines("img", one_detection([0.1, 0.2, 0.5, 0.9]), 500, 375, 1)
    assert lines == [["img 0.876543 51.00 76.00 250.00 337.50\n"]]


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        # Clip to [0, 1], scale by (500, 375); width/height truncated after rounding.
        ([0.1, 0.2, 0.5, 0.9], "50 75 250 337"),
        ([-0.2, -0.1, 1.3, 1.2], "0 0 500 375"),
        # xmax is int(xmin) + int(width), not int(xmax): 10.6 + 9.9 -> 10 + 9 = 19.
        ([10.6 / 500, 0.0, 20.5 / 500, 0.5], "10 0 19 187"),
        # Rounded to hundredths before truncation: 47.996 -> 48.00 -> 48.
        ([47.996 / 500, 0.0, 60.0 / 500, 0.1], "48 0 60 37"),
    ],
)
def test_caffe_convention_writes_what_caffes_detection_output_wrote(box, expected):
    from ssd_ref.engine.inference import format_lines

    (line,) = format_lines("img", one_detection(box), 500, 375, 1, "caffe")[0]
    assert line == f"img 0.876543 {expected}\n"  # score: six significant digits (C++ <<)
    (small,) = format_lines("img", one_detection(box, 0.0123456789), 500, 375, 1, "caffe")[0]
    assert small.split()[1] == "0.0123457"
