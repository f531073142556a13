"""The errors vocmap raises for bad input. The CLI prints them on one line, exit 2."""

from __future__ import annotations

import os


class VocmapError(Exception):
    """Base class: anything the user can fix (bad input, bad options)."""


class InputError(VocmapError):
    """Bad input data, located by file and line where known.

    ``str(error)`` reads ``path:line: message`` (or ``path: message``).
    """

    def __init__(
        self, message: str, path: str | os.PathLike | None = None, line: int | None = None
    ):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        super().__init__(self._format())

    def _format(self) -> str:
        if self.path is None:
            return self.message
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"
