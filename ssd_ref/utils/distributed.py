"""Process-group helpers for ``torchrun`` (DDP): gloo on CPU, nccl on CUDA.

Without ``torchrun`` (no ``WORLD_SIZE`` in the environment, or 1) everything
degrades to a single process and the collectives are no-ops.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ssd_ref.errors import EnvironmentSettingError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def env_int(name: str, default: int, minimum: int = 0) -> int:
    """A whole-number torchrun variable (``default`` when unset), one line if malformed."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = minimum - 1
    if value < minimum:
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise EnvironmentSettingError(
            f"the environment's {name}={shown!r} is not a whole number >= {minimum}"
        )
    return value


def local_rank() -> int:
    """``LOCAL_RANK`` (0 without torchrun)."""
    return env_int("LOCAL_RANK", 0)


def process_rank() -> int:
    """``RANK`` (0 without torchrun)."""
    return env_int("RANK", 0)


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group that ``torchrun`` describes in the environment, if any."""
    world_size = env_int("WORLD_SIZE", 1, minimum=1)
    if world_size <= 1:
        return DistInfo()
    if "RANK" not in os.environ:
        raise EnvironmentSettingError(f"WORLD_SIZE={world_size} but RANK is not set")
    rank = process_rank()
    if rank >= world_size:
        raise EnvironmentSettingError(f"RANK={rank} is not below WORLD_SIZE={world_size}")
    local_rank = env_int("LOCAL_RANK", 0)
    if not dist.is_initialized():
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank)


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum over ranks (in place; returns the tensor)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_reduce_max(tensor: torch.Tensor) -> torch.Tensor:
    """Maximum over ranks (in place; returns the tensor)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor


def gather_to_main(value: object) -> list[object] | None:
    """Every rank's ``value`` on rank 0 (in rank order), None on the other ranks.

    Without a process group: ``[value]``.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return [value]
    gathered: list[object] | None = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(value, gathered, dst=0)
    return gathered


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_buffers(module: torch.nn.Module, source: int = 0) -> None:
    """Give every rank ``source``'s buffers (BatchNorm running statistics).

    DDP broadcasts them at the start of each forward, so after a step each rank
    holds the statistics of its own last batch; this makes them equal before
    they are saved, used for validation or returned.
    """
    if dist.is_available() and dist.is_initialized():
        for buffer in module.buffers():
            dist.broadcast(buffer.data, src=source)
