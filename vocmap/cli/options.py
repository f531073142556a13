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
    from vocmap.core.ground_truth import GroundTruth
    from vocmap.core.settings import EvalSettings

#: The preset rule sets (kept here as names so ``--help`` needs no import of numpy).
SEMANTICS_NAMES = ("devkit", "py-faster-rcnn", "mmdet", "ssd_keras")


def add_ground_truth(parser: argparse.ArgumentParser) -> None:
    """Where the annotations are."""
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
        "--every", type=int, metavar="N", help="only steps that are multiples of N (and the last)"
    )


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


def load_ground_truth(args: argparse.Namespace) -> tuple[GroundTruth, Path]:
    """The ground truth the options name, and its image-set file."""
    from vocmap.io.voc import read_annotations

    annotations, image_set_file = ground_truth_paths(args)
    follow = getattr(args, "follow_symlinks", False)
    ground_truth = read_annotations(
        annotations, image_set_file, cache=not args.no_cache, follow_symlinks=follow
    )
    return ground_truth, image_set_file
