"""The validation loss over the whole validation set, summed over all ranks."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from ssd_ref.config import SSDConfig
from ssd_ref.engine.step import loss_sums
from ssd_ref.modeling.loss import LossSums, normalise
from ssd_ref.utils.distributed import all_reduce_sum


@torch.no_grad()
def validation_loss(
    model: torch.nn.Module, loader: DataLoader, config: SSDConfig, device: torch.device
) -> tuple[float, float, float]:
    """``(loss, loc_loss, conf_loss)`` over the whole validation set (all ranks),
    each sum divided by the set's total number of positives."""
    was_training = model.training
    model.eval()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for batch in loader:
        sums = loss_sums(model, batch, config, device, config.run.channels_last)
        totals += torch.stack([sums.loc_sum, sums.conf_sum, sums.num_pos]).double()
    all_reduce_sum(totals)
    model.train(was_training)
    parts = normalise(LossSums(*totals), config.loss.loc_weight)
    return tuple(float(p) for p in parts)  # type: ignore[return-value]
