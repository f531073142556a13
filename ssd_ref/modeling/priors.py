"""Default boxes ("priors") as Caffe's PriorBox layer makes them.

For feature map ``k`` of size ``f`` with step ``s``, the prior centres are
``((j + offset) * s / image_size, (i + offset) * s / image_size)`` for column
``j`` and row ``i``. At each position, in this order:

1. a square of side ``min_size``;
2. a square of side ``sqrt(min_size * max_size)``;
3. for every aspect ratio ``r`` (with its flip ``1/r`` right after it), a box of
   width ``min_size * sqrt(r)`` and height ``min_size / sqrt(r)``.

Priors are ordered by feature map, then row, then column, then the list above,
which is the order of the heads' outputs after ``permute(0, 2, 3, 1)``.
Boxes are normalised corner form ``(x1, y1, x2, y2)``; with ``clip=False``
(Caffe's setting for SSD300) they may extend beyond [0, 1].
"""

from __future__ import annotations

import math

import torch

from ssd_ref.config import ModelConfig


def expanded_aspect_ratios(aspect_ratios: tuple[float, ...], flip: bool = True) -> list[float]:
    """Caffe's list: 1 first, then each new ratio followed by its inverse when ``flip``."""
    ratios = [1.0]
    for r in aspect_ratios:
        if any(abs(r - seen) < 1e-6 for seen in ratios):
            continue
        ratios.append(float(r))
        if flip:
            ratios.append(1.0 / float(r))
    return ratios


def priors_per_location(config: ModelConfig) -> list[int]:
    """Number of priors at each position of each feature map (4, 6, 6, 6, 4, 4 for SSD300)."""
    counts = []
    for k, ratios in enumerate(config.aspect_ratios):
        n = len(expanded_aspect_ratios(ratios))
        counts.append(n + (1 if config.max_sizes[k] else 0))
    return counts


def prior_boxes(config: ModelConfig) -> torch.Tensor:
    """All priors, float32 ``(P, 4)`` normalised corners; ``P = 8732`` for SSD300."""
    size = float(config.image_size)
    rows: list[list[float]] = []
    for k, fmap in enumerate(config.feature_maps):
        step = float(config.steps[k])
        min_size = float(config.min_sizes[k])
        max_size = float(config.max_sizes[k])
        shapes: list[tuple[float, float]] = [(min_size, min_size)]
        if max_size:
            side = math.sqrt(min_size * max_size)
            shapes.append((side, side))
        for r in expanded_aspect_ratios(config.aspect_ratios[k])[1:]:
            shapes.append((min_size * math.sqrt(r), min_size / math.sqrt(r)))
        for i in range(fmap):
            cy = (i + config.prior_offset) * step
            for j in range(fmap):
                cx = (j + config.prior_offset) * step
                for w, h in shapes:
                    rows.append(
                        [
                            (cx - w / 2.0) / size,
                            (cy - h / 2.0) / size,
                            (cx + w / 2.0) / size,
                            (cy + h / 2.0) / size,
                        ]
                    )
    priors = torch.tensor(rows, dtype=torch.float64)
    if config.clip_priors:
        priors = priors.clamp_(0.0, 1.0)
    return priors.to(torch.float32)
