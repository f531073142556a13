"""``vocmap evaluate`` and ``vocmap compare``: one set of detections."""

from __future__ import annotations

import argparse
import sys

from vocmap.cli import options, stats
from vocmap.core.errors import VocmapError

EXIT_OK = 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate one set of detections and print the per-class table",
        description="Evaluate a folder of devkit result files (comp4_det_test_<class>.txt) "
        "or a COCO-style results .json against VOC annotations.",
    )
    evaluate.add_argument(
        "detections",
        metavar="DETECTIONS",
        help="folder of result files, or a results .json; - reads a results JSON or one "
        "class's result file from stdin",
    )
    options.add_ground_truth(evaluate)
    options.add_classes(evaluate)
    options.add_settings(evaluate)
    options.add_unknown_images(evaluate)
    options.add_reading(evaluate)
    stats.add_ci_options(evaluate)
    out = evaluate.add_argument_group("output")
    out.add_argument(
        "--json",
        metavar="FILE",
        help="write the results as JSON (exact floats, NaN as null); - for stdout",
    )
    out.add_argument("--csv", metavar="FILE", help="write the results as CSV; - for stdout")
    out.add_argument("--markdown", action="store_true", help="print the table as markdown")
    out.add_argument("--quiet", action="store_true", help="print only the mAP")
    evaluate.set_defaults(run=run_evaluate)

    compare = commands.add_parser(
        "compare",
        help="evaluate under two semantics and explain every class whose AP differs",
        description="Reproduce two evaluators' numbers for the same detections and say, per "
        "class, which rule and which detections make the difference. Presets: "
        f"{', '.join(options.SEMANTICS_NAMES)}.",
    )
    compare.add_argument(
        "detections", metavar="DETECTIONS", help="folder of result files, or a results .json"
    )
    compare.add_argument(
        "--semantics",
        action="append",
        metavar="NAME",
        help="give twice (A then B); once compares devkit with NAME; coco50: pycocotools' AP50",
    )
    options.add_ground_truth(compare)
    options.add_classes(compare)
    group = compare.add_argument_group("evaluation")
    group.add_argument("--metric", choices=("voc07", "voc12"), default="voc07")
    group.add_argument("--iou", type=float, default=0.5, help="overlap threshold (default 0.5)")
    options.add_unknown_images(compare)
    options.add_reading(compare)
    compare.add_argument(
        "--json", metavar="FILE", help="write the comparison as JSON; - for stdout"
    )
    compare.set_defaults(run=run_compare)


def announce_first_compile(metric: str = "voc07") -> None:
    """Say so on stderr when the numba kernels are about to be compiled."""
    from vocmap.core import kernels
    from vocmap.io import text_kernels

    dispatchers: tuple = (
        kernels.match_detections,
        kernels.average_precision_11point,
        text_kernels.parse_result_lines,
    )
    if metric in ("coco50", "coco"):  # COCO's path compiles its own kernels
        from vocmap.core import coco_kernels

        dispatchers = (coco_kernels.evaluate_images, text_kernels.parse_result_lines)
    if not kernels.compiled_code_cached(dispatchers):
        print(
            "vocmap: compiling the numba kernels for this machine (first run only, a few seconds)",
            file=sys.stderr,
            flush=True,
        )


def _reading(args: argparse.Namespace) -> dict:
    """The reading options as read_detections' keywords."""
    return {
        "ignore_unknown_images": args.ignore_unknown_images,
        "ignore_unknown_categories": args.ignore_unknown_categories,
        "prefix": args.prefix,
        "follow_symlinks": args.follow_symlinks,
    }


def _say_dropped(detections) -> None:
    if detections.dropped_categories:
        print(
            f"vocmap: {detections.dropped_categories} record(s) whose category is not a known "
            "class dropped (--ignore-unknown-categories)",
            file=sys.stderr,
        )


def run_evaluate(args: argparse.Namespace) -> int:
    from vocmap.core.evaluate import Evaluator
    from vocmap.io.read import detection_classes, read_detections
    from vocmap.report.text import format_result

    settings = options.eval_settings(args)
    announce_first_compile(settings.metric)
    ground_truth, image_set_file = options.load_ground_truth(args)
    classes = options.class_list(args.classes)
    if classes is None:
        classes, note = detection_classes(
            args.detections, ground_truth, image_set_file.stem, prefix=args.prefix
        )
        if note:
            print(f"vocmap: {note}", file=sys.stderr)
    evaluator = Evaluator(ground_truth, classes, settings=settings)
    detections = read_detections(
        args.detections,
        ground_truth,
        evaluator.classes,
        image_set=image_set_file.stem,
        **_reading(args),
    )
    _say_dropped(detections)
    result = evaluator.evaluate(detections)
    result = stats.attach_intervals(args, result, ground_truth, detections)
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
    from vocmap.analysis.compare import compare, comparison_to_json
    from vocmap.core.evaluate import class_list
    from vocmap.io.read import read_detections
    from vocmap.report.text import format_comparison

    names = args.semantics or []
    if len(names) == 1:
        names = ["devkit", names[0]]
    if len(names) != 2:
        raise VocmapError("give --semantics once (compared with devkit) or twice")
    if "coco50" in names:
        return stats.run_compare_coco50(args, names)
    announce_first_compile()
    ground_truth, image_set_file = options.load_ground_truth(args)
    classes = class_list(options.class_list(args.classes))
    detections = read_detections(
        args.detections, ground_truth, classes, image_set=image_set_file.stem, **_reading(args)
    )
    _say_dropped(detections)
    comparison = compare(
        ground_truth, detections, names[0], names[1], classes, metric=args.metric, iou=args.iou
    )
    if args.json:
        text = comparison_to_json(comparison, None if args.json == "-" else args.json)
        if args.json == "-":
            sys.stdout.write(text)
            return EXIT_OK
    sys.stdout.write(format_comparison(comparison))
    return EXIT_OK
