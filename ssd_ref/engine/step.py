"""One training step: forward, the MultiBox loss over the global batch, the update.

:func:`train_step` takes the batch of step ``s``, runs the forward pass (bf16
autocast only when the config asks), divides the loss by the positives of the
**global** batch (:func:`step_loss`), and updates the weights unless the loss
is not finite on some rank; the schedule advances either way.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch.nn.parallel import DistributedDataParallel

from ssd_ref.config import SSDConfig
from ssd_ref.engine.batches import autocast_context, to_network_input
from ssd_ref.errors import CheckpointError
from ssd_ref.modeling.loss import LossParts, LossSums, multibox_loss, normalise
from ssd_ref.modeling.ssd import build_model
from ssd_ref.solver import build_optimizer, build_scheduler
from ssd_ref.utils.distributed import DistInfo, all_reduce_max, all_reduce_sum


def loss_sums(
    model: torch.nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    config: SSDConfig,
    device: torch.device,
    channels_last: bool,
) -> LossSums:
    """Forward one batch ``(images uint8 (B,S,S,3), loc_target, labels)`` -> loss sums."""
    images, loc_target, labels = batch
    inputs = to_network_input(images, config.data.pixel_mean_bgr, device, channels_last)
    with autocast_context(device, config):
        loc, conf = model(inputs)
    return multibox_loss(
        loc,
        conf,
        loc_target.to(device, non_blocking=True),
        labels.to(device, non_blocking=True),
        config.loss.neg_pos_ratio,
    )


def step_loss(
    model: torch.nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    config: SSDConfig,
    device: torch.device,
    world_size: int = 1,
) -> LossParts:
    """This rank's loss for one batch, divided by the positives of the global batch."""
    sums = loss_sums(model, batch, config, device, config.run.channels_last)
    total_positives = all_reduce_sum(sums.num_pos.detach().clone())
    return normalise(sums, config.loss.loc_weight, total_positives, world_size)


@dataclass
class Network:
    """The model (unwrapped), what the forward pass calls (DDP, compiled), the solver."""

    model: torch.nn.Module
    forward: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR


def build_network(
    config: SSDConfig, device: torch.device, info: DistInfo, checkpoint: dict | None = None
) -> Network:
    """The model, SGD and schedule of ``config`` on ``device``, from ``checkpoint`` if given."""
    torch.manual_seed(config.run.seed)
    model = build_model(config, initialise_weights=checkpoint is None).to(device)
    if config.run.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, config.solver)
    scheduler = build_scheduler(optimizer, config.solver)
    if checkpoint is not None:
        try:
            model.load_state_dict(checkpoint["model"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            scheduler.load_state_dict(checkpoint["scheduler"])
        except (RuntimeError, TypeError, ValueError, KeyError, AttributeError) as error:
            first = (str(error).strip().splitlines() or [""])[0][:120]
            raise CheckpointError(
                f"the checkpoint's training state does not fit its config ({first})"
            ) from None
    forward: torch.nn.Module = model
    if info.enabled:
        forward = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if config.run.compile and device.type == "cuda":
        forward = torch.compile(forward)
    return Network(model, forward, optimizer, scheduler)


@dataclass(frozen=True)
class StepResult:
    """``parts``: this rank's ``(loss, loc_loss, conf_loss)`` (float64, detached);
    ``finite``: on every rank; ``stop``: a stop signal reached some rank."""

    parts: torch.Tensor
    finite: bool
    stop: bool


def train_step(
    network: Network,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    config: SSDConfig,
    device: torch.device,
    world_size: int = 1,
    stop_requested: bool = False,
) -> StepResult:
    """One step: loss, all ranks agree whether it is finite (and whether to stop),
    then the update (skipped if not finite); the schedule advances either way."""
    parts = step_loss(network.forward, batch, config, device, world_size)
    stacked = torch.stack([p.detach() for p in parts]).double()
    flags = torch.stack(
        [
            (~torch.isfinite(stacked).all()).to(torch.int32),
            torch.tensor(int(stop_requested), dtype=torch.int32, device=stacked.device),
        ]
    )
    nonfinite, stop = all_reduce_max(flags).tolist()
    network.optimizer.zero_grad(set_to_none=True)
    if not nonfinite:
        parts.loss.backward()
        network.optimizer.step()
    with warnings.catch_warnings():
        # A skipped step still advances the schedule (it is a function of the step).
        warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
        network.scheduler.step()
    return StepResult(stacked, not nonfinite, bool(stop))
