"""Priors: count, order and values against Caffe's PriorBox formula; not clipped.

The bit-for-bit test transcribes ``PriorBoxLayer::Forward_cpu`` (Caffe SSD,
src/caffe/layers/prior_box_layer.cpp) statement by statement in plain Python,
rounding to float32 with ``struct`` wherever C++ stores into a ``float``: it
shares no code (and no numpy) with :mod:`ssd_ref.modeling.priors`.
"""

from __future__ import annotations

import math
import struct

import numpy as np
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
    # float32 values, as Caffe's vector<float> holds them (1/3 stored as a float)
    assert expanded_aspect_ratios((2.0, 3.0)) == [1.0, 2.0, 0.5, 3.0, float(np.float32(1 / 3))]


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


# --- bit for bit against a float32 transcription of Caffe's PriorBox --------------


def f32(x: float) -> float:
    """Round a double to the nearest float32 (a C++ store into ``float``)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def caffe_prior_box_layer(
    layer_width: int, layer_height: int, img_width: int, img_height: int, step: float,
    offset: float, min_sizes: list[float], max_sizes: list[float],
    aspect_ratio_param: list[float], flip: bool,
) -> list[float]:  # fmt: skip
    """LayerSetUp + Forward_cpu of Caffe's PriorBoxLayer<float>, the top's first channel.

    C++ types: ``vector<float> min_sizes_, max_sizes_, aspect_ratios_``; ``float
    offset_, step_w, center_x, box_width, ar``; ``int min_size_, max_size_,
    img_width``. ``sqrt`` of a float is the float overload (math.h), of an int
    the double one. A float times/divided by a float is rounded to float (exact
    in double first: Python's double operations followed by ``f32`` give the
    correctly rounded float result); an expression with the double literal
    ``2.`` is evaluated in double and rounded when stored into ``top_data``.
    """
    min_sizes_ = [f32(v) for v in min_sizes]
    max_sizes_ = [f32(v) for v in max_sizes]
    aspect_ratios_ = [1.0]
    for value in aspect_ratio_param:
        ar = f32(value)
        already_exist = any(abs(ar - seen) < 1e-6 for seen in aspect_ratios_)
        if not already_exist:
            aspect_ratios_.append(ar)
            if flip:
                aspect_ratios_.append(f32(1.0 / ar))  # 1./ar: double, pushed into vector<float>
    offset_ = f32(offset)
    step_w = step_h = f32(step)
    top_data: list[float] = []
    for h in range(layer_height):
        for w in range(layer_width):
            center_x = f32(f32(w + offset_) * step_w)
            center_y = f32(f32(h + offset_) * step_h)
            for s in range(len(min_sizes_)):
                min_size_ = int(min_sizes_[s])
                box_width = box_height = f32(min_size_)
                top_data += [
                    f32((center_x - box_width / 2.0) / img_width),
                    f32((center_y - box_height / 2.0) / img_height),
                    f32((center_x + box_width / 2.0) / img_width),
                    f32((center_y + box_height / 2.0) / img_height),
                ]
                if max_sizes_:
                    max_size_ = int(max_sizes_[s])
                    box_width = box_height = f32(math.sqrt(min_size_ * max_size_))
                    top_data += [
                        f32((center_x - box_width / 2.0) / img_width),
                        f32((center_y - box_height / 2.0) / img_height),
                        f32((center_x + box_width / 2.0) / img_width),
                        f32((center_y + box_height / 2.0) / img_height),
                    ]
                for ar in aspect_ratios_:
                    if abs(ar - 1.0) < 1e-6:
                        continue
                    root = f32(math.sqrt(ar))  # sqrt(float): float
                    box_width = f32(f32(min_size_) * root)
                    box_height = f32(f32(min_size_) / root)
                    top_data += [
                        f32((center_x - box_width / 2.0) / img_width),
                        f32((center_y - box_height / 2.0) / img_height),
                        f32((center_x + box_width / 2.0) / img_width),
                        f32((center_y + box_height / 2.0) / img_height),
                    ]
    return top_data


def caffe_ssd300_priors() -> list[float]:
    """The six PriorBox layers of Caffe's ssd_pascal.py SSD300, concatenated (mbox_priorbox)."""
    maps, steps = [38, 19, 10, 5, 3, 1], [8, 16, 32, 64, 100, 300]
    # ssd_pascal.py: min_dim * ratio / 100. for ratio 20, 37, ..., with 10 and 20 prepended.
    min_sizes = [300 * 10 / 100.0] + [300 * r / 100.0 for r in range(20, 91, 17)]
    max_sizes = [300 * 20 / 100.0] + [300 * (r + 17) / 100.0 for r in range(20, 91, 17)]
    ratios = [[2], [2, 3], [2, 3], [2, 3], [2], [2]]
    values: list[float] = []
    for k in range(6):
        values += caffe_prior_box_layer(maps[k], maps[k], 300, 300, steps[k], 0.5,
                                        [min_sizes[k]], [max_sizes[k]], ratios[k], True)  # fmt: skip
    return values


def test_every_prior_coordinate_is_caffes_float32_value_bit_for_bit(priors):
    expected = caffe_ssd300_priors()
    assert len(expected) == 8732 * 4
    ours = priors.reshape(-1).tolist()
    differing = [i for i, (a, b) in enumerate(zip(ours, expected, strict=True)) if a != b]
    assert not differing, f"{len(differing)} coordinates differ, first at {differing[:5]}"


def test_rounding_once_from_double_would_differ_in_1394_coordinates(priors):
    # The measurement against compiled Caffe: the double formula (as in
    # caffe_prior above) rounded once to float32 differs in 1,394 of the 34,928
    # coordinates. Our priors must be the float32 ones.
    double = torch.tensor(
        [caffe_prior(layer, row, col, k)
         for layer, (size, per) in enumerate(zip([38, 19, 10, 5, 3, 1], [4, 6, 6, 6, 4, 4]))
         for row in range(size) for col in range(size) for k in range(per)],
        dtype=torch.float64,
    ).to(torch.float32)  # fmt: skip
    differ = double != priors
    assert int(differ.sum()) == 1394
    # Tiny differences: at most one float32 step of a coordinate in [1, 2) (2^-23).
    gap = (double[differ].double() - priors[differ].double()).abs()
    assert 0 < float(gap.max()) <= 2.0**-23
