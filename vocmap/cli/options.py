"""Every command-line option of ``vocmap``, declared once, and what the options resolve to.

Commands pick option groups from here, so ``--semantics`` or ``--iou`` mean the
same thing (and read the same in ``--help``) wherever they appear. Nothing here
imports numpy: ``vocmap --help`` stays fast.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from vocmap.cli.values import (
    _DeprecatedAlias,
    _destination,
    _Renamed,
    bounded_float,
    bounded_int,
    nonempty,
    path_value,
    shown_text,
)
from vocmap.core.errors import VocmapError

if TYPE_CHECKING:
    from vocmap.core.detections import Detections
    from vocmap.core.ground_truth import GroundTruth
    from vocmap.core.settings import EvalSettings
    from vocmap.io.inputs import Inputs
    from vocmap.io.sources import GroundTruthSource
    from vocmap.io.yolo import YoloData

#: The preset rule sets (kept here as names so ``--help`` needs no import of numpy).
SEMANTICS_NAMES = ("devkit", "py-faster-rcnn", "mmdet", "ssd_keras", "chainercv")
#: Each preset in a line, for ``evaluate --help`` (a test keeps them equal to the presets').
SEMANTICS_SUMMARIES = {
    "devkit": "the official VOC2007 devkit, VOCevaldet.m under MATLAB (the default)",
    "py-faster-rcnn": "voc_eval of py-faster-rcnn, as copied into detectron2, ssd.pytorch "
    "and many YOLO repos",
    "mmdet": "MMDetection's VOCMetric in 11-point mode (eval_map, legacy +1 coordinates)",
    "ssd_keras": "pierluigiferrari/ssd_keras AveragePrecisionEvaluator with default settings",
    "chainercv": "chainercv's eval_detection_voc (also vendored in lufficc/SSD)",
}
#: The largest step number or step count an option takes.
MAX_STEP = 10**15
#: The most bootstrap resamples (each is an (images,) array of counts: 10^5 of
#: VOC2007 test's 4,952 images are 4 GB).
MAX_RESAMPLES = 100_000
#: Seeds of NumPy's generator that every platform takes: 0 to 2^32 - 1.
MAX_SEED = 2**32 - 1
#: The metric names that --help lists.
METRICS = ("voc07", "voc12", "coco50", "coco")
#: The most false positives, missed objects or detections per image a listing takes.
MAX_LISTED = 10**6
#: ``--every``, ``--best-per``: a positive number of steps.
step_count = bounded_int(1, MAX_STEP)


def presets_epilog() -> str:
    """The semantics presets, one a line (``evaluate --help``'s epilog)."""
    lines = ["semantics presets (--semantics NAME):"]
    lines += [f"  {name:15} {SEMANTICS_SUMMARIES[name]}" for name in SEMANTICS_NAMES]
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# Every option, as data: its spellings and its argparse keywords
# --------------------------------------------------------------------------- #


class Option(NamedTuple):
    """One option: its spellings and argparse keywords (``help`` said once, here)."""

    flags: tuple[str, ...]
    spec: dict[str, Any]


OPTIONS: dict[str, Option] = {
    # ground truth
    "voc_root": Option(
        ("--voc-root",),
        {
            "type": path_value,
            "metavar": "DIR",
            "help": "a VOC year folder (VOCdevkit/VOC2007), or the VOCdevkit folder holding it",
        },
    ),
    "image_set": Option(
        ("--image-set",),
        {
            "metavar": "NAME",
            "help": "the set NAME (ImageSets/Main/NAME.txt under --voc-root; default: test)",
        },
    ),
    "annotations": Option(
        ("--annotations",),
        {
            "type": path_value,
            "metavar": "DIR",
            "help": "a folder of <image id>.xml files (not --voc-root)",
        },
    ),
    "image_set_file": Option(
        ("--image-set-file",),
        {
            "type": path_value,
            "metavar": "FILE",
            "help": "an image-set file, one image id a line (with --annotations)",
        },
    ),
    "imageset": Option(
        ("--imageset",),
        {
            "type": path_value,
            "dest": "image_set_file",
            "metavar": "FILE",
            "action": _DeprecatedAlias,
            "new_name": "--image-set-file",
            "help": argparse.SUPPRESS,
        },
    ),
    "ground_truth": Option(
        ("--ground-truth",),
        {
            "type": path_value,
            "metavar": "FILE",
            "help": "COCO-format annotations (images, annotations, categories: instances_*.json) "
            "instead of VOC XML; results' category_id go through its categories",
        },
    ),
    "coco_image_ids": Option(
        ("--coco-image-ids",),
        {
            "choices": ("id", "file_stem"),
            "help": "with --ground-truth: an image is named by its 'id' (default), or by its "
            "file_name's stem (000001), as devkit result files name it",
        },
    ),
    # YOLO-format data (evaluate, compare, diagnose, check)
    "yolo_labels": Option(
        ("--yolo-labels",),
        {
            "type": path_value,
            "metavar": "DIR",
            "help": "YOLO ground truth: a folder of <image id>.txt label files (class cx cy w h, "
            "normalised) instead of VOC XML",
        },
    ),
    "yolo_classes": Option(
        ("--yolo-classes",),
        {
            "type": path_value,
            "metavar": "FILE",
            "help": "with --yolo-labels: the class list, a data.yaml (names:) or a file of one "
            "name a line",
        },
    ),
    "yolo_images": Option(
        ("--yolo-images",),
        {
            "type": path_value,
            "metavar": "DIR",
            "help": "with --yolo-labels: the images (their headers give the sizes; default: the "
            "labels path with its last 'labels' made 'images', as ultralytics has it)",
        },
    ),
    "yolo_missing_labels": Option(
        ("--yolo-missing-labels",),
        {
            "choices": ("error", "empty"),
            "help": "with --yolo-labels: an image without a label file is an error (default) "
            "or an image without objects (empty), as ultralytics reads it",
        },
    ),
    "yolo_predictions": Option(
        ("--yolo-predictions",),
        {
            "action": "store_true",
            "help": "DETECTIONS is a folder of ultralytics prediction files (save_txt with "
            "save_conf: class cx cy w h conf); needs --yolo-labels",
        },
    ),
    "images": Option(
        ("--images",),
        {
            "type": path_value,
            "metavar": "DIR",
            "help": "the images (VOC's JPEGImages): draw the top errors on them in the report",
        },
    ),
    "no_cache": Option(
        ("--no-cache",),
        {
            "action": "store_true",
            "help": "parse the XML files even if a current cache entry exists",
        },
    ),
    "classes": Option(
        ("--classes",),
        {
            "nargs": "+",
            "metavar": "CLASS",
            "help": "classes to evaluate, in table order, space or comma separated "
            "(default: the 20 VOC classes)",
        },
    ),
    # evaluation
    "metric": Option(
        ("--metric",),
        {
            "choices": METRICS,
            "default": "voc07",
            "help": "voc07: 11-point AP, the VOC2007 number (default); voc12: area AP of "
            "VOC2010+; coco50, coco: pycocotools' AP50 and AP@[.5:.95] (+ AP75, sizes, AR)",
        },
    ),
    "iou": Option(
        ("--iou",),
        {
            "type": bounded_float(0.0, 1.0, low_open=True),
            "default": 0.5,
            "help": "overlap threshold, in (0, 1] (default 0.5; other values are not the "
            "VOC2007 number)",
        },
    ),
    "semantics": Option(
        ("--semantics",),
        {
            "default": "devkit",
            "choices": SEMANTICS_NAMES,
            "metavar": "NAME",
            "help": f"evaluation rules: {', '.join(SEMANTICS_NAMES)} (default: devkit, the "
            "official)",
        },
    ),
    # reading
    "ignore_unknown_images": Option(
        ("--ignore-unknown-images",),
        {
            "action": "store_true",
            "help": "drop result lines whose image is not in the image set (and say how many)",
        },
    ),
    "ignore_unknown_categories": Option(
        ("--ignore-unknown-categories",),
        {
            "action": "store_true",
            "help": "results JSON: drop records whose category is not a known class (and say "
            "how many)",
        },
    ),
    "prefix": Option(
        ("--prefix",),
        {
            "type": nonempty,
            "metavar": "NAME",
            "help": "read only the result files of this run: comp4 (comp4_det_<set>_<class>.txt) "
            "or comp4_det_test; needed when a folder has files of several runs",
        },
    ),
    "follow_symlinks": Option(
        ("--follow-symlinks",),
        {
            "action": "store_true",
            "help": "read annotation and result files that are symbolic links leading outside "
            "their folder (refused by default)",
        },
    ),
    # steps
    "steps": Option(
        ("--steps",), {"type": nonempty, "metavar": "S[,S...]", "help": "only these steps"}
    ),
    "every": Option(
        ("--every",),
        {
            "type": step_count,
            "metavar": "N",
            "help": "only steps that are multiples of N (and the last)",
        },
    ),
    "quiet": Option(
        ("--quiet",),
        {
            "action": "store_true",
            "help": "no progress, notes or warnings on stderr (errors are still shown); "
            "what goes to stdout is unchanged",
        },
    ),
    # output: the one idiom of every command that prints numbers
    "format": Option(("--format",), {}),  # choices and help: per command (add_output)
    "out": Option(
        ("--out",),
        {
            "metavar": "FILE",
            "type": _destination,
            "help": "write it to FILE (atomically) instead of stdout; - is stdout (the default)",
        },
    ),
    "json": Option(
        ("--json",),
        {
            "metavar": "FILE",
            "type": _destination,
            "help": "also write the numbers as JSON (exact floats, NaN as null) to FILE; "
            "- for stdout (then instead of the text)",
        },
    ),
    "csv": Option(
        ("--csv",),
        {
            "metavar": "FILE",
            "type": _destination,
            "help": "also write the per-class numbers as CSV to FILE; - for stdout (then "
            "instead of the text)",
        },
    ),
    "out_dir": Option(
        ("--out-dir",),
        {"type": path_value, "metavar": "DIR", "help": "the folder the files are written into"},
    ),
    "markdown": Option(
        ("--markdown",),
        {
            "dest": "format",
            "action": "store_const",
            "const": "markdown",
            "help": "same as --format markdown",
        },
    ),
    "label": Option(
        ("--label",),
        {
            "type": shown_text,
            "help": "name of SOURCE in titles (default: its folder or file name)",
        },
    ),
    "compare_label": Option(
        ("--compare-label",),
        {"type": shown_text, "help": "name of the --compare table (default: its name)"},
    ),
    "compare": Option(
        ("--compare",),
        {
            "type": path_value,
            "metavar": "CSV_OR_RUN",
            "help": "another run folder or AP-table CSV beside this one; published: the "
            "published SSD300 run (batch 31, lr drops at 56k and 76k, 102k steps)",
        },
    ),
    "title": Option(
        ("--title",),
        {"type": shown_text, "help": "the report's title (default: the source's name)"},
    ),
    "diagnosis": Option(
        ("--diagnosis",),
        {
            "type": path_value,
            "metavar": "FILE",
            "help": "a diagnosis .json to add (its breakdowns)",
        },
    ),
    # runs
    "jobs": Option(
        ("--jobs",),
        {
            "type": bounded_int(1, 256),
            "default": 1,
            "help": "processes evaluating steps in parallel, 1 to 256 (default 1)",
        },
    ),
    "device": Option(
        ("--device",),
        {"help": "device for making detections (cpu, cuda; default: cuda if available)"},
    ),
    "force": Option(
        ("--force",),
        {
            "action": "store_true",
            "help": "score the chosen steps again even if they have results (replacing them)",
        },
    ),
    "best_per": Option(
        ("--best-per",),
        {
            "type": step_count,
            "metavar": "STEPS",
            "help": "one column per window of STEPS steps with each class's best AP in it "
            "(the published summary uses 20000), then the final step (always the final model)",
        },
    ),
    "digits": Option(
        ("--digits",),
        {
            "type": bounded_int(0, 17),
            "default": 4,
            "help": "decimals in text and markdown, 0 to 17 (default 4)",
        },
    ),
    "step": Option(
        ("--step",),
        {
            "type": bounded_int(0, MAX_STEP),
            "help": "the step of the PR curves (default: the last)",
        },
    ),
    # diagnose
    "background_iou": Option(
        ("--background-iou",),
        {
            "type": bounded_float(0.0, 1.0),
            "default": 0.1,
            "help": "TIDE's background overlap, in [0, 1] (0.1)",
        },
    ),
    "score_threshold": Option(
        ("--score-threshold",),
        {
            "type": bounded_float(-math.inf, math.inf),
            "default": 0.5,
            "help": "the confusion matrix counts detections scoring at least this (default 0.5)",
        },
    ),
    "top": Option(
        ("--top",),
        {
            "type": bounded_int(0, MAX_LISTED),
            "default": 20,
            "help": "false positives and missed objects to list (20)",
        },
    ),
    "max_dets": Option(
        ("--max-dets",),
        {
            "type": bounded_int(1, MAX_LISTED),
            "default": 100,
            "help": "coco50: tidecv's detections per image (100)",
        },
    ),
    # the best checkpoint (table, report)
    "best": Option(
        ("--best",),
        {
            "action": "store_true",
            "help": "name the best checkpoint and say how sure that is (instead of the table)",
        },
    ),
    "against": Option(
        ("--against",),
        {
            "type": bounded_int(1, 20),
            "metavar": "N",
            "help": "with --best: compare with the N next best checkpoints (default 3)",
        },
    ),
    # operating point and curves (evaluate)
    "operating_point": Option(
        ("--operating-point",),
        {
            "action": "store_true",
            "help": "also show each class at the score threshold with the best F1 (precision, "
            "recall, F1, TP, FP there), and a micro row (text, markdown and JSON outputs)",
        },
    ),
    "threshold": Option(
        ("--threshold",),
        {
            "type": bounded_float(-math.inf, math.inf),
            "metavar": "T",
            "help": "also show each class at score >= T, and a micro row",
        },
    ),
    "curves": Option(
        ("--curves",),
        {
            "metavar": "FILE",
            "type": _destination,
            "help": "write every class's precision/recall curve, a row per detection rank "
            "(score, tp, fp, ignored, precision, recall), to FILE: .csv or .json; - for CSV "
            "on stdout",
        },
    ),
    # bootstrap
    "ci": Option(
        ("--ci",),
        {"action": "store_true", "help": "add bootstrap intervals of each AP and the mAP"},
    ),
    "resamples": Option(
        ("--resamples",),
        {
            "type": bounded_int(1, MAX_RESAMPLES),
            "default": 1000,
            "metavar": "N",
            "help": f"resamples, 1 to {MAX_RESAMPLES:,} (default 1000)",
        },
    ),
    "seed": Option(
        ("--seed",),
        {
            "type": bounded_int(0, MAX_SEED),
            "default": 0,
            "help": "random seed, 0 to 2^32-1 (default 0)",
        },
    ),
    "level": Option(
        ("--level",),
        {
            "type": bounded_float(0.0, 1.0, low_open=True, high_open=True),
            "default": 0.95,
            "help": "interval level, in (0, 1) (default 0.95)",
        },
    ),
}


def add(parser, name: str, **changes: Any) -> argparse.Action:
    """Add the option ``name`` of :data:`OPTIONS` to ``parser`` (or a group);
    ``changes`` replace its keywords (a command's narrower ``choices``, its help)."""
    option = OPTIONS[name]
    return parser.add_argument(*option.flags, **{**option.spec, **changes})


def add_ground_truth(parser: argparse.ArgumentParser) -> None:
    """Where the annotations are."""
    group = parser.add_argument_group(
        "ground truth",
        "Where the annotations are. Without options: $VOC_ROOT, then ./VOCdevkit/VOC2007.",
    )
    for name in (
        "voc_root",
        "image_set",
        "annotations",
        "image_set_file",
        "imageset",
        "ground_truth",
        "coco_image_ids",
        "no_cache",
    ):
        add(group, name)


_YOLO = ("yolo_labels", "yolo_classes", "yolo_images", "yolo_missing_labels", "yolo_predictions")


def add_yolo(parser: argparse.ArgumentParser) -> None:
    """YOLO-format ground truth and predictions (:mod:`vocmap.io.yolo`)."""
    group = parser.add_argument_group(
        "YOLO data",
        "Ground truth as labels/<id>.txt with the images' sizes from their headers; "
        "predictions as ultralytics writes them.",
    )
    for name in _YOLO:
        add(group, name)


def add_classes(parser: argparse.ArgumentParser) -> None:
    add(parser, "classes")


def add_settings(
    parser: argparse.ArgumentParser,
    title: str = "evaluation",
    metrics: tuple[str, ...] = METRICS,
    semantics: bool = True,
    iou: bool = True,
    metric_help: str | None = None,
) -> argparse._ArgumentGroup:
    """``--metric``, ``--iou``, ``--semantics``: what number is computed (or looked up)."""
    group = parser.add_argument_group(title)
    if metrics == METRICS and metric_help is None:
        add(group, "metric")
    else:
        add(group, "metric", choices=metrics, help=metric_help or _metric_help(metrics))
    if iou:
        add(group, "iou")
    if semantics:
        add(group, "semantics")
    return group


_METRIC_WORDS = {
    "voc07": "11-point AP, the VOC2007 number (default)",
    "voc12": "area AP of VOC2010+",
    "coco50": "pycocotools' AP50",
    "coco": "AP@[.5:.95]",
}


def _metric_help(metrics: tuple[str, ...]) -> str:
    return "; ".join(f"{m}: {_METRIC_WORDS[m]}" for m in metrics)


def add_unknown_images(parser: argparse.ArgumentParser) -> None:
    add(parser, "ignore_unknown_images")
    add(parser, "ignore_unknown_categories")


def add_reading(parser: argparse.ArgumentParser) -> None:
    """Which result files are read, and through which links."""
    add(parser, "prefix")
    add(parser, "follow_symlinks")


def add_steps(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("steps")
    add(group, "steps")
    add(group, "every")


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` means one thing everywhere: nothing on stderr but errors."""
    add(parser, "quiet")


def add_output(
    parser: argparse.ArgumentParser,
    formats: tuple[str, ...],
    default: str = "text",
    shorthands: tuple[str, ...] = ("json", "csv"),
) -> argparse._ArgumentGroup:
    """``--format``, ``--out``, ``--json``, ``--csv``: the one output idiom of every
    command that prints numbers."""
    group = parser.add_argument_group("output")
    add(
        group,
        "format",
        choices=formats,
        help=f"what to print: {', '.join(formats)} (default: {default})",
    )
    add(group, "out")
    for name in shorthands:
        add(group, name)
    return group


def add_ci_options(parser: argparse.ArgumentParser, switch: bool = True) -> None:
    """``--ci`` (when ``switch``), ``--resamples``, ``--seed``, ``--level``."""
    group = parser.add_argument_group(
        "confidence intervals", "A seeded bootstrap over the test images (percentile intervals)."
    )
    if switch:
        add(group, "ci")
    for name in ("resamples", "seed", "level"):
        add(group, name)


def add_labels(parser: argparse.ArgumentParser) -> None:
    add(parser, "label")
    add(parser, "compare_label")


def add_renamed(parser: argparse.ArgumentParser, flag: str, hint: str) -> None:
    """An old spelling that now means something else: refused with ``hint``."""
    parser.add_argument(flag, action=_Renamed, hint=hint, nargs="?", help=argparse.SUPPRESS)


# --------------------------------------------------------------------------- #
# Resolving options
# --------------------------------------------------------------------------- #


def class_list(values: list[str] | None) -> list[str] | None:
    """``--classes`` values (spaces or commas) as names; None when not given."""
    if values is None:
        return None
    from vocmap.io.characters import character_name, first_odd_character

    names = [name for value in values for name in value.split(",") if name]
    if not names:
        raise VocmapError("--classes was given no class names")
    for name in names:
        odd = first_odd_character(name.replace(" ", ""))  # COCO's "traffic light"
        if odd is not None:
            raise VocmapError(f"--classes: class name {name!r} contains {character_name(odd)}")
    return names


def step_list(text: str | None) -> list[int] | None:
    """``--steps 100,200`` as integers; None when not given."""
    if not text:
        return None
    try:
        steps = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise VocmapError(f"--steps takes step numbers separated by commas, not {text!r}") from None
    if any(s < 0 for s in steps):
        raise VocmapError("--steps takes non-negative step numbers")
    return steps


def eval_settings(args: argparse.Namespace) -> EvalSettings:
    """``--metric``, ``--iou`` and ``--semantics`` as one EvalSettings."""
    from vocmap.core.settings import EvalSettings

    return EvalSettings.create(args.metric, args.iou, args.semantics)


def _coco_ground_truth(args: argparse.Namespace) -> Path | None:
    """``--ground-truth`` (checked against the VOC options), or None."""
    coco = getattr(args, "ground_truth", None)
    if coco is None:
        if getattr(args, "coco_image_ids", None) is not None:
            raise VocmapError("--coco-image-ids goes with --ground-truth (a COCO json)")
        return None
    voc = (
        ("--voc-root", args.voc_root),
        ("--annotations", args.annotations),
        ("--image-set-file", args.image_set_file),
        ("--image-set", args.image_set),
    )
    given = [option for option, value in voc if value is not None]
    if given:
        raise VocmapError(
            f"--ground-truth names the annotations and the images: not with {given[0]}"
        )
    if not coco:
        raise VocmapError("--ground-truth was given an empty file name")
    return Path(coco)


def ground_truth_source(args: argparse.Namespace) -> GroundTruthSource:
    """The annotations the options name (:func:`vocmap.io.sources.ground_truth_source`);
    with ``--ground-truth``, the COCO json twice (its name is the image set's)."""
    from vocmap.io.sources import GroundTruthSource
    from vocmap.io.sources import ground_truth_source as resolve

    coco = _coco_ground_truth(args)
    if coco is not None:
        return GroundTruthSource(coco, coco)
    return resolve(
        voc_root=args.voc_root,
        image_set=args.image_set,
        annotations=args.annotations,
        image_set_file=args.image_set_file,
    )


def ground_truth_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """``(annotations folder, image-set file)`` from the options and environment."""
    source = ground_truth_source(args)
    return source.annotations, source.image_set_file


def load_ground_truth(args: argparse.Namespace) -> tuple[GroundTruth, Path]:
    """The ground truth the options name, and its image-set file."""
    from vocmap.io.inputs import load_ground_truth as load

    source = ground_truth_source(args)
    if getattr(args, "ground_truth", None) is not None:
        from vocmap.io.coco_ground_truth import read_coco_ground_truth

        coco = read_coco_ground_truth(
            source.image_set_file, image_ids=args.coco_image_ids or "id", cache=not args.no_cache
        )
        return coco, source.image_set_file
    ground_truth = load(
        source, cache=not args.no_cache, follow_symlinks=getattr(args, "follow_symlinks", False)
    )
    return ground_truth, source.image_set_file


def reading(args: argparse.Namespace) -> dict:
    """The reading options as read_detections' keywords."""
    return {
        "ignore_unknown_images": args.ignore_unknown_images,
        "ignore_unknown_categories": args.ignore_unknown_categories,
        "prefix": args.prefix,
        "follow_symlinks": args.follow_symlinks,
    }


def yolo_wanted(args: argparse.Namespace) -> bool:
    """True when the options name YOLO data; their combinations are checked."""
    given = [
        f"--{n.replace('_', '-')}" for n in _YOLO if getattr(args, n, None) not in (None, False)
    ]
    if not given:
        return False
    if getattr(args, "yolo_labels", None) is None:
        raise VocmapError(f"{given[0]} goes with --yolo-labels (the YOLO ground truth)")
    if args.yolo_classes is None:
        raise VocmapError("--yolo-labels needs --yolo-classes (data.yaml or a names file)")
    other = ("voc_root", "annotations", "image_set_file", "image_set", "ground_truth")
    clash = [f"--{n.replace('_', '-')}" for n in other if getattr(args, n, None) is not None]
    if clash:
        raise VocmapError(f"--yolo-labels names the ground truth: not with {clash[0]}")
    return True


def read_yolo(args: argparse.Namespace) -> tuple[YoloData, Inputs]:
    """YOLO ground truth and the detections (YOLO predictions with ``--yolo-predictions``,
    else result files or a results JSON): :func:`vocmap.io.inputs.read_yolo_inputs`."""
    from vocmap.io.inputs import read_yolo_inputs

    return read_yolo_inputs(
        args.detections,
        args.yolo_labels,
        args.yolo_classes,
        images_folder=args.yolo_images,
        missing_labels=args.yolo_missing_labels or "error",
        predictions=args.yolo_predictions,
        classes=class_list(args.classes),
        **reading(args),
    )


def read_inputs(args: argparse.Namespace) -> tuple[GroundTruth, tuple[str, ...], Detections]:
    """The ground truth, the classes and the detections a command's options name
    (:func:`vocmap.io.inputs.read_inputs`); the classes inferred and the records
    dropped are said on stderr."""
    from vocmap.cli.notices import say_dropped
    from vocmap.cli.output import note
    from vocmap.io.inputs import read_inputs as read

    if yolo_wanted(args):
        _, yolo = read_yolo(args)
        say_dropped(args, yolo.detections)
        return yolo.ground_truth, yolo.classes, yolo.detections
    ground_truth, image_set_file = load_ground_truth(args)
    inputs = read(
        args.detections,
        ground_truth,
        class_list(args.classes),
        image_set=image_set_file.stem,
        **reading(args),
    )
    if inputs.inferred:
        note(args, inputs.inferred)
    say_dropped(args, inputs.detections)
    return ground_truth, inputs.classes, inputs.detections
