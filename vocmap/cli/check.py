"""``vocmap check``: first aid for a low mAP (:mod:`vocmap.analysis.check`)."""

from __future__ import annotations

import argparse

from vocmap.cli import options

EXIT_OK = 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check",
        help="first aid for a low mAP: common silent mistakes, each one's effect measured",
        description="Look for the mistakes that lower an AP without a word: boxes that look "
        "0-based, boxes outside the image, [x, y, w, h] given as corners, x and y swapped, "
        "equal or out-of-range scores, duplicates, images and classes without detections, "
        "and (--metric coco/coco50) images past pycocotools' 100 detections. Where a "
        "correction can be made, the mAP is evaluated again with it.",
    )
    check.add_argument(
        "detections", metavar="DETECTIONS", help="folder of result files, or a results .json"
    )
    options.add_ground_truth(check)
    options.add_yolo(check)
    options.add_classes(check)
    options.add_settings(check)
    options.add_unknown_images(check)
    options.add_reading(check)
    options.add_output(check, ("text", "json", "csv"))
    options.add_quiet(check)
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    from vocmap.analysis.check import check
    from vocmap.cli.notices import announce_first_compile
    from vocmap.cli.output import emit, planned_outputs
    from vocmap.report.check_text import findings_csv, format_check

    outputs = planned_outputs(args, {"json": "json", "csv": "csv"})
    settings = options.eval_settings(args)
    announce_first_compile(args.quiet, settings.metric)
    ground_truth, classes, detections, sizes = _inputs_with_sizes(args)
    report = check(ground_truth, detections, classes, image_sizes=sizes, settings=settings)

    def render(style: str) -> str:
        if style == "json":
            return report.to_json()
        if style == "csv":
            return findings_csv(report)
        return format_check(report)

    emit(outputs, render)
    return EXIT_OK


def _inputs_with_sizes(args: argparse.Namespace):
    """The inputs, and each image's (width, height) where the ground truth says it:
    YOLO's image headers, VOC's ``<size>``; None for COCO json (not kept)."""
    import numpy as np

    if options.yolo_wanted(args):
        data, inputs = options.read_yolo(args)
        both = np.stack([data.widths, data.heights], axis=1)
        return inputs.ground_truth, inputs.classes, inputs.detections, both
    ground_truth, classes, detections = options.read_inputs(args)
    sizes: np.ndarray | None = None
    if getattr(args, "ground_truth", None) is None:
        from vocmap.io.voc import read_image_sizes

        annotations, _ = options.ground_truth_paths(args)
        sizes = read_image_sizes(
            annotations, ground_truth.image_ids, follow_symlinks=args.follow_symlinks
        )
    return ground_truth, classes, detections, sizes
