"""The ``vocmap`` command line. It parses options and orchestrates; the work is elsewhere.

Exit status: 0 on success, 2 on bad input or options (one line on stderr).
Heavy modules (numpy, numba, matplotlib, torch) are imported inside the
subcommands that need them, so ``vocmap --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _class_list(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    names = [name for value in values for name in value.split(",") if name]
    return names or None


def _add_ground_truth_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "ground truth",
        "Where the annotations are. Without options: $VOC_ROOT, then ./VOCdevkit/VOC2007.",
    )
    group.add_argument("--voc-root", metavar="DIR", help="a VOC year folder (VOCdevkit/VOC2007)")
    group.add_argument(
        "--image-set",
        default="test",
        metavar="NAME",
        help="ImageSets/Main/NAME.txt under --voc-root (default: test)",
    )
    group.add_argument("--annotations", metavar="DIR", help="a folder of <image id>.xml files")
    group.add_argument("--imageset", metavar="FILE", help="an image-set file (with --annotations)")
    group.add_argument(
        "--no-cache",
        action="store_true",
        help="parse the XML files even if a current cache entry exists",
    )


def _add_evaluation_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("evaluation")
    group.add_argument(
        "--classes",
        nargs="+",
        metavar="CLASS",
        help="classes to evaluate, in table order (default: the 20 VOC classes)",
    )
    group.add_argument(
        "--metric",
        choices=("voc07", "voc12"),
        default="voc07",
        help="voc07: 11-point AP, the VOC2007 number (default); voc12: area AP of VOC2010+",
    )
    group.add_argument(
        "--iou",
        type=float,
        default=0.5,
        help="overlap threshold (default 0.5; other values are not the VOC2007 number)",
    )
    group.add_argument(
        "--ignore-unknown-images",
        action="store_true",
        help="drop result lines whose image is not in the image set (and say how many)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vocmap",
        description="The PASCAL VOC2007 devkit's detection AP, bit for bit, fast.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate one set of detections and print the per-class table",
        description="Evaluate a folder of devkit result files (comp4_det_test_<class>.txt) "
        "or a COCO-style results .json against VOC annotations.",
    )
    evaluate.add_argument(
        "detections", metavar="DETECTIONS", help="folder of result files, or a results .json"
    )
    _add_ground_truth_options(evaluate)
    _add_evaluation_options(evaluate)
    evaluate.add_argument(
        "--semantics",
        default="devkit",
        metavar="NAME",
        help="evaluation rules (default: devkit, the official ones)",
    )
    out = evaluate.add_argument_group("output")
    out.add_argument(
        "--json",
        metavar="FILE",
        help="write the results as JSON (exact floats, NaN as null); - for stdout",
    )
    out.add_argument("--csv", metavar="FILE", help="write the results as CSV; - for stdout")
    out.add_argument("--markdown", action="store_true", help="print the table as markdown")
    out.add_argument("--quiet", action="store_true", help="print only the mAP")
    compare = commands.add_parser(
        "compare",
        help="evaluate under two semantics and explain every class whose AP differs",
        description="Reproduce two evaluators' numbers for the same detections and say, per "
        "class, which rule and which detections make the difference. Presets: devkit, "
        "py-faster-rcnn, mmdet, ssd_keras.",
    )
    compare.add_argument(
        "detections", metavar="DETECTIONS", help="folder of result files, or a results .json"
    )
    compare.add_argument(
        "--semantics",
        action="append",
        metavar="NAME",
        help="give twice (A then B); once compares devkit with NAME",
    )
    _add_ground_truth_options(compare)
    _add_evaluation_options(compare)
    compare.add_argument(
        "--json", metavar="FILE", help="write the comparison as JSON; - for stdout"
    )
    return parser


def resolve_ground_truth_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """``(annotations folder, image-set file)`` from the options and environment."""
    from vocmap.errors import VocmapError

    if args.annotations or args.imageset:
        if args.voc_root:
            raise VocmapError("give either --voc-root or --annotations with --imageset, not both")
        if not (args.annotations and args.imageset):
            raise VocmapError("--annotations and --imageset go together")
        return Path(args.annotations), Path(args.imageset)
    root = args.voc_root or os.environ.get("VOC_ROOT")
    if not root:
        default = Path("VOCdevkit") / "VOC2007"
        if not default.is_dir():
            raise VocmapError(
                "no annotations given: use --voc-root DIR, or --annotations DIR --imageset FILE, "
                "or set $VOC_ROOT (./VOCdevkit/VOC2007 does not exist)"
            )
        root = default
    root = Path(root)
    if not root.is_dir():
        raise VocmapError(f"VOC root folder not found: {root}")
    return root / "Annotations", root / "ImageSets" / "Main" / f"{args.image_set}.txt"


def load_ground_truth(args: argparse.Namespace):
    from vocmap.annotations import GroundTruth

    annotations, image_set = resolve_ground_truth_paths(args)
    return GroundTruth.from_folder(annotations, image_set, cache=not args.no_cache)


def announce_first_compile() -> None:
    """Say so on stderr when the numba kernels are about to be compiled."""
    from vocmap import kernels

    if not kernels.compiled_code_cached():
        print(
            "vocmap: compiling the numba kernels for this machine (first run only, a few seconds)",
            file=sys.stderr,
            flush=True,
        )


def run_evaluate(args: argparse.Namespace) -> int:
    from vocmap.detections import read_detections
    from vocmap.evaluation import Evaluator
    from vocmap.report import format_result

    announce_first_compile()
    classes = _class_list(args.classes)
    ground_truth = load_ground_truth(args)
    evaluator = Evaluator(
        ground_truth, classes, metric=args.metric, iou=args.iou, semantics=args.semantics
    )
    image_set_name = Path(resolve_ground_truth_paths(args)[1]).stem
    detections = read_detections(
        args.detections,
        ground_truth,
        evaluator.classes,
        image_set=image_set_name,
        ignore_unknown_images=args.ignore_unknown_images,
    )
    result = evaluator.evaluate(detections)
    for path, write in ((args.json, result.to_json), (args.csv, result.to_csv)):
        if path == "-":
            sys.stdout.write(write())
        elif path:
            write(path)
    if args.json == "-" or args.csv == "-":
        return EXIT_OK
    if args.quiet:
        print(repr(result.map))
    else:
        sys.stdout.write(format_result(result, "markdown" if args.markdown else "text"))
    return EXIT_OK


def run_compare(args: argparse.Namespace) -> int:
    from vocmap.compare import compare
    from vocmap.detections import read_detections
    from vocmap.errors import VocmapError
    from vocmap.evaluation import Evaluator
    from vocmap.report import format_comparison

    names = args.semantics or []
    if len(names) == 1:
        names = ["devkit", names[0]]
    if len(names) != 2:
        raise VocmapError("give --semantics once (compared with devkit) or twice")
    announce_first_compile()
    ground_truth = load_ground_truth(args)
    classes = Evaluator(ground_truth, _class_list(args.classes)).classes
    detections = read_detections(
        args.detections,
        ground_truth,
        classes,
        image_set=Path(resolve_ground_truth_paths(args)[1]).stem,
        ignore_unknown_images=args.ignore_unknown_images,
    )
    comparison = compare(
        ground_truth, detections, names[0], names[1], classes, metric=args.metric, iou=args.iou
    )
    if args.json:
        from vocmap.compare import comparison_to_json

        text = comparison_to_json(comparison, None if args.json == "-" else args.json)
        if args.json == "-":
            sys.stdout.write(text)
            return EXIT_OK
    sys.stdout.write(format_comparison(comparison))
    return EXIT_OK


COMMANDS = {"evaluate": run_evaluate, "compare": run_compare}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from vocmap import __version__

        print(f"vocmap {__version__}")
        return EXIT_OK
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    from vocmap.errors import VocmapError

    try:
        return COMMANDS[args.command](args)
    except VocmapError as error:
        print(f"vocmap: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("vocmap: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
