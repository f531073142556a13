"""The ``vocmap`` command line. It parses options and orchestrates; the work is elsewhere.

:mod:`vocmap.cli.app` holds ``main`` (parse, dispatch, exit status) and ``entry``
(the console script); they are re-exported here lazily, so that importing one
command's module never imports the others (this package imports none of its
modules: no cycle). Options are declared once (:mod:`vocmap.cli.options`); each
command group has its module.
"""

from __future__ import annotations

_EXPORTS = ("main", "entry", "build_parser", "EXIT_OK", "EXIT_BAD_INPUT", "EXIT_INTERRUPTED")

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vocmap.cli' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("vocmap.cli.app"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
