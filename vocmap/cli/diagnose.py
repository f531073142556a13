"""``vocmap diagnose`` (why the AP is what it is) and ``vocmap report`` (one HTML file)."""

from __future__ import annotations

import argparse
import dataclasses

from vocmap.cli import best, options
from vocmap.cli.output import Output

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
    options.add_yolo(diagnose)
    options.add_classes(diagnose)
    group = options.add_settings(
        diagnose,
        "analysis",
        metrics=("voc07", "voc12", "coco50"),
        semantics=False,
        metric_help="the AP the fixes are measured on: voc07 (the devkit's, default), voc12, "
        "or coco50 (TIDE's own matching and AP, equal to the tidecv package)",
    )
    for name in ("background_iou", "score_threshold", "top", "max_dets"):
        options.add(group, name)
    options.add_unknown_images(diagnose)
    options.add_reading(diagnose)
    options.add_output(diagnose, ("text", "json", "csv"))
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
    options.add(report, "diagnosis")
    options.add(report, "out", required=True, help="the HTML file to write; - for stdout")
    options.add(report, "title")
    options.add(report, "images")
    best.add_best_options(report, switch=False)
    options.add_quiet(report)
    report.set_defaults(run=run_report)


def run_diagnose(args: argparse.Namespace) -> int:
    from vocmap.analysis.diagnose import diagnose
    from vocmap.cli.notices import announce_first_compile
    from vocmap.cli.output import emit, planned_outputs
    from vocmap.report.diagnose_text import format_diagnosis

    outputs = planned_outputs(args, {"json": "json", "csv": "csv"})
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

    def render(style: str) -> str:
        if style == "json":
            return diagnosis.to_json()
        if style == "csv":
            from vocmap.report.csv_forms import per_class_csv

            tide = diagnosis.tide.to_dict()
            return per_class_csv(tide["classes"], tide["overall"], "all")
        return format_diagnosis(diagnosis.to_dict(), args.top)

    emit(outputs, render)
    return EXIT_OK


def run_report(args: argparse.Namespace) -> int:
    from vocmap.cli.notices import require_extra
    from vocmap.cli.output import STDOUT, check_outputs, note, write_stdout

    require_extra("plot", "report")
    from vocmap.report.html import build_report, load_report_inputs, write_report

    check_outputs([Output("html", args.out, "--out")])
    inputs = load_report_inputs(args.source, args.diagnosis)
    inputs = dataclasses.replace(inputs, best=best.for_report(args), images=_images(args, inputs))
    if args.out == STDOUT:
        write_stdout(build_report(inputs, args.title))
        return EXIT_OK
    path = write_report(inputs, args.out, title=args.title)
    note(args, f"wrote {path}")
    return EXIT_OK


def _images(args: argparse.Namespace, inputs):
    """``--images``, checked: a folder, and a diagnosis to draw the errors of."""
    import os
    from pathlib import Path

    from vocmap.core.errors import InputError, VocmapError

    if args.images is None:
        return None
    if inputs.diagnosis is None:
        raise VocmapError(
            "--images draws a diagnosis' top errors: report a diagnosis .json (vocmap "
            "diagnose --format json), or add one with --diagnosis"
        )
    folder = Path(args.images)
    if not folder.is_dir():
        raise InputError("images folder not found (--images)", folder)
    suffixes = (".jpg", ".jpeg", ".png")
    if not any(name.lower().endswith(suffixes) for name in os.listdir(folder)):
        raise InputError("no JPEG or PNG images in the folder (--images)", folder)
    return folder
