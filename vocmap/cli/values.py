"""The values options take, and vocmap's argument parser.

Each type refuses a bad value with an ``argparse.ArgumentTypeError`` saying what it
expected; :class:`Parser` turns that into one line naming the option (exit 2), for
every command. Nothing here imports numpy.
"""

from __future__ import annotations

import argparse
import math
from typing import Any, NoReturn

from vocmap.core.errors import display_text


def _shown_number(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.0e}" if abs(value) >= 10**6 else f"{value:g}"


def _converted(text: str, convert, what: str):
    try:
        return convert(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {what}, not {display_text(repr(text))}"
        ) from None


def bounded_int(low: int, high: int):
    """An argparse type: an integer in ``[low, high]``, with a clear message."""

    def parse(text: str) -> int:
        value = _converted(text, int, "a whole number")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected {_shown_number(low)} to {_shown_number(high)}, not {value}"
            )
        return value

    parse.__name__ = "integer"
    return parse


def bounded_float(low: float, high: float, *, low_open: bool = False, high_open: bool = False):
    """An argparse type: a finite number in ``[low, high]`` (an end open where said);
    NaN and infinities are refused everywhere."""
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    interval = f"{left}{_shown_number(low)}, {_shown_number(high)}{right}"

    def parse(text: str) -> float:
        value = _converted(text, float, "a number")
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, not {text.strip()}")
        below = value <= low if low_open else value < low
        above = value >= high if high_open else value > high
        if below or above:
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, not {value:g}")
        return value

    parse.__name__ = "number"
    return parse


class Parser(argparse.ArgumentParser):
    """vocmap's argument parser: a bad option or value is one line naming it (the
    usage is for ``--help``), escaped as every message is; exit status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # --image is never guessed to be --image-set
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {display_text(message)} (see {self.prog} --help)\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        import sys

        if message and sys.stderr is not None:
            sys.stderr.write(message)
        raise SystemExit(status)


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


class _Renamed(argparse.Action):
    """An old option spelling that now means something else: one line naming the new one."""

    def __init__(self, option_strings, dest, hint: str, **kwargs) -> None:
        self.hint = hint
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        parser.error(f"{option_string} {self.hint}")


def _destination(text: str) -> str:
    from vocmap.cli.output import destination

    return destination(text)


_destination.__name__ = "file name"


def path_value(text: str) -> str:
    """An argparse type for a file or folder to read or write: never empty (an unset
    shell variable would otherwise fall back to a default folder), never with a NUL."""
    if text == "":
        raise argparse.ArgumentTypeError("needs a path (got '')")
    if "\0" in text:
        raise argparse.ArgumentTypeError("a path cannot contain a NUL character")
    return text


path_value.__name__ = "path"


def nonempty(text: str) -> str:
    """An argparse type for a name or a list that must say something (``--prefix``, ``--steps``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"needs a value (got {display_text(repr(text))})")
    return text


nonempty.__name__ = "nonempty"


def shown_text(text: str) -> str:
    """An argparse type for a text that is echoed back (a label, a title): control
    characters escaped, as in every message."""
    return display_text(text)


shown_text.__name__ = "text"
