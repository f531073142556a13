"""Every command-line option of ``vocmap``, declared once, and what the options resolve to.

Commands pick option groups from here, so ``--semantics`` or ``--iou`` mean the
same thing (and read the same in ``--help``) wherever they appear. Nothing here
imports numpy: ``vocmap --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from vocmap.core.errors import VocmapError

if TYPE_CHECKING:
    from vocmap.core.detections import Detections
    from vocmap.core.ground_truth import GroundTruth
    from vocmap.core.settings import EvalSettings

#: The preset rule sets (kept here as names so ``--help`` needs no import of numpy).
SEMANTICS_NAMES = ("devkit", "py-faster-rcnn", "mmdet", "ssd_keras")
#: Each preset in a line, for ``evaluate --help`` (a test keeps them equal to the presets').
SEMANTICS_SUMMARIES = {
    "devkit": "the official VOC2007 devkit, VOCevaldet.m under MATLAB (the default)",
    "py-faster-rcnn": "voc_eval of py-faster-rcnn, as copied into detectron2, ssd.pytorch "
    "and many YOLO repos",
    "mmdet": "MMDetection's VOCMetric in 11-point mode (eval_map, legacy +1 coordinates)",
    "ssd_keras": "pierluigiferrari/ssd_keras AveragePrecisionEvaluator with default settings",
}
#: The largest step number or step count an option takes.
MAX_STEP = 10**15


def presets_epilog() -> str:
    """The semantics presets, one a line (``evaluate --help``'s epilog)."""
    lines = ["semantics presets (--semantics NAME):"]
    lines += [f"  {name:15} {SEMANTICS_SUMMARIES[name]}" for name in SEMANTICS_NAMES]
    return "\n".join(lines)


def bounded_int(low: int, high: int):
    """An argparse type: an integer in ``[low, high]``, with a clear message."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low} to {high:.0e}, not {value}")
        return value

    parse.__name__ = "integer"
    return parse


#: ``--every``, ``--best-per``: a positive number of steps.
step_count = bounded_int(1, MAX_STEP)


class _DeprecatedAlias(argparse.Action):
    """An old option spelling: works, and says its new name once on stderr."""

    def __init__(self, option_strings, dest, new_name: str, **kwargs) -> None:
        self.new_name = new_name
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        import sys

        print(
            f"vocmap: {option_string} is deprecated; use {self.new_name}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def add_ground_truth(parser: argparse.ArgumentParser) -> None:
    """Where the annotations are."""
    group = parser.add_argument_group(
        "ground truth",
        "Where the annotations are. Without options: $VOC_ROOT, then ./VOCdevkit/VOC2007.",
    )
    group.add_argument(
        "--voc-root",
        metavar="DIR",
        help="a VOC year folder (VOCdevkit/VOC2007), or the VOCdevkit folder holding it",
    )
    group.add_argument(
        "--image-set",
        metavar="NAME",
        help="the set NAME (ImageSets/Main/NAME.txt under --voc-root; default: test)",
    )
    group.add_argument(
        "--annotations", metavar="DIR", help="a folder of <image id>.xml files (not --voc-root)"
    )
    group.add_argument(
        "--image-set-file",
        metavar="FILE",
        help="an image-set file, one image id a line (with --annotations)",
    )
    group.add_argument(
        "--imageset",
        dest="image_set_file",
        metavar="FILE",
        action=_DeprecatedAlias,
        new_name="--image-set-file",
        help=argparse.SUPPRESS,
    )
    group.add_argument(
        "--no-cache",
        action="store_true",
        help="parse the XML files even if a current cache entry exists",
    )


def add_classes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--classes",
        nargs="+",
        metavar="CLASS",
        help="classes to evaluate, in table order, space or comma separated "
        "(default: the 20 VOC classes)",
    )


def add_settings(parser: argparse.ArgumentParser, title: str = "evaluation") -> None:
    """``--metric``, ``--iou``, ``--semantics``: what number is computed (or looked up)."""
    group = parser.add_argument_group(title)
    group.add_argument(
        "--metric",
        choices=("voc07", "voc12", "coco50", "coco"),
        default="voc07",
        help="voc07: 11-point AP, the VOC2007 number (default); voc12: area AP of VOC2010+; "
        "coco50, coco: pycocotools' AP50 and AP@[.5:.95] (+ AP75, sizes, AR)",
    )
    group.add_argument(
        "--iou",
        type=float,
        default=0.5,
        help="overlap threshold (default 0.5; other values are not the VOC2007 number)",
    )
    group.add_argument(
        "--semantics",
        default="devkit",
        choices=SEMANTICS_NAMES,
        metavar="NAME",
        help=f"evaluation rules: {', '.join(SEMANTICS_NAMES)} (default: devkit, the official)",
    )


def add_unknown_images(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ignore-unknown-images",
        action="store_true",
        help="drop result lines whose image is not in the image set (and say how many)",
    )
    parser.add_argument(
        "--ignore-unknown-categories",
        action="store_true",
        help="results JSON: drop records whose category is not a known class (and say how many)",
    )


def add_reading(parser: argparse.ArgumentParser) -> None:
    """Which result files are read, and through which links."""
    parser.add_argument(
        "--prefix",
        metavar="NAME",
        help="read only the result files of this run: comp4 (comp4_det_<set>_<class>.txt) "
        "or comp4_det_test; needed when a folder has files of several runs",
    )
    parser.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="read annotation and result files that are symbolic links leading outside "
        "their folder (refused by default)",
    )


def add_steps(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("steps")
    group.add_argument("--steps", metavar="S[,S...]", help="only these steps")
    group.add_argument(
        "--every",
        type=step_count,
        metavar="N",
        help="only steps that are multiples of N (and the last)",
    )


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` means one thing everywhere: nothing on stderr but errors."""
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress, notes or warnings on stderr (errors are still shown); "
        "what goes to stdout is unchanged",
    )


