"""From a loader's uint8 batch to the network's input, on the device."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import torch

from ssd_ref.config import RunConfig, SSDConfig
from ssd_ref.errors import DeviceError


def to_network_input(
    images: torch.Tensor,
    mean_bgr: tuple[float, float, float],
    device: torch.device | str,
    channels_last: bool = False,
) -> torch.Tensor:
    """``(B, H, W, 3)`` uint8 BGR -> ``(B, 3, H, W)`` float32 ``BGR - mean`` on ``device``.

    The permute of an NHWC tensor is already channels-last in memory; otherwise
    the result is made contiguous (NCHW).
    """
    images = images.to(device, non_blocking=True).permute(0, 3, 1, 2).float()
    images = (
        images
        - torch.tensor(mean_bgr, dtype=torch.float32, device=images.device)[None, :, None, None]
    )
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    return images.contiguous(memory_format=memory_format)


def resolve_device(device: str | torch.device | None, local_rank: int = 0) -> torch.device:
    """``None`` -> CUDA (this rank's GPU) when available, else CPU. A device this
    machine does not have is a :class:`DeviceError` (one line), not torch's assertion."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(
            f"--device {str(device)[:40]!r}: not a device (cpu, cuda, cuda:N)"
        ) from None
    if device.type not in ("cpu", "cuda"):
        raise DeviceError(f"--device {device}: ssd_ref runs on cpu or cuda")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"--device {device}: CUDA is not available here (torch {torch.__version__}, "
                f"{'built without CUDA' if torch.version.cuda is None else 'no GPU found'}); "
                "use --device cpu"
            )
        if device.index is None:
            device = torch.device("cuda", local_rank)
        if device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"--device {device}: this machine has {torch.cuda.device_count()} GPU(s)"
            )
    return device


def autocast_context(device: torch.device, config: SSDConfig):
    """bf16 autocast on CUDA when ``config.run.bf16``; nothing otherwise."""
    if device.type == "cuda" and config.run.bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _set_deterministic(mode: bool, compiling: bool) -> None:
    """``torch.use_deterministic_algorithms(mode)``, skipped when already so.

    That call also sets torch._inductor's ``deterministic`` flag, and to do so imports
    torch._inductor: 2.5 s on a CPU, in every process. Where nothing is compiled
    (``run.compile`` off, and inductor not loaded by anyone), the flag is unused and
    the eager switch alone is set (the same ``torch._C`` call the public one makes);
    otherwise, or on a torch without it, the public call.
    """
    if torch.are_deterministic_algorithms_enabled() == mode:
        return
    eager_only = not compiling and "torch._inductor.config" not in sys.modules
    if eager_only and hasattr(torch._C, "_set_deterministic_algorithms"):
        torch._C._set_deterministic_algorithms(mode, warn_only=False)
    else:
        torch.use_deterministic_algorithms(mode)


@contextlib.contextmanager
def numeric_settings(
    run: RunConfig, device: torch.device, cudnn_benchmark: bool | None = None
) -> Iterator[None]:
    """torch's global switches from the config for the duration, then restored.

    Everywhere: ``torch.use_deterministic_algorithms(run.deterministic)``. On a
    CPU: ``run.cpu_threads`` threads (unless 0). On CUDA also TF32 for matmuls and cuDNN convolutions (``run.allow_tf32``; off
    means true fp32, since torch enables TF32 in cuDNN by default) and cuDNN's
    autotuner (``run.cudnn_benchmark``, or ``cudnn_benchmark`` when given).
    """
    backends = torch.backends
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        backends.cudnn.benchmark,
        backends.cudnn.allow_tf32,
        backends.cuda.matmul.allow_tf32,
    )
    threads = torch.get_num_threads()
    _set_deterministic(run.deterministic, run.compile)
    if device.type == "cpu" and run.cpu_threads > 0:
        torch.set_num_threads(run.cpu_threads)
    if device.type == "cuda":
        backends.cudnn.benchmark = (
            run.cudnn_benchmark if cudnn_benchmark is None else cudnn_benchmark
        )
        backends.cudnn.allow_tf32 = run.allow_tf32
        backends.cuda.matmul.allow_tf32 = run.allow_tf32
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        _set_deterministic(saved[0], run.compile)
        backends.cudnn.benchmark = saved[1]
        backends.cudnn.allow_tf32 = saved[2]
        backends.cuda.matmul.allow_tf32 = saved[3]
