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
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ssd_ref.config import SSDConfig, saved_config
from ssd_ref.data.datasets import TrainDataset, ValDataset, opencv_serial, seed_worker
from ssd_ref.data.samplers import StepBatchSampler
from ssd_ref.data.voc import VocDataset
from ssd_ref.engine.batches import (
    autocast_context,
    numeric_settings,
    resolve_device,
    to_network_input,
)
from ssd_ref.errors import ConfigError, RunFolderError
from ssd_ref.modeling.loss import LossParts, LossSums, multibox_loss, normalise
from ssd_ref.modeling.priors import prior_boxes
from ssd_ref.modeling.ssd import build_model
from ssd_ref.solver import build_optimizer, build_scheduler
from ssd_ref.utils.checkpoint import (
    capture_rng_state,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from ssd_ref.utils.distributed import (
    DistInfo,
    all_reduce_max,
    all_reduce_sum,
    barrier,
    broadcast_buffers,
    init_distributed,
)
from ssd_ref.utils.progress import Progress
from ssd_ref.utils.stopping import StopSignals
from vocmap.core.atomic import atomic_write_text
from vocmap.runs.history import HistoryLog

logger = logging.getLogger(__name__)

#: Checkpoint layout version (2: adds the open logging interval).
CHECKPOINT_FORMAT = 2


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


# --- the step -----------------------------------------------------------------------


def loss_sums(
    model: torch.nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    config: SSDConfig,
    device: torch.device,
    channels_last: bool,
) -> LossSums:
    """Forward one batch ``(images uint8 (B,S,S,3), loc_target, labels)`` -> loss sums."""
    images, loc_target, labels = batch
    inputs = to_network_input(images, config.data.pixel_mean_bgr, device, channels_last)
    with autocast_context(device, config):
        loc, conf = model(inputs)
    return multibox_loss(
        loc,
        conf,
        loc_target.to(device, non_blocking=True),
        labels.to(device, non_blocking=True),
        config.loss.neg_pos_ratio,
    )


def step_loss(
    model: torch.nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    config: SSDConfig,
    device: torch.device,
    world_size: int = 1,
) -> LossParts:
    """This rank's loss for one batch, divided by the positives of the global batch."""
    sums = loss_sums(model, batch, config, device, config.run.channels_last)
    total_positives = all_reduce_sum(sums.num_pos.detach().clone())
    return normalise(sums, config.loss.loc_weight, total_positives, world_size)


@dataclass
class Network:
    """The model (unwrapped), what the forward pass calls (DDP, compiled), the solver."""

    model: torch.nn.Module
    forward: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR


def build_network(
    config: SSDConfig, device: torch.device, info: DistInfo, checkpoint: dict | None = None
) -> Network:
    """The model, SGD and schedule of ``config`` on ``device``, from ``checkpoint`` if given."""
    torch.manual_seed(config.run.seed)
    model = build_model(config, initialise_weights=checkpoint is None).to(device)
    if config.run.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, config.solver)
    scheduler = build_scheduler(optimizer, config.solver)
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
    forward: torch.nn.Module = model
    if info.enabled:
        forward = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if config.run.compile and device.type == "cuda":
        forward = torch.compile(forward)
    return Network(model, forward, optimizer, scheduler)


@dataclass(frozen=True)
class StepResult:
    """``parts``: this rank's ``(loss, loc_loss, conf_loss)`` (float64, detached);
    ``finite``: on every rank; ``stop``: a stop signal reached some rank."""

    parts: torch.Tensor
    finite: bool
    stop: bool


