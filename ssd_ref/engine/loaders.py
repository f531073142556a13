"""The training and validation DataLoaders of a run (this rank's share)."""

from __future__ import annotations

import functools

import torch
from torch.utils.data import DataLoader

from ssd_ref.config import SSDConfig
from ssd_ref.data.datasets import TrainDataset, ValDataset, seed_worker
from ssd_ref.data.samplers import StepBatchSampler
from ssd_ref.utils.distributed import DistInfo


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
    workers = config.data.num_workers
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        pin_memory=pin,
        worker_init_fn=functools.partial(seed_worker, seed=config.run.seed, start_step=start),
        prefetch_factor=4 if workers > 0 else None,
        persistent_workers=False,
    )


def validation_loader(
    config: SSDConfig, dataset: ValDataset, info: DistInfo, pin: bool
) -> DataLoader:
    indices = list(range(info.rank, len(dataset), info.world_size))
    per_rank = max(1, config.solver.batch_size // info.world_size)
    return DataLoader(
        torch.utils.data.Subset(dataset, indices),
        batch_size=per_rank,
        shuffle=False,
        num_workers=config.data.num_workers,
        pin_memory=pin,
        worker_init_fn=functools.partial(seed_worker, seed=config.run.seed, start_step=0),
    )
