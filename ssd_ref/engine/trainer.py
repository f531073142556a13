"""The training loop: one process or one ``torchrun`` rank.

A step (:func:`train_step`): the batch of step ``s`` (a function of the seed and
``s`` only), forward (bf16 autocast only when the config asks), MultiBox loss
normalised by the positives of the **global** batch (:func:`step_loss`), then an
SGD update or, if the loss is not finite on any rank, a skipped update counted
in ``history.csv``. After ``max_consecutive_nonfinite`` skipped steps in a row
the run stops with :class:`NonFiniteLossError`, leaving the last checkpoint as
it was. SIGTERM/SIGINT finish the step, write a checkpoint and raise
:class:`TrainingInterrupted`.

Run folder: ``config.json``, ``history.csv``, ``checkpoints/step_XXXXXX.pt``
(and ``tensorboard/`` with ``run.tensorboard``).

This module is the loop and its set-up; the parts it calls live beside it:
``step`` (one step, the network and solver), ``loaders`` (the DataLoaders),
``validation`` (the validation loss), ``interval_log`` (history.csv, log lines,
TensorBoard) and ``run_folder`` (resume, config.json, checkpoints).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ssd_ref.config import SSDConfig
from ssd_ref.data.batched_loader import BatchedLoader
from ssd_ref.data.datasets import TrainDataset, ValDataset, opencv_serial
from ssd_ref.data.voc import VocDataset
from ssd_ref.engine.batches import numeric_settings, resolve_device
from ssd_ref.engine.evaluation import TrainingEvaluation
from ssd_ref.engine.interval_log import IntervalLog
from ssd_ref.engine.loaders import batched_train_loader, train_loader, validation_loader
from ssd_ref.engine.run_folder import (
    CHECKPOINT_FORMAT,
    checkpoint_if_clean,
    resolve_resume,
    run_config,
    save_state,
    write_config,
)
from ssd_ref.engine.step import (
    Network,
    StepResult,
    build_network,
    loss_sums,
    step_loss,
    train_step,
)
from ssd_ref.engine.validation import validation_loss
from ssd_ref.errors import ConfigError
from ssd_ref.modeling.priors import prior_boxes
from ssd_ref.utils.checkpoint import checkpoint_path, restore_rng_state
from ssd_ref.utils.distributed import (
    DistInfo,
    barrier,
    broadcast_buffers,
    init_distributed,
    local_rank,
)
from ssd_ref.utils.stopping import StopSignals
from ssd_ref.weights import backbone_for_new_run
from vocmap.io.voc_root import devkit_folder

__all__ = [
    "CHECKPOINT_FORMAT",
    "Network",
    "NonFiniteLossError",
    "RunState",
    "StepResult",
    "TrainResult",
    "TrainingInterrupted",
    "build_network",
    "loss_sums",
    "resolve_resume",
    "run_loop",
    "save_state",
    "set_up",
    "step_loss",
    "train",
    "train_step",
    "validation_loss",
    "write_config",
]

logger = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """Too many consecutive steps had a non-finite loss; the run stopped."""


class TrainingInterrupted(RuntimeError):
    """A stop signal ended the run after a step; ``checkpoint`` resumes it."""

    def __init__(self, signal_name: str, step: int, checkpoint: Path | None) -> None:
        self.signal_name, self.step, self.checkpoint = signal_name, step, checkpoint
        where = checkpoint if checkpoint is not None else "none (inside a non-finite streak)"
        super().__init__(f"{signal_name}: stopped after step {step}; checkpoint {where}")


@dataclass(frozen=True)
class TrainResult:
    """Where training stopped; ``model`` is this process's network (unwrapped)."""

    run_dir: Path
    step: int
    last_checkpoint: Path | None
    skipped_steps: int
    model: torch.nn.Module


# --- set-up -----------------------------------------------------------------------


