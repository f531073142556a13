"""The ``batched`` data pipeline: the trainer's batches, augmented on the training device.

For each step of a :class:`~ssd_ref.data.samplers.StepBatchSampler`, a
DataLoader worker (or this process) reads the batch's images (from the prepared cache,
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

import dataclasses
import functools
from collections.abc import Iterator
from typing import Protocol

import numpy as np
import torch

from ssd_ref.config import SSDConfig
from ssd_ref.data.batched_transforms import Planned, plan_batch, render_batch
from ssd_ref.data.datasets import load_sample
from ssd_ref.data.samplers import StepBatchSampler
from ssd_ref.data.voc import Annotation
from ssd_ref.modeling.box_utils import box_area, encode


class ImageSource(Protocol):
    """A VocDataset (decodes JPEGs) or a PreparedImages (memory map)."""

    def __len__(self) -> int: ...

    def image(self, index: int) -> np.ndarray: ...

    def annotation(self, index: int) -> Annotation: ...


def batch_generator(seed: int, batch: list[tuple[int, int]]) -> torch.Generator:
    """The generator of one batch: seeded from ``(seed, its first stream index)``."""
    state = np.random.SeedSequence([seed, batch[0][0]]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & ((1 << 63) - 1))


def batch_targets(
    boxes: list[torch.Tensor],
    labels: list[torch.Tensor],
    priors: torch.Tensor,
    config: SSDConfig,
    device: torch.device | str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`~ssd_ref.modeling.box_utils.build_targets` for a whole batch on ``device``:
    ``loc_target (B, P, 4)``, ``labels (B, P)``, equal to it image by image.

    Caffe's bipartite matching runs as at most ``G`` (the most boxes of an image)
    batched rounds: each image takes its largest IoU left (the first in prior-major
    order on ties), pairs it and strikes its prior and box.
    """
    count, most = len(boxes), max([len(b) for b in boxes] + [1])
    gt = torch.zeros(count, most, 4, dtype=torch.float32)
    gt_labels = torch.zeros(count, most, dtype=torch.long)
    valid = torch.zeros(count, most, dtype=torch.bool)
    for i, (b, lab) in enumerate(zip(boxes, labels, strict=True)):
        gt[i, : len(b)], gt_labels[i, : len(b)], valid[i, : len(b)] = b, lab, True
    gt, gt_labels, valid = gt.to(device), gt_labels.to(device), valid.to(device)
    priors = priors.to(device)
    # box_iou, batched: (B, G, P)
    top_left = torch.maximum(gt[:, :, None, :2], priors[None, None, :, :2])
    bottom_right = torch.minimum(gt[:, :, None, 2:], priors[None, None, :, 2:])
    inter_wh = (bottom_right - top_left).clamp(min=0)
    inter = inter_wh[..., 0] * inter_wh[..., 1]
    union = box_area(gt)[:, :, None] + box_area(priors)[None, None, :] - inter
    overlaps = torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))
    masked = overlaps.masked_fill(~valid[:, :, None], -1.0)
    best_overlap, best_gt = masked.max(dim=1)
    any_gt = valid.any(dim=1)[:, None]
    best_overlap = torch.where(any_gt, best_overlap, torch.zeros_like(best_overlap))

    # (B, P + 1, G + 1), prior-major; the extra row and column (always -1) take the
    # writes of images that have nothing left to pair, so no round waits for the host
    num_priors = priors.shape[0]
    work = torch.full((count, num_priors + 1, most + 1), -1.0, device=gt.device)
    work[:, :num_priors, :most] = masked.transpose(1, 2)
    work[work <= 1e-6] = -1.0
    gt_index = torch.full((count, num_priors + 1), -1, dtype=torch.long, device=gt.device)
    for _ in range(most):
        flat = work.view(count, -1)
        position = flat.argmax(dim=1)  # the first maximum
        ok = flat.gather(1, position[:, None])[:, 0] >= 0
        prior = torch.where(ok, position // (most + 1), num_priors)
        box = torch.where(ok, position % (most + 1), most)
        gt_index.scatter_(1, prior[:, None], box[:, None])
        work.scatter_(1, prior[:, None, None].expand(-1, 1, most + 1), -1.0)
        work.scatter_(2, box[:, None, None].expand(-1, num_priors + 1, 1), -1.0)
    gt_index = gt_index[:, :num_priors]
    gt_index = torch.where(gt_index >= most, -1, gt_index)
    threshold = config.loss.overlap_threshold
    unmatched = gt_index < 0
    per_prediction = unmatched & (best_overlap >= threshold) & any_gt
    gt_index = torch.where(per_prediction, best_gt, gt_index)
    positive = gt_index >= 0
    target_labels = torch.zeros_like(gt_index)
    target_labels[(~positive) & (best_overlap >= config.loss.neg_overlap)] = -1
    safe = gt_index.clamp(min=0)
    matched_boxes = torch.gather(gt, 1, safe[..., None].expand(-1, -1, 4))
    matched_labels = torch.gather(gt_labels, 1, safe)
    target_labels = torch.where(positive, matched_labels + 1, target_labels)
    # encode only where positive (a padded or degenerate box elsewhere would give a log of 0)
    filler = priors[None].expand_as(matched_boxes)
    codes = encode(torch.where(positive[..., None], matched_boxes, filler), priors,
                   config.model.variances).float()  # fmt: skip
    loc_target = torch.where(positive[..., None], codes, torch.zeros_like(codes))
    return loc_target, target_labels


def plan_step(
    source: ImageSource,
    batch: list[tuple[int, int]],
    config: SSDConfig,
    pin: bool = False,
) -> Planned:
    """The host-side half of one step's batch."""
    samples = [load_sample(source, item, config.data.use_difficult) for _, item in batch]
    return plan_batch(
        [s.image for s in samples],
        [s.boxes for s in samples],
        [s.labels for s in samples],
        batch_generator(config.run.seed, batch),
        config.augment,
        config.model.image_size,
        pin=pin,
    )


class _PlanSteps(torch.utils.data.Dataset):
    """Indexed by a step's batch (a list of ``(stream_index, item)``): its :class:`Planned`."""

    def __init__(self, source: ImageSource, config: SSDConfig) -> None:
        self.source, self.config = source, config

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, batch: list[tuple[int, int]]) -> Planned:
        return plan_step(self.source, batch, self.config)


