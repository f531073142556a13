"""Box geometry on the network side: IoU, encode/decode, the Caffe matching rule.

Every box here is normalised corner form ``(x1, y1, x2, y2)``: fractions of the
image width and height, continuous coordinates, ``x2 - x1`` is the width (no
"+1"). Conversions to and from VOC's 1-based inclusive pixels are in
:mod:`ssd_ref.data.voc`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

#: Largest ``log`` size offset decode will apply (as in torchvision), so that an
#: untrained network cannot produce infinite boxes.
_MAX_LOG_SCALE = math.log(1000.0 / 16.0)


def corner_to_center(boxes: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` corners ``(x1, y1, x2, y2)`` -> centre form ``(cx, cy, w, h)``."""
    wh = boxes[..., 2:] - boxes[..., :2]
    return torch.cat([boxes[..., :2] + wh / 2.0, wh], dim=-1)


def center_to_corner(boxes: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` centre form ``(cx, cy, w, h)`` -> corners ``(x1, y1, x2, y2)``."""
    half = boxes[..., 2:] / 2.0
    return torch.cat([boxes[..., :2] - half, boxes[..., :2] + half], dim=-1)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` corners -> ``(...)`` areas; inverted boxes have area 0 (Caffe's BBoxSize)."""
    wh = (boxes[..., 2:] - boxes[..., :2]).clamp(min=0)
    return wh[..., 0] * wh[..., 1]


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of every box in ``a (N, 4)`` with every box in ``b (M, 4)`` -> ``(N, M)``."""
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter_wh = (bottom_right - top_left).clamp(min=0)
    inter = inter_wh[..., 0] * inter_wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def encode(boxes: torch.Tensor, priors: torch.Tensor, variances: tuple[float, ...]) -> torch.Tensor:
    """Caffe CENTER_SIZE code of corner ``boxes (..., P, 4)`` relative to ``priors (P, 4)``.

    ``((gx - px) / pw / v0, (gy - py) / ph / v1, log(gw / pw) / v2, log(gh / ph) / v3)``.
    Boxes must have positive width and height.
    """
    g = corner_to_center(boxes)
    p = corner_to_center(priors)
    offset = (g[..., :2] - p[..., :2]) / p[..., 2:] / boxes.new_tensor(variances[:2])
    scale = torch.log(g[..., 2:] / p[..., 2:]) / boxes.new_tensor(variances[2:])
    return torch.cat([offset, scale], dim=-1)


def decode(loc: torch.Tensor, priors: torch.Tensor, variances: tuple[float, ...]) -> torch.Tensor:
    """Inverse of :func:`encode`: offsets ``(..., P, 4)`` -> corner boxes ``(..., P, 4)``.

    The log-size offsets are capped at ``log(1000/16)`` so the result is always finite.
    """
    p = corner_to_center(priors.to(loc.dtype))
    var = loc.new_tensor(variances)
    centre = p[..., :2] + loc[..., :2] * var[:2] * p[..., 2:]
    size = p[..., 2:] * torch.exp((loc[..., 2:] * var[2:]).clamp(max=_MAX_LOG_SCALE))
    return center_to_corner(torch.cat([centre, size], dim=-1))


class Match(NamedTuple):
    """Result of matching one image's ground truth to the priors.

    ``gt_index (P,)``: the matched ground-truth box per prior, -1 if none.
    ``best_overlap (P,)``: each prior's highest IoU with any ground-truth box.
    """

    gt_index: torch.Tensor
    best_overlap: torch.Tensor


def match_priors(gt_boxes: torch.Tensor, priors: torch.Tensor, threshold: float) -> Match:
    """Caffe's MatchBBox with ``match_type: PER_PREDICTION``.

    1. Bipartite: repeatedly take the largest IoU between a not yet matched
       ground truth and a not yet matched prior, and pair them; so every
       ground-truth box gets its own best prior (ties: lowest prior index, then
       lowest ground-truth index; IoUs <= 1e-6 never pair).
    2. Per prediction: every prior still unmatched takes the ground truth it
       overlaps most if that IoU is >= ``threshold``.

    ``gt_boxes (G, 4)``, ``priors (P, 4)``, both normalised corners.
    """
    num_gt, num_priors = gt_boxes.shape[0], priors.shape[0]
    gt_index = torch.full((num_priors,), -1, dtype=torch.long)
    if num_gt == 0:
        return Match(gt_index, torch.zeros(num_priors, dtype=priors.dtype))
    overlaps = box_iou(gt_boxes, priors)  # (G, P)
    best_overlap, best_gt = overlaps.max(dim=0)

    # Prior-major layout so that argmax's first maximum is Caffe's tie-break.
    work = overlaps.t().contiguous()  # (P, G)
    work[work <= 1e-6] = -1.0
    flat = work.view(-1)
    for _ in range(num_gt):
        position = int(torch.argmax(flat))
        if flat[position] < 0:
            break
        prior, gt = divmod(position, num_gt)
        gt_index[prior] = gt
        work[prior, :] = -1.0
        work[:, gt] = -1.0

    unmatched = gt_index < 0
    per_prediction = unmatched & (best_overlap >= threshold)
    gt_index[per_prediction] = best_gt[per_prediction]
    return Match(gt_index, best_overlap)


def build_targets(
    gt_boxes: torch.Tensor,
    gt_labels: torch.Tensor,
    priors: torch.Tensor,
    variances: tuple[float, ...],
    overlap_threshold: float = 0.5,
    neg_overlap: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-prior training targets for one image.

    ``gt_labels (G,)`` are class indices 0..C-1 (without background).
    Returns ``loc_target (P, 4)`` float32 (zeros where not positive) and
    ``labels (P,)`` int64: class + 1 for positives, 0 for negatives (eligible for
    hard-negative mining), -1 for unmatched priors with IoU >= ``neg_overlap``
    (neither; empty with the reference thresholds 0.5/0.5).
    """
    matched = match_priors(gt_boxes, priors, overlap_threshold)
    positive = matched.gt_index >= 0
    labels = torch.zeros(priors.shape[0], dtype=torch.long)
    labels[(~positive) & (matched.best_overlap >= neg_overlap)] = -1
    loc_target = torch.zeros(priors.shape[0], 4, dtype=torch.float32)
    if bool(positive.any()):
        index = matched.gt_index[positive]
        labels[positive] = gt_labels[index].long() + 1
        loc_target[positive] = encode(gt_boxes[index], priors[positive], variances).float()
    return loc_target, labels
