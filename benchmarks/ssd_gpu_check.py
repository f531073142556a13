"""Every GPU figure of ssd_ref in one run (under 8 minutes on one H200); ``--smoke`` on a CPU.

    bash benchmarks/gpu_check.sh            # = python -m benchmarks.ssd_gpu_check
    bash benchmarks/gpu_check.sh --smoke    # CPU, tiny sizes, seconds: run by `make test`

Prints, one ``gpu_check:`` line per figure:

1. train-step images/s at batch 32 for the ``reference`` (fp32) and ``fast``
   presets, on a fixed batch and fed by the trainer's loader;
2. loader images/s in all and per worker (the reference preset's workers);
3. a short synthetic training run in both presets (the tiny model and
   schedule with each preset's device settings: fp32 vs bf16/TF32/
   channels_last/compile) and its VOC07 mAP on the held-out images;
4. detection images/s over 4,952 images (the VOC2007 test size; the synthetic
   test images listed until there are 4,952) with the full SSD300 of each
   preset, untrained: every class keeps its 400 candidates, the slowest case
   for NMS.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.ssd_gpu_throughput import benchmark_config, make_training_set, step_rates
from ssd_ref.config import apply_overrides, load_config, tiny_config
from ssd_ref.data.synthetic import make_synthetic_voc
from ssd_ref.modeling.ssd import build_model
from ssd_ref.utils.checkpoint import save_checkpoint

PRESETS = ("reference", "fast")
VOC07_TEST_IMAGES = 4952


def say(text: str) -> None:
    print(f"gpu_check: {text}", flush=True)


def throughput(args, device: torch.device, root: str) -> None:
    for preset in PRESETS:
        config = benchmark_config(preset, args.batch, None, root, args.model_override)
        workers = config.data.num_workers if args.workers is None else args.workers
        rates = step_rates(config, device, args.steps, args.warmup, 1, workers)
        fixed, fed, alone = (
            statistics.median(rates[k]) for k in ("fixed", "loader", "loader_only")
        )
        say(f"train step [{preset}] batch {args.batch}: {fixed:.1f} images/s (fixed batch), "
            f"{fed:.1f} images/s fed by {workers} loader workers")  # fmt: skip
        if preset == "reference":
            say(f"loader [{preset}] {workers} workers: {alone:.1f} images/s, "
                f"{alone / max(1, workers):.1f} per worker")  # fmt: skip


def short_training(args, device: torch.device, work: Path) -> None:
    import vocmap
    from ssd_ref.engine.trainer import train
    from ssd_ref.inference import detect_checkpoint

    data = work / "synthetic"
    make_synthetic_voc(data, seed=0, num_trainval=args.train_images, num_test=args.test_images)
    year = data / "SYNTH"
    for preset in PRESETS:
        run_settings = load_config(preset).run
        config = tiny_config()
        config = config.replace(
            run=dataclasses.replace(run_settings, **{
                k: getattr(config.run, k) for k in ("seed", "log_every", "checkpoint_every",
                                                     "val_every", "max_consecutive_nonfinite")
            }),
            data=dataclasses.replace(config.data, num_workers=args.train_workers,
                                     pin_memory=True, voc_root=str(data)),
        )  # fmt: skip
        config = apply_overrides(config, args.train_override)
        begin = time.perf_counter()
        result = train(config, work / f"run_{preset}", device=device)
        seconds = time.perf_counter() - begin
        out = detect_checkpoint(result.last_checkpoint, year, "test", device=device)
        classes = list(config.data.classes)
        gt = vocmap.read_voc(year, image_set="test")
        value = vocmap.Evaluator(gt, classes=classes).evaluate(
            vocmap.read_detections(out, gt, classes=classes)
        )
        say(f"short training [{preset} settings, tiny model] {result.step} steps at batch "
            f"{config.solver.batch_size}: {seconds:.0f} s, mAP {value.map:.3f}")  # fmt: skip


def detection(args, device: torch.device, work: Path) -> None:
    from ssd_ref.inference import detect_checkpoint

    data = work / "detect"
    year = make_synthetic_voc(data, seed=1, num_trainval=0, num_test=args.detect_distinct,
                              size_range=(400, 500))  # fmt: skip
    ids = (year / "ImageSets" / "Main" / "test.txt").read_text().split()
    # An image set may not list an image twice, so the distinct images are copied under
    # new ids until there are enough of them (copying is cheaper than rendering).
    listed = []
    for number in range(args.detect_images):
        source = ids[number % len(ids)]
        image_id = source if number < len(ids) else f"copy{number:06d}"
        if image_id != source:
            for folder, suffix in (("JPEGImages", ".jpg"), ("Annotations", ".xml")):
                shutil.copyfile(year / folder / f"{source}{suffix}",
                                year / folder / f"{image_id}{suffix}")  # fmt: skip
        listed.append(image_id)
    (year / "ImageSets" / "Main" / "bench.txt").write_text("\n".join(listed) + "\n")
    for preset in PRESETS:
        config = apply_overrides(load_config(preset), args.model_override)
        torch.manual_seed(0)
        model = build_model(config)
        path = work / f"untrained_{preset}.pt"
        save_checkpoint(path, {"config": config.to_dict(), "model": model.state_dict(), "step": 0})
        begin = time.perf_counter()
        detect_checkpoint(path, year, "bench", out_dir=work / f"dets_{preset}", device=device,
                          batch_size=args.detect_batch, num_workers=args.detect_workers)  # fmt: skip
        seconds = time.perf_counter() - begin
        say(
            f"detection [{preset}] {len(listed)} images, batch {args.detect_batch}, "
            f"{args.detect_workers} workers: {len(listed) / seconds:.1f} images/s ({seconds:.1f} s)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="CPU, tiny sizes: every path in seconds"
    )
    args = parser.parse_args(argv)
    begin = time.perf_counter()
    if args.smoke:
        device = torch.device("cpu")
        settings = dict(batch=2, steps=2, warmup=1, workers=1, images=8, train_images=8,
                        test_images=4, train_workers=0, detect_images=12, detect_distinct=4,
                        detect_batch=4, detect_workers=0,
                        # a narrow model, channels_last (NCHW convolutions of it are slow
                        # on a CPU), few NMS candidates (untrained, all 20 classes pass)
                        model_override=["model.width_mult=0.0625", "run.channels_last=true",
                                        "detect.top_k=5", "detect.keep_top_k=5"],
                        train_override=["solver.max_iter=2", "solver.warmup_iters=0",
                                        "solver.milestones=[1]", "solver.batch_size=2",
                                        "run.val_every=0", "run.checkpoint_every=2"])  # fmt: skip
    else:
        if not torch.cuda.is_available():
            print("gpu_check: no CUDA device (use --smoke on a CPU)", file=sys.stderr)
            return 2
        device = torch.device("cuda")
        say(f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}")
        settings = dict(batch=32, steps=200, warmup=15, workers=None, images=4096,
                        train_images=240, test_images=100, train_workers=8,
                        detect_images=VOC07_TEST_IMAGES, detect_distinct=620, detect_batch=32,
                        detect_workers=8, model_override=[], train_override=[])  # fmt: skip
    for key, value in settings.items():
        setattr(args, key, value)
    with tempfile.TemporaryDirectory() as tmp:
        make_training_set(tmp, args.images)
        throughput(args, device, tmp)
        short_training(args, device, Path(tmp))
        detection(args, device, Path(tmp))
    say(
        f"done in {time.perf_counter() - begin:.0f} s{' (smoke mode, CPU: not GPU figures)' if args.smoke else ''}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
