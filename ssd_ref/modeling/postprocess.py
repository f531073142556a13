"""Detection output (Caffe DetectionOutput): decode, threshold, per-class NMS, keep top k.

Per image and per class (background excluded): the priors whose softmax score
is ``> conf_threshold``, at most ``top_k`` of them by score, then greedy NMS
(suppress a box whose IoU with a kept higher-scored box is ``> nms_threshold``);
finally the ``keep_top_k`` best over all classes. Boxes are normalised corners.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from ssd_ref.config import DetectConfig
from ssd_ref.modeling.box_utils import box_area, decode


class Detections(NamedTuple):
    """One image's detections, best first: ``boxes (N, 4)`` normalised corners,
    ``scores (N,)``, ``labels (N,)`` class indices 0..C-2 (background removed)."""

    boxes: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor


def pairwise_iou(boxes: torch.Tensor) -> torch.Tensor:
    """IoU between all pairs within each group: ``(G, K, 4) -> (G, K, K)``."""
    top_left = torch.maximum(boxes[:, :, None, :2], boxes[:, None, :, :2])
    bottom_right = torch.minimum(boxes[:, :, None, 2:], boxes[:, None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    area = box_area(boxes)
    union = area[:, :, None] + area[:, None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def greedy_nms_mask(boxes: torch.Tensor, valid: torch.Tensor, threshold: float) -> torch.Tensor:
    """Greedy NMS in each group, boxes already sorted best first.

    ``boxes (G, K, 4)``, ``valid (G, K)`` bool -> ``keep (G, K)`` bool. Box ``i`` is
    kept iff it is valid and no kept box ``j < i`` has IoU > ``threshold`` with
    it. float32 boxes on a CPU go to the loop of :mod:`ssd_ref.modeling.nms_kernel`;
    everything else (CUDA) to :func:`fixed_point_nms_mask`. Both keep the same boxes.
    """
    if boxes.device.type == "cpu" and boxes.dtype == torch.float32:
        from ssd_ref.modeling.nms_kernel import greedy_nms_groups  # numba: on first use

        keep = torch.empty(valid.shape, dtype=torch.bool)
        greedy_nms_groups(
            boxes.detach().contiguous().numpy(),
            valid.contiguous().numpy(),
            np.float32(threshold),
            keep.numpy(),
        )
        return keep
    return fixed_point_nms_mask(boxes, valid, threshold)


def fixed_point_nms_mask(
    boxes: torch.Tensor, valid: torch.Tensor, threshold: float
) -> torch.Tensor:
    """:func:`greedy_nms_mask` in whole-tensor operations (for GPUs).

    The rule defines ``keep`` uniquely (by induction on ``i``); it is found by
    iterating it from "keep all valid" until nothing changes, which takes at most
    K rounds (usually a handful) of whole-tensor operations.
    """
    count = boxes.shape[1]
    earlier = torch.ones(count, count, dtype=torch.bool, device=boxes.device).triu(diagonal=1)
    suppresses = (pairwise_iou(boxes) > threshold) & earlier & valid[:, :, None] & valid[:, None, :]
    # One round is a batched vector-matrix product: box i is suppressed if the
    # count of kept boxes j that suppress it is positive (exact in float).
    weights = suppresses.to(boxes.dtype)
    keep = valid.clone()
    for _ in range(count + 1):
        suppressed = torch.bmm(keep.to(boxes.dtype).unsqueeze(1), weights).squeeze(1) > 0
        new_keep = valid & ~suppressed
        if torch.equal(new_keep, keep):
            break
        keep = new_keep
    return keep


def detect_image(
    loc: torch.Tensor,
    conf: torch.Tensor,
    priors: torch.Tensor,
    variances: tuple[float, ...],
    config: DetectConfig,
) -> Detections:
    """One image: ``loc (P, 4)``, ``conf (P, C)`` logits -> :class:`Detections`."""
    boxes = decode(loc.float(), priors.to(loc.device), variances)  # (P, 4)
    scores = torch.softmax(conf.float(), dim=-1)[:, 1:].t()  # (C-1, P)
    sorted_scores, order = torch.sort(scores, dim=1, descending=True, stable=True)
    top = min(config.top_k, order.shape[1])
    sorted_scores, order = sorted_scores[:, :top], order[:, :top]
    valid = sorted_scores > config.conf_threshold
    width = int(valid.sum(dim=1).max()) if valid.numel() else 0
    empty = Detections(boxes.new_zeros(0, 4), boxes.new_zeros(0), order.new_zeros(0))
    if width == 0:
        return empty
    sorted_scores, order, valid = sorted_scores[:, :width], order[:, :width], valid[:, :width]
    candidates = boxes[order]  # (C-1, width, 4)
    keep = greedy_nms_mask(candidates, valid, config.nms_threshold)
    labels = torch.arange(scores.shape[0], device=boxes.device)[:, None].expand_as(keep)
    kept_scores, kept_boxes, kept_labels = sorted_scores[keep], candidates[keep], labels[keep]
    final_scores, final_order = torch.sort(kept_scores, descending=True, stable=True)
    final_order = final_order[: config.keep_top_k]
    return Detections(
        kept_boxes[final_order], final_scores[: config.keep_top_k], kept_labels[final_order]
    )


def detect_batch(
    loc: torch.Tensor,
    conf: torch.Tensor,
    priors: torch.Tensor,
    variances: tuple[float, ...],
    config: DetectConfig,
) -> list[Detections]:
    """:func:`detect_image` for every image of ``loc (B, P, 4)``, ``conf (B, P, C)``."""
    return [detect_image(loc[i], conf[i], priors, variances, config) for i in range(loc.shape[0])]
