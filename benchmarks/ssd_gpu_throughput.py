"""SSD300 training throughput, timing the trainer's own step.

    python -m benchmarks.ssd_gpu_throughput                        # reference preset (fp32), CUDA
    python -m benchmarks.ssd_gpu_throughput --preset fast          # bf16, TF32, channels_last, compile
    python -m benchmarks.ssd_gpu_throughput --voc-root /data/VOCdevkit   # real VOC07+12 from disk
    python -m benchmarks.ssd_gpu_throughput --device cpu --preset tiny --batch 2 --steps 2 \\
        --warmup 1 --images 8 --loader-workers 1                 # smoke test

What is timed is :func:`ssd_ref.engine.step.train_step` with the preset's
settings applied as the trainer applies them (:func:`numeric_settings`: TF32,
cuDNN autotuner; autocast, channels_last, compile from the config): the input
conversion on the device, forward, MultiBox loss normalised by the global
positives, the all-ranks finite check, backward, SGD and the scheduler step.
Three figures, medians over ``--repeats``:

1. the step on a fixed batch already on the device (the GPU's ceiling);
2. the loader alone: the trainer's DataLoader (``--loader-workers`` processes,
   started under ``opencv_serial()`` as in the trainer) over the training set:
   decode, Caffe augmentation with JPEG re-encoding, matching; images/s in all
   and per worker;
3. the step fed by that loader, hundreds of steps over the set.

The synthetic set (``--images`` VOC-sized JPEGs, default 4,096) fits in the
page cache; pass ``--voc-root`` for VOC07+12 trainval (16,551 images) read as
the trainer reads it.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator

import torch

from ssd_ref.config import SYNTHETIC_CLASSES, SSDConfig, apply_overrides, load_config
from ssd_ref.data.datasets import TrainDataset, opencv_serial
from ssd_ref.data.synthetic import make_synthetic_voc
from ssd_ref.data.voc import VocDataset
from ssd_ref.engine.batches import numeric_settings
from ssd_ref.engine.loaders import train_loader as trainer_loader
from ssd_ref.engine.step import Network, build_network, train_step
from ssd_ref.modeling.priors import prior_boxes
from ssd_ref.utils.distributed import DistInfo


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def benchmark_config(
    preset: str, batch: int, voc_root: str | None, synthetic_root: str | None, overrides: list[str]
) -> SSDConfig:
    """The preset at ``batch`` on real VOC (``voc_root``) or the synthetic set."""
    config = apply_overrides(load_config(preset), overrides)
    config = config.replace(solver=dataclasses.replace(config.solver, batch_size=batch))
    if voc_root is None:
        config = config.replace(
            data=dataclasses.replace(
                config.data,
                voc_root=synthetic_root,
                classes=SYNTHETIC_CLASSES,
                train_sets=(("SYNTH", "trainval"),),
            )
        )
    else:
        config = config.replace(data=dataclasses.replace(config.data, voc_root=voc_root))
    return config


def make_training_set(root: str, images: int) -> None:
    make_synthetic_voc(root, seed=0, num_trainval=images, num_test=0, size_range=(400, 500))


def train_loader(config: SSDConfig, steps: int, device: torch.device, workers: int, start: int = 0):
    """The trainer's DataLoader for steps ``start .. start + steps - 1`` (one process)."""
    config = config.replace(data=dataclasses.replace(config.data, num_workers=workers))
    voc = VocDataset(config.data.voc_root, config.data.train_sets, config.data.classes)
    dataset = TrainDataset(voc, config, prior_boxes(config.model))
    pin = config.data.pin_memory and device.type == "cuda"
    return trainer_loader(config, dataset, start, start + steps, DistInfo(), pin)


def _timed(batches: Iterator, warmup: int, run, device: torch.device, batch: int) -> float:
    """images/s of ``run(batch)`` over the batches after the first ``warmup``."""
    begin, count = None, 0
    for index, data in enumerate(batches):
        if index == warmup:
            synchronise(device)
            begin = time.perf_counter()
        run(data)
        if begin is not None:
            count += batch
    synchronise(device)
    return count / (time.perf_counter() - begin) if begin is not None and count else float("nan")


def step_rates(
    config: SSDConfig, device: torch.device, steps: int, warmup: int, repeats: int, workers: int
) -> dict[str, list[float]]:
    """``{"fixed": [...], "loader": [...], "loader_only": [...]}`` images/s per repeat."""
    batch = config.solver.batch_size
    rates: dict[str, list[float]] = {"fixed": [], "loader": [], "loader_only": []}
    with opencv_serial(), numeric_settings(config.run, device):
        network: Network = build_network(config, device, DistInfo())
        network.model.train()
        sample_loader = train_loader(config, 1, device, 0)
        fixed = tuple(t.to(device) for t in next(iter(sample_loader)))

        def step(data) -> None:
            result = train_step(network, data, config, device)
            if not result.finite:
                raise RuntimeError("non-finite loss in the benchmark")

        for _ in range(warmup):  # includes compilation with --preset fast
            step(fixed)
        for repeat in range(repeats):
            rates["fixed"].append(_timed(iter([fixed] * (steps + 1)), 1, step, device, batch))
            loader = train_loader(config, steps + warmup, device, workers, start=repeat * steps)
            rates["loader_only"].append(
                _timed(iter(loader), warmup, lambda data: None, device, batch)
            )
            loader = train_loader(config, steps + warmup, device, workers, start=repeat * steps)
            rates["loader"].append(_timed(iter(loader), warmup, step, device, batch))
    return rates


def describe(config: SSDConfig, device: torch.device) -> str:
    run = config.run
    on_cuda = device.type == "cuda"
    return (
        f"bf16={run.bf16 and on_cuda} tf32={run.allow_tf32 and on_cuda} "
        f"channels_last={run.channels_last} compile={run.compile and on_cuda}"
    )


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} (repeats: {', '.join(f'{v:.1f}' for v in values)})"


def report(name: str, config: SSDConfig, device: torch.device, rates, workers: int) -> None:
    batch = config.solver.batch_size
    settings = describe(config, device)
    print(
        f"[{name}] train step, batch {batch}, {settings}: fixed batch {median(rates['fixed'])} images/s"
    )
    print(f"[{name}] loader alone, {workers} workers: {median(rates['loader_only'])} images/s, "
          f"{statistics.median(rates['loader_only']) / max(1, workers):.1f} per worker")  # fmt: skip
    print(
        f"[{name}] train step fed by the loader ({workers} workers): {median(rates['loader'])} images/s"
    )
    if device.type == "cuda":
        print(f"[{name}] peak memory {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--preset", default="reference", help="reference, fast, tiny or a JSON file"
    )
    parser.add_argument("--override", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=300, help="timed steps per repeat")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--loader-workers", type=int, help="default: the preset's data.num_workers")
    parser.add_argument("--images", type=int, default=4096, help="synthetic training images")
    parser.add_argument("--voc-root", help="a VOCdevkit with the preset's train_sets")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":
        print(torch.cuda.get_device_name(device))
    with tempfile.TemporaryDirectory() as tmp:
        if args.voc_root is None:
            make_training_set(tmp, args.images)
        config = benchmark_config(args.preset, args.batch, args.voc_root, tmp, args.override)
        workers = config.data.num_workers if args.loader_workers is None else args.loader_workers
        rates = step_rates(config, device, args.steps, args.warmup, args.repeats, workers)
        report(args.preset, config, device, rates, workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
