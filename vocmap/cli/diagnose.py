"""``vocmap diagnose`` (why the AP is what it is) and ``vocmap report`` (one HTML file)."""

from __future__ import annotations

import argparse
import dataclasses

from vocmap.cli import best, options
from vocmap.core.errors import VocmapError

EXIT_OK = 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    diagnose = commands.add_parser(
        "diagnose",
        help="break the AP down by error type (TIDE, Hoiem), object property, confusion",
        description="Explain the AP of a set of detections: TIDE's error types and the AP "
        "gained by fixing each, Hoiem et al.'s false-positive analysis, AP and recall per "
        "object property (truncated, difficult, size, aspect ratio), a confusion matrix and "
        "the top false positives and missed objects.",
    )
    diagnose.add_argument(
        "detections", metavar="DETECTIONS", help="folder of result files, or a results .json"
    )
    options.add_ground_truth(diagnose)
    options.add_classes(diagnose)
    group = diagnose.add_argument_group("analysis")
    group.add_argument(
        "--metric",
        choices=("voc07", "voc12", "coco50"),
        default="voc07",
        help="the AP the fixes are measured on: voc07 (the devkit's, default), voc12, or "
        "coco50 (TIDE's own matching and AP, equal to the tidecv package)",
    )
    group.add_argument("--iou", type=float, default=0.5, help="foreground overlap (default 0.5)")
    group.add_argument(
        "--background-iou", type=float, default=0.1, help="TIDE's background overlap (0.1)"
    )
    group.add_argument(
        "--score-threshold",
        type=float,
        default=0.5,
        help="the confusion matrix counts detections scoring at least this (default 0.5)",
    )
    group.add_argument(
        "--top", type=int, default=20, help="false positives and missed objects to list (20)"
    )
    group.add_argument(
        "--max-dets", type=int, default=100, help="coco50: tidecv's detections per image (100)"
    )
    options.add_unknown_images(diagnose)
    options.add_reading(diagnose)
    options.add_output(diagnose, ("text", "json"))
    options.add_quiet(diagnose)
    diagnose.set_defaults(run=run_diagnose)

    report = commands.add_parser(
        "report",
        help="write one self-contained HTML report of a result, a diagnosis or a run",
        description="Write one HTML file that opens offline: per-class table (with "
        "intervals when the result has them), PR curves, the error breakdowns, AP over "
        "steps for a run, the top errors.",
    )
    report.add_argument(
        "source",
        metavar="RESULT_OR_RUN",
        help="a result .json (vocmap evaluate --json), a diagnosis .json (vocmap diagnose "
        "--format json) or a run folder",
    )
    report.add_argument(
        "--diagnosis", metavar="FILE", help="a diagnosis .json to add (its breakdowns)"
    )
    report.add_argument("--out", metavar="FILE", required=True, help="the HTML file to write")
    report.add_argument("--title", help="the report's title (default: the source's name)")
    best.add_best_options(report, switch=False)
    options.add_quiet(report)
    report.set_defaults(run=run_report)


def run_diagnose(args: argparse.Namespace) -> int:
    from vocmap.analysis.diagnose import diagnose
    from vocmap.cli.notices import announce_first_compile
    from vocmap.cli.output import emit, planned_outputs
    from vocmap.report.diagnose_text import format_diagnosis

    if args.top < 0:
        raise VocmapError("--top must be 0 or more")
    outputs = planned_outputs(args, {})
    announce_first_compile(args.quiet)
    ground_truth, classes, detections = options.read_inputs(args)
    diagnosis = diagnose(
        ground_truth,
        detections,
        classes,
        metric=args.metric,
        iou=args.iou,
        background_iou=args.background_iou,
        score_threshold=args.score_threshold,
        top=args.top,
        max_dets=args.max_dets,
    )
    emit(
        outputs,
        lambda style: (
            diagnosis.to_json()
            if style == "json"
            else format_diagnosis(diagnosis.to_dict(), args.top)
        ),
    )
    return EXIT_OK


def run_report(args: argparse.Namespace) -> int:
    from vocmap.cli.output import note
    from vocmap.report.html import load_report_inputs, write_report

    inputs = load_report_inputs(args.source, args.diagnosis)
    inputs = dataclasses.replace(inputs, best=best.for_report(args))
    path = write_report(inputs, args.out, title=args.title)
    note(args, f"wrote {path}")
    return EXIT_OK
