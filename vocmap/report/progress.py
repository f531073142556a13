"""A one-line progress display for long commands (stderr; plain lines when not a TTY)."""

from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """``[###---] 3/6 step 60000 mAP 0.7380 | 0:12 elapsed, ~0:24 left``.

    The time left is the mean time per item so far times the items left.
    """

    def __init__(self, total: int, label: str = "", stream=None, width: int = 20) -> None:
        self.total = max(total, 0)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = 0
        self.started = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, message: str) -> None:
        """One more item finished; ``message`` says what it was."""
        self.done += 1
        if self.stream is None:  # stderr closed: nothing to show it on
            return
        elapsed = time.perf_counter() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        filled = int(self.width * self.done / self.total) if self.total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        text = (
            f"{self.label}[{bar}] {self.done}/{self.total} {message} | "
            f"{_clock(elapsed)} elapsed, ~{_clock(left)} left"
        )
        if self.tty:
            end = "\n" if self.done >= self.total else ""
            self.stream.write("\r\033[K" + text + end)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        """A line that is not an item (e.g. "detecting step 100")."""
        if self.stream is None:
            return
        if self.tty:
            self.stream.write("\r\033[K" + f"{self.label}{message}")
        else:
            self.stream.write(f"{self.label}{message}\n")
        self.stream.flush()