def _data_folder(config: SSDConfig) -> SSDConfig:
    """``data.voc_root`` as the absolute VOCdevkit folder holding the config's year
    folders; given one of those year folders, the folder above it."""
    if config.data.voc_root is None:
        return config
    sets = [*config.data.train_sets]
    if config.data.val_sets and config.run.val_every > 0:
        sets += config.data.val_sets
    root = devkit_folder(config.data.voc_root, [year for year, _ in sets]).resolve()
    return config.replace(data=dataclasses.replace(config.data, voc_root=str(root)))


@dataclass
class RunState:
    """Everything a run needs between steps."""

    config: SSDConfig
    run_dir: Path
    device: torch.device
    info: DistInfo
    network: Network
    loader: DataLoader | BatchedLoader
    val_loader: DataLoader | None
    start: int
    stop: int
    skipped: int
    last_checkpoint: Path | None
    interval: IntervalLog
    #: mAP every ``run.eval_every`` steps (None: off).
    evaluation: TrainingEvaluation | None = None


def set_up(
    config: SSDConfig,
    checkpoint: dict | None,
    run_dir: Path,
    device: torch.device,
    stop_at: int | None,
) -> RunState:
    """Join the process group, check the run folder, build the network, data and logs."""
    info = init_distributed(device.type)
    if config.solver.batch_size % info.world_size:
        raise ConfigError(
            f"global batch {config.solver.batch_size} not divisible by {info.world_size} processes"
        )
    if config.data.voc_root is None:
        raise ConfigError("config.data.voc_root is not set (give --voc-root)")
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_config(run_dir, config)
    barrier()

    network = build_network(config, device, info, checkpoint)
    start, skipped = 0, 0
    if checkpoint is not None:
        restore_rng_state(checkpoint["rng"])
        start, skipped = int(checkpoint["step"]), int(checkpoint["skipped_steps"])
    stop = config.solver.max_iter if stop_at is None else min(stop_at, config.solver.max_iter)

    priors = prior_boxes(config.model)
    root = Path(config.data.voc_root)
    pin = config.data.pin_memory and device.type == "cuda"
    train_voc = VocDataset(root, config.data.train_sets, config.data.classes)
    if config.data.pipeline == "batched":
        loader = batched_train_loader(config, train_voc, priors, start, stop, info, device)
    else:
        loader = train_loader(
            config, TrainDataset(train_voc, config, priors), start, stop, info, pin
        )
    val_loader = None
    if config.data.val_sets and config.run.val_every > 0:
        val_voc = VocDataset(
            root, config.data.val_sets, config.data.classes, config.data.val_max_images
        )
        val_loader = validation_loader(config, ValDataset(val_voc, config, priors), info, pin)

    evaluation = None
    if config.run.eval_every > 0 and config.data.val_sets:
        if config.run.eval_every > config.solver.max_iter:
            logger.warning("run.eval_every %d is more than the run's %d steps: no mAP during "
                           "training", config.run.eval_every, config.solver.max_iter)  # fmt: skip
        else:
            evaluation = TrainingEvaluation(config, run_dir, info)

    interval = IntervalLog(run_dir, config, info, device, start, stop)
    if checkpoint is not None and info.is_main and "interval" in checkpoint:
        interval.restore(checkpoint["interval"])
    last = checkpoint_path(run_dir, start) if checkpoint is not None else None
    return RunState(
        config, run_dir, device, info, network, loader, val_loader, start, stop, skipped, last,
        interval, evaluation,
    )  # fmt: skip


# --- the loop -----------------------------------------------------------------------


