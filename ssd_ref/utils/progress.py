"""Progress of a long loop: a live line on a terminal, periodic log lines otherwise.

``Progress(total)`` measures the rate since it was made; on a terminal
(``stream.isatty()``) ``update`` redraws one line (``\\r``) at most every
``min_interval`` seconds; elsewhere (a log file, a batch job) it logs a line
each time another ``log_fraction`` of the work is done (unless ``log=False``:
the caller logs the figures itself), so logs stay short.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from typing import TextIO

logger = logging.getLogger("ssd_ref")


def format_duration(seconds: float) -> str:
    """``75 -> "1:15"``, ``3725 -> "1:02:05"``; unknown (inf/nan) -> ``"?"``."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def rate_and_eta(done: int, total: int, elapsed: float) -> tuple[float, float]:
    """Items per second so far and the seconds left at that rate (inf if unknown)."""
    rate = done / elapsed if elapsed > 0 and done > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else float("inf")
    return rate, eta


class Progress:
    """``update(done)`` for ``done`` of ``total`` items (``unit``: "steps", "images")."""

    def __init__(
        self,
        total: int,
        label: str,
        unit: str,
        start: int = 0,
        stream: TextIO | None = None,
        enabled: bool = True,
        log: bool = True,
        min_interval: float = 0.5,
        log_fraction: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.label = label
        self.unit = unit
        self.start = start
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.log = log
        self.tty = enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self.min_interval = min_interval
        self.log_every = max(1, round((total - start) * log_fraction))
        self.clock = clock
        self.began = clock()
        self._drawn_at = -float("inf")
        self._logged = start
        self._width = 0

    def line(self, done: int, note: str = "") -> str:
        """``label done/total unit, rate unit/s, ETA h:mm:ss[, note]``."""
        rate, eta = rate_and_eta(
            done - self.start, self.total - self.start, self.clock() - self.began
        )
        text = (
            f"{self.label} {done}/{self.total} {self.unit}, {rate:.2f} {self.unit}/s, "
            f"ETA {format_duration(eta)}"
        )
        return f"{text}, {note}" if note else text

    def update(self, done: int, note: str = "") -> None:
        if not self.enabled:
            return
        if self.tty:
            now = self.clock()
            if now - self._drawn_at >= self.min_interval or done >= self.total:
                self._draw(self.line(done, note))
                self._drawn_at = now
        elif self.log and (
            done - self._logged >= self.log_every or done >= self.total > self._logged
        ):
            if logger.hasHandlers():
                logger.info("%s", self.line(done, note))
            else:  # a caller that set up no logging (vocmap score): plain lines
                self.stream.write(self.line(done, note) + "\n")
                self.stream.flush()
            self._logged = done

    def clear(self) -> None:
        """Blank the live line (before a log line is printed under it)."""
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
            self._drawn_at = -float("inf")

    def close(self) -> None:
        """End the live line (a newline after the last one drawn)."""
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0

    def _draw(self, text: str) -> None:
        padding = " " * max(0, self._width - len(text))
        self.stream.write("\r" + text + padding)
        self.stream.flush()
        self._width = len(text)
