"""The training and validation DataLoaders of a run (this rank's share)."""

from __future__ import annotations

import functools
import logging
import os

import torch
from torch.utils.data import DataLoader

from ssd_ref.config import SSDConfig
from ssd_ref.data.batched_loader import BatchedLoader
from ssd_ref.data.datasets import TrainDataset, ValDataset, seed_worker
from ssd_ref.data.prepared import open_prepared
from ssd_ref.data.samplers import StepBatchSampler
from ssd_ref.data.voc import VocDataset
from ssd_ref.utils.distributed import DistInfo

logger = logging.getLogger(__name__)


def loader_workers(configured: int | None) -> int:
    """``data.num_workers``, or for None the cores this process may run on less one
    (the training loop's), at least 1."""
    if configured is not None:
        return configured
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def train_loader(
    config: SSDConfig, dataset: TrainDataset, start: int, stop: int, info: DistInfo, pin: bool
) -> DataLoader:
    sampler = StepBatchSampler(
        len(dataset),
        config.solver.batch_size,
        config.run.seed,
        start,
        stop,
        world_size=info.world_size,
        rank=info.rank,
        epoch_order=config.data.epoch_order,
    )
    workers = loader_workers(config.data.num_workers)
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        pin_memory=pin,
        worker_init_fn=functools.partial(seed_worker, seed=config.run.seed, start_step=start),
        prefetch_factor=4 if workers > 0 else None,
        persistent_workers=False,
    )


def batched_train_loader(
    config: SSDConfig,
    voc: VocDataset,
    priors: torch.Tensor,
    start: int,
    stop: int,
    info: DistInfo,
    device: torch.device,
) -> BatchedLoader:
    """The ``batched`` pipeline's loader: images from ``data.prepared`` (checked: a
    stale or partial cache is refused) or decoded from ``voc``."""
    source = voc
    if config.data.prepared is not None:
        source = open_prepared(config.data.prepared, voc, config.data.train_sets)
    if device.type != "cuda":
        logger.warning("data.pipeline batched: no GPU, so the batched augmentation runs on the CPU")
    sampler = StepBatchSampler(
        len(voc),
        config.solver.batch_size,
        config.run.seed,
        start,
        stop,
        world_size=info.world_size,
        rank=info.rank,
        epoch_order=config.data.epoch_order,
    )
    workers = loader_workers(config.data.num_workers)
    return BatchedLoader(source, config, priors, sampler, device, workers)


def validation_loader(
    config: SSDConfig, dataset: ValDataset, info: DistInfo, pin: bool
) -> DataLoader:
    indices = list(range(info.rank, len(dataset), info.world_size))
    per_rank = max(1, config.solver.batch_size // info.world_size)
    return DataLoader(
        torch.utils.data.Subset(dataset, indices),
        batch_size=per_rank,
        shuffle=False,
        num_workers=loader_workers(config.data.num_workers),
        pin_memory=pin,
        worker_init_fn=functools.partial(seed_worker, seed=config.run.seed, start_step=0),
    )
