"""The ``ssd_ref`` console script: one line, not a traceback, without the train extra.

It lives outside the ``ssd_ref`` package because importing that package without
torch and OpenCV raises the ImportError this script turns into one line. Help
(``ssd_ref``, ``ssd_ref --help``, ``ssd_ref train --help`` ...) still works then:
the argument parser is read from ``ssd_ref/cli.py`` without the package.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HELP = ("-h", "--help")


def _help_without_the_package(argv: list[str], missing: str) -> None:
    """Print the help ``argv`` asks for from the parser in ssd_ref/cli.py, then what
    the commands need; exits (0 after help, 2 for a usage error)."""
    path = Path(__file__).resolve().parent / "ssd_ref" / "cli.py"
    spec = importlib.util.spec_from_file_location("_ssd_ref_cli_help", path)
    if spec is None or spec.loader is None:
        raise ImportError(missing)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # argparse, logging, sys, pathlib only
    try:
        module.build_parser().parse_args(argv or ["--help"])
    finally:
        print(f"(the commands need the train extra: {missing})")


def main() -> None:
    try:
        from ssd_ref.cli import main as trainer_main
    except ImportError as error:
        message = str(error)
        if "vocmap[train]" not in message:
            raise
        argv = sys.argv[1:]
        missing = message.removeprefix("ssd_ref needs ")
        if not argv or any(a in HELP for a in argv):
            _help_without_the_package(argv, missing)
        print(f"ssd_ref: missing {missing}", file=sys.stderr)
        sys.exit(2)
    sys.exit(trainer_main())


if __name__ == "__main__":
    main()
