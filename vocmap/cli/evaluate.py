"""``vocmap evaluate`` and ``vocmap compare``: one set of detections."""

from __future__ import annotations

import argparse
import math

from vocmap.cli import options, stats
from vocmap.cli.notices import announce_first_compile
from vocmap.cli.output import destination, emit, note, planned_outputs
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
    point = evaluate.add_argument_group("operating point and curves (from the AP's matching)")
    point.add_argument(
        "--operating-point",
        action="store_true",
        help="also show each class at the score threshold with the best F1 (precision, "
        "recall, F1, TP, FP there), and a micro row (text, markdown and JSON outputs)",
    )
    point.add_argument(
        "--threshold",
        type=score_threshold,
        metavar="T",
        help="also show each class at score >= T, and a micro row",
    )
    point.add_argument(
        "--curves",
        metavar="FILE",
        type=destination,
        help="write every class's precision/recall curve, a row per detection rank "
        "(score, tp, fp, ignored, precision, recall), to FILE: .csv or .json; - for CSV "
        "on stdout",
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
        choices=(*options.SEMANTICS_NAMES, "coco50"),
        metavar="NAME",
        help="give twice (A then B); once compares devkit with NAME; coco50: pycocotools' "
        "AP50, explained step by step",
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
    options.add_reading(compare)
    out = options.add_output(compare, COMPARE_FORMATS)
    out.add_argument(
        "--json",
        metavar="FILE",
        type=destination,
        help="also write the comparison as JSON to FILE; - for stdout (then instead of the text)",
    )
    options.add_quiet(compare)
    compare.set_defaults(run=run_compare)


def score_threshold(text: str) -> float:
    """An argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, not {text!r}")
    return value


def curves_style(name: str | None) -> str:
    """``curves-csv`` or ``curves-json``, from ``--curves``' file name."""
    if name is None or name == "-" or name.lower().endswith(".csv"):
        return "curves-csv"
    if name.lower().endswith(".json"):
        return "curves-json"
    raise VocmapError("--curves FILE: name the file .csv or .json (or - for CSV on stdout)")


def run_evaluate(args: argparse.Namespace) -> int:
    from vocmap.core.evaluate import Evaluator
    from vocmap.report.text import format_result

    shorthands = {"json": "json", "csv": "csv", "curves": curves_style(args.curves)}
    outputs = planned_outputs(args, shorthands)
    settings = options.eval_settings(args)
    wants_points = args.operating_point or args.threshold is not None or args.curves is not None
    if wants_points and settings.metric not in ("voc07", "voc12"):
        raise VocmapError(
            "--operating-point, --threshold and --curves follow a VOC metric's matching: "
            "use --metric voc07 or voc12"
        )
    announce_first_compile(args.quiet, settings.metric)
    ground_truth, classes, detections = options.read_inputs(args)
    evaluator = Evaluator(ground_truth, classes, settings=settings)
    result = evaluator.evaluate(detections)
    result = stats.attach_intervals(args, result, ground_truth, detections)
    if result.dropped_unknown and any(o.style not in ("text", "markdown") for o in outputs):
        note(args, f"{result.dropped_unknown} line(s) for images outside the image set dropped")

    points = operating_point_tables(args, result, detections)

    def render(style: str) -> str:
        if style.startswith("curves"):
            return curves_document(style, result, detections)
        if style == "json":
            return with_operating_points(result.to_json(), points)
        if style == "csv":
            return result.to_csv()
        if style == "map":
            return result.map_text()
        return format_result(result, style) + "".join(
            "\n" + format_operating_points(p, style) for p in points
        )

    emit(outputs, render)
    return EXIT_OK


def operating_point_tables(args: argparse.Namespace, result, detections) -> list:
    """The operating points asked for: best F1 (``--operating-point``), at ``--threshold``."""
    from vocmap.analysis.operating_point import operating_points

    points = []
    if args.operating_point:
        points.append(operating_points(result, detections))
    if args.threshold is not None:
        points.append(operating_points(result, detections, args.threshold))
    return points


def format_operating_points(points, style: str) -> str:
    from vocmap.report.operating_point_text import format_operating_points as render

    return render(points, style)


def with_operating_points(text: str, points: list) -> str:
    """The result JSON with ``"operating_points": [...]`` added (when any were asked for)."""
    if not points:
        return text
    import json

    data = json.loads(text)
    data["operating_points"] = [p.to_dict() for p in points]
    return json.dumps(data, indent=1, allow_nan=False) + "\n"


def curves_document(style: str, result, detections) -> str:
    from vocmap.analysis.operating_point import curves_to_csv, curves_to_json, pr_curves

    curves = pr_curves(result, detections)
    return curves_to_json(curves) if style == "curves-json" else curves_to_csv(curves)


def run_compare(args: argparse.Namespace) -> int:
    from vocmap.analysis.compare import compare, comparison_to_json
    from vocmap.report.text import format_comparison

    names = args.semantics or []
    if len(names) == 1:
        names = ["devkit", names[0]]
    if len(names) != 2:
        raise VocmapError("give --semantics once (compared with devkit) or twice")
    outputs = planned_outputs(args, {"json": "json"})
    if "coco50" in names:
        return stats.run_compare_coco50(args, names, outputs)
    announce_first_compile(args.quiet)
    ground_truth, classes, detections = options.read_inputs(args)
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
