"""MultiBox loss with hard negatives mined per image (Caffe MultiBoxLoss, MAX_NEGATIVE).

Inputs per batch: ``loc (B, P, 4)`` and ``conf (B, P, C)`` from the network,
``loc_target (B, P, 4)`` and ``labels (B, P)`` from
:func:`ssd_ref.modeling.box_utils.build_targets` (class + 1 for positives, 0 for
negative candidates, -1 for ignored priors).

The loss returns *sums* and the number of positives, so that the caller can
normalise over whatever the batch is (one process, all DDP ranks, a whole
validation set) with :func:`normalise`, the one place the division happens:
``loss = (loc_weight * loc_sum + conf_sum) / max(1, positives)``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class LossSums(NamedTuple):
    """Unnormalised parts of the loss; ``num_pos`` is a float tensor (for all-reduce)."""

    loc_sum: torch.Tensor
    conf_sum: torch.Tensor
    num_pos: torch.Tensor


def smooth_l1(x: torch.Tensor) -> torch.Tensor:
    """Caffe's SmoothL1 (sigma 1): ``0.5 x^2`` if ``|x| < 1`` else ``|x| - 0.5``, elementwise."""
    absolute = x.abs()
    return torch.where(absolute < 1.0, 0.5 * x * x, absolute - 0.5)


def hard_negative_mask(
    background_loss: torch.Tensor, labels: torch.Tensor, neg_pos_ratio: float
) -> torch.Tensor:
    """Per image, the ``floor(ratio * positives)`` negatives with the highest background loss.

    ``background_loss (B, P)``: ``-log softmax(conf)[..., 0]``. Candidates are the
    priors with label 0; an image with no positive contributes no negative. Ties
    are broken by lower prior index. Returns a bool ``(B, P)`` mask.
    """
    candidates = labels == 0
    num_pos = (labels > 0).sum(dim=1)
    num_neg = torch.minimum(
        torch.floor(num_pos.double() * neg_pos_ratio).long(), candidates.sum(dim=1)
    )
    ranking_loss = background_loss.masked_fill(~candidates, float("-inf"))
    order = torch.argsort(ranking_loss, dim=1, descending=True, stable=True)
    rank = torch.empty_like(order)
    positions = torch.arange(order.shape[1], device=order.device).expand_as(order)
    rank.scatter_(1, order, positions)
    return (rank < num_neg[:, None]) & candidates


def multibox_loss(
    loc: torch.Tensor,
    conf: torch.Tensor,
    loc_target: torch.Tensor,
    labels: torch.Tensor,
    neg_pos_ratio: float = 3.0,
) -> LossSums:
    """Smooth L1 over positives' offsets + softmax cross-entropy over positives and mined negatives."""
    loc = loc.float()
    conf = conf.float()
    positive = labels > 0
    log_probs = F.log_softmax(conf, dim=-1)
    with torch.no_grad():
        negative = hard_negative_mask(-log_probs[..., 0], labels, neg_pos_ratio)
    selected = positive | negative
    targets = labels.clamp(min=0)
    cross_entropy = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    zero = cross_entropy.new_zeros(())
    conf_sum = torch.where(selected, cross_entropy, zero).sum()
    loc_sum = torch.where(positive.unsqueeze(-1), smooth_l1(loc - loc_target), zero).sum()
    return LossSums(loc_sum, conf_sum, positive.sum().to(loc.dtype))


class LossParts(NamedTuple):
    """The normalised loss and its two parts (scalar tensors)."""

    loss: torch.Tensor
    loc_loss: torch.Tensor
    conf_loss: torch.Tensor


def normalise(
    sums: LossSums,
    loc_weight: float = 1.0,
    total_positives: torch.Tensor | None = None,
    world_size: int = 1,
) -> LossParts:
    """Divide the sums by ``max(1, positives) / world_size``.

    ``total_positives``: the positives of the whole global batch (all ranks;
    default: ``sums.num_pos``, this batch). Under DDP each rank passes the
    all-reduced count and the world size: DDP averages the ranks' gradients,
    so the update is the sum over all ranks divided by all positives, as one
    process with the whole batch computes it (Caffe divides each GPU's loss by
    its own positives instead).
    """
    count = (sums.num_pos if total_positives is None else total_positives).clamp(min=1.0)
    if world_size != 1:
        count = count / world_size
    loc_loss = sums.loc_sum / count
    conf_loss = sums.conf_sum / count
    return LossParts(loc_weight * loc_loss + conf_loss, loc_loss, conf_loss)
