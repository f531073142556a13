"""The run folder: which checkpoint to start from, config.json, writing checkpoints."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ssd_ref.config import SSDConfig, saved_config
from ssd_ref.errors import RunFolderError
from ssd_ref.utils.checkpoint import (
    RESUME_KEYS,
    capture_rng_state,
    checkpoint_config,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from ssd_ref.utils.distributed import barrier, broadcast_buffers
from vocmap.core.atomic import atomic_write_text

if TYPE_CHECKING:
    from ssd_ref.engine.trainer import RunState

logger = logging.getLogger("ssd_ref.engine.trainer")

#: Checkpoint layout version (2: adds the open logging interval).
CHECKPOINT_FORMAT = 2


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


def run_config(
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
    checkpoint = load_checkpoint(path, required=RESUME_KEYS)
    saved = checkpoint_config(checkpoint, path)
    if config is not None and config != saved:
        logger.warning(
            "resuming %s: the run keeps its saved config (the one given is ignored)", path
        )
    logger.info("resuming from %s at step %d", path, int(checkpoint["step"]))
    return saved, checkpoint


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


def checkpoint_if_clean(state: RunState, step: int, consecutive: int) -> None:
    """Save unless inside a run of non-finite losses (the last good one stays the latest)."""
    if consecutive == 0:
        state.last_checkpoint = save_state(state, step)
    else:
        logger.warning("step %d: checkpoint not written (non-finite loss)", step)
