"""``ssd_ref``: train | detect | prepare | export-tensorboard | make-synthetic | weights | print-config.

Heavy imports (torch, OpenCV) happen inside the commands, so ``--help`` is quick
(and works without the train extra, see ``_ssd_ref_entry``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

EXIT_NONFINITE = 3
EXIT_USAGE = 2

#: Where vgg16_reducedfc.pth is published (ssd_ref.weights.REDUCED_VGG16_URL; kept
#: here too so that --help imports nothing heavy).
_WEIGHTS_URL = "https://s3.amazonaws.com/amdegroot-models/vgg16_reducedfc.pth"


def _train(args: argparse.Namespace) -> int:
    import signal

    logging.getLogger("ssd_ref").info("loading torch and the trainer ...")
    from ssd_ref.config import apply_overrides, load_config
    from ssd_ref.engine.trainer import NonFiniteLossError, TrainingInterrupted, train

    run_dir = Path(args.out)
    if args.stop_at is not None and args.stop_at < 1:
        raise _usage(f"--stop-at must be a step >= 1, not {args.stop_at}")
    config = None
    if args.config:
        overrides = [*(args.override or []), *(["model.from_scratch=true"] * args.from_scratch)]
        config = apply_overrides(load_config(args.config), overrides)
        if args.voc_root:
            config = config.replace(
                data=_with(config.data, voc_root=str(Path(args.voc_root).resolve()))
            )
    elif args.resume is None:
        raise _usage("--config is required for a new run (or --resume to continue one)")
    elif args.override or args.voc_root or args.from_scratch or args.eval_every is not None:
        print(
            "ssd_ref: a resumed run keeps its saved config; "
            "--override/--voc-root/--from-scratch/--eval-every ignored"
        )
    if config is not None and args.eval_every is not None:
        config = config.replace(run=_with(config.run, eval_every=_eval_every(args, config)))
    try:
        result = train(
            config, run_dir, resume=args.resume, device=args.device, stop_at=args.stop_at
        )
    except NonFiniteLossError as error:
        print(f"ssd_ref: {error}", file=sys.stderr)
        return EXIT_NONFINITE
    except TrainingInterrupted as error:
        resume = (
            f"; resume with: ssd_ref train --out {run_dir} --resume" if error.checkpoint else ""
        )
        print(f"ssd_ref: {error}{resume}", file=sys.stderr)
        return 128 + int(getattr(signal, error.signal_name, signal.SIGTERM))
    print(f"trained to step {result.step}; last checkpoint {result.last_checkpoint}")
    return 0


def _eval_every(args: argparse.Namespace, config) -> int:
    """``--eval-every``: 0 turns it off (said once); more than the run is an error."""
    every, steps = args.eval_every, config.solver.max_iter
    if every < 0:
        raise _usage(f"--eval-every needs a step count >= 0, not {every}")
    if every > steps:
        raise _usage(f"--eval-every {every} is more than the run's {steps} steps "
                     "(solver.max_iter): no mAP would be computed; give 0 for none")  # fmt: skip
    if every == 0:
        print("ssd_ref: --eval-every 0: no mAP during training")
    return every


def _prepare(args: argparse.Namespace) -> int:
    from ssd_ref.config import apply_overrides, load_config
    from ssd_ref.data.prepared import prepare
    from ssd_ref.data.voc import VocDataset
    from ssd_ref.utils.progress import Progress

    config = apply_overrides(load_config(args.config), args.override or [])
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise _usage(f"--out {out}: a file, not a folder")
    voc = VocDataset(Path(args.voc_root), config.data.train_sets, config.data.classes)
    shown = Progress(len(voc), "prepare", "images", enabled=not args.quiet)
    try:
        decoded, total = prepare(voc, config.data.train_sets, out,
                                 progress=lambda done, _: shown.update(done))  # fmt: skip
    finally:
        shown.close()
    print(f"{out}: {total} images ready ({decoded} decoded now); train with "
          f"--override data.pipeline=batched --override data.prepared={out}")  # fmt: skip
    return 0


def _with(section, **changes):
    import dataclasses

    return dataclasses.replace(section, **changes)


def _detect(args: argparse.Namespace) -> int:

    from ssd_ref.inference import detect_checkpoint
    from ssd_ref.utils.distributed import process_rank, shutdown
    from vocmap.io.files import file_name_problem

    if args.batch_size < 1 or args.num_workers < 0:
        raise _usage("--batch-size must be >= 1 and --num-workers >= 0")
    problem = file_name_problem(args.set, ".txt")
    if problem is not None:
        raise _usage(f"--set {args.set!r} {problem} (a set name: test, trainval)")
    try:  # under torchrun each rank detects a share; rank 0 writes the files
        out = detect_checkpoint(
            args.checkpoint,
            args.voc_root,
            image_set=args.set,
            out_dir=args.out,
            device=args.device,
            batch_size=args.batch_size,
            num_workers=args.num_workers,
            box_convention=args.box_convention,
            progress=not args.quiet,
        )
    finally:
        shutdown()
    if process_rank() == 0:
        print(out)
    return 0


def _export_tensorboard(args: argparse.Namespace) -> int:
    from ssd_ref.utils.tensorboard_log import export_history
    from vocmap.runs.history import read_history_rows

    run_dir = Path(args.run)
    history = run_dir / "history.csv"
    if not history.is_file():
        raise _usage(f"{history}: no such file")
    out = Path(args.out) if args.out else run_dir / "tensorboard"
    count = export_history(read_history_rows(history), out)
    print(f"wrote {count} rows of {history} to {out}")
    return 0


def _make_synthetic(args: argparse.Namespace) -> int:
    from ssd_ref.data.synthetic import make_synthetic_voc
    from vocmap.io.files import file_name_problem

    if args.trainval < 1 or args.test < 1:
        raise _usage("--trainval and --test must be >= 1 images")
    if not 0 <= args.seed < 2**63:
        raise _usage(f"--seed must be in [0, 2**63), not {args.seed}")
    problem = file_name_problem(args.folder)
    if problem is not None:
        raise _usage(f"--folder {args.folder!r} {problem}")

    folder = make_synthetic_voc(
        args.out, seed=args.seed, num_trainval=args.trainval, num_test=args.test, folder=args.folder
    )
    print(folder)
    return 0


def _convert_weights(args: argparse.Namespace) -> int:
    from ssd_ref.weights import convert_weights

    sha = args.sha256
    if sha is not None and (len(sha) != 64 or set(sha.lower()) - set("0123456789abcdef")):
        raise _usage("--sha256 takes 64 hex digits")
    if Path(args.output).resolve() == Path(args.input).resolve():
        raise _usage("the output must not be the input file")
    digest, count = convert_weights(args.input, args.output, args.preprocessing, sha)
    print(f"wrote the reduced VGG16 backbone ({count} tensors) to {args.output}")
    print(
        f"sha256 of {args.input}: {digest} (no checksum is published for it; each run records it)"
    )
    return 0


def _print_config(args: argparse.Namespace) -> int:
    from ssd_ref.config import apply_overrides, load_config

    print(apply_overrides(load_config(args.config), args.override or []).to_json(), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssd_ref",
        description="SSD300 trained as the Caffe reference does: train, detect, and the "
        "tools around a run (see ssd_ref/README.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train SSD300 (torchrun for several processes)")
    train.add_argument(
        "--config", help="a preset (reference, fast, tiny, small) or a config JSON file"
    )
    train.add_argument(
        "--voc-root",
        help="the VOCdevkit folder holding the config's year folders (or one of them)",
    )
    train.add_argument("--out", required=True, help="run folder")
    train.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        help="continue from a checkpoint (default: the run folder's latest; with --config, "
        "start a new run when there is none)",
    )
    train.add_argument(
        "--override",
        action="append",
        metavar="SECTION.KEY=VALUE",
        help="change one config value (JSON), e.g. solver.max_iter=1000; repeatable",
    )
    train.add_argument(
        "--from-scratch",
        action="store_true",
        help="train without ImageNet backbone weights, on purpose (model.from_scratch, "
        "recorded in config.json)",
    )
    train.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    train.add_argument("--stop-at", type=int, help="stop after this step (schedule unchanged)")
    train.add_argument("--eval-every", type=int, metavar="STEPS",
                       help="VOC07 mAP on the test set every STEPS steps into RUN/eval/voc07/ "
                       "(run.eval_every; the reference preset: 10000; 0: none)")  # fmt: skip
    train.set_defaults(func=_train)

    detect = commands.add_parser("detect", help="write devkit result files for an image set")
    detect.add_argument("--checkpoint", required=True, help="RUN/checkpoints/step_XXXXXX.pt")
    detect.add_argument(
        "--voc-root",
        required=True,
        help="a year folder (VOCdevkit/VOC2007), or the VOCdevkit folder holding it",
    )
    detect.add_argument("--set", default="test", help="image set (ImageSets/Main/SET.txt)")
    detect.add_argument("--out", help="default: RUN/detections/step_XXXXXX")
    detect.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    detect.add_argument("--batch-size", type=int, default=8, help="images per batch (8)")
    detect.add_argument("--num-workers", type=int, default=0, help="loader processes (0)")
    detect.add_argument(
        "--box-convention",
        choices=("ssd_ref", "caffe"),
        default="ssd_ref",
        help="ssd_ref: xmin = x1*W + 1 .. xmax = x2*W, two decimals (default); caffe: what "
        "Caffe SSD wrote: clipped to [0, 1], scaled, truncated to integers, no +1",
    )
    detect.add_argument("--quiet", action="store_true", help="no progress display")
    detect.set_defaults(func=_detect)

    prep = commands.add_parser(
        "prepare", help="decode the training images once into a cache (data.pipeline=batched)"
    )
    prep.add_argument("--config", required=True, help="a preset or a config JSON file")
    prep.add_argument("--voc-root", required=True, help="VOCdevkit folder holding the year folders")
    prep.add_argument("--out", required=True, help="cache folder (resumed if partial)")
    prep.add_argument("--override", action="append", metavar="SECTION.KEY=VALUE",
                      help="change one config value (JSON); the cache follows data.train_sets "
                      "and data.classes")  # fmt: skip
    prep.add_argument("--quiet", action="store_true", help="no progress display")
    prep.set_defaults(func=_prepare)

    export = commands.add_parser(
        "export-tensorboard", help="write a run's history.csv as TensorBoard scalars"
    )
    export.add_argument("run", help="run folder (holding history.csv)")
    export.add_argument("--out", help="default: RUN/tensorboard")
    export.set_defaults(func=_export_tensorboard)

    synthetic = commands.add_parser("make-synthetic", help="write the synthetic VOC-format set")
    synthetic.add_argument(
        "--out", required=True, help="the VOCdevkit-like folder to write the year folder into"
    )
    synthetic.add_argument("--seed", type=int, default=0, help="the data seed (0)")
    synthetic.add_argument("--trainval", type=int, default=240, help="trainval images (240)")
    synthetic.add_argument("--test", type=int, default=100, help="test images (100)")
    synthetic.add_argument(
        "--folder", default="SYNTH", help="the year folder's name under --out (SYNTH)"
    )
    synthetic.set_defaults(func=_make_synthetic)

    weights = commands.add_parser("weights", help="ImageNet backbone weights")
    weights_commands = weights.add_subparsers(dest="weights_command", required=True)
    convert = weights_commands.add_parser(
        "convert",
        help="vgg16_reducedfc.pth, a VGG16 caffemodel or torchvision's VGG16 -> the "
        "trainer's backbone file",
        description="Convert ImageNet VGG16 weights into the file model.backbone_weights "
        f"takes. Nothing is downloaded: vgg16_reducedfc.pth is published at {_WEIGHTS_URL}.",
    )
    convert.add_argument("input", help="a .pth state dict or a .caffemodel")
    convert.add_argument("output", help="the backbone file to write (atomically)")
    convert.add_argument(
        "--preprocessing",
        choices=("auto", "torchvision", "caffe"),
        default="auto",
        help="the input the weights expect (auto: torchvision for torchvision's layout, "
        "caffe otherwise)",
    )
    convert.add_argument(
        "--sha256", metavar="HEX", help="refuse the input unless its SHA-256 is this"
    )
    convert.set_defaults(func=_convert_weights)

    show = commands.add_parser("print-config", help="print a resolved config as JSON")
    show.add_argument("config", help="a preset (reference, fast, tiny, small) or a JSON file")
    show.add_argument(
        "--override",
        action="append",
        metavar="SECTION.KEY=VALUE",
        help="change one config value (JSON); repeatable",
    )
    show.set_defaults(func=_print_config)
    return parser


class _UsageError(Exception):
    pass


def _usage(message: str) -> _UsageError:
    return _UsageError(message)


def main(argv: list[str] | None = None) -> int:
    """Run a command; a user error is one line on stderr and exit code 2, not a traceback."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from ssd_ref.errors import UserError
    from vocmap.core.errors import VocmapError

    try:
        return args.func(args)
    except (UserError, _UsageError, VocmapError) as error:
        message = str(error)
    except FileNotFoundError as error:
        message = f"{error.filename or error}: no such file or folder"
    except KeyboardInterrupt as error:
        print(f"ssd_ref: interrupted ({error or 'Ctrl-C'}); no new checkpoint", file=sys.stderr)
        return 130
    print(f"ssd_ref: {_printable(message)}", file=sys.stderr)
    return EXIT_USAGE


def _printable(text: str) -> str:
    """One line, control characters escaped (names may come from files)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


if __name__ == "__main__":
    sys.exit(main())
