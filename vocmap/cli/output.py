"""Where a command's documents go: files (atomically) or stdout, never two onto one.

``--out FILE`` (and the shorthands ``--json FILE``, ``--csv FILE``) name a file or
``-`` for stdout. An empty name is refused (it used to write nothing, silently),
so are two documents for stdout (they would be concatenated) and two documents
for one file. Files are written before stdout, each through
:mod:`vocmap.core.atomic`; a failed write is one line naming the file. Nothing
here imports numpy.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NamedTuple

from vocmap.core.atomic import OutputError, atomic_write_text, shown
from vocmap.core.errors import VocmapError, display_text

STDOUT = "-"


def destination(text: str) -> str:
    """An argparse type: a file name or ``-``; never empty, never with a NUL."""
    if text == "":
        raise argparse.ArgumentTypeError("needs a file name, or - for stdout (got '')")
    if "\0" in text:
        raise argparse.ArgumentTypeError("a file name cannot contain a NUL character")
    return text


class Output(NamedTuple):
    """One document: its ``style`` (text, json, ...), where it goes, which option asked."""

    style: str
    dest: str
    option: str


def check_outputs(outputs: list[Output]) -> list[Output]:
    """Refuse two documents for stdout or for one file; refuse stdout when it is closed."""
    to_stdout = [o.option for o in outputs if o.dest == STDOUT]
    if len(to_stdout) > 1:
        raise VocmapError(
            f"{' and '.join(to_stdout)} both go to stdout: one document there at most "
            "(write the other to a file)"
        )
    if to_stdout and sys.stdout is None:
        raise OutputError("stdout", "it is closed (give --out FILE)")
    seen: dict[str, str] = {}
    for output in outputs:
        if output.dest == STDOUT:
            continue
        if os.path.isdir(output.dest):  # before any work: no other output half-made
            raise OutputError(output.dest, "it is a folder")
        where = os.path.realpath(output.dest)
        if where in seen:
            raise VocmapError(
                f"{seen[where]} and {output.option} both write {shown(output.dest)}: "
                "one document a file"
            )
        seen[where] = output.option
    return outputs


def write_stdout(text: str) -> None:
    """``text`` on stdout; a closed or full stdout is an OutputError (EPIPE kept)."""
    if sys.stdout is None:
        raise OutputError("stdout", "it is closed")
    try:
        sys.stdout.write(text)
    except OSError as error:
        raise OutputError("stdout", error.strerror or str(error), error.errno) from None


def flush_stdout() -> None:
    """Flush stdout now (inside the command), so that a full disk or a closed pipe is
    reported instead of being lost at exit."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except OSError as error:
        raise OutputError("stdout", error.strerror or str(error), error.errno) from None


def emit(outputs: list[Output], render) -> None:
    """Write each output, ``render(style)`` giving its text: files first, then stdout."""
    for output in sorted(outputs, key=lambda o: o.dest == STDOUT):
        text = render(output.style)
        if output.dest == STDOUT:
            write_stdout(text)
        else:
            atomic_write_text(output.dest, text)


def note(args: argparse.Namespace, message: str) -> None:
    """An informational line on stderr, unless ``--quiet``."""
    if not getattr(args, "quiet", False) and sys.stderr is not None:
        print(f"vocmap: {display_text(message)}", file=sys.stderr, flush=True)


def planned_outputs(args: argparse.Namespace, shorthands: dict[str, str]) -> list[Output]:
    """The documents a command writes: ``--format``/``--out`` (unless a shorthand
    such as ``--json -`` takes stdout and neither was given) and each shorthand."""
    extra = [
        Output(style, getattr(args, dest), f"--{dest}")
        for dest, style in shorthands.items()
        if getattr(args, dest) is not None
    ]
    main = Output(args.format or "text", args.out or "-", "--out" if args.out else "--format")
    explicit = args.format is not None or args.out is not None
    taken = any(o.dest == "-" for o in extra)
    return check_outputs(([main] if explicit or not taken else []) + extra)
