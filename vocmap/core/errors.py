"""The errors vocmap raises for bad input, and how text from files is shown in them.

The CLI prints an error on one line, exit 2. Every message, whatever raised it,
goes through :func:`display_text` when it becomes a string: characters that are
not printable (ESC and OSC sequences, NUL, TAB, CR, LF, bidirectional overrides,
undecodable bytes) are escaped, so nothing a file contains can drive the
terminal or split the line, and a very long token (a 100 MB "image id") is
abbreviated to its ends and its length.
"""

from __future__ import annotations

import os
import re

#: A run of non-blank characters longer than this is shown abbreviated.
MAX_TOKEN = 160
#: A message longer than this (after abbreviating tokens) is cut in the middle.
MAX_MESSAGE = 2000

_LONG_TOKEN = re.compile(r"\S{" + str(MAX_TOKEN + 1) + ",}")
_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _shorten(text: str, head: int, tail: int, unit: str = "characters") -> str:
    return f"{text[:head]}...[{len(text):,} {unit}]...{text[-tail:]}"


def _escape_character(character: str) -> str:
    named = _NAMED_ESCAPES.get(character)
    if named is not None:
        return named
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that os.fsdecode could not decode
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def display_text(text: str) -> str:
    """``text`` made safe for one line of a terminal.

    Tokens (runs without blank space) over MAX_TOKEN characters keep their first
    100 and last 40 characters around ``...[N characters]...``; every character
    that ``str.isprintable`` rejects (controls, TAB, CR, LF, U+00A0, U+FEFF,
    format characters, surrogates) is written as a Python escape (``\\x1b``,
    ``\\u00a0``); the whole is at most about MAX_MESSAGE characters.
    """
    if len(text) > MAX_TOKEN:
        text = _LONG_TOKEN.sub(lambda m: _shorten(m.group(), 100, 40), text)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else _escape_character(c) for c in text)
    if len(text) > MAX_MESSAGE:
        text = _shorten(text, MAX_MESSAGE - 500, 400)
    return text


class VocmapError(Exception):
    """Base class: anything the user can fix (bad input, bad options).

    ``str(error)`` is always :func:`display_text` of the message.
    """

    def __str__(self) -> str:
        return display_text(super().__str__())


class InputError(VocmapError):
    """Bad input data, located by file and line where known.

    ``str(error)`` reads ``path:line: message`` (or ``path: message``), escaped
    and abbreviated by :func:`display_text`. ``message``, ``path`` and ``line``
    keep the raw values.
    """

    def __init__(
        self, message: str, path: str | os.PathLike | None = None, line: int | None = None
    ):
        self.message = message
        self.path = None if path is None else os.fsdecode(path)
        self.line = line
        super().__init__(self._format())

    def _format(self) -> str:
        if self.path is None:
            return self.message
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"
