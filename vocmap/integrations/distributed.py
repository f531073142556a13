"""Gather :class:`~vocmap.core.accumulator.DetectionAccumulator` states over
``torch.distributed``: every rank gets the same, complete accumulator.

The merged result does not depend on the number of ranks or their order: the
accumulator evaluates images in image-set order. DistributedSampler's padding
(the same image on two ranks) follows the accumulator's ``duplicates`` rule.
"""

from __future__ import annotations

from typing import Any

from vocmap.core.accumulator import DetectionAccumulator


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) when torch.distributed is not in use."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_gather_objects(value: Any, group: Any = None) -> list[Any]:
    """``value`` of every rank, in rank order (``[value]`` outside torch.distributed)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return [value]
    gathered: list[Any] = [None] * dist.get_world_size(group)
    dist.all_gather_object(gathered, value, group=group)
    return gathered


def gather_accumulator(
    accumulator: DetectionAccumulator, group: Any = None
) -> DetectionAccumulator:
    """A new accumulator holding every rank's detections (call it on every rank).

    Outside torch.distributed (or with one process) it holds this process's.
    An image on two ranks is an error, unless the accumulator was made with
    ``duplicates="drop-repeats"`` and both copies are identical; every rank
    raises the same error.
    """
    states = all_gather_objects(accumulator.state(), group)
    merged = DetectionAccumulator(
        accumulator.evaluator,
        box_format=accumulator.box_format,
        label_offset=accumulator.label_offset,
        duplicates=accumulator.duplicates,
    )
    merged.merge(*states)
    merged.gathered_ranks = len(states)
    return merged
