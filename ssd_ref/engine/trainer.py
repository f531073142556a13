"""The training loop: one process or one ``torchrun`` rank.

A step: build the batch (the data of step ``s`` depends only on the seed and
``s``), forward (bf16 autocast on CUDA), MultiBox loss normalised by the number
of positives over **all** ranks, then either an SGD update or, if the loss is
not finite on any rank, a skipped update counted in ``history.csv``. After
``max_consecutive_nonfinite`` skipped steps in a row the run stops with
:class:`NonFiniteLossError`, leaving the last checkpoint as it was.

Run folder: ``config.json``, ``history.csv``, ``checkpoints/step_XXXXXX.pt``.
"""

from __future__ import annotations

import functools
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

from ssd_ref.config import SSDConfig
from ssd_ref.data.datasets import TrainDataset, ValDataset, opencv_serial, seed_worker
from ssd_ref.data.samplers import StepBatchSampler
from ssd_ref.data.voc import VocDataset
from ssd_ref.engine.batches import autocast_context, resolve_device, to_network_input
from ssd_ref.modeling.loss import LossSums, multibox_loss
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
    all_reduce_min,
    all_reduce_sum,
    barrier,
    broadcast_buffers,
    init_distributed,
)
from ssd_ref.utils.history import HistoryLog
from vocmap.core.atomic import atomic_write_text

logger = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """Too many consecutive steps had a non-finite loss; the run stopped."""


@dataclass(frozen=True)
class TrainResult:
    """Where training stopped; ``model`` is this process's network (unwrapped)."""

    run_dir: Path
    step: int
    last_checkpoint: Path | None
    skipped_steps: int
    model: torch.nn.Module


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


@torch.no_grad()
def validation_loss(
    model: torch.nn.Module,
    loader: DataLoader,
    config: SSDConfig,
    device: torch.device,
    channels_last: bool,
) -> tuple[float, float, float]:
    """``(loss, loc_loss, conf_loss)`` over the whole validation set (all ranks),
    each sum divided by the set's total number of positives."""
    was_training = model.training
    model.eval()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for batch in loader:
        sums = loss_sums(model, batch, config, device, channels_last)
        totals += torch.stack([sums.loc_sum, sums.conf_sum, sums.num_pos]).double()
    all_reduce_sum(totals)
    model.train(was_training)
    loc_sum, conf_sum, num_pos = totals.tolist()
    count = max(1.0, num_pos)
    loc_loss, conf_loss = loc_sum / count, conf_sum / count
    return config.loss.loc_weight * loc_loss + conf_loss, loc_loss, conf_loss


def write_config(run_dir: Path, config: SSDConfig) -> None:
    """Save the resolved config; an existing, different one is an error (use a new folder)."""
    path = run_dir / "config.json"
    if path.exists():
        existing = SSDConfig.from_json(path.read_text(encoding="utf-8"))
        if existing != config:
            raise ValueError(f"{path} holds a different config; use another run folder or --resume")
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
    )


def train(
    config: SSDConfig,
    run_dir: str | os.PathLike,
    resume: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    stop_at: int | None = None,
) -> TrainResult:
    """Train (or resume) into ``run_dir``; returns when ``solver.max_iter`` (or ``stop_at``) is reached.

    ``resume``: a checkpoint path, or "auto" for the run folder's latest
    (starting fresh if there is none). A resumed run uses the checkpoint's config.
    ``stop_at``: stop early after this many steps, with a checkpoint (the
    schedule still follows ``max_iter``); for tests and interrupted jobs.
    torch's deterministic-algorithms switch is set from the config, and
    OpenCV's thread pool is off (:func:`opencv_serial`), for the duration of the
    call; both are restored afterwards.
    """
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    try:
        with opencv_serial():
            return _train(config, Path(run_dir), resume, device, stop_at)
    finally:
        torch.use_deterministic_algorithms(deterministic_before)


