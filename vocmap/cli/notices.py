"""What the CLI says on stderr besides errors: the first-compile notice, dropped records."""

from __future__ import annotations

import argparse
import importlib
import sys

from vocmap.cli.output import note
from vocmap.core.errors import VocmapError

#: The optional module each extra brings, for the one-line message when it is missing.
EXTRAS = {"plot": "matplotlib"}


def require_extra(extra: str, command: str) -> None:
    """Refuse in one line, naming the extra to install, when ``extra``'s module is missing."""
    module = EXTRAS[extra]
    try:
        importlib.import_module(module)
    except ImportError:
        raise VocmapError(
            f"vocmap {command} needs {module}, which is not installed: "
            f"pip install 'vocmap[{extra}]'"
        ) from None


def announce_first_compile(quiet: bool = False, metric: str = "voc07") -> None:
    """Say so on stderr when the numba kernels are about to be compiled."""
    from vocmap.core import kernels
    from vocmap.io import text_kernels

    dispatchers: tuple = (
        kernels.match_detections,
        kernels.average_precision_11point,
        text_kernels.parse_result_lines,
    )
    if metric in ("coco50", "coco"):  # COCO's path compiles its own kernels
        from vocmap.core import coco_kernels

        dispatchers = (
            coco_kernels.evaluate_cells,
            coco_kernels.evaluate_cells_serial,
            text_kernels.parse_result_lines,
        )
    if not quiet and not kernels.compiled_code_cached(dispatchers):
        print(
            "vocmap: compiling the numba kernels for this machine (first run only, a few seconds)",
            file=sys.stderr,
            flush=True,
        )


def say_dropped(args: argparse.Namespace, detections) -> None:
    """A note on stderr when records of unknown categories were dropped."""
    if detections.dropped_categories:
        note(
            args,
            f"{detections.dropped_categories} record(s) whose category is not a known "
            "class dropped (--ignore-unknown-categories)",
        )
