"""Box geometry: VOC <-> normalised conversions, IoU, encode/decode, the matching rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssd_ref.config import reference_config
from ssd_ref.data.voc import normalized_to_voc, voc_to_normalized
from ssd_ref.modeling.box_utils import (
    box_iou,
    build_targets,
    decode,
    encode,
    match_priors,
)
from ssd_ref.modeling.priors import prior_boxes

VARIANCES = (0.1, 0.1, 0.2, 0.2)


def test_voc_boxes_map_to_normalised_corners_and_back():
    # A 10x10 image: the box covering all its pixels is (1, 1, 10, 10) in VOC.
    assert voc_to_normalized(np.array([[1, 1, 10, 10]]), 10, 10).tolist() == [[0, 0, 1, 1]]
    # First column only: width 1 pixel = 1/W.
    assert voc_to_normalized(np.array([[1, 1, 1, 5]]), 10, 20)[0].tolist() == pytest.approx(
        [0.0, 0.0, 0.1, 0.25]
    )
    assert normalized_to_voc(np.array([[0.0, 0.0, 1.0, 1.0]]), 10, 10).tolist() == [[1, 1, 10, 10]]
    rng = np.random.default_rng(0)
    for _ in range(50):
        width, height = rng.integers(50, 600, size=2)
        x1, x2 = np.sort(rng.integers(1, width + 1, size=2))
        y1, y2 = np.sort(rng.integers(1, height + 1, size=2))
        voc = np.array([[x1, y1, x2, y2]], dtype=np.float64)
        normalised = voc_to_normalized(voc, width, height)
        # widths agree exactly: (x2 - x1) * W == xmax - xmin + 1
        assert (normalised[0, 2] - normalised[0, 0]) * width == pytest.approx(x2 - x1 + 1, abs=1e-3)
        assert np.allclose(normalized_to_voc(normalised, width, height), voc, atol=1e-3)


def test_detections_are_clipped_to_the_devkit_frame():
    boxes = np.array([[-0.2, -0.1, 1.3, 0.5], [0.5, 0.5, 0.5 + 1e-9, 2.0]])
    out = normalized_to_voc(boxes, 200, 100)
    assert out[0].tolist() == [1.0, 1.0, 200.0, 50.0]
    assert out[:, [0, 2]].min() >= 1 and out[:, [0, 2]].max() <= 200
    assert out[:, [1, 3]].min() >= 1 and out[:, [1, 3]].max() <= 100


def test_iou_values():
    a = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0]])
    b = torch.tensor([[0.25, 0.25, 0.75, 0.75], [2.0, 2.0, 3.0, 3.0], [0.0, 0.0, 0.5, 0.5]])
    expected = torch.tensor([[1 / 7, 0.0, 1.0], [0.25, 0.0, 0.25]])
    assert torch.allclose(box_iou(a, b), expected)


def test_encode_decode_round_trip_with_caffe_variances():
    priors = prior_boxes(reference_config().model)
    generator = torch.Generator().manual_seed(0)
    centres = torch.rand(8732, 2, generator=generator)
    sizes = torch.rand(8732, 2, generator=generator) * 0.9 + 0.02
    boxes = torch.cat([centres - sizes / 2, centres + sizes / 2], dim=1)
    codes = encode(boxes, priors, VARIANCES)
    assert torch.allclose(decode(codes, priors, VARIANCES), boxes, atol=1e-5)
    # The code itself: a box equal to its prior encodes to zeros; known offsets.
    assert torch.allclose(encode(priors, priors, VARIANCES), torch.zeros(8732, 4), atol=1e-5)
    prior = torch.tensor([[0.4, 0.4, 0.6, 0.6]])
    box = torch.tensor([[0.42, 0.4, 0.62, 0.8]])  # centre +0.02 x, +0.1 y; h doubled
    expected = torch.tensor([[0.02 / 0.2 / 0.1, 0.1 / 0.2 / 0.1, 0.0, float(np.log(2.0)) / 0.2]])
    assert torch.allclose(encode(box, prior, VARIANCES), expected, atol=1e-5)


def test_bipartite_gives_every_ground_truth_its_own_best_prior():
    priors = torch.tensor(
        [
            [0.0, 0.0, 0.4, 0.4],  # 0: best for both gts
            [0.0, 0.0, 0.3, 0.3],  # 1: second best for gt 1
            [0.6, 0.6, 1.0, 1.0],  # 2: far
        ]
    )
    gts = torch.tensor([[0.0, 0.0, 0.4, 0.4], [0.0, 0.0, 0.35, 0.35]])
    match = match_priors(gts, priors, threshold=0.5)
    # gt 0 takes prior 0 (IoU 1); gt 1 may not take it again and gets prior 1.
    assert match.gt_index.tolist() == [0, 1, -1]


def test_bipartite_matches_even_below_the_threshold():
    priors = torch.tensor([[0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 1.0, 1.0]])
    gt = torch.tensor([[0.0, 0.0, 0.1, 0.1]])  # IoU 0.25 with prior 0
    match = match_priors(gt, priors, threshold=0.5)
    assert match.gt_index.tolist() == [0, -1]


def test_per_prediction_takes_every_prior_at_or_above_half():
    gt = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    priors = torch.tensor(
        [
            [0.0, 0.0, 1.0, 1.0],  # IoU 1 (bipartite)
            [0.0, 0.0, 1.0, 0.5],  # IoU 0.5 exactly: >= threshold
            [0.0, 0.0, 1.0, 0.49],  # IoU 0.49: no
        ]
    )
    match = match_priors(gt, priors, threshold=0.5)
    assert match.gt_index.tolist() == [0, 0, -1]


def test_per_prediction_picks_the_most_overlapping_ground_truth():
    gts = torch.tensor([[0.0, 0.0, 0.5, 1.0], [0.0, 0.0, 0.6, 1.0]])
    priors = torch.tensor([[0.0, 0.0, 0.5, 1.0], [0.0, 0.0, 0.6, 1.0], [0.0, 0.0, 0.58, 1.0]])
    match = match_priors(gts, priors, threshold=0.5)
    assert match.gt_index.tolist() == [0, 1, 1]


def test_build_targets_labels_and_codes():
    priors = prior_boxes(reference_config().model)
    gts = torch.tensor([[0.1, 0.1, 0.4, 0.5], [0.5, 0.5, 0.9, 0.8]])
    labels_in = torch.tensor([3, 0])
    loc_target, labels = build_targets(gts, labels_in, priors, VARIANCES)
    positive = labels > 0
    assert set(labels[positive].tolist()) == {4, 1}  # class + 1; 0 is background
    assert (labels >= 0).all()  # nothing ignored at 0.5/0.5
    assert torch.all(loc_target[~positive] == 0)
    iou = box_iou(gts, priors)
    # Every positive that is not a bipartite match overlaps its box >= 0.5.
    decoded = decode(loc_target[positive], priors[positive], VARIANCES)
    assert torch.all(box_iou(decoded, gts).max(dim=1).values > 0.999)
    assert int((iou.max(dim=0).values >= 0.5).sum()) <= int(positive.sum())


def test_no_ground_truth_means_all_background():
    priors = prior_boxes(reference_config().model)
    loc_target, labels = build_targets(
        torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), priors, VARIANCES
    )
    assert torch.all(labels == 0) and torch.all(loc_target == 0)
