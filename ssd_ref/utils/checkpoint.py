"""Full-state checkpoints, written atomically, readable with ``weights_only=True``.

A checkpoint is ``<run_dir>/checkpoints/step_XXXXXX.pt`` (the number of updates
done, six digits) holding: ``step``, ``config`` (as a dict), ``model``,
``optimizer``, ``scheduler``, ``sampler`` (what rebuilds the data order),
``rng`` (python, numpy, torch, CUDA generator states), ``skipped_steps`` and
``world_size``. It is written to a temporary file in the same folder, flushed
to disk and renamed over the target, so a reader sees the old file or the
whole new one, never a part.
"""

from __future__ import annotations

import contextlib
import os
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ssd_ref.config import SSDConfig, saved_config
from ssd_ref.errors import CheckpointError, ConfigError
from vocmap.core.atomic import atomic_open
from vocmap.runs.contract import RunFolder


def checkpoint_name(step: int) -> str:
    """``step_000100.pt`` (the run-folder contract's step name)."""
    return RunFolder(Path(".")).checkpoint_path(step).name


def checkpoint_path(run_dir: str | os.PathLike, step: int) -> Path:
    return RunFolder(Path(run_dir)).checkpoint_path(step)


def list_checkpoints(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, path)`` of every checkpoint in the run folder, by step."""
    return list(RunFolder(Path(run_dir)).checkpoints().items())


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    checkpoints = list_checkpoints(run_dir)
    return checkpoints[-1][1] if checkpoints else None


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename it to ``path``."""
    target = Path(path)
    with atomic_open(target, "wb", durable=True) as handle:
        torch.save(state, handle)
    return target


def safe_load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load`` with ``weights_only=True`` (tensors and plain values only; a
    pickle that would import a class or call a function is refused), torch's
    warnings about odd pickle protocols silenced (the error says what went wrong)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.load(path, map_location=map_location, weights_only=True)


def unreadable_reason(error: BaseException) -> str:
    """Why ``torch.load(..., weights_only=True)`` failed, in words."""
    text = str(error)
    lower = text.lower()
    if "weights only load failed" in lower:
        if "global" in lower:  # a class or function to import: code would run
            return (
                "refused: it holds Python objects beyond tensors and plain values (loading "
                "it could run code); not an ssd_ref checkpoint"
            )
        return "not a readable checkpoint (truncated, or another kind of file)"
    first = (text.strip().splitlines() or [""])[0]
    first = first if len(first) <= 80 else first[:77] + "..."
    return f"not a readable checkpoint (truncated, or another kind of file: {first})"


#: What every ssd_ref checkpoint holds; resuming needs the rest of the state too.
DETECT_KEYS: tuple[str, ...] = ("step", "config", "model")
RESUME_KEYS: tuple[str, ...] = (
    *DETECT_KEYS, "optimizer", "scheduler", "rng", "skipped_steps"
)  # fmt: skip


def load_checkpoint(
    path: str | os.PathLike,
    map_location: str | torch.device = "cpu",
    required: tuple[str, ...] = DETECT_KEYS,
) -> dict:
    """Read a checkpoint with ``weights_only=True`` (a pickle that would run code is
    refused) and check that it holds ``required``. A file that is missing, empty,
    truncated, of another kind, or lacks a key is a :class:`CheckpointError` naming it.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file (a checkpoint was expected)")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty checkpoint (0 bytes)")
    try:
        state = safe_load(path, map_location)
    except Exception as error:  # torch's unpickler raises many kinds on a bad file
        raise CheckpointError(f"{path}: {unreadable_reason(error)}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not an ssd_ref checkpoint (a {type(state).__name__})")
    missing = [key for key in required if key not in state]
    if missing:
        raise CheckpointError(f"{path}: not an ssd_ref checkpoint (no {', '.join(missing)})")
    step = state.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(f"{path}: its step is not a whole number >= 0")
    return state


def checkpoint_config(checkpoint: dict, path: str | os.PathLike) -> SSDConfig:
    """The config a checkpoint saved, a :class:`CheckpointError` naming the file if unusable."""
    try:
        return saved_config(checkpoint["config"])
    except ConfigError as error:
        raise CheckpointError(f"{path}: its saved config is unusable ({error})") from None


def capture_rng_state() -> dict[str, Any]:
    """The global generators' states, as tensors and plain values."""
    version, internal, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss"]))
    numpy = state["numpy"]
    np.random.set_state(
        (
            numpy["kind"],
            numpy["keys"].numpy().astype(np.uint32),
            numpy["position"],
            numpy["has_gauss"],
            numpy["cached"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        with contextlib.suppress(RuntimeError, IndexError):
            torch.cuda.set_rng_state_all(state["cuda"])
