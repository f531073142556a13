"""history.csv rows as TensorBoard scalars (the optional ``tensorboard`` extra).

Tags: ``train/loss``, ``train/loc_loss``, ``train/conf_loss``, ``val/loss``,
``val/loc_loss``, ``val/conf_loss``, ``lr``, ``images_per_s``,
``skipped_steps``; the x axis is the step. The tensorboard package is imported
only when a :class:`TensorBoardLog` is made.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from ssd_ref.errors import ConfigError

#: history.csv column -> TensorBoard tag.
TAGS: dict[str, str] = {
    "loss": "train/loss",
    "loc_loss": "train/loc_loss",
    "conf_loss": "train/conf_loss",
    "val_loss": "val/loss",
    "val_loc_loss": "val/loc_loss",
    "val_conf_loss": "val/conf_loss",
    "lr": "lr",
    "images_per_s": "images_per_s",
    "skipped_steps": "skipped_steps",
}

INSTALL_HINT = (
    "TensorBoard logging needs the tensorboard package: pip install 'vocmap[tensorboard]'"
)


class TensorBoardLog:
    """Writes rows (``{column: value}``, with ``step``) to event files in ``log_dir``.

    ``purge_step``: a resumed run passes its start step, so that TensorBoard
    drops the events a previous attempt wrote after it (as history.csv does).
    """

    def __init__(self, log_dir: str | os.PathLike, purge_step: int | None = None) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(INSTALL_HINT) from None
        self.log_dir = Path(log_dir)
        self._writer = SummaryWriter(str(self.log_dir), purge_step=purge_step)

    def write(self, row: Mapping[str, object]) -> None:
        step = int(row["step"])  # type: ignore[arg-type]
        for column, tag in TAGS.items():
            value = row.get(column)
            if value is None or value == "":
                continue
            number = float(value)  # type: ignore[arg-type]
            if math.isfinite(number):
                self._writer.add_scalar(tag, number, step)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def export_history(rows: Iterable[Mapping[str, object]], log_dir: str | os.PathLike) -> int:
    """Write every row of a history.csv to ``log_dir``; returns the number of rows."""
    log = TensorBoardLog(log_dir)
    count = 0
    try:
        for row in rows:
            log.write(row)
            count += 1
    finally:
        log.close()
    return count
