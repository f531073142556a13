"""The ``ssd_ref`` console script: one line, not a traceback, without the train extra.

It lives outside the ``ssd_ref`` package because importing that package without
torch and OpenCV raises the ImportError this script turns into one line.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from ssd_ref.cli import main as trainer_main
    except ImportError as error:
        if "vocmap[train]" not in str(error):
            raise
        print(f"ssd_ref: {error}", file=sys.stderr)
        sys.exit(2)
    sys.exit(trainer_main())


if __name__ == "__main__":
    main()
