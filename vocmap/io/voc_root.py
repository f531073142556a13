"""Which folder ``--voc-root`` names: a VOC year folder, or the VOCdevkit folder above it.

vocmap reads one year folder (``VOCdevkit/VOC2007``: ``Annotations/``,
``ImageSets/Main/``); ssd_ref's trainer reads several from the VOCdevkit folder
that holds them. Both tools take either shape: :func:`year_folder` and
:func:`devkit_folder` find the one they need from what was given, and an error
names the folders that are there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from vocmap.core.errors import InputError

#: At most this many folders are listed in a message.
_LISTED = 6


def is_year_folder(folder: Path) -> bool:
    """``folder`` holds ``Annotations/`` or ``ImageSets/Main/`` (a VOC year folder)."""
    return (folder / "Annotations").is_dir() or (folder / "ImageSets" / "Main").is_dir()


def _year_folders(root: Path) -> list[Path]:
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError:
        return []
    return [p for p in children if is_year_folder(p)]


def _sets(year: Path) -> str:
    names = sorted(p.stem for p in (year / "ImageSets" / "Main").glob("*.txt") if "_" not in p.stem)
    return ", ".join(names[:_LISTED]) or "none"


def _listed(folders: Sequence[Path]) -> str:
    shown = ", ".join(f"{p} (sets: {_sets(p)})" for p in folders[:_LISTED])
    return shown + (f" and {len(folders) - _LISTED} more" if len(folders) > _LISTED else "")


def year_folder(root: str | os.PathLike, image_set: str | None = None) -> Path:
    """The VOC year folder ``root`` names: ``root`` itself, or the one year folder
    below it (having ``ImageSets/Main/<image_set>.txt`` when ``image_set`` is given).

    ``VOCdevkit/VOC2007`` and ``VOCdevkit`` (holding only VOC2007, or only one year
    folder with the set) both give ``VOCdevkit/VOC2007``. Otherwise an
    :class:`InputError` that names the year folders found.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError("VOC root folder not found", root)
    if is_year_folder(root):
        return root
    found = _year_folders(root)
    having = found
    if image_set is not None:
        having = [p for p in found if (p / "ImageSets" / "Main" / f"{image_set}.txt").is_file()]
    if len(having) == 1:
        return having[0]
    if not found:
        raise InputError(
            "not a VOC year folder (no Annotations/ or ImageSets/Main/), nor a VOCdevkit "
            "folder holding one",
            root,
        )
    if having:
        raise InputError(
            f"a VOCdevkit folder with several year folders: give one of {_listed(having)}",
            root,
        )
    raise InputError(
        f"no year folder below it has ImageSets/Main/{image_set}.txt; found {_listed(found)}",
        root,
    )


def devkit_folder(root: str | os.PathLike, years: Sequence[str]) -> Path:
    """The folder holding the year folders ``years`` (``VOC2007``, ``SYNTH`` ...):
    ``root`` itself, or its parent when ``root`` is one of those year folders.

    Otherwise an :class:`InputError` naming the missing year folders and the ones found.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError("VOC root folder not found", root)
    wanted = list(dict.fromkeys(years))
    if all((root / year).is_dir() for year in wanted):
        return root
    parent = root.absolute().parent
    if (
        is_year_folder(root)
        and root.name in wanted
        and all((parent / year).is_dir() for year in wanted)
    ):
        return parent
    missing = [year for year in wanted if not (root / year).is_dir()]
    found = _year_folders(root)
    where = f"found {_listed(found)}" if found else "it holds no year folder"
    if is_year_folder(root):
        where = f"it is itself a year folder; give the folder above it ({parent})"
    else:
        try:
            below = sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:
            below = []
        holding = [p for p in below if all((p / year).is_dir() for year in wanted)]
        if holding:
            where = f"{holding[0]} holds them: give that folder"
    raise InputError(f"no year folder {', '.join(missing)} in it; {where}", root)
