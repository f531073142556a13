"""From a loader's uint8 batch to the network's input, on the device."""

from __future__ import annotations

import contextlib

import torch

from ssd_ref.config import SSDConfig


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
    """``None`` -> CUDA (this rank's GPU) when available, else CPU."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


def autocast_context(device: torch.device, config: SSDConfig):
    """bf16 autocast on CUDA when ``config.run.bf16``; nothing otherwise."""
    if device.type == "cuda" and config.run.bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
