"""The ``vocmap`` command line. It parses options and orchestrates; the work is elsewhere.

Exit status: 0 on success, 2 on bad input or options (one line on stderr), 130
when interrupted. Options are declared once (:mod:`vocmap.cli.options`); each
command group has its module (:mod:`vocmap.cli.evaluate`, :mod:`vocmap.cli.runs`).
Heavy modules (numpy, numba, matplotlib, torch) are imported inside the
commands that need them, so ``vocmap --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys

from vocmap.cli import evaluate, runs, stats

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vocmap",
        description="The PASCAL VOC2007 devkit's detection AP, bit for bit, fast.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    evaluate.add_commands(commands)
    runs.add_commands(commands)
    from vocmap.cli import diagnose  # diagnose, report

    diagnose.add_commands(commands)
    stats.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``vocmap`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from vocmap import __version__

        print(f"vocmap {__version__}")
        return EXIT_OK
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    from vocmap.core.errors import VocmapError

    try:
        return args.run(args)
    except VocmapError as error:
        print(f"vocmap: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("vocmap: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def entry() -> None:
    """The console script: run, flush, and leave without interpreter teardown.

    Freeing hundreds of MB of arrays and numba's LLVM state at exit costs about
    0.2 s, a third of a whole evaluation; every output file is closed (and
    renamed into place) before main() returns, so nothing is lost by skipping it.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
