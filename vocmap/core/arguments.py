"""Checks of the public API's numeric arguments: a wrong type or value is a VocmapError
naming the argument, never a TypeError, an OverflowError or a MemoryError from deep inside."""

from __future__ import annotations

import math
import numbers


def whole_number(value: object, name: str, low: int | None = 0, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]`` (a bool, a float or a string is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _error(name, value, "a whole number")
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"{low if low is not None else '-inf'} to {high if high is not None else 'inf'}"
        raise _error(name, value, f"a whole number from {bounds}")
    return number


def real_number(
    value: object,
    name: str,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float in the interval (``low_open``/``high_open``: ends left out)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _error(name, value, "a number")
    number = float(value)
    below = number <= low if low_open else number < low
    above = number >= high if high_open else number > high
    if not math.isfinite(number) or below or above:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise _error(name, value, f"a finite number in {left}{low:g}, {high:g}{right}")
    return number


def _error(name: str, value: object, expected: str):
    from vocmap.core.errors import VocmapError

    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:60] + "..."
    return VocmapError(f"{name} must be {expected}, not {shown}")
