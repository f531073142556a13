"""The training log: mean losses per logging interval to history.csv, the log and TensorBoard."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import torch

from ssd_ref.config import SSDConfig
from ssd_ref.engine.step import StepResult
from ssd_ref.utils.distributed import DistInfo, all_reduce_sum
from ssd_ref.utils.progress import Progress
from vocmap.runs.history import HistoryLog

logger = logging.getLogger("ssd_ref.engine.trainer")


class IntervalLog:
    """The mean losses over the steps since the last row, written to history.csv,
    the log (with steps/s and ETA) and, with ``run.tensorboard``, TensorBoard."""

    def __init__(
        self,
        run_dir: Path,
        config: SSDConfig,
        info: DistInfo,
        device: torch.device,
        start: int,
        stop: int,
    ) -> None:
        self.config, self.info = config, info
        # loss, loc, conf summed over finite steps (divided by the world size), finite steps
        self.sums = torch.zeros(4, dtype=torch.float64, device=device)
        self.steps = 0
        self.began = time.perf_counter()
        self.history = HistoryLog(run_dir / "history.csv")
        self.tensorboard = None
        # The live line on a terminal; the log lines below carry the same figures.
        self.progress = Progress(
            stop, "step", "steps", start=start, enabled=info.is_main, log=False
        )
        if info.is_main:
            self.history.truncate_after(start)
            if config.run.tensorboard:
                from ssd_ref.utils.tensorboard_log import TensorBoardLog

                self.tensorboard = TensorBoardLog(run_dir / "tensorboard", purge_step=start + 1)

    def add(self, result: StepResult) -> None:
        if result.finite:
            self.sums += torch.cat([result.parts / self.info.world_size, result.parts.new_ones(1)])
        self.steps += 1

    def state(self) -> dict:
        """The open interval over all ranks, for a checkpoint (rank 0 resumes with it)."""
        return {"sums": all_reduce_sum(self.sums.clone()).cpu(), "steps": self.steps}

    def restore(self, state: dict) -> None:
        self.sums.copy_(state["sums"].to(self.sums.device))
        self.steps = int(state["steps"])

    def write(self, step: int, lr: float, skipped: int, val: tuple | None = None) -> None:
        totals = all_reduce_sum(self.sums.clone()).tolist()
        elapsed = time.perf_counter() - self.began
        finite_steps = totals[3] / self.info.world_size
        means = [t / finite_steps if finite_steps else math.nan for t in totals[:3]]
        images_per_s = self.steps * self.config.solver.batch_size / max(elapsed, 1e-9)
        row = {
            "step": step,
            "loss": means[0],
            "loc_loss": means[1],
            "conf_loss": means[2],
            "lr": lr,
            "images_per_s": round(images_per_s, 2),
            "val_loss": None if val is None else val[0],
            "val_loc_loss": None if val is None else val[1],
            "val_conf_loss": None if val is None else val[2],
            "skipped_steps": skipped,
        }
        if self.info.is_main:
            self.history.append(**row)
            if self.tensorboard is not None:
                self.tensorboard.write(row)
            self.progress.clear()
            logger.info(
                "%s: loss %.4f (loc %.4f conf %.4f) lr %.2e %.1f img/s%s skipped %d",
                self.progress.line(step), *means, lr, images_per_s,
                "" if val is None else f" val {val[0]:.4f}", skipped,
            )  # fmt: skip
        self.sums.zero_()
        self.steps = 0

    def first_step(self, step: int, loss: float) -> None:
        """A log line after the run's first step (not a history row)."""
        if self.info.is_main:
            self.progress.clear()
            logger.info("%s: first step done, loss %.4f", self.progress.line(step), loss)

    def restart_clock(self) -> None:
        self.began = time.perf_counter()

    def close(self) -> None:
        self.progress.close()
        if self.tensorboard is not None:
            self.tensorboard.close()
