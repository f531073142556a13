"""ssd_ref on CPU: data-pipeline images/s per worker, JPEG re-encoding cost, train-step times.

    python benchmarks/ssd_pipeline_bench.py [--repeats 3] [--voc-root DIR] [--pipelines-only]

Side by side, per CPU core (torch on one thread): today's loader (``cpu``
pipeline, 0 workers: decode, augmentation, matching in this process) and the
``batched`` pipeline from the prepared cache, both its host half alone (what a
GPU run spends on the CPU per image: reading the cache, the draws, the copy of
the crops' pixels) and the whole of it run on the CPU (the pixel work and the
matching too, which on a GPU run happen on the device).

Data pipeline: the training DataLoader (decode, Caffe augmentation, matching
to the 8,732 priors, collation) over a synthetic VOC-format set with VOC-sized
images (400-500 px), batch 32, for 0, 1 and 2 workers, with the reference
augmentation (JPEG re-encoding at Caffe's three points included). JPEG cost:
the same pipeline (0 workers) without the re-encoding, and the three round
trips of one image timed alone. Train step: :func:`train_step` of the tiny
model (batch 16) and of the full SSD300 (batch 2) on a fixed batch. Medians
with the spread (min-max) over repeats. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ssd_ref.config import SSDConfig, reference_config, tiny_config
from ssd_ref.data.datasets import TrainDataset
from ssd_ref.data.samplers import StepBatchSampler
from ssd_ref.data.synthetic import make_synthetic_voc
from ssd_ref.data.transforms import jpeg_roundtrip, train_transform
from ssd_ref.data.voc import VocDataset
from ssd_ref.engine.step import build_network, train_step
from ssd_ref.modeling.priors import prior_boxes
from ssd_ref.utils.distributed import DistInfo


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):9.2f}  ({min(values):.2f} - {max(values):.2f})"


def pipeline_rate(config: SSDConfig, workers: int, batches: int, start: int) -> float:
    """Images per second through the training DataLoader."""
    voc = VocDataset(config.data.voc_root, config.data.train_sets, config.data.classes)
    dataset = TrainDataset(voc, config, prior_boxes(config.model))
    sampler = StepBatchSampler(len(voc), 32, seed=0, start_step=start, max_step=start + batches + 1)
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=workers)
    iterator = iter(loader)
    next(iterator)  # worker start-up and first batch are not counted
    begin = time.perf_counter()
    count = sum(images.shape[0] for images, _, _ in iterator)
    return count / (time.perf_counter() - begin)


def step_seconds(config: SSDConfig, batch_size: int, steps: int) -> list[float]:
    """Seconds per trainer step on a fixed batch (after one warm-up step)."""
    voc = VocDataset(config.data.voc_root, config.data.train_sets, config.data.classes)
    dataset = TrainDataset(voc, config, prior_boxes(config.model))
    samples = [dataset[(i, i % len(voc))] for i in range(batch_size)]
    batch = tuple(torch.stack([s[k] for s in samples]) for k in range(3))
    network = build_network(config, torch.device("cpu"), DistInfo())
    times = []
    for _ in range(steps + 1):
        begin = time.perf_counter()
        train_step(network, batch, config, torch.device("cpu"))
        times.append(time.perf_counter() - begin)
    return times[1:]


def jpeg_seconds(config: SSDConfig, images: int) -> tuple[list[float], float]:
    """Per image: seconds of the three JPEG round trips train_transform makes (timed
    alone on its intermediate images), and the mean number made per image."""
    voc = VocDataset(config.data.voc_root, config.data.train_sets, config.data.classes)
    from ssd_ref.data import transforms
    from ssd_ref.data.datasets import load_sample

    seen: list = []
    real = transforms.jpeg_roundtrip
    transforms.jpeg_roundtrip = lambda image, quality: seen.append(image) or real(image, quality)
    try:
        per_image, counts = [], []
        for index in range(images):
            seen.clear()
            sample = load_sample(voc, index % len(voc), True)
            train_transform(sample, np.random.default_rng(index), config.augment, 300,
                            config.data.pixel_mean_bgr)  # fmt: skip
            begin = time.perf_counter()
            for image in seen:
                jpeg_roundtrip(image, config.augment.jpeg_quality)
            per_image.append(time.perf_counter() - begin)
            counts.append(len(seen))
    finally:
        transforms.jpeg_roundtrip = real
    return per_image, sum(counts) / len(counts)


def batched_rates(config: SSDConfig, batches: int, start: int) -> tuple[float, float]:
    """(host half, whole pipeline on the CPU) images/s of the batched pipeline,
    from a prepared cache of the set, batch 32, on the current torch threads."""
    from ssd_ref.data.batched_loader import batch_targets, plan_step
    from ssd_ref.data.batched_transforms import render_batch
    from ssd_ref.data.prepared import open_prepared, prepare

    voc = VocDataset(config.data.voc_root, config.data.train_sets, config.data.classes)
    cache = Path(config.data.voc_root) / "prepared"
    prepare(voc, config.data.train_sets, cache)
    source = open_prepared(cache, voc, config.data.train_sets)
    priors = prior_boxes(config.model)
    sampler = StepBatchSampler(len(voc), 32, seed=0, start_step=start, max_step=start + batches + 1)
    steps = list(sampler)
    plan_step(source, steps[0], config)  # first use: OpenCV's HSV tables, caches
    render_batch(plan_step(source, steps[0], config), config.data.pixel_mean_bgr, "cpu")
    begin = time.perf_counter()
    planned = [plan_step(source, batch, config) for batch in steps[1:]]
    host = batches * 32 / (time.perf_counter() - begin)
    begin = time.perf_counter()
    for batch in steps[1:]:
        one = plan_step(source, batch, config)
        render_batch(one, config.data.pixel_mean_bgr, "cpu")
        batch_targets(one.boxes, one.labels, priors, config, "cpu")
    whole = batches * 32 / (time.perf_counter() - begin)
    del planned
    return host, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, default=6, help="batches of 32 per measurement")
    parser.add_argument("--voc-root", help="a folder with SYNTH/ (default: generate one)")
    parser.add_argument("--full-steps", type=int, default=3)
    parser.add_argument(
        "--pipelines-only",
        action="store_true",
        help="only the two pipelines side by side, per core (no JPEG or step timing)",
    )
    args = parser.parse_args()
    if args.pipelines_only:
        torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.voc_root) if args.voc_root else Path(tmp)
        if not args.voc_root:
            make_synthetic_voc(root, seed=0, num_trainval=256, num_test=0, size_range=(400, 500))
        tiny = tiny_config()
        tiny = tiny.replace(data=dataclasses.replace(tiny.data, voc_root=str(root)))
        # The data pipeline with the reference (Caffe) augmentation.
        caffe_pipeline = tiny.replace(augment=reference_config().augment)

        if args.pipelines_only:
            side_by_side(caffe_pipeline, args)
            return
        print("\ndata pipeline (batch 32, VOC-sized synthetic images, Caffe augmentation):")
        print("  images/s median (min - max)")
        for workers in (0, 1, 2):
            rates = [pipeline_rate(caffe_pipeline, workers, args.batches, start=r * args.batches)
                     for r in range(args.repeats)]  # fmt: skip
            per_worker = [r / max(1, workers) for r in rates]
            print(f"  workers={workers}: total {summary(rates)}   per worker {summary(per_worker)}")
        no_jpeg = caffe_pipeline.replace(
            augment=dataclasses.replace(caffe_pipeline.augment, jpeg_quality=None)
        )
        plain = [pipeline_rate(no_jpeg, 0, args.batches, start=r * args.batches)
                 for r in range(args.repeats)]  # fmt: skip
        with_jpeg = [pipeline_rate(caffe_pipeline, 0, args.batches, start=r * args.batches)
                     for r in range(args.repeats)]  # fmt: skip
        print(f"  workers=0 without JPEG re-encoding: {summary(plain)}  "
              f"(with it, same run: {summary(with_jpeg)})")  # fmt: skip
        cost_ms = 1000 * (1 / statistics.median(with_jpeg) - 1 / statistics.median(plain))
        per_image, count = jpeg_seconds(caffe_pipeline, 64)
        print(f"\nJPEG re-encoding (quality 95, Caffe's three points): {count:.2f} round trips "
              f"per image, {1000 * statistics.median(per_image):.2f} ms per image timed alone "
              f"(min {1000 * min(per_image):.2f}, max {1000 * max(per_image):.2f}); "
              f"pipeline difference {cost_ms:.2f} ms per image")  # fmt: skip

        print("\ntrain step on CPU (forward, loss, backward, SGD): seconds median (min - max)")
        tiny_times = step_seconds(tiny, 16, max(3, args.repeats))
        print(f"  tiny SSD300 (width 1/16, BN), batch 16: {summary(tiny_times)} s"
              f"  = {16 / statistics.median(tiny_times):.1f} images/s")  # fmt: skip
        full = reference_config()
        full = full.replace(
            data=dataclasses.replace(full.data, voc_root=str(root), classes=tiny.data.classes,
                                     train_sets=tiny.data.train_sets)
        )  # fmt: skip
        full_times = step_seconds(full, 2, args.full_steps)
        print(f"  full SSD300 (VGG16), batch 2:        {summary(full_times)} s"
              f"  = {2 / statistics.median(full_times):.2f} images/s")  # fmt: skip


def side_by_side(config: SSDConfig, args) -> None:
    """Images/s on one core: the cpu pipeline (with and without JPEG re-encoding)
    and the batched pipeline (host half; whole on the CPU), repeats interleaved."""
    no_jpeg = config.replace(augment=dataclasses.replace(config.augment, jpeg_quality=None))
    rows: dict[str, list[float]] = {"cpu": [], "cpu, no JPEG": [], "batched host half": [],
                                    "batched, all on the CPU": []}  # fmt: skip
    for r in range(args.repeats):
        start = r * args.batches
        rows["cpu"].append(pipeline_rate(config, 0, args.batches, start))
        rows["cpu, no JPEG"].append(pipeline_rate(no_jpeg, 0, args.batches, start))
        host, whole = batched_rates(config, args.batches, start)
        rows["batched host half"].append(host)
        rows["batched, all on the CPU"].append(whole)
    print("\npipelines side by side, one CPU core, batch 32, images/s median (min - max):")
    for name, values in rows.items():
        print(f"  {name:24s} {summary(values)}")


if __name__ == "__main__":
    main()
