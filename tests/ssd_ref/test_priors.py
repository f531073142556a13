"""Priors: count, order and values against Caffe's PriorBox formula; not clipped."""

from __future__ import annotations

import math

import pytest
import torch

from ssd_ref.config import reference_config
from ssd_ref.modeling.priors import expanded_aspect_ratios, prior_boxes, priors_per_location


@pytest.fixture(scope="module")
def priors():
    return prior_boxes(reference_config().model)


def caffe_prior(layer: int, row: int, col: int, k: int) -> list[float]:
    """PriorBoxLayer::Forward_cpu for SSD300, written out independently."""
    steps = [8, 16, 32, 64, 100, 300]
    min_sizes = [30, 60, 111, 162, 213, 264]
    max_sizes = [60, 111, 162, 213, 264, 315]
    ratios = [[2], [2, 3], [2, 3], [2, 3], [2], [2]][layer]
    cx, cy = (col + 0.5) * steps[layer], (row + 0.5) * steps[layer]
    shapes = [(min_sizes[layer],) * 2, (math.sqrt(min_sizes[layer] * max_sizes[layer]),) * 2]
    for r in ratios:
        for ar in (r, 1 / r):
            shapes.append((min_sizes[layer] * math.sqrt(ar), min_sizes[layer] / math.sqrt(ar)))
    w, h = shapes[k]
    return [(cx - w / 2) / 300, (cy - h / 2) / 300, (cx + w / 2) / 300, (cy + h / 2) / 300]


def flat_index(layer: int, row: int, col: int, k: int) -> int:
    maps, per = [38, 19, 10, 5, 3, 1], [4, 6, 6, 6, 4, 4]
    offset = sum(m * m * p for m, p in zip(maps[:layer], per[:layer], strict=True))
    return offset + (row * maps[layer] + col) * per[layer] + k


def test_there_are_8732_priors(priors):
    assert priors.shape == (8732, 4) and priors.dtype == torch.float32
    assert priors_per_location(reference_config().model) == [4, 6, 6, 6, 4, 4]
    assert expanded_aspect_ratios((2.0, 3.0)) == [1.0, 2.0, 0.5, 3.0, 1.0 / 3.0]


@pytest.mark.parametrize(
    ("layer", "row", "col", "k"),
    [
        (0, 0, 0, 0),
        (0, 0, 0, 3),
        (0, 37, 37, 1),
        (0, 12, 25, 2),
        (1, 3, 5, 1),
        (1, 18, 0, 5),
        (2, 9, 4, 4),
        (3, 2, 2, 0),
        (4, 1, 2, 3),
        (5, 0, 0, 0),
        (5, 0, 0, 1),
        (5, 0, 0, 3),
    ],
)
def test_prior_values_follow_the_caffe_formula(priors, layer, row, col, k):
    expected = torch.tensor(caffe_prior(layer, row, col, k), dtype=torch.float32)
    assert torch.allclose(priors[flat_index(layer, row, col, k)], expected, atol=1e-6, rtol=0)


def test_priors_are_not_clipped(priors):
    # conv4_3's corner priors and conv9_2's large ones extend past the image.
    assert priors.min() < 0 and priors.max() > 1
    assert priors[flat_index(5, 0, 0, 1)].tolist() == pytest.approx(
        [0.5 - math.sqrt(264 * 315) / 600, 0.5 - math.sqrt(264 * 315) / 600,
         0.5 + math.sqrt(264 * 315) / 600, 0.5 + math.sqrt(264 * 315) / 600], abs=1e-6
    )  # fmt: skip