def train_step(
    network: Network,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    config: SSDConfig,
    device: torch.device,
    world_size: int = 1,
    stop_requested: bool = False,
) -> StepResult:
    """One step: loss, all ranks agree whether it is finite (and whether to stop),
    then the update (skipped if not finite); the schedule advances either way."""
    parts = step_loss(network.forward, batch, config, device, world_size)
    stacked = torch.stack([p.detach() for p in parts]).double()
    flags = torch.stack(
        [
            (~torch.isfinite(stacked).all()).to(torch.int32),
            torch.tensor(int(stop_requested), dtype=torch.int32, device=stacked.device),
        ]
    )
    nonfinite, stop = all_reduce_max(flags).tolist()
    network.optimizer.zero_grad(set_to_none=True)
    if not nonfinite:
        parts.loss.backward()
        network.optimizer.step()
    with warnings.catch_warnings():
        # A skipped step still advances the schedule (it is a function of the step).
        warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
        network.scheduler.step()
    return StepResult(stacked, not nonfinite, bool(stop))


@torch.no_grad()
def validation_loss(
    model: torch.nn.Module, loader: DataLoader, config: SSDConfig, device: torch.device
) -> tuple[float, float, float]:
    """``(loss, loc_loss, conf_loss)`` over the whole validation set (all ranks),
    each sum divided by the set's total number of positives."""
    was_training = model.training
    model.eval()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for batch in loader:
        sums = loss_sums(model, batch, config, device, config.run.channels_last)
        totals += torch.stack([sums.loc_sum, sums.conf_sum, sums.num_pos]).double()
    all_reduce_sum(totals)
    model.train(was_training)
    parts = normalise(LossSums(*totals), config.loss.loc_weight)
    return tuple(float(p) for p in parts)  # type: ignore[return-value]


# --- set-up -------------------------------------------------------------------------


def resolve_resume(run_dir: Path, resume: str | os.PathLike | None) -> Path | None:
    """The checkpoint to resume from: None (a new run), "auto" (the run folder's
    latest, None if it has none) or a path (which must exist)."""
    if resume is None:
        return None
    if str(resume) == "auto":
        return latest_checkpoint(run_dir)
    path = Path(resume)
    if not path.is_file():
        raise RunFolderError(f"no checkpoint at {path}")
    return path


def write_config(run_dir: Path, config: SSDConfig) -> None:
    """Save the resolved config; an existing, different one is an error (use a new folder)."""
    path = run_dir / "config.json"
    if path.exists():
        existing = saved_config(json.loads(path.read_text(encoding="utf-8")))
        if existing != config:
            raise RunFolderError(
                f"{path} holds a different config; use another run folder or --resume"
            )
        return
    atomic_write_text(path, config.to_json())


def _train_loader(
    config: SSDConfig, dataset: TrainDataset, start: int, stop: int, info: DistInfo, pin: bool
) -> DataLoader:
    sampler = StepBatchSampler(
        len(dataset),
        config.solver.batch_size,
        config.run.seed,
        start,
        stop,
        world_size=info.world_size,
        rank=info.rank,
        epoch_order=config.data.epoch_order,
    )
    workers = config.data.num_workers
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        pin_memory=pin,
        worker_init_fn=functools.partial(seed_worker, seed=config.run.seed, start_step=start),
        prefetch_factor=4 if workers > 0 else None,
        persistent_workers=False,
    )


