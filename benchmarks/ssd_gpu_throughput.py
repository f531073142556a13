"""SSD300 training throughput: full model, batch 32, bf16 autocast, channels_last.

    python benchmarks/ssd_gpu_throughput.py                       # CUDA, batch 32
    python benchmarks/ssd_gpu_throughput.py --compile             # with torch.compile
    python benchmarks/ssd_gpu_throughput.py --loader-workers 12   # also through the DataLoader
    python benchmarks/ssd_gpu_throughput.py --device cpu --batch 2 --steps 2   # smoke test

Times the whole training step of ssd_ref's trainer (input conversion on the
device, forward under bf16 autocast, MultiBox loss with per-image mining,
backward, SGD with the Caffe parameter groups) on a fixed batch that already
lies on the device, after warm-up steps (and compilation). With
``--loader-workers N`` it then also feeds the steps from the real training
DataLoader over a generated synthetic VOC-format set, which shows whether the
CPU side keeps up. Prints images/s; the goal on one H200 is >= 1,500.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ssd_ref.config import reference_config
from ssd_ref.data.datasets import TrainDataset
from ssd_ref.data.samplers import StepBatchSampler
from ssd_ref.data.synthetic import SYNTHETIC_CLASSES, make_synthetic_voc
from ssd_ref.data.voc import VocDataset
from ssd_ref.engine.trainer import loss_sums
from ssd_ref.modeling.loss import normalise
from ssd_ref.modeling.priors import prior_boxes
from ssd_ref.modeling.ssd import build_model
from ssd_ref.solver import build_optimizer


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=50, help="timed steps per repeat")
    parser.add_argument("--warmup", type=int, help="untimed steps first (default: min(10, steps))")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--no-bf16", action="store_true")
    parser.add_argument("--no-channels-last", action="store_true")
    parser.add_argument("--loader-workers", type=int, default=0, help="0: model only")
    args = parser.parse_args()

    if args.warmup is None:
        args.warmup = min(10, args.steps)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        print(torch.cuda.get_device_name(device))
    config = reference_config()
    config = config.replace(
        run=dataclasses.replace(config.run, bf16=not args.no_bf16,
                                channels_last=not args.no_channels_last, compile=args.compile),
        solver=dataclasses.replace(config.solver, batch_size=args.batch),
    )  # fmt: skip
    channels_last = config.run.channels_last

    with tempfile.TemporaryDirectory() as tmp:
        count = max(args.batch, 64) if args.loader_workers == 0 else 512
        make_synthetic_voc(tmp, seed=0, num_trainval=count, num_test=0, size_range=(400, 500))
        config = config.replace(
            data=dataclasses.replace(config.data, voc_root=tmp, classes=SYNTHETIC_CLASSES,
                                     train_sets=(("SYNTH", "trainval"),))
        )  # fmt: skip
        voc = VocDataset(Path(tmp), config.data.train_sets, config.data.classes)
        dataset = TrainDataset(voc, config, prior_boxes(config.model))
        samples = [dataset[(i, i % len(voc))] for i in range(args.batch)]
        batch = tuple(torch.stack([s[k] for s in samples]).to(device) for k in range(3))

        torch.manual_seed(0)
        model = build_model(config).to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        optimizer = build_optimizer(model, config.solver)
        forward = torch.compile(model) if args.compile else model

        def step(data) -> None:
            sums = loss_sums(forward, data, config, device, channels_last)
            loss, _, _ = normalise(sums)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        begin = time.perf_counter()
        for _ in range(args.warmup):
            step(batch)
        synchronise(device)
        print(f"warm-up ({args.warmup} steps{', compile' if args.compile else ''}): "
              f"{time.perf_counter() - begin:.1f} s")  # fmt: skip

        rates = []
        for _ in range(args.repeats):
            synchronise(device)
            begin = time.perf_counter()
            for _ in range(args.steps):
                step(batch)
            synchronise(device)
            rates.append(args.steps * args.batch / (time.perf_counter() - begin))
        bf16 = config.run.bf16 and device.type == "cuda"  # autocast is used on CUDA only
        print(f"model step, batch {args.batch}, bf16={bf16}, "
              f"channels_last={channels_last}, compile={args.compile}: "
              f"{statistics.median(rates):.1f} images/s (repeats: "
              f"{', '.join(f'{r:.1f}' for r in rates)})")  # fmt: skip
        if device.type == "cuda":
            print(f"peak memory {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")

        if args.loader_workers:
            sampler = StepBatchSampler(len(voc), args.batch, 0, 0, args.warmup + args.steps)
            loader = torch.utils.data.DataLoader(
                dataset, batch_sampler=sampler, num_workers=args.loader_workers,
                pin_memory=device.type == "cuda", prefetch_factor=4, persistent_workers=False,
            )  # fmt: skip
            for index, data in enumerate(loader):
                if index == args.warmup:
                    synchronise(device)
                    begin = time.perf_counter()
                step(data)
            synchronise(device)
            rate = args.steps * args.batch / (time.perf_counter() - begin)
            print(f"with the DataLoader ({args.loader_workers} workers): {rate:.1f} images/s")


if __name__ == "__main__":
    main()
