"""SIGTERM/SIGINT during training: finish the step, write a checkpoint, stop cleanly.

Slurm and preemptible clouds send SIGTERM some seconds before they kill a job;
a terminal sends SIGINT on Ctrl-C. Inside :class:`StopSignals` the first such
signal only sets :attr:`StopSignals.received`; the training loop reads it after
each step, saves a checkpoint and raises
:class:`ssd_ref.engine.trainer.TrainingInterrupted`. A second signal aborts at
once (``KeyboardInterrupt``), without a new checkpoint.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

logger = logging.getLogger(__name__)

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Context manager: catch SIGTERM/SIGINT (main thread only), restore the old handlers."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._previous: dict[signal.Signals, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: aborted")
        self.received = signal.Signals(signum)
        logger.warning(
            "%s: stopping after this step with a checkpoint (send it again to abort now)",
            self.received.name,
        )


def ignore_stop_signals() -> None:
    """For DataLoader workers: leave SIGTERM/SIGINT to the main process, which stops them."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
