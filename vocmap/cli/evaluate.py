"""``vocmap evaluate`` and ``vocmap compare``: one set of detections."""

from __future__ import annotations

import argparse
import sys

from vocmap.cli import options
from vocmap.cli.output import Output, check_outputs, destination, emit, note
from vocmap.core.errors import VocmapError

EXIT_OK = 0
EVALUATE_FORMATS = ("text", "markdown", "csv", "json", "map")
COMPARE_FORMATS = ("text", "json")


def add_commands(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate one set of detections and print the per-class table",
        description="Evaluate a folder of devkit result files (comp4_det_test_<class>.txt) "
        "or a COCO-style results .json against VOC annotations.",
        epilog=options.presets_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    evaluate.add_argument(
        "detections", metavar="DETECTIONS", help="folder of result files, or a results .json"
    )
    options.add_ground_truth(evaluate)
    options.add_classes(evaluate)
    options.add_settings(evaluate)
    options.add_unknown_images(evaluate)
    out = options.add_output(evaluate, EVALUATE_FORMATS)
    out.add_argument(
        "--json",
        metavar="FILE",
        type=destination,
        help="also write the results as JSON (exact floats, NaN as null) to FILE; "
        "- for stdout (then instead of the table)",
    )
    out.add_argument(
        "--csv",
        metavar="FILE",
        type=destination,
        help="also write the results as CSV to FILE; - for stdout (then instead of the table)",
    )
    out.add_argument(
        "--markdown",
        dest="format",
        action="store_const",
        const="markdown",
        help="same as --format markdown",
    )
    options.add_quiet(evaluate)
    evaluate.set_defaults(run=run_evaluate)

    compare = commands.add_parser(
        "compare",
        help="evaluate under two semantics and explain every class whose AP differs",
        description="Reproduce two evaluators' numbers for the same detections and say, per "
        "class, which rule and which detections make the difference.",
        epilog=options.presets_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    compare.add_argument(
        "detections", metavar="DETECTIONS", help="folder of result files, or a results .json"
    )
    compare.add_argument(
        "--semantics",
        action="append",
        choices=options.SEMANTICS_NAMES,
        metavar="NAME",
        help="give twice (A then B); once compares devkit with NAME",
    )
    options.add_ground_truth(compare)
    options.add_classes(compare)
    group = compare.add_argument_group("evaluation")
    group.add_argument(
        "--metric",
        choices=("voc07", "voc12"),
        default="voc07",
        help="voc07: 11-point AP (default); voc12: area AP of VOC2010+",
    )
    group.add_argument("--iou", type=float, default=0.5, help="overlap threshold (default 0.5)")
    options.add_unknown_images(compare)
    out = options.add_output(compare, COMPARE_FORMATS)
    out.add_argument(
        "--json",
        metavar="FILE",
        type=destination,
        help="also write the comparison as JSON to FILE; - for stdout (then instead of the text)",
    )
    options.add_quiet(compare)
    compare.set_defaults(run=run_compare)


def planned_outputs(args: argparse.Namespace, shorthands: dict[str, str]) -> list[Output]:
    """The documents a command writes: ``--format``/``--out`` (unless a shorthand
    such as ``--json -`` takes stdout and neither was given) and each shorthand."""
    extra = [
        Output(style, getattr(args, dest), f"--{dest}")
        for dest, style in shorthands.items()
        if getattr(args, dest) is not None
    ]
    main = Output(args.format or "text", args.out or "-", "--out" if args.out else "--format")
    explicit = args.format is not None or args.out is not None
    taken = any(o.dest == "-" for o in extra)
    return check_outputs(([main] if explicit or not taken else []) + extra)


def announce_first_compile(quiet: bool = False) -> None:
    """Say so on stderr when the numba kernels are about to be compiled."""
    from vocmap.core import kernels
    from vocmap.io import text_kernels

    dispatchers = (
        kernels.match_detections,
        kernels.average_precision_11point,
        text_kernels.parse_result_lines,
    )
    if not quiet and not kernels.compiled_code_cached(dispatchers):
        print(
            "vocmap: compiling the numba kernels for this machine (first run only, a few seconds)",
            file=sys.stderr,
            flush=True,
        )


def run_evaluate(args: argparse.Namespace) -> int:
    from vocmap.core.evaluate import Evaluator
    from vocmap.io.read import read_detections
    from vocmap.report.text import format_result

    outputs = planned_outputs(args, {"json": "json", "csv": "csv"})
    announce_first_compile(args.quiet)
    settings = options.eval_settings(args)
    ground_truth, image_set_file = options.load_ground_truth(args)
    evaluator = Evaluator(ground_truth, options.class_list(args.classes), settings=settings)
    detections = read_detections(
        args.detections,
        ground_truth,
        evaluator.classes,
        image_set=image_set_file.stem,
        ignore_unknown_images=args.ignore_unknown_images,
    )
    result = evaluator.evaluate(detections)
    if result.dropped_unknown and any(o.style not in ("text", "markdown") for o in outputs):
        note(args, f"{result.dropped_unknown} line(s) for images outside the image set dropped")

    def render(style: str) -> str:
        if style == "json":
            return result.to_json()
        if style == "csv":
            return result.to_csv()
        if style == "map":
            return f"{result.map!r}\n"
        return format_result(result, style)

    emit(outputs, render)
    return EXIT_OK


def run_compare(args: argparse.Namespace) -> int:
    from vocmap.analysis.compare import compare, comparison_to_json
    from vocmap.core.evaluate import class_list
    from vocmap.io.read import read_detections
    from vocmap.report.text import format_comparison

    names = args.semantics or []
    if len(names) == 1:
        names = ["devkit", names[0]]
    if len(names) != 2:
        raise VocmapError("give --semantics once (compared with devkit) or twice")
    outputs = planned_outputs(args, {"json": "json"})
    announce_first_compile(args.quiet)
    ground_truth, image_set_file = options.load_ground_truth(args)
    classes = class_list(options.class_list(args.classes))
    detections = read_detections(
        args.detections,
        ground_truth,
        classes,
        image_set=image_set_file.stem,
        ignore_unknown_images=args.ignore_unknown_images,
    )
    comparison = compare(
        ground_truth, detections, names[0], names[1], classes, metric=args.metric, iou=args.iou
    )
    emit(
        outputs,
        lambda style: (
            comparison_to_json(comparison) if style == "json" else format_comparison(comparison)
        ),
    )
    return EXIT_OK
