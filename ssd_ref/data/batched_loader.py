"""The ``batched`` data pipeline: the trainer's batches, augmented on the training device.

For each step of a :class:`~ssd_ref.data.samplers.StepBatchSampler`, a
background thread reads the batch's images (from the prepared cache,
:mod:`ssd_ref.data.prepared`, or by decoding the JPEGs), draws every random
choice (:func:`~ssd_ref.data.batched_transforms.plan_batch`), copies only the
pixels the crops see, and matches the boxes to the priors (boxes only, on the
CPU); the main thread then distorts, expands, crops, warps and flips the whole
batch on the device (:func:`~ssd_ref.data.batched_transforms.render_batch`).

A step's batch is a function of the seed and the step only: every draw comes
from a generator seeded with ``(seed, first stream index of the batch)``.
Batches are ``(images uint8 (B, S, S, 3) on the device, loc_target (B, P, 4),
labels (B, P))``, what the trainer's step takes from the CPU loader.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Protocol

import numpy as np
import torch

from ssd_ref.config import SSDConfig
from ssd_ref.data.batched_transforms import Planned, plan_batch, render_batch
from ssd_ref.data.datasets import load_sample
from ssd_ref.data.samplers import StepBatchSampler
from ssd_ref.data.voc import Annotation
from ssd_ref.modeling.box_utils import build_targets


class ImageSource(Protocol):
    """A VocDataset (decodes JPEGs) or a PreparedImages (memory map)."""

    def __len__(self) -> int: ...

    def image(self, index: int) -> np.ndarray: ...

    def annotation(self, index: int) -> Annotation: ...


def batch_generator(seed: int, batch: list[tuple[int, int]]) -> torch.Generator:
    """The generator of one batch: seeded from ``(seed, its first stream index)``."""
    state = np.random.SeedSequence([seed, batch[0][0]]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & ((1 << 63) - 1))


def plan_step(
    source: ImageSource,
    batch: list[tuple[int, int]],
    config: SSDConfig,
    priors: torch.Tensor,
    pin: bool = False,
) -> tuple[Planned, torch.Tensor, torch.Tensor]:
    """The host-side half of one step's batch and its per-prior targets."""
    samples = [load_sample(source, item, config.data.use_difficult) for _, item in batch]
    planned = plan_batch(
        [s.image for s in samples],
        [s.boxes for s in samples],
        [s.labels for s in samples],
        batch_generator(config.run.seed, batch),
        config.augment,
        config.model.image_size,
        pin=pin,
    )
    targets = [
        build_targets(boxes, labels, priors, config.model.variances,
                      config.loss.overlap_threshold, config.loss.neg_overlap)
        for boxes, labels in zip(planned.boxes, planned.labels, strict=True)
    ]  # fmt: skip
    loc_target = torch.stack([t[0] for t in targets])
    labels = torch.stack([t[1] for t in targets])
    if pin:
        loc_target, labels = loc_target.pin_memory(), labels.pin_memory()
    return planned, loc_target, labels


class BatchedLoader:
    """Iterates the batches of ``batch_sampler``'s steps, rendered on ``device``.

    ``prefetch`` batches are planned ahead in one background thread (the copies
    and the matching release the GIL for most of their time).
    """

    def __init__(
        self,
        source: ImageSource,
        config: SSDConfig,
        priors: torch.Tensor,
        batch_sampler: StepBatchSampler,
        device: torch.device,
        prefetch: int = 2,
    ) -> None:
        self.source, self.config, self.priors = source, config, priors
        self.batch_sampler = batch_sampler
        self.device = device
        self.prefetch = max(1, prefetch)

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def _planned(self) -> Iterator[tuple[Planned, torch.Tensor, torch.Tensor]]:
        pin = self.device.type == "cuda"
        slots: queue.Queue = queue.Queue(self.prefetch)
        stop = threading.Event()
        done = object()

        def offer(item: object) -> bool:
            while not stop.is_set():
                try:
                    slots.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def work() -> None:
            try:
                for batch in self.batch_sampler:
                    if not offer(plan_step(self.source, batch, self.config, self.priors, pin)):
                        return
                offer(done)
            except BaseException as error:  # handed to the consumer, raised there
                offer(error)

        thread = threading.Thread(target=work, name="ssd_ref-batched-plan", daemon=True)
        thread.start()
        try:
            while True:
                item = slots.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            thread.join(timeout=5)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        mean = self.config.data.pixel_mean_bgr
        for planned, loc_target, labels in self._planned():
            images = render_batch(planned, mean, self.device)
            yield (
                images,
                loc_target.to(self.device, non_blocking=True),
                labels.to(self.device, non_blocking=True),
            )