def run_loop(state: RunState, signals: StopSignals) -> TrainResult:
    """Train from ``state.start`` to ``state.stop``."""
    config, run = state.config, state.config.run
    network, interval = state.network, state.interval
    consecutive, step = 0, state.start
    network.model.train()
    for batch in state.loader:
        lr = network.optimizer.param_groups[0]["lr"]
        result = train_step(
            network, batch, config, state.device, state.info.world_size,
            stop_requested=signals.received is not None,
        )  # fmt: skip
        step += 1
        consecutive = 0 if result.finite else consecutive + 1
        state.skipped += 0 if result.finite else 1
        interval.add(result)
        if result.stop:  # the row this step owes, then a checkpoint (with any open interval)
            if step % run.log_every == 0 or step == state.stop:
                interval.write(step, lr, state.skipped)
            checkpoint_if_clean(state, step, consecutive)
            name = signals.received.name if signals.received is not None else "stop signal"
            raise TrainingInterrupted(name, step, state.last_checkpoint)
        val = None
        if state.val_loader is not None and step % run.val_every == 0:
            broadcast_buffers(network.model)
            val = validation_loss(network.model, state.val_loader, config, state.device)
        if state.evaluation is not None and step % run.eval_every == 0:
            broadcast_buffers(network.model)
            state.evaluation(network.model, step, state.device)
        failing = consecutive >= run.max_consecutive_nonfinite
        logged = step % run.log_every == 0 or val is not None or step == state.stop or failing
        if logged:
            interval.write(step, lr, state.skipped, val)
        if failing:
            raise NonFiniteLossError(
                f"{consecutive} consecutive steps had a non-finite loss (last: step {step}); "
                f"stopped. The last good checkpoint is "
                f"{state.last_checkpoint or 'none (none was written)'}."
            )
        if step % run.checkpoint_every == 0 or step == state.stop:
            checkpoint_if_clean(state, step, consecutive)
        if logged:
            interval.restart_clock()
        elif step == state.start + 1:  # a first sign of life, long before the first row
            interval.first_step(step, float(result.parts[0]))
        interval.progress.update(step, f"loss {float(result.parts[0]):.3f}")
    broadcast_buffers(network.model)
    return TrainResult(state.run_dir, step, state.last_checkpoint, state.skipped, network.model)


def train(
    config: SSDConfig | None,
    run_dir: str | os.PathLike,
    resume: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    stop_at: int | None = None,
) -> TrainResult:
    """Train (or resume) into ``run_dir``; returns when ``solver.max_iter`` (or ``stop_at``) is reached.

    ``resume``: a checkpoint path, or "auto" for the run folder's latest
    (starting fresh with ``config`` if there is none; ``config`` may be None
    only when resuming). A resumed run uses the checkpoint's config.
    ``stop_at``: stop early after this many steps, with a checkpoint (the
    schedule still follows ``max_iter``); for tests and interrupted jobs.
    SIGTERM/SIGINT (in the main thread) end the run after the current step
    with a checkpoint: :class:`TrainingInterrupted`. torch's deterministic and
    TF32/cuDNN switches are set from the config, OpenCV's thread pool is off
    (:func:`opencv_serial`) and the signal handlers are installed for the
    duration of the call; all are restored afterwards.
    """
    run_dir = Path(run_dir)
    config, checkpoint = run_config(config, run_dir, resume)
    if checkpoint is None:  # a new run: weights (or from scratch on purpose), the data
        config = _data_folder(backbone_for_new_run(config))
    device = resolve_device(device, local_rank())
    with opencv_serial(), StopSignals() as signals, numeric_settings(config.run, device):
        state = set_up(config, checkpoint, run_dir, device, stop_at)
        if state.info.is_main:
            logger.info(
                "%s %s: steps %d..%d, batch %d, %d training images, on %s%s; a line every "
                "%d steps",
                "resuming" if checkpoint is not None else "training", run_dir,
                state.start + 1, state.stop, config.solver.batch_size, len(state.loader.dataset),
                device, f" ({torch.get_num_threads()} thread(s))" if device.type == "cpu" else "",
                config.run.log_every,
            )  # fmt: skip
        try:
            return run_loop(state, signals)
        finally:
            state.interval.close()
