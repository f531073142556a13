"""Every GPU figure of ssd_ref in one run (5 minutes on one H100 or H200); ``--smoke`` on a CPU.

    bash benchmarks/gpu_check.sh            # = python -m benchmarks.ssd_gpu_check
    bash benchmarks/gpu_check.sh --smoke    # CPU, tiny sizes, seconds: run by `make test`

Prints one ``gpu_check:`` line per figure:

1. ``data``: the synthetic set (VOC-sized JPEGs made by all cores at once, then
   hard-linked under new ids up to 4,952 for detection) and its image cache;
2. per preset, ``reference`` (fp32, TF32 off) and ``fast`` (bf16, channels_last,
   torch.compile), the full SSD300 at batch 32: the train step's images/s on a
   fixed batch, fed by the ``cpu`` pipeline (DataLoader workers: the machine's
   cores) and fed by the ``batched`` pipeline (augmented on the GPU from the
   cache); each pipeline alone; the peak GPU memory;
3. ``detection``: images/s over 4,952 images with each preset's untrained SSD300
   (every class keeps its 400 candidates: NMS's slowest case);
4. ``short training``: the full SSD300 of ``fast`` for 2 minutes on the synthetic
   set through the batched pipeline, its loss every 50 steps.

``--smoke`` runs the same code on a CPU with a narrow model and a few steps, so
every line appears (the figures are then not GPU figures).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from ssd_ref.config import SYNTHETIC_CLASSES, SSDConfig, apply_overrides, load_config
from ssd_ref.data.batched_loader import BatchedLoader
from ssd_ref.data.datasets import TrainDataset, opencv_serial
from ssd_ref.data.prepared import open_prepared, prepare
from ssd_ref.data.samplers import StepBatchSampler
from ssd_ref.data.synthetic import make_synthetic_voc
from ssd_ref.data.voc import VocDataset
from ssd_ref.engine.batches import numeric_settings
from ssd_ref.engine.loaders import loader_workers, train_loader
from ssd_ref.engine.step import build_network, train_step
from ssd_ref.modeling.priors import prior_boxes
from ssd_ref.modeling.ssd import build_model
from ssd_ref.utils.checkpoint import save_checkpoint
from ssd_ref.utils.distributed import DistInfo
from vocmap.io.writers import write_image_set

PRESETS = ("reference", "fast")
VOC07_TEST_IMAGES = 4952
SETS = (("SYNTH", "trainval"),)


def say(text: str) -> None:
    print(f"gpu_check: {text}", flush=True)


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --- the synthetic set -------------------------------------------------------------


def _make_part(root: str, seed: int, count: int, size: tuple[int, int]) -> str:
    return str(make_synthetic_voc(root, seed=seed, num_trainval=count, num_test=0,
                                  size_range=size))  # fmt: skip


def synthetic_set(
    work: Path, distinct: int, listed: int, processes: int, size: tuple[int, int]
) -> Path:
    """``work/SYNTH``: ``distinct`` VOC-sized images (trainval), made by ``processes``
    at once, and ``bench.txt`` listing ``listed`` ids (hard links of those images)."""
    year = work / "SYNTH"
    for folder in ("JPEGImages", "Annotations"):
        (year / folder).mkdir(parents=True, exist_ok=True)
    per = -(-distinct // processes)
    counts = [min(per, distinct - i * per) for i in range(processes) if distinct - i * per > 0]
    with ProcessPoolExecutor(len(counts)) as pool:
        parts = list(pool.map(_make_part, [str(work / f"part{i}") for i in range(len(counts))],
                              range(len(counts)), counts, [size] * len(counts)))  # fmt: skip
    ids = []
    for number, part in enumerate(parts):
        for source in sorted((Path(part) / "JPEGImages").iterdir()):
            image_id = f"{number:02d}{source.stem}"
            os.replace(source, year / "JPEGImages" / f"{image_id}.jpg")
            os.replace(Path(part) / "Annotations" / f"{source.stem}.xml",
                       year / "Annotations" / f"{image_id}.xml")  # fmt: skip
            ids.append(image_id)
    main = year / "ImageSets" / "Main"
    write_image_set(main / "trainval.txt", ids)
    listed_ids = []
    for number in range(listed):  # an image set lists an id once: more ids, linked files
        source = ids[number % len(ids)]
        image_id = source if number < len(ids) else f"link{number:06d}"
        if image_id != source:
            for folder, suffix in (("JPEGImages", ".jpg"), ("Annotations", ".xml")):
                os.link(year / folder / f"{source}{suffix}", year / folder / f"{image_id}{suffix}")
        listed_ids.append(image_id)
    write_image_set(main / "bench.txt", listed_ids)
    return year


# --- train-step figures ------------------------------------------------------------


def preset_config(preset: str, args, root: Path) -> SSDConfig:
    config = apply_overrides(load_config(preset), args.model_override)
    return config.replace(
        data=dataclasses.replace(config.data, voc_root=str(root), classes=SYNTHETIC_CLASSES,
                                 train_sets=SETS, num_workers=args.workers),
        solver=dataclasses.replace(config.solver, batch_size=args.batch),
    )  # fmt: skip


def timed(batches, warmup: int, run, device: torch.device, batch: int) -> float:
    """images/s of ``run(b)`` over the batches after the first ``warmup``."""
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


def loaders(config: SSDConfig, args, device: torch.device, cache: Path, steps: int):
    """``{"cpu": DataLoader, "batched": BatchedLoader}`` over ``steps`` steps."""
    voc = VocDataset(config.data.voc_root, SETS, config.data.classes)
    priors = prior_boxes(config.model)
    pin = device.type == "cuda"
    cpu = train_loader(config, TrainDataset(voc, config, priors), 0, steps, DistInfo(), pin)
    sampler = StepBatchSampler(len(voc), config.solver.batch_size, config.run.seed, 0, steps)
    batched = BatchedLoader(open_prepared(cache, voc, SETS), config, priors, sampler, device,
                            args.workers)  # fmt: skip
    return {"cpu": cpu, "batched": batched}


def train_figures(preset: str, args, device: torch.device, root: Path, cache: Path) -> None:
    config = preset_config(preset, args, root)
    batch, steps, warmup = args.batch, args.steps, args.warmup
    workers = loader_workers(config.data.num_workers)
    with opencv_serial(), numeric_settings(config.run, device):
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        network = build_network(config, device, DistInfo())
        network.model.train()
        fixed = tuple(
            t.to(device) for t in next(iter(loaders(config, args, device, cache, 1)["cpu"]))
        )

        def step(data) -> None:
            if not train_step(network, data, config, device).finite:
                raise RuntimeError("non-finite loss in the benchmark")

        begin = time.perf_counter()
        for _ in range(warmup):  # compilation with fast
            step(fixed)
        synchronise(device)
        say(f"warm-up [{preset}] {warmup} steps (compile={config.run.compile and device.type == 'cuda'}): "
            f"{time.perf_counter() - begin:.1f} s")  # fmt: skip
        rate = timed([fixed] * (steps + 1), 1, step, device, batch)
        say(f"train step [{preset}] batch {batch}, fixed batch: {rate:.1f} images/s")
        for name, loader in loaders(config, args, device, cache, steps + warmup).items():
            alone = timed(iter(loader), warmup, lambda data: None, device, batch)
            fed = timed(iter(loaders(config, args, device, cache, steps + warmup)[name]), warmup,
                        step, device, batch)  # fmt: skip
            feeders = f"{workers} workers"
            say(f"train step [{preset}] batch {batch}, fed by the {name} pipeline ({feeders}): "
                f"{fed:.1f} images/s; the pipeline alone {alone:.1f} images/s")  # fmt: skip
        if device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(device) / 2**30
            say(f"peak GPU memory [{preset}] batch {batch}: {peak:.2f} GiB")
        else:
            say(f"peak GPU memory [{preset}]: n/a on a CPU")


# --- detection and the short training ------------------------------------------------


def detection(preset: str, args, device: torch.device, year: Path, work: Path) -> None:
    from ssd_ref.inference import detect_checkpoint

    config = apply_overrides(load_config(preset), args.model_override)
    config = config.replace(data=dataclasses.replace(config.data, classes=SYNTHETIC_CLASSES))
    torch.manual_seed(0)
    path = work / f"untrained_{preset}.pt"
    save_checkpoint(path, {"config": config.to_dict(), "model": build_model(config).state_dict(),
                           "step": 0})  # fmt: skip
    begin = time.perf_counter()
    detect_checkpoint(path, year, "bench", out_dir=work / f"dets_{preset}", device=device,
                      batch_size=args.batch, num_workers=args.workers)  # fmt: skip
    seconds = time.perf_counter() - begin
    say(f"detection [{preset}] {args.detect_images} images, batch {args.batch}, {args.workers} "
        f"workers: {args.detect_images / seconds:.1f} images/s ({seconds:.1f} s)")  # fmt: skip


def short_training(args, device: torch.device, root: Path, cache: Path, deadline: float) -> None:
    config = preset_config("fast", args, root)
    config = apply_overrides(config, args.train_override)
    voc = VocDataset(config.data.voc_root, SETS, config.data.classes)
    sampler = StepBatchSampler(len(voc), config.solver.batch_size, config.run.seed, 0, 10**9)
    width = config.model.width_mult
    model = "full SSD300" if width == 1.0 else f"SSD300 at {width:g} width"
    with numeric_settings(config.run, device):
        network = build_network(config, device, DistInfo())
        network.model.train()
        loader = BatchedLoader(open_prepared(cache, voc, SETS), config, prior_boxes(config.model),
                               sampler, device, args.workers)  # fmt: skip
        begin = time.perf_counter()
        stop = min(begin + args.train_seconds, deadline)
        first = last = None
        for step, data in enumerate(loader, start=1):
            result = train_step(network, data, config, device)
            if step % args.train_every == 0 or step == 1:
                loss = float(result.parts[0])
                first = loss if first is None else first
                last = loss
                say(f"short training [fast, {model}, batched pipeline] step {step}: loss "
                    f"{loss:.3f} ({time.perf_counter() - begin:.0f} s)")  # fmt: skip
            if time.perf_counter() >= stop or step >= args.train_max_steps:
                break
    say(f"short training [fast, {model}]: {step} steps in {time.perf_counter() - begin:.0f} s,"
        f" loss {first:.3f} -> {last:.3f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="CPU, tiny sizes: every line in seconds"
    )
    parser.add_argument("--budget", type=float, default=290.0, help="seconds for the whole check")
    args = parser.parse_args(argv)
    begin = time.perf_counter()
    cores = loader_workers(None) + 1
    if args.smoke:
        device = torch.device("cpu")
        settings = dict(batch=2, steps=1, warmup=1, workers=0, distinct=4, detect_images=4,
                        processes=2, train_seconds=60.0, train_every=1, train_max_steps=2,
                        image_size=(60, 90),
                        # a narrow model, channels_last (NCHW convolutions of it are slow
                        # on a CPU), few NMS candidates (untrained, all classes pass)
                        model_override=["model.width_mult=0.0625", "run.channels_last=true",
                                        "detect.top_k=5", "detect.keep_top_k=5"],
                        train_override=[])  # fmt: skip
    else:
        if not torch.cuda.is_available():
            print("gpu_check: no CUDA device (use --smoke on a CPU)", file=sys.stderr)
            return 2
        device = torch.device("cuda")
        say(f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}, {cores} CPU cores")
        settings = dict(batch=32, steps=30, warmup=5, workers=max(1, cores - 1), distinct=128,
                        detect_images=VOC07_TEST_IMAGES, processes=cores, train_seconds=120.0,
                        image_size=(400, 500),
                        train_every=50, train_max_steps=10**9, model_override=[],
                        train_override=[])  # fmt: skip
    for key, value in settings.items():
        setattr(args, key, value)
    deadline = begin + args.budget
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        made = time.perf_counter()
        year = synthetic_set(work, args.distinct, args.detect_images, args.processes,
                             args.image_size)  # fmt: skip
        voc = VocDataset(work, SETS, SYNTHETIC_CLASSES)
        prepare(voc, SETS, work / "cache")
        size = "VOC-sized" if args.image_size[0] >= 400 else "small"
        say(f"data: {args.distinct} synthetic {size} images and their cache in "
            f"{time.perf_counter() - made:.1f} s ({args.processes} processes)")  # fmt: skip
        for preset in PRESETS:
            train_figures(preset, args, device, work, work / "cache")
        for preset in PRESETS:
            detection(preset, args, device, year, work)
        short_training(args, device, work, work / "cache", deadline)
    smoke = " (smoke mode, CPU: not GPU figures)" if args.smoke else ""
    say(f"done in {time.perf_counter() - begin:.0f} s{smoke}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
