"""``vocmap evaluate`` and ``vocmap compare``: one set of detections."""

from __future__ import annotations

import argparse

from vocmap.cli import options, stats
from vocmap.cli.notices import announce_first_compile
from vocmap.cli.output import emit, note, planned_outputs
from vocmap.core.errors import VocmapError

EXIT_OK = 0
EVALUATE_FORMATS = ("text", "markdown", "csv", "json", "map")
COMPARE_FORMATS = ("text", "json", "csv")
SHORTHANDS = {"json": "json", "csv": "csv"}


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
    options.add_yolo(evaluate)
    options.add_classes(evaluate)
    options.add_settings(evaluate)
    options.add_unknown_images(evaluate)
    options.add_reading(evaluate)
    options.add_ci_options(evaluate)
    out = options.add_output(evaluate, EVALUATE_FORMATS)
    options.add(out, "markdown")
    point = evaluate.add_argument_group("operating point and curves (from the AP's matching)")
    for name in ("operating_point", "threshold", "curves"):
        options.add(point, name)
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
    options.add(
        compare,
        "semantics",
        action="append",
        default=None,
        choices=(*options.SEMANTICS_NAMES, "coco50"),
        help="give twice (A then B); once compares devkit with NAME; coco50: pycocotools' "
        "AP50, explained step by step",
    )
    options.add_ground_truth(compare)
    options.add_yolo(compare)
    options.add_classes(compare)
    options.add_settings(compare, metrics=("voc07", "voc12"), semantics=False)
    options.add_unknown_images(compare)
    options.add_reading(compare)
    options.add_output(compare, COMPARE_FORMATS)
    options.add_quiet(compare)
    compare.set_defaults(run=run_compare)


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

    outputs = planned_outputs(args, {**SHORTHANDS, "curves": curves_style(args.curves)})
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

    names = args.semantics or []
    if len(names) == 1:
        names = ["devkit", names[0]]
    if len(names) != 2:
        raise VocmapError("give --semantics once (compared with devkit) or twice")
    outputs = planned_outputs(args, SHORTHANDS)
    if "coco50" in names:
        return run_compare_coco50(args, names, outputs)
    announce_first_compile(args.quiet)
    ground_truth, classes, detections = options.read_inputs(args)
    comparison = compare(
        ground_truth, detections, names[0], names[1], classes, metric=args.metric, iou=args.iou
    )
    emit(
        outputs, lambda style: render_comparison(style, comparison_to_json(comparison), comparison)
    )
    return EXIT_OK


def render_comparison(style: str, json_text: str, comparison) -> str:
    """``compare``'s document in ``style``: its JSON, the per-class CSV, or the text."""
    if style == "json":
        return json_text
    if style == "csv":
        import json

        from vocmap.report.csv_forms import per_class_csv

        data = json.loads(json_text)
        return per_class_csv(data["classes"], {"ap_a": data["map_a"], "ap_b": data["map_b"]})
    from vocmap.report.text import format_comparison

    return format_comparison(comparison)


def run_compare_coco50(args: argparse.Namespace, names: list[str], outputs: list) -> int:
    """``vocmap compare --semantics coco50``: the devkit's number against COCO's AP50."""
    import json

    from vocmap.analysis.compare_metrics import compare_with_coco50, metric_comparison_to_dict
    from vocmap.cli.output import emit

    if names[0] != "devkit" or names[1] != "coco50":
        raise VocmapError(
            "coco50 is compared with the devkit: --semantics devkit --semantics coco50"
        )
    if args.iou != 0.5:
        raise VocmapError("the comparison with coco50 is at IoU 0.5; drop --iou")
    ground_truth, classes, detections = options.read_inputs(args)
    comparison = compare_with_coco50(ground_truth, detections, classes, metric=args.metric)
    json_text = json.dumps(metric_comparison_to_dict(comparison), indent=1) + "\n"
    emit(outputs, lambda style: render_comparison(style, json_text, comparison))
    return EXIT_OK