def _as_is(planned: Planned) -> Planned:
    return planned


class BatchedLoader:
    """Iterates the batches of ``batch_sampler``'s steps, rendered on ``device``.

    The host halves are planned by ``workers`` processes (a DataLoader over the
    steps; 0: in this process), the device halves here, in step order.
    """

    def __init__(
        self,
        source: ImageSource,
        config: SSDConfig,
        priors: torch.Tensor,
        batch_sampler: StepBatchSampler,
        device: torch.device,
        workers: int = 0,
    ) -> None:
        self.source, self.config, self.priors = source, config, priors
        self.dataset = source  # as a DataLoader's: len() is the number of images
        self.batch_sampler = batch_sampler
        self.device = device
        self.workers = workers

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        from ssd_ref.data.datasets import seed_worker

        loader = torch.utils.data.DataLoader(
            _PlanSteps(self.source, self.config),
            sampler=self.batch_sampler,
            batch_size=None,
            collate_fn=_as_is,
            num_workers=self.workers,
            prefetch_factor=4 if self.workers > 0 else None,
            worker_init_fn=functools.partial(
                seed_worker, seed=self.config.run.seed, start_step=self.batch_sampler.start_step
            ),
        )
        mean = self.config.data.pixel_mean_bgr
        pin = self.device.type == "cuda"
        for planned in loader:
            if pin:
                planned = dataclasses.replace(planned, pixels=planned.pixels.pin_memory())
            images = render_batch(planned, mean, self.device)
            loc_target, labels = batch_targets(
                planned.boxes, planned.labels, self.priors, self.config, self.device
            )
            yield images, loc_target, labels
