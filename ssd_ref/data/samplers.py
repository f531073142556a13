"""Which images make up which step's batch: a seeded, step-indexed, resumable order.

The training stream is the concatenation of one permutation of the data set per
epoch: with ``epoch_order="reshuffle"`` epoch ``e`` uses a generator seeded with
``(seed, e)``; with ``"fixed"`` every epoch repeats epoch 0's permutation (as
Caffe reads its once-shuffled LMDB in the same order every time). Step ``s`` takes
the global batch ``stream[s * B : (s + 1) * B]``; rank ``r`` of ``W`` takes the
``r``-th of ``W`` equal slices of it. So the data of a step depends only on
``(seed, step)``, not on the number of processes or workers, and resuming at
step ``s`` needs nothing but ``s``.

Each element is ``(stream_index, item_index)``; the stream index also seeds the
sample's augmentation (:class:`ssd_ref.data.datasets.TrainDataset`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class EpochPermutations:
    """``item(stream_index)``: the data set index at a position of the endless stream."""

    def __init__(self, num_items: int, seed: int, epoch_order: str = "reshuffle") -> None:
        if num_items <= 0:
            raise ValueError("the data set is empty")
        if epoch_order not in ("fixed", "reshuffle"):
            raise ValueError(f"unknown epoch order {epoch_order!r}")
        self.num_items = num_items
        self.seed = seed
        self.epoch_order = epoch_order
        self._epoch = -1
        self._permutation = np.empty(0, dtype=np.int64)

    def permutation(self, epoch: int) -> np.ndarray:
        if self.epoch_order == "fixed":
            epoch = 0
        if epoch != self._epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self._permutation = rng.permutation(self.num_items)
            self._epoch = epoch
        return self._permutation

    def item(self, stream_index: int) -> int:
        epoch, position = divmod(stream_index, self.num_items)
        return int(self.permutation(epoch)[position])


class StepBatchSampler:
    """Yields, for steps ``start_step .. max_step - 1``, this rank's list of
    ``(stream_index, item_index)`` pairs. Use as a DataLoader ``batch_sampler``."""

    def __init__(
        self,
        num_items: int,
        global_batch: int,
        seed: int,
        start_step: int,
        max_step: int,
        world_size: int = 1,
        rank: int = 0,
        epoch_order: str = "reshuffle",
    ) -> None:
        if global_batch % world_size:
            raise ValueError(f"global batch {global_batch} is not divisible by {world_size} ranks")
        self.order = EpochPermutations(num_items, seed, epoch_order)
        self.global_batch = global_batch
        self.per_rank = global_batch // world_size
        self.seed = seed
        self.start_step = start_step
        self.max_step = max_step
        self.rank = rank

    def batch(self, step: int) -> list[tuple[int, int]]:
        first = step * self.global_batch + self.rank * self.per_rank
        return [(i, self.order.item(i)) for i in range(first, first + self.per_rank)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.max_step):
            yield self.batch(step)

    def __len__(self) -> int:
        return max(0, self.max_step - self.start_step)

    def state_dict(self, next_step: int) -> dict[str, int]:
        """What a checkpoint needs to rebuild the order from ``next_step``."""
        return {
            "seed": self.seed,
            "next_step": next_step,
            "global_batch": self.global_batch,
            "num_items": self.order.num_items,
            "epoch_order": self.order.epoch_order,
        }