def _train(
    config: SSDConfig,
    run_dir: Path,
    resume: str | os.PathLike | None,
    device: str | torch.device | None,
    stop_at: int | None,
) -> TrainResult:
    checkpoint = None
    if resume == "auto":
        resume = latest_checkpoint(run_dir)
    if resume is not None:
        checkpoint = load_checkpoint(resume)
        config = SSDConfig.from_dict(checkpoint["config"])
    elif latest_checkpoint(run_dir) is not None:
        raise ValueError(f"{run_dir} already holds checkpoints; resume it or use another folder")
    device = resolve_device(device, int(os.environ.get("LOCAL_RANK", "0")))
    info = init_distributed(device.type)
    if config.solver.batch_size % info.world_size:
        raise ValueError(
            f"global batch {config.solver.batch_size} not divisible by {info.world_size} processes"
        )
    if config.data.voc_root is None:
        raise ValueError("config.data.voc_root is not set")
    torch.use_deterministic_algorithms(config.run.deterministic)
    channels_last = config.run.channels_last
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_config(run_dir, config)
    barrier()

    torch.manual_seed(config.run.seed)
    model = build_model(config, initialise_weights=checkpoint is None).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, config.solver)
    scheduler = build_scheduler(optimizer, config.solver)
    start, skipped = 0, 0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        restore_rng_state(checkpoint["rng"])
        start, skipped = int(checkpoint["step"]), int(checkpoint["skipped_steps"])
        logger.info("resumed from %s at step %d", resume, start)
    forward_model: torch.nn.Module = model
    if info.enabled:
        forward_model = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if config.run.compile and device.type == "cuda":
        forward_model = torch.compile(forward_model)

    priors = prior_boxes(config.model)
    root = Path(config.data.voc_root)
    train_voc = VocDataset(root, config.data.train_sets, config.data.classes)
    stop = config.solver.max_iter if stop_at is None else min(stop_at, config.solver.max_iter)
    pin = config.data.pin_memory and device.type == "cuda"
    loader = _train_loader(config, TrainDataset(train_voc, config, priors), start, stop, info, pin)
    val_loader = None
    if config.data.val_sets and config.run.val_every > 0:
        val_voc = VocDataset(
            root, config.data.val_sets, config.data.classes, config.data.val_max_images
        )
        val_loader = _val_loader(config, ValDataset(val_voc, config, priors), info, pin)

    history = HistoryLog(run_dir / "history.csv")
    if info.is_main:
        history.truncate_after(start)
    last_checkpoint = checkpoint_path(run_dir, start) if checkpoint is not None else None

    def save(step: int) -> Path:
        path = checkpoint_path(run_dir, step)
        broadcast_buffers(model)
        if info.is_main:
            save_checkpoint(
                path,
                {
                    "format": 1,
                    "step": step,
                    "config": config.to_dict(),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "sampler": loader.batch_sampler.state_dict(step),
                    "rng": capture_rng_state(),
                    "skipped_steps": skipped,
                    "world_size": info.world_size,
                },
            )
        barrier()
        return path

    interval = torch.zeros(4, dtype=torch.float64, device=device)  # loss, loc, conf, finite steps
    interval_steps, interval_start = 0, time.perf_counter()
    consecutive = 0
    step = start
    model.train()
    for batch in loader:
        lr = optimizer.param_groups[0]["lr"]
        sums = loss_sums(forward_model, batch, config, device, channels_last)
        num_pos = all_reduce_sum(sums.num_pos.detach().clone())
        normaliser = num_pos.clamp(min=1.0) / info.world_size
        loc_loss, conf_loss = sums.loc_sum / normaliser, sums.conf_sum / normaliser
        loss = config.loss.loc_weight * loc_loss + conf_loss
        parts = torch.stack([loss.detach(), loc_loss.detach(), conf_loss.detach()]).double()
        finite = all_reduce_min(torch.isfinite(parts).all().to(torch.int32)).item() == 1
        optimizer.zero_grad(set_to_none=True)
        if finite:
            loss.backward()
            optimizer.step()
            interval += torch.cat([parts / info.world_size, parts.new_ones(1)])
            consecutive = 0
        else:
            skipped += 1
            consecutive += 1
        with warnings.catch_warnings():
            # A skipped step still advances the schedule (it is a function of the step).
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
            scheduler.step()
        step += 1
        interval_steps += 1

        val = None
        if val_loader is not None and step % config.run.val_every == 0:
            broadcast_buffers(model)
            val = validation_loss(model, val_loader, config, device, channels_last)
        stopping = consecutive >= config.run.max_consecutive_nonfinite
        if step % config.run.log_every == 0 or val is not None or step == stop or stopping:
            totals = all_reduce_sum(interval.clone()).tolist()
            elapsed = time.perf_counter() - interval_start
            finite_steps = totals[3] / info.world_size
            means = [t / finite_steps if finite_steps else math.nan for t in totals[:3]]
            images_per_s = interval_steps * config.solver.batch_size / max(elapsed, 1e-9)
            if info.is_main:
                history.append(
                    step=step,
                    loss=means[0],
                    loc_loss=means[1],
                    conf_loss=means[2],
                    lr=lr,
                    images_per_s=round(images_per_s, 2),
                    val_loss=None if val is None else val[0],
                    val_loc_loss=None if val is None else val[1],
                    val_conf_loss=None if val is None else val[2],
                    skipped_steps=skipped,
                )
                logger.info(
                    "step %d loss %.4f (loc %.4f conf %.4f) lr %.2e %.1f img/s%s skipped %d",
                    step,
                    *means,
                    lr,
                    images_per_s,
                    "" if val is None else f" val {val[0]:.4f}",
                    skipped,
                )
            interval.zero_()
            interval_steps = 0
        if stopping:
            raise NonFiniteLossError(
                f"{consecutive} consecutive steps had a non-finite loss (last: step {step}); "
                f"stopped. The last good checkpoint is {last_checkpoint or 'none (none was written)'}."
            )
        if step % config.run.checkpoint_every == 0 or step == stop:
            if consecutive == 0:
                last_checkpoint = save(step)
            else:
                # Inside a run of non-finite losses: keep the last good checkpoint the latest.
                logger.warning("step %d: checkpoint not written (non-finite loss)", step)
        if interval_steps == 0:
            interval_start = time.perf_counter()

    broadcast_buffers(model)
    return TrainResult(run_dir, step, last_checkpoint, skipped, model)
