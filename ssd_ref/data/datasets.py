"""torch Datasets over a :class:`~ssd_ref.data.voc.VocDataset`: train, validation, detection.

Images leave the workers as uint8 ``(300, 300, 3)`` BGR (a quarter of the bytes
of float CHW); :func:`ssd_ref.engine.batches.to_network_input` turns a batch into
the network's input on the device. Training and validation samples also carry
their per-prior targets (``loc_target (P, 4)``, ``labels (P,)``), matched here in
the worker.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ssd_ref.config import SSDConfig
from ssd_ref.data.transforms import Sample, eval_transform, train_transform
from ssd_ref.data.voc import VocDataset, voc_to_normalized
from ssd_ref.modeling.box_utils import build_targets
from ssd_ref.utils.stopping import ignore_stop_signals


def load_sample(voc: VocDataset, index: int, use_difficult: bool) -> Sample:
    """Image ``index`` with its boxes as normalised corners."""
    annotation = voc.annotation(index)
    keep = np.ones(len(annotation.labels), dtype=bool)
    if not use_difficult:
        keep = ~annotation.difficult
    boxes = voc_to_normalized(annotation.boxes[keep], annotation.width, annotation.height)
    return Sample(voc.image(index), boxes, annotation.labels[keep])


def sample_targets(
    sample: Sample, priors: torch.Tensor, config: SSDConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(image uint8 (S, S, 3), loc_target (P, 4), labels (P,))`` for an augmented sample."""
    loc_target, labels = build_targets(
        torch.from_numpy(np.ascontiguousarray(sample.boxes, dtype=np.float32)),
        torch.from_numpy(np.asarray(sample.labels, dtype=np.int64)),
        priors,
        config.model.variances,
        config.loss.overlap_threshold,
        config.loss.neg_overlap,
    )
    return torch.from_numpy(np.ascontiguousarray(sample.image)), loc_target, labels


class TrainDataset(Dataset):
    """Indexed by ``(stream_index, item_index)`` from :class:`~ssd_ref.data.samplers.StepBatchSampler`.

    The augmentation of a sample draws from ``numpy.random.default_rng((seed,
    stream_index))``: the same step gives the same batch whatever the number of
    workers or processes, and a resumed run sees exactly what it would have seen.
    """

    def __init__(self, voc: VocDataset, config: SSDConfig, priors: torch.Tensor) -> None:
        self.voc = voc
        self.config = config
        self.priors = priors

    def __len__(self) -> int:
        return len(self.voc)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        stream_index, item = key
        rng = np.random.default_rng([self.config.run.seed, stream_index])
        sample = load_sample(self.voc, item, self.config.data.use_difficult)
        sample = train_transform(
            sample,
            rng,
            self.config.augment,
            self.config.model.image_size,
            self.config.data.pixel_mean_bgr,
        )
        return sample_targets(sample, self.priors, self.config)


class ValDataset(Dataset):
    """Validation samples: the test-time resize, no augmentation, all (incl. difficult) boxes."""

    def __init__(self, voc: VocDataset, config: SSDConfig, priors: torch.Tensor) -> None:
        self.voc = voc
        self.config = config
        self.priors = priors

    def __len__(self) -> int:
        return len(self.voc)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sample = load_sample(self.voc, index, self.config.data.use_difficult)
        image = eval_transform(sample.image, self.config.model.image_size)
        return sample_targets(Sample(image, sample.boxes, sample.labels), self.priors, self.config)


class DetectDataset(Dataset):
    """Test-time inputs and what is needed to map detections back to the original image."""

    def __init__(self, voc: VocDataset, image_size: int) -> None:
        self.voc = voc
        self.image_size = image_size

    def __len__(self) -> int:
        return len(self.voc)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int, int]:
        """``(image uint8 (S, S, 3), index, original height, original width)``."""
        original = self.voc.image(index)
        image = eval_transform(original, self.image_size)
        height, width = original.shape[:2]
        return torch.from_numpy(np.ascontiguousarray(image)), index, height, width


def seed_worker(worker_id: int, seed: int, start_step: int) -> None:
    """DataLoader ``worker_init_fn`` (bind ``seed``, ``start_step`` with functools.partial).

    Augmentation does not use the global generators (each sample has its own),
    but anything else that might is seeded from ``(seed, start_step, worker_id)``.
    SIGTERM/SIGINT are left to the main process (it checkpoints, then stops the
    workers): a worker killed by Ctrl-C would break the step in progress.
    """
    ignore_stop_signals()
    sequence = np.random.SeedSequence([seed, start_step, worker_id])
    state = sequence.generate_state(2)
    random.seed(int(state[0]))
    np.random.seed(int(state[1]))
    torch.manual_seed(int(sequence.generate_state(1, dtype=np.uint64)[0]) & ((1 << 63) - 1))


@contextlib.contextmanager
def opencv_serial() -> Iterator[None]:
    """Run OpenCV without its thread pool for the duration, then restore it.

    A forked DataLoader worker inherits the parent's OpenCV pool in a broken
    state: touching it there (even ``cv2.setNumThreads``) can deadlock. With the
    pool off in the parent before the workers start, nothing is inherited; the
    parallelism comes from the workers (and, without workers, from torch).
    """
    previous = cv2.getNumThreads()
    cv2.setNumThreads(0)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)
