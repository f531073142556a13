"""Where the annotations are: a VOC year folder, or a folder of XML files and an
image-set file, resolved to one :class:`GroundTruthSource` (nothing is read here).

The CLI's ``--voc-root``/``--image-set``/``--annotations``/``--image-set-file``,
:func:`vocmap.read_voc` and the adapters all resolve their paths here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from vocmap.core.errors import InputError, VocmapError
from vocmap.io.files import file_name_problem

#: The image set read when none is named.
DEFAULT_IMAGE_SET = "test"
#: The folder tried when no option and no ``$VOC_ROOT`` name one.
DEFAULT_VOC_ROOT = Path("VOCdevkit") / "VOC2007"


class GroundTruthSource(NamedTuple):
    """The annotations folder (``<id>.xml`` files) and the image-set file."""

    annotations: Path
    image_set_file: Path

    @property
    def image_set(self) -> str:
        """The image set's name (``test`` for ``ImageSets/Main/test.txt``)."""
        return self.image_set_file.stem

    @property
    def voc_root(self) -> Path | None:
        """The VOC year folder, when the annotations are its ``Annotations``."""
        return self.annotations.parent if self.annotations.name == "Annotations" else None


def voc_year_source(
    voc_root: str | os.PathLike, image_set: str = DEFAULT_IMAGE_SET
) -> GroundTruthSource:
    """A VOC year folder (``VOCdevkit/VOC2007``) and an image-set name."""
    root = Path(voc_root)
    if not root.is_dir():
        raise InputError("VOC root folder not found", root)
    problem = file_name_problem(image_set, ".txt")
    if problem is not None:
        raise InputError(f"image set name {image_set!r} {problem}")
    return GroundTruthSource(root / "Annotations", root / "ImageSets" / "Main" / f"{image_set}.txt")


def ground_truth_source(
    *,
    voc_root: str | os.PathLike | None = None,
    image_set: str | None = None,
    annotations: str | os.PathLike | None = None,
    image_set_file: str | os.PathLike | None = None,
    environ: Mapping[str, str] = os.environ,
) -> GroundTruthSource:
    """The source the command-line options name (``--voc-root``, ``--image-set``,
    ``--annotations``, ``--image-set-file``); without any, ``$VOC_ROOT``, then
    ``./VOCdevkit/VOC2007``."""
    if image_set is not None and (
        not image_set or "/" in image_set or "\\" in image_set or image_set.endswith(".txt")
    ):
        raise VocmapError(
            f"--image-set takes a set name (test, val), not {image_set!r}; "
            "for an image-set file use --annotations DIR --image-set-file FILE"
        )
    if annotations or image_set_file:
        if voc_root:
            raise VocmapError(
                "give either --voc-root or --annotations with --image-set-file, not both"
            )
        if not (annotations and image_set_file):
            raise VocmapError("--annotations and --image-set-file go together")
        if image_set is not None:
            raise VocmapError(
                "--image-set NAME goes with --voc-root; with --annotations the file "
                "--image-set-file names the images"
            )
        return GroundTruthSource(Path(annotations), Path(image_set_file))
    root = voc_root or environ.get("VOC_ROOT")
    if not root:
        if not DEFAULT_VOC_ROOT.is_dir():
            raise VocmapError(
                "no annotations given: use --voc-root DIR, or --annotations DIR "
                "--image-set-file FILE, "
                "or set $VOC_ROOT (./VOCdevkit/VOC2007 does not exist)"
            )
        root = DEFAULT_VOC_ROOT
    from vocmap.io.voc_root import year_folder  # the year folder, or the VOCdevkit above it

    root = year_folder(root, image_set or DEFAULT_IMAGE_SET)
    return GroundTruthSource(
        root / "Annotations",
        root / "ImageSets" / "Main" / f"{image_set or DEFAULT_IMAGE_SET}.txt",
    )
