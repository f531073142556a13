"""Range checks for config values: each raises :class:`ConfigError` naming the key.

Called from the dataclasses' ``__post_init__``, so a preset, a JSON file, an
``--override`` and a saved run all pass through the same checks.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

from ssd_ref.errors import ConfigError

#: A message shows at most this many characters of a value.
SHOWN_CHARS = 60


def shown(value: Any) -> str:
    """``repr(value)``, cut to :data:`SHOWN_CHARS` (deeply nested values included)."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<a {type(value).__name__} nested too deeply>"
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _floats(value: Any) -> Iterable[float]:
    if isinstance(value, float):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _floats(item)


def finite_numbers(section: str, config: Any) -> None:
    """Every float of the dataclass ``config`` (tuples included) is finite."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if any(not math.isfinite(v) for v in _floats(value)):
            raise ConfigError(f"{section}.{f.name} must be finite, not {shown(value)}")


def at_least(key: str, value: float | None, low: float, optional: bool = False) -> None:
    """``value >= low`` (None allowed when ``optional``)."""
    if value is None and optional:
        return
    if value is None or value < low:
        what = f">= {low}" + (" or null" if optional else "")
        raise ConfigError(f"{key} must be {what}, not {shown(value)}")


def above(key: str, value: float, low: float) -> None:
    if not value > low:
        raise ConfigError(f"{key} must be > {low}, not {shown(value)}")


def between(key: str, value: float | None, low: float, high: float, optional: bool = False) -> None:
    """``low <= value <= high`` (None allowed when ``optional``)."""
    if value is None and optional:
        return
    if value is None or not low <= value <= high:
        what = f"in [{low}, {high}]" + (" or null" if optional else "")
        raise ConfigError(f"{key} must be {what}, not {shown(value)}")


def one_of(key: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {allowed}, not {shown(value)}")


def not_empty(key: str, value: str | None) -> None:
    """A folder or None, not ``""``."""
    if value == "":
        raise ConfigError(f"{key} must be a folder or null, not ''")


def ordered(key: str, low_key: str, low: float, high: float) -> None:
    """``low <= high`` for a (lower, upper) pair of keys."""
    if low > high:
        raise ConfigError(f"{low_key} ({low}) must not exceed {key} ({high})")


def length(key: str, values: tuple, expected: int, what: str) -> None:
    if len(values) != expected:
        raise ConfigError(f"{key} needs {expected} items ({what}), not {len(values)}")
