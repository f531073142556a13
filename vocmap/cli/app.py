"""``vocmap``'s ``main``: parse the options, run the command, map errors to exit statuses.

Exit status: 0 on success, 2 on bad input or options, or an output that cannot
be written (one line on stderr naming the file), 130 when interrupted, 141 (and
nothing said) when stdout's reader has gone (``vocmap ... | head``). Options are declared once (:mod:`vocmap.cli.options`); each
command group has its module (:mod:`vocmap.cli.evaluate`, :mod:`vocmap.cli.runs`).
Heavy modules (numpy, numba, matplotlib, torch) are imported inside the
commands that need them, so ``vocmap --help`` stays fast.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys

from vocmap.cli import check, diagnose, evaluate, runs, stats
from vocmap.cli.values import Parser

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


EXIT_BROKEN_PIPE = 141  # what a shell shows for a command ended by SIGPIPE (128 + 13)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="vocmap",
        description="The PASCAL VOC2007 devkit's detection AP, bit for bit, fast.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    evaluate.add_commands(commands)
    runs.add_commands(commands)
    diagnose.add_commands(commands)
    stats.add_commands(commands)
    check.add_commands(commands)
    return parser


def _guard_standard_streams() -> None:
    """Put /dev/null on a closed fd 0, 1 or 2, so that no file vocmap opens takes
    their number (output meant for the terminal would land in it). A stdout that
    was closed stays None in Python: writing to it is then a clear error."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def _quiet_broken_pipe() -> int:
    """stdout's reader has gone (``vocmap ... | head``): stop quietly, as a shell tool
    killed by SIGPIPE would, and keep the interpreter from complaining at exit."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, AttributeError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


def _describe(error: OSError) -> str:
    from vocmap.core.atomic import shown

    reason = error.strerror or str(error)
    names = [n for n in (error.filename, error.filename2) if n is not None]
    if not names:
        return reason
    return f"{' -> '.join(shown(os.fsdecode(n)) for n in names)}: {reason}"


def main(argv: list[str] | None = None) -> int:
    """Run one ``vocmap`` command; return its exit status."""
    _guard_standard_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    from vocmap.cli.output import flush_stdout, write_stdout
    from vocmap.core.atomic import OutputError
    from vocmap.core.errors import VocmapError

    try:
        if args.version:
            from vocmap import __version__

            write_stdout(f"vocmap {__version__}\n")
            code = EXIT_OK
        elif not args.command:
            parser.print_help()
            code = EXIT_BAD_INPUT
        else:
            code = args.run(args)
        flush_stdout()
        return code
    except OutputError as error:
        if error.errno == errno.EPIPE:
            return _quiet_broken_pipe()
        print(f"vocmap: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except VocmapError as error:
        print(f"vocmap: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except OSError as error:
        print(f"vocmap: error: {_describe(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("vocmap: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def entry() -> None:
    """The console script: run, flush, and leave without interpreter teardown.

    Freeing hundreds of MB of arrays and numba's LLVM state at exit costs about
    0.2 s, a third of a whole evaluation; every output file is closed (and
    renamed into place) and stdout flushed before main() returns, so nothing is
    lost by skipping it.
    """
    try:
        code = main()
    except SystemExit as done:  # argparse: --help, or an option it refused
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
