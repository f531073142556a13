"""``ssd_ref``: train | detect | make-synthetic | convert-vgg | print-config.

Heavy imports (torch, OpenCV) happen inside the commands, so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

EXIT_NONFINITE = 3


def _train(args: argparse.Namespace) -> int:
    from ssd_ref.config import SSDConfig, apply_overrides, load_config
    from ssd_ref.engine.trainer import NonFiniteLossError, train
    from ssd_ref.utils.checkpoint import latest_checkpoint

    run_dir = Path(args.out)
    resume = args.resume
    if resume == "auto":
        resume = latest_checkpoint(run_dir)
        if resume is None and not args.config:
            print(f"ssd_ref: nothing to resume in {run_dir}", file=sys.stderr)
            return 2
    if resume is not None:
        if args.override or args.voc_root:
            print("ssd_ref: a resumed run keeps its saved config; --override/--voc-root ignored")
        config = SSDConfig()  # replaced by the checkpoint's config
    else:
        if not args.config:
            print("ssd_ref: --config is required for a new run", file=sys.stderr)
            return 2
        config = apply_overrides(load_config(args.config), args.override or [])
        if args.voc_root:
            config = config.replace(
                data=_with(config.data, voc_root=str(Path(args.voc_root).resolve()))
            )
    try:
        result = train(config, run_dir, resume=resume, device=args.device, stop_at=args.stop_at)
    except NonFiniteLossError as error:
        print(f"ssd_ref: {error}", file=sys.stderr)
        return EXIT_NONFINITE
    print(f"trained to step {result.step}; last checkpoint {result.last_checkpoint}")
    return 0


def _with(section, **changes):
    import dataclasses

    return dataclasses.replace(section, **changes)


def _detect(args: argparse.Namespace) -> int:
    from ssd_ref.inference import detect_checkpoint

    out = detect_checkpoint(
        args.checkpoint,
        args.voc_root,
        image_set=args.set,
        out_dir=args.out,
        device=args.device,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
    )
    print(out)
    return 0


def _make_synthetic(args: argparse.Namespace) -> int:
    from ssd_ref.data.synthetic import make_synthetic_voc

    folder = make_synthetic_voc(
        args.out, seed=args.seed, num_trainval=args.trainval, num_test=args.test, folder=args.folder
    )
    print(folder)
    return 0


def _convert_vgg(args: argparse.Namespace) -> int:
    import torch

    from ssd_ref.modeling.vgg import load_vgg16_weights

    state = load_vgg16_weights(args.input, args.preprocessing)
    torch.save(state, args.output)
    print(f"wrote reduced VGG16 ({len(state)} tensors) to {args.output}")
    return 0


def _print_config(args: argparse.Namespace) -> int:
    from ssd_ref.config import apply_overrides, load_config

    print(apply_overrides(load_config(args.config), args.override or []).to_json(), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ssd_ref", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train SSD300 (torchrun for several processes)")
    train.add_argument("--config", help="'reference', 'tiny' or a config JSON file")
    train.add_argument("--voc-root", help="VOCdevkit folder holding the year folders of the config")
    train.add_argument("--out", required=True, help="run folder")
    train.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        help="continue from a checkpoint (default: the run folder's latest)",
    )
    train.add_argument("--override", action="append", metavar="SECTION.KEY=VALUE")
    train.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    train.add_argument("--stop-at", type=int, help="stop after this step (schedule unchanged)")
    train.set_defaults(func=_train)

    detect = commands.add_parser("detect", help="write devkit result files for an image set")
    detect.add_argument("--checkpoint", required=True)
    detect.add_argument("--voc-root", required=True, help="year folder, e.g. VOCdevkit/VOC2007")
    detect.add_argument("--set", default="test")
    detect.add_argument("--out", help="default: RUN/detections/step_XXXXXX")
    detect.add_argument("--device")
    detect.add_argument("--batch-size", type=int, default=8)
    detect.add_argument("--num-workers", type=int, default=0)
    detect.set_defaults(func=_detect)

    synthetic = commands.add_parser("make-synthetic", help="write the synthetic VOC-format set")
    synthetic.add_argument("--out", required=True)
    synthetic.add_argument("--seed", type=int, default=0)
    synthetic.add_argument("--trainval", type=int, default=240)
    synthetic.add_argument("--test", type=int, default=100)
    synthetic.add_argument("--folder", default="SYNTH")
    synthetic.set_defaults(func=_make_synthetic)

    convert = commands.add_parser("convert-vgg", help="ImageNet VGG16 -> reduced fc6/fc7 backbone")
    convert.add_argument("input")
    convert.add_argument("output")
    convert.add_argument(
        "--preprocessing", choices=("auto", "torchvision", "caffe"), default="auto"
    )
    convert.set_defaults(func=_convert_vgg)

    show = commands.add_parser("print-config", help="print a resolved config as JSON")
    show.add_argument("config", help="'reference', 'tiny' or a JSON file")
    show.add_argument("--override", action="append", metavar="SECTION.KEY=VALUE")
    show.set_defaults(func=_print_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
