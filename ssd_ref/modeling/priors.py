"""Default boxes ("priors") as Caffe's PriorBox layer makes them, bit for bit.

For feature map ``k`` of size ``f`` with step ``s``, the prior centres are
``((j + offset) * s, (i + offset) * s)`` pixels for column ``j`` and row ``i``.
At each position, in this order:

1. a square of side ``min_size``;
2. a square of side ``sqrt(min_size * max_size)``;
3. for every aspect ratio ``r`` (with its flip ``1/r`` right after it), a box of
   width ``min_size * sqrt(r)`` and height ``min_size / sqrt(r)``.

Priors are ordered by feature map, then row, then column, then the list above,
which is the order of the heads' outputs after ``permute(0, 2, 3, 1)``.
Boxes are normalised corner form ``(x1, y1, x2, y2)``; with ``clip=False``
(Caffe's setting for SSD300) they may extend beyond [0, 1].

The arithmetic is ``PriorBoxLayer::Forward_cpu``'s, types included: sizes are
truncated to ``int``, the ratios are ``float`` (``1/r`` computed in double and
stored as float), centres, box sides and ``sqrt(r)`` are ``float``
(``sqrt(min * max)`` of the int product is double, stored as float), and each
coordinate ``(centre -/+ side / 2.) / image_size`` is evaluated in double
(the literal ``2.``) and stored as float. Computing everything in double and
rounding once gives 1,394 of SSD300's 34,928 coordinates one float32 step
away, which changes bipartite matches between priors of equal IoU.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ssd_ref.config import ModelConfig


def expanded_aspect_ratios(aspect_ratios: tuple[float, ...], flip: bool = True) -> list[float]:
    """Caffe's list: 1 first, then each new ratio followed by its inverse when ``flip``.

    Values are float32 (as Caffe's ``vector<float>``), returned as Python floats.
    """
    ratios = [1.0]
    for r in aspect_ratios:
        ar = float(np.float32(r))
        if any(abs(ar - seen) < 1e-6 for seen in ratios):
            continue
        ratios.append(ar)
        if flip:
            ratios.append(float(np.float32(1.0 / ar)))
    return ratios


def priors_per_location(config: ModelConfig) -> list[int]:
    """Number of priors at each position of each feature map (4, 6, 6, 6, 4, 4 for SSD300)."""
    counts = []
    for k, ratios in enumerate(config.aspect_ratios):
        n = len(expanded_aspect_ratios(ratios))
        counts.append(n + (1 if config.max_sizes[k] else 0))
    return counts


def prior_sides(min_size: float, max_size: float, aspect_ratios: tuple[float, ...]) -> np.ndarray:
    """``(K, 2)`` float32 ``(width, height)`` in pixels of one position's priors, Caffe's order."""
    f32 = np.float32
    low = int(min_size)  # Caffe: int min_size_ = min_sizes_[s]
    sides = [(f32(low), f32(low))]
    if max_size:
        side = f32(math.sqrt(low * int(max_size)))  # sqrt of the int product, stored as float
        sides.append((side, side))
    for ar in expanded_aspect_ratios(aspect_ratios)[1:]:
        root = np.sqrt(f32(ar))  # float sqrt
        sides.append((f32(low) * root, f32(low) / root))  # int * float: float
    return np.array(sides, dtype=np.float32)


def prior_boxes(config: ModelConfig) -> torch.Tensor:
    """All priors, float32 ``(P, 4)`` normalised corners; ``P = 8732`` for SSD300."""
    size = float(int(config.image_size))
    maps = []
    for k, fmap in enumerate(config.feature_maps):
        sides = prior_sides(config.min_sizes[k], config.max_sizes[k], config.aspect_ratios[k])
        step = np.float32(config.steps[k])
        positions = np.arange(fmap, dtype=np.float32) + np.float32(config.prior_offset)
        centres = (positions * step).astype(np.float64)  # float products, exact in double
        half = sides.astype(np.float64) / 2.0  # (K, 2)
        cy, cx = np.meshgrid(centres, centres, indexing="ij")  # (f, f): row i, column j
        cx, cy = cx[:, :, None], cy[:, :, None]
        corners = np.stack(
            [cx - half[:, 0], cy - half[:, 1], cx + half[:, 0], cy + half[:, 1]], axis=-1
        )  # (f, f, K, 4), double
        maps.append((corners / size).astype(np.float32).reshape(-1, 4))
    priors = np.concatenate(maps)
    if config.clip_priors:
        priors = np.clip(priors, np.float32(0.0), np.float32(1.0))
    return torch.from_numpy(np.ascontiguousarray(priors))