def add_output(
    parser: argparse.ArgumentParser, formats: tuple[str, ...], default: str = "text"
) -> argparse._ArgumentGroup:
    """``--format`` and ``--out``: the one output idiom of evaluate, compare and table."""
    from vocmap.cli.output import destination

    group = parser.add_argument_group("output")
    group.add_argument(
        "--format",
        choices=formats,
        help=f"what to print: {', '.join(formats)} (default: {default})",
    )
    group.add_argument(
        "--out",
        metavar="FILE",
        type=destination,
        help="write it to FILE (atomically) instead of stdout; - is stdout (the default)",
    )
    return group


def add_labels(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--label", help="name of SOURCE in titles (default: its folder or file name)"
    )
    parser.add_argument("--compare-label", help="name of the --compare table (default: its name)")


# --------------------------------------------------------------------------- #
# Resolving options
# --------------------------------------------------------------------------- #


def class_list(values: list[str] | None) -> list[str] | None:
    """``--classes`` values (spaces or commas) as names; None when not given."""
    if values is None:
        return None
    names = [name for value in values for name in value.split(",") if name]
    if not names:
        raise VocmapError("--classes was given no class names")
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


def ground_truth_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """``(annotations folder, image-set file)`` from the options and environment."""
    image_set = args.image_set
    if image_set is not None and (
        not image_set or "/" in image_set or "\\" in image_set or image_set.endswith(".txt")
    ):
        raise VocmapError(
            f"--image-set takes a set name (test, val), not {image_set!r}; "
            "for an image-set file use --annotations DIR --image-set-file FILE"
        )
    if args.annotations or args.image_set_file:
        if args.voc_root:
            raise VocmapError(
                "give either --voc-root or --annotations with --image-set-file, not both"
            )
        if not (args.annotations and args.image_set_file):
            raise VocmapError("--annotations and --image-set-file go together")
        if image_set is not None:
            raise VocmapError(
                "--image-set NAME goes with --voc-root; with --annotations the file "
                "--image-set-file names the images"
            )
        return Path(args.annotations), Path(args.image_set_file)
    root = args.voc_root or os.environ.get("VOC_ROOT")
    if not root:
        default = Path("VOCdevkit") / "VOC2007"
        if not default.is_dir():
            raise VocmapError(
                "no annotations given: use --voc-root DIR, or --annotations DIR "
                "--image-set-file FILE, "
                "or set $VOC_ROOT (./VOCdevkit/VOC2007 does not exist)"
            )
        root = default
    from vocmap.io.voc_root import year_folder  # the year folder, or the VOCdevkit above it

    root = year_folder(root, image_set or "test")
    return root / "Annotations", root / "ImageSets" / "Main" / f"{image_set or 'test'}.txt"


def load_ground_truth(args: argparse.Namespace) -> tuple[GroundTruth, Path]:
    """The ground truth the options name, and its image-set file."""
    from vocmap.io.voc import read_annotations

    annotations, image_set_file = ground_truth_paths(args)
    follow = getattr(args, "follow_symlinks", False)
    ground_truth = read_annotations(
        annotations, image_set_file, cache=not args.no_cache, follow_symlinks=follow
    )
    return ground_truth, image_set_file


def reading(args: argparse.Namespace) -> dict:
    """The reading options as read_detections' keywords."""
    return {
        "ignore_unknown_images": args.ignore_unknown_images,
        "ignore_unknown_categories": args.ignore_unknown_categories,
        "prefix": args.prefix,
        "follow_symlinks": args.follow_symlinks,
    }


def read_inputs(args: argparse.Namespace) -> tuple[GroundTruth, tuple[str, ...], Detections]:
    """The ground truth, the classes and the detections a command's options name.

    The classes are ``--classes``, or, when not given, those the result files have
    if they are not the 20 VOC classes (said on stderr), else the 20 VOC classes.
    Records dropped by ``--ignore-unknown-categories`` are counted on stderr.
    """
    from vocmap.cli.notices import say_dropped
    from vocmap.cli.output import note
    from vocmap.core.evaluate import class_list as checked_classes
    from vocmap.io.read import detection_classes, read_detections

    ground_truth, image_set_file = load_ground_truth(args)
    classes = class_list(args.classes)
    if classes is None:
        classes, inferred = detection_classes(
            args.detections, ground_truth, image_set_file.stem, prefix=args.prefix
        )
        if inferred:
            note(args, inferred)
    names = checked_classes(classes)
    detections = read_detections(
        args.detections, ground_truth, names, image_set=image_set_file.stem, **reading(args)
    )
    say_dropped(args, detections)
    return ground_truth, names, detections