def _val_loader(config: SSDConfig, dataset: ValDataset, info: DistInfo, pin: bool) -> DataLoader:
    indices = list(range(info.rank, len(dataset), info.world_size))
    per_rank = max(1, config.solver.batch_size // info.world_size)
    return DataLoader(
        torch.utils.data.Subset(dataset, indices),
        batch_size=per_rank,
        shuffle=False,
        num_workers=config.data.num_workers,
        pin_memory=pin,
        worker_init_fn=functools.partial(seed_worker, seed=config.run.seed, start_step=0),
    )


@dataclass
class RunState:
    """Everything a run needs between steps."""

    config: SSDConfig
    run_dir: Path
    device: torch.device
    info: DistInfo
    network: Network
    loader: DataLoader
    val_loader: DataLoader | None
    start: int
    stop: int
    skipped: int
    last_checkpoint: Path | None
    interval: IntervalLog


def _run_config(
    config: SSDConfig | None, run_dir: Path, resume: str | os.PathLike | None
) -> tuple[SSDConfig, dict | None]:
    """The config to run with and the checkpoint to start from (None: a new run)."""
    path = resolve_resume(run_dir, resume)
    if path is None:
        if config is None:
            raise RunFolderError(f"nothing to resume in {run_dir} (and no config for a new run)")
        if latest_checkpoint(run_dir) is not None:
            raise RunFolderError(
                f"{run_dir} already holds checkpoints; resume it or use another folder"
            )
        return config, None
    checkpoint = load_checkpoint(path)
    saved = saved_config(checkpoint["config"])
    if config is not None and config != saved:
        logger.warning(
            "resuming %s: the run keeps its saved config (the one given is ignored)", path
        )
    logger.info("resuming from %s at step %d", path, int(checkpoint["step"]))
    return saved, checkpoint


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
    loader = _train_loader(config, TrainDataset(train_voc, config, priors), start, stop, info, pin)
    val_loader = None
    if config.data.val_sets and config.run.val_every > 0:
        val_voc = VocDataset(
            root, config.data.val_sets, config.data.classes, config.data.val_max_images
        )
        val_loader = _val_loader(config, ValDataset(val_voc, config, priors), info, pin)

    interval = IntervalLog(run_dir, config, info, device, start, stop)
    if checkpoint is not None and info.is_main and "interval" in checkpoint:
        interval.restore(checkpoint["interval"])
    last = checkpoint_path(run_dir, start) if checkpoint is not None else None
    return RunState(
        config, run_dir, device, info, network, loader, val_loader, start, stop, skipped, last,
        interval,
    )  # fmt: skip


# --- logging ------------------------------------------------------------------------


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

    def restart_clock(self) -> None:
        self.began = time.perf_counter()

    def close(self) -> None:
        self.progress.close()
        if self.tensorboard is not None:
            self.tensorboard.close()


# --- checkpoints --------------------------------------------------------------------


def save_state(state: RunState, step: int) -> Path:
    """Write ``checkpoints/step_XXXXXX.pt`` (rank 0, all ranks' buffers made equal first)."""
    path = checkpoint_path(state.run_dir, step)
    network = state.network
    broadcast_buffers(network.model)
    interval = state.interval.state()
    if state.info.is_main:
        save_checkpoint(
            path,
            {
                "format": CHECKPOINT_FORMAT,
                "step": step,
                "config": state.config.to_dict(),
                "model": network.model.state_dict(),
                "optimizer": network.optimizer.state_dict(),
                "scheduler": network.scheduler.state_dict(),
                "sampler": state.loader.batch_sampler.state_dict(step),
                "rng": capture_rng_state(),
                "skipped_steps": state.skipped,
                "world_size": state.info.world_size,
                "interval": interval,
            },
        )
    barrier()
    return path


def _checkpoint_if_clean(state: RunState, step: int, consecutive: int) -> None:
    """Save unless inside a run of non-finite losses (the last good one stays the latest)."""
    if consecutive == 0:
        state.last_checkpoint = save_state(state, step)
    else:
        logger.warning("step %d: checkpoint not written (non-finite loss)", step)


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
            _checkpoint_if_clean(state, step, consecutive)
            name = signals.received.name if signals.received is not None else "stop signal"
            raise TrainingInterrupted(name, step, state.last_checkpoint)
        val = None
        if state.val_loader is not None and step % run.val_every == 0:
            broadcast_buffers(network.model)
            val = validation_loss(network.model, state.val_loader, config, state.device)
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
            _checkpoint_if_clean(state, step, consecutive)
        if logged:
            interval.restart_clock()
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
    config, checkpoint = _run_config(config, run_dir, resume)
    device = resolve_device(device, int(os.environ.get("LOCAL_RANK", "0")))
    with opencv_serial(), StopSignals() as signals, numeric_settings(config.run, device):
        state = set_up(config, checkpoint, run_dir, device, stop_at)
        try:
            return run_loop(state, signals)
        finally:
            state.interval.close()
