"""Caffe SSD's training augmentation as batched torch ops (the ``batched`` pipeline).

The same steps and laws as :mod:`ssd_ref.data.transforms` (the CPU path), for a
whole batch at once:

* :func:`draw_geometry` (CPU tensors, boxes only, no pixels): expansion (ratio,
  offset), Caffe's batch samplers (every sampler's trials at once, each emitting
  its first ``max_sample`` trials that satisfy it), one emitted crop chosen
  uniformly, the interpolation and the flip; the boxes that survive, as the CPU
  path's :func:`~ssd_ref.data.transforms.crop` keeps them.
* :func:`draw_photometric` and :func:`distort`: brightness, contrast, saturation
  and hue as per-image lookup tables, in either of Caffe's two orders, on uint8
  pixels (on the training device); the 8-bit HSV conversions are the CPU path's
  (:mod:`ssd_ref.data.hsv`) as tables of all 2^24 colours (:func:`hsv_tables`,
  96 MB per device).
* :func:`warp`: expansion with the mean, the crop and the 300x300 resize with the
  drawn interpolation (OpenCV's coordinate rules and kernels: nearest, linear,
  cubic, area, Lanczos-4) as two resampling matrices per image,
  ``mean + Ry @ (image - mean) @ Rx^T``, and the flip as a reversed ``Rx``.

The departure from the CPU path: no JPEG re-encoding between the steps (Caffe's
``EncodeCVMatToDatum``); see the departures table in ssd_ref/README.md.

Images are BGR uint8 ``(H, W, 3)``; boxes normalised corners ``(N, 4)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ssd_ref.config import AugmentConfig, SamplerConfig

# --- photometric distortion ------------------------------------------------------


@dataclass(frozen=True)
class Photometric:
    """One batch's colour draws as lookup tables ``(B, 256)`` uint8 (identity where the
    step was not drawn); ``saturate``/``hue``: whether the HSV step happens;
    ``contrast_first``: Caffe's first order (contrast before saturation)."""

    brightness: torch.Tensor
    contrast: torch.Tensor
    saturation: torch.Tensor
    hue: torch.Tensor
    saturate: torch.Tensor
    shift_hue: torch.Tensor
    contrast_first: torch.Tensor

    def to(self, device: torch.device | str) -> Photometric:
        return Photometric(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def affine_tables(apply: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """OpenCV ``convertTo(alpha, beta)`` on uint8 as tables ``(B, 256)``: round half to
    even, saturate; the identity where ``apply`` is False."""
    values = torch.arange(256, dtype=torch.float64)
    table = torch.clamp(torch.round(values[None] * alpha[:, None] + beta[:, None]), 0, 255)
    table = torch.where(apply[:, None], table, values[None])
    return table.to(torch.uint8)


def _uniform(generator: torch.Generator, count: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(count, generator=generator, dtype=torch.float64)


def draw_photometric(generator: torch.Generator, count: int, cfg: AugmentConfig) -> Photometric:
    """Caffe ApplyDistort's draws for ``count`` images (CPU tensors)."""

    def coin(prob: float) -> torch.Tensor:
        return torch.rand(count, generator=generator, dtype=torch.float64) < prob

    zero, one = torch.zeros(count, dtype=torch.float64), torch.ones(count, dtype=torch.float64)
    bright = coin(cfg.brightness_prob)
    delta = _uniform(generator, count, -cfg.brightness_delta, cfg.brightness_delta)
    contrast_first = torch.rand(count, generator=generator, dtype=torch.float64) > 0.5
    contrast = coin(cfg.contrast_prob)
    contrast_alpha = _uniform(generator, count, cfg.contrast_lower, cfg.contrast_upper)
    saturate = coin(cfg.saturation_prob)
    saturation_alpha = _uniform(generator, count, cfg.saturation_lower, cfg.saturation_upper)
    hue = coin(cfg.hue_prob)
    hue_delta = _uniform(generator, count, -cfg.hue_delta, cfg.hue_delta)
    return Photometric(
        brightness=affine_tables(bright, one, delta),
        contrast=affine_tables(contrast, contrast_alpha, zero),
        saturation=affine_tables(saturate, saturation_alpha, zero),
        hue=affine_tables(hue, one, hue_delta),
        saturate=saturate,
        shift_hue=hue,
        contrast_first=contrast_first,
    )


def _lookup(images: torch.Tensor, tables: torch.Tensor) -> torch.Tensor:
    """``images (B, ...)`` uint8 through per-image ``tables (B, 256)``."""
    flat = images.reshape(images.shape[0], -1).long()
    return torch.gather(tables, 1, flat).reshape(images.shape).to(torch.uint8)


#: OpenCV's 8-bit BGR<->HSV conversions as tables over all 2^24 colours, per device.
_HSV_TABLES: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}


def hsv_tables(device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(bgr_to_hsv, hsv_to_bgr)``, each ``(2^24, 3)`` uint8 indexed by
    ``c0 << 16 | c1 << 8 | c2``: the CPU path's own conversions
    (:mod:`ssd_ref.data.hsv`, OpenCV 4.x's bytes) applied once to every colour, so
    the batched path converts exactly as the CPU path does."""
    key = str(torch.device(device))
    if key not in _HSV_TABLES:
        from ssd_ref.data.hsv import bgr_to_hsv, hsv_to_bgr

        every = np.arange(1 << 24, dtype=np.uint32)
        colours = np.stack([every >> 16, (every >> 8) & 255, every & 255], axis=1)
        colours = colours.astype(np.uint8).reshape(4096, 4096, 3)
        forward = np.ascontiguousarray(bgr_to_hsv(colours)).reshape(-1, 3)
        backward = np.ascontiguousarray(hsv_to_bgr(colours)).reshape(-1, 3)
        _HSV_TABLES[key] = (
            torch.from_numpy(forward).to(device),
            torch.from_numpy(backward).to(device),
        )
    return _HSV_TABLES[key]


def _convert(images: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Pixels ``(..., 3)`` uint8 through a 2^24-colour table."""
    c = images.int()
    index = (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]
    return table[index.reshape(-1).long()].reshape(images.shape)


def _hsv_step(images: torch.Tensor, tables: torch.Tensor, channel: int, on: torch.Tensor):
    """One HSV channel through ``tables`` for the images where ``on`` (Caffe converts
    to HSV and back only then); the others as they were."""
    rows = on.nonzero().flatten()
    if rows.numel() == 0:
        return images
    to_hsv, to_bgr = hsv_tables(images.device)
    hsv = _convert(images[rows], to_hsv)
    changed = _lookup(hsv[..., channel].contiguous(), tables[rows])
    hsv = torch.cat([hsv[..., :channel], changed[..., None], hsv[..., channel + 1 :]], dim=-1)
    out = images.clone()
    out[rows] = _convert(hsv, to_bgr)
    return out


def distort(images: torch.Tensor, draws: Photometric) -> torch.Tensor:
    """Caffe's photometric distortion of ``images (B, H, W, 3)`` uint8 with ``draws``
    (on the images' device): brightness, then contrast-saturation-hue or
    saturation-hue-contrast."""
    identity = torch.arange(256, dtype=torch.uint8, device=images.device)
    first = draws.contrast_first[:, None]
    # contrast in place 1 or 4: the table there, the identity in the other place
    images = _lookup(images, draws.brightness)
    images = _lookup(images, torch.where(first, draws.contrast, identity))
    images = _hsv_step(images, draws.saturation, 1, draws.saturate)
    images = _hsv_step(images, draws.hue, 0, draws.shift_hue)
    return _lookup(images, torch.where(first, identity, draws.contrast))


# --- geometry: expansion, batch samplers, crop, flip ------------------------------


@dataclass(frozen=True)
class Geometry:
    """One batch's geometric draws (CPU tensors, ``B`` rows).

    ``offset (B, 2)``: the image's top-left ``(x, y)`` in the expanded canvas;
    ``crop (B, 4)``: the crop in canvas pixels ``(x0, y0, width, height)``;
    ``interpolation (B,)``: an index into ``AugmentConfig.interpolations``;
    ``flip (B,)``; ``boxes``/``labels``: what each image keeps, in the output frame.
    """

    offset: torch.Tensor
    crop: torch.Tensor
    interpolation: torch.Tensor
    flip: torch.Tensor
    boxes: list[torch.Tensor]
    labels: list[torch.Tensor]


def jaccard(crops: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """IoU of ``crops (B, T, 4)`` with ``boxes (B, N, 4)`` -> ``(B, T, N)`` (no "+1")."""
    top_left = torch.maximum(crops[:, :, None, :2], boxes[:, None, :, :2])
    bottom_right = torch.minimum(crops[:, :, None, 2:], boxes[:, None, :, 2:])
    inter_wh = (bottom_right - top_left).clamp(min=0)
    inter = inter_wh[..., 0] * inter_wh[..., 1]
    crop_wh = (crops[..., 2:] - crops[..., :2]).clamp(min=0)
    box_wh = (boxes[..., 2:] - boxes[..., :2]).clamp(min=0)
    union = (
        (crop_wh[..., 0] * crop_wh[..., 1])[:, :, None]
        + (box_wh[..., 0] * box_wh[..., 1])[:, None, :]
        - inter
    )
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def sample_trials(generator: torch.Generator, sampler: SamplerConfig, count: int) -> torch.Tensor:
    """``(count, max_trials, 4)`` draws of Caffe SampleBBox (see
    :func:`ssd_ref.data.transforms.sample_boxes`)."""
    shape = (count, sampler.max_trials)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)

    scale = uniform(sampler.min_scale, sampler.max_scale)
    aspect = uniform(sampler.min_aspect_ratio, sampler.max_aspect_ratio)
    aspect = torch.minimum(torch.maximum(aspect, scale**2), 1.0 / scale**2)
    width = torch.clamp(scale * torch.sqrt(aspect), max=1.0)
    height = torch.clamp(scale / torch.sqrt(aspect), max=1.0)
    x0 = uniform(0.0, 1.0) * (1.0 - width)
    y0 = uniform(0.0, 1.0) * (1.0 - height)
    return torch.stack([x0, y0, x0 + width, y0 + height], dim=-1)


def emitted_crops(
    generator: torch.Generator,
    samplers: tuple[SamplerConfig, ...],
    boxes: torch.Tensor,
    valid: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Caffe GenerateBatchSamples for a batch: ``boxes (B, N, 4)`` float64 padded,
    ``valid (B, N)``. Returns every sampler's trials ``(B, T, 4)`` (all samplers'
    concatenated) and which were emitted ``(B, T)``: per sampler, the first
    ``max_sample`` trials that satisfy it (Caffe stops drawing there)."""
    count = boxes.shape[0]
    trials, emitted = [], []
    for sampler in samplers:
        drawn = sample_trials(generator, sampler, count)
        if sampler.min_jaccard_overlap is None and sampler.max_jaccard_overlap is None:
            ok = torch.ones(drawn.shape[:2], dtype=torch.bool)
        else:
            overlaps = jaccard(drawn, boxes)
            meets = valid[:, None, :].expand_as(overlaps).clone()
            if sampler.min_jaccard_overlap is not None:
                meets &= overlaps >= sampler.min_jaccard_overlap
            if sampler.max_jaccard_overlap is not None:
                meets &= overlaps <= sampler.max_jaccard_overlap
            ok = meets.any(dim=2)
        rank = torch.cumsum(ok.long(), dim=1)
        trials.append(drawn)
        emitted.append(ok & (rank <= sampler.max_sample))
    if not trials:
        return torch.zeros(count, 0, 4, dtype=torch.float64), torch.zeros(count, 0, dtype=bool)
    return torch.cat(trials, dim=1), torch.cat(emitted, dim=1)


def _pad_boxes(boxes: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    most = max([len(b) for b in boxes] + [1])
    padded = torch.zeros(len(boxes), most, 4, dtype=torch.float64)
    valid = torch.zeros(len(boxes), most, dtype=torch.bool)
    for i, b in enumerate(boxes):
        padded[i, : len(b)] = b.double()
        valid[i, : len(b)] = True
    return padded, valid


def draw_geometry(
    generator: torch.Generator,
    sizes: torch.Tensor,
    boxes: list[torch.Tensor],
    labels: list[torch.Tensor],
    cfg: AugmentConfig,
) -> Geometry:
    """Expansion, crop, interpolation and flip for images of ``sizes (B, 2)`` (height,
    width) with normalised ``boxes`` (float32, per image) and ``labels``."""
    count = sizes.shape[0]
    height, width = sizes[:, 0].double(), sizes[:, 1].double()
    # Caffe ExpandImage (transforms.expand): not expanded when u > prob.
    expanded = torch.rand(count, generator=generator, dtype=torch.float64) <= cfg.expand_prob
    if abs(cfg.max_expand_ratio - 1.0) < 1e-2:
        expanded[:] = False
    ratio = _uniform(generator, count, 1.0, cfg.max_expand_ratio)
    canvas_h = torch.where(expanded, torch.floor(height * ratio), height)
    canvas_w = torch.where(expanded, torch.floor(width * ratio), width)
    top = torch.floor(
        torch.rand(count, generator=generator, dtype=torch.float64) * (canvas_h - height)
    )
    left = torch.floor(
        torch.rand(count, generator=generator, dtype=torch.float64) * (canvas_w - width)
    )
    top, left = torch.where(expanded, top, 0.0), torch.where(expanded, left, 0.0)

    canvas_boxes = []
    for i, b in enumerate(boxes):
        scale = torch.stack([width[i], height[i], width[i], height[i]])
        shift = torch.stack([left[i], top[i], left[i], top[i]])
        size = torch.stack([canvas_w[i], canvas_h[i], canvas_w[i], canvas_h[i]])
        mapped = ((b.double() * scale + shift) / size).float()
        canvas_boxes.append(torch.where(expanded[i], mapped, b.float()))
    padded, valid = _pad_boxes(canvas_boxes)

    trials, emitted = emitted_crops(generator, cfg.samplers, padded, valid)
    found = emitted.sum(dim=1)
    pick = torch.floor(torch.rand(count, generator=generator, dtype=torch.float64) * found).long()
    chosen_slot = (torch.cumsum(emitted.long(), dim=1) == (pick + 1)[:, None]) & emitted
    cropped = found > 0
    index = (
        torch.argmax(chosen_slot.long(), dim=1)
        if trials.shape[1]
        else torch.zeros(count, dtype=torch.long)
    )
    crop_box = (
        trials[torch.arange(count), index]
        if trials.shape[1]
        else torch.zeros(count, 4, dtype=torch.float64)
    )
    crop_box = torch.where(cropped[:, None], crop_box, torch.tensor([0.0, 0.0, 1.0, 1.0]))

    # transforms.crop: truncated to whole pixels.
    c = crop_box.clamp(0, 1)
    x0 = torch.floor(c[:, 0] * canvas_w)
    y0 = torch.floor(c[:, 1] * canvas_h)
    crop_w = torch.clamp(
        torch.minimum(torch.floor((c[:, 2] - c[:, 0]) * canvas_w), canvas_w - x0), min=1
    )
    crop_h = torch.clamp(
        torch.minimum(torch.floor((c[:, 3] - c[:, 1]) * canvas_h), canvas_h - y0), min=1
    )
    taken = torch.stack(
        [x0 / canvas_w, y0 / canvas_h, (x0 + crop_w) / canvas_w, (y0 + crop_h) / canvas_h], dim=1
    )

    interpolation = torch.floor(
        torch.rand(count, generator=generator, dtype=torch.float64) * len(cfg.interpolations)
    ).long()
    flip = torch.rand(count, generator=generator, dtype=torch.float64) < cfg.flip_prob

    out_boxes, out_labels = [], []
    for i, b in enumerate(canvas_boxes):
        kept_labels = labels[i]
        if bool(cropped[i]):
            d = b.double()
            t = taken[i]
            centres = (d[:, :2] + d[:, 2:]) / 2.0
            inside = ((centres >= t[:2]) & (centres <= t[2:])).all(dim=1)
            size = t[2:] - t[:2]
            projected = ((d - torch.cat([t[:2], t[:2]])) / torch.cat([size, size])).clamp(0, 1)
            keep = inside & (projected[:, 2:] > projected[:, :2]).all(dim=1)
            b, kept_labels = projected[keep].float(), kept_labels[keep]
        if bool(flip[i]):
            b = torch.stack([1.0 - b[:, 2], b[:, 1], 1.0 - b[:, 0], b[:, 3]], dim=1)
        out_boxes.append(b)
        out_labels.append(kept_labels)
    return Geometry(
        offset=torch.stack([left, top], dim=1).long(),
        crop=torch.stack([x0, y0, crop_w, crop_h], dim=1).long(),
        interpolation=interpolation,
        flip=flip,
        boxes=out_boxes,
        labels=out_labels,
    )


def image_regions(geometry: Geometry, sizes: torch.Tensor) -> torch.Tensor:
    """The part of each image the crop sees, ``(B, 4)`` ``(x, y, width, height)`` in image
    pixels (width or height 0: the crop lies in the mean fill). Only these pixels
    need to reach the device."""
    left, top = geometry.offset[:, 0], geometry.offset[:, 1]
    x0 = (geometry.crop[:, 0] - left).clamp(min=0)
    y0 = (geometry.crop[:, 1] - top).clamp(min=0)
    x1 = torch.minimum(geometry.crop[:, 0] + geometry.crop[:, 2] - left, sizes[:, 1])
    y1 = torch.minimum(geometry.crop[:, 1] + geometry.crop[:, 3] - top, sizes[:, 0])
    x0, y0 = torch.minimum(x0, x1.clamp(min=0)), torch.minimum(y0, y1.clamp(min=0))
    return torch.stack([x0, y0, (x1 - x0).clamp(min=0), (y1 - y0).clamp(min=0)], dim=1)


# --- the warp: resampling matrices after OpenCV's resize ---------------------------

_S45 = 0.70710678118654752440084436210485
_LANCZOS_CS = torch.tensor(
    [[1, 0], [-_S45, -_S45], [0, 1], [_S45, -_S45], [-1, 0], [_S45, _S45], [0, -1], [-_S45, _S45]],
    dtype=torch.float64,
)


def _cubic(fx: torch.Tensor) -> torch.Tensor:
    a = -0.75
    c0 = ((a * (fx + 1) - 5 * a) * (fx + 1) + 8 * a) * (fx + 1) - 4 * a
    c1 = ((a + 2) * fx - (a + 3)) * fx * fx + 1
    c2 = ((a + 2) * (1 - fx) - (a + 3)) * (1 - fx) * (1 - fx) + 1
    return torch.stack([c0, c1, c2, 1 - c0 - c1 - c2], dim=-1)


def _lanczos4(fx: torch.Tensor) -> torch.Tensor:
    taps = torch.arange(8, dtype=torch.float64, device=fx.device)
    y = -(fx[..., None] + 3 - taps) * math.pi * 0.25
    y0 = -(fx + 3) * math.pi * 0.25
    cs = _LANCZOS_CS.to(fx.device)
    numerator = cs[:, 0] * torch.sin(y0)[..., None] + cs[:, 1] * torch.cos(y0)[..., None]
    coeffs = numerator / torch.where(y == 0, torch.ones_like(y), y * y)
    coeffs = coeffs / coeffs.sum(dim=-1, keepdim=True)
    exact = torch.zeros(8, dtype=torch.float64, device=fx.device)
    exact[3] = 1.0
    return torch.where((fx < 1.1920929e-07)[..., None], exact, coeffs)


def axis_weights(
    length: torch.Tensor, size: int, method: str, area_down: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """OpenCV resize along one axis, from ``length (B,)`` source pixels to ``size``:
    tap indices ``(B, size, K)`` (clamped to the source, as OpenCV replicates the
    border) and weights ``(B, size, K)``. ``area_down (B,)``: OpenCV's box-filter
    INTER_AREA (both axes shrink); otherwise INTER_AREA is its bilinear variant."""
    src = length.double()[:, None]
    scale = src / size
    dst = torch.arange(size, dtype=torch.float64)[None, :]
    last = (length - 1)[:, None]
    if method == "nearest":
        index = torch.minimum(torch.floor(dst * scale).long(), last)
        return index[..., None], torch.ones((*index.shape, 1), dtype=torch.float64)
    if method == "area" and bool(area_down.any()):
        box_index, box_weight = _area_weights(src, scale, dst, last)
        lin_index, lin_weight = axis_weights(length, size, "area", torch.zeros_like(area_down))
        k = box_index.shape[-1]
        lin_index = torch.nn.functional.pad(lin_index, (0, k - 2), value=0)
        lin_weight = torch.nn.functional.pad(lin_weight, (0, k - 2), value=0.0)
        down = area_down[:, None, None]
        return torch.where(down, box_index, lin_index), torch.where(down, box_weight, lin_weight)
    if method == "area":
        sx = torch.floor(dst * scale)
        fx = (dst + 1) - (sx + 1) * (size / src)
        fx = torch.where(fx <= 0, torch.zeros_like(fx), fx - torch.floor(fx))
    else:
        fx = ((dst + 0.5) * scale - 0.5).float().double()  # OpenCV computes it as a float
        sx = torch.floor(fx)
        fx = fx - sx
    sx = sx.long()
    if method in ("linear", "area"):
        low, high = sx < 0, sx >= last
        fx = torch.where(low | high, torch.zeros_like(fx), fx)
        sx = torch.where(low, torch.zeros_like(sx), torch.where(high, last.expand_as(sx), sx))
        weights = torch.stack([1 - fx, fx], dim=-1)
        offsets = torch.arange(2)
    elif method == "cubic":
        weights, offsets = _cubic(fx), torch.arange(-1, 3)
    elif method == "lanczos4":
        weights, offsets = _lanczos4(fx), torch.arange(-3, 5)
    else:
        raise ValueError(f"unknown interpolation {method!r}")
    index = torch.minimum((sx[..., None] + offsets).clamp(min=0), last[..., None])
    return index, weights


def _area_weights(src, scale, dst, last):
    """OpenCV's resizeArea: each output pixel averages the source interval it covers."""
    taps = math.ceil(float(scale.max())) + 2
    start = dst * scale
    end = start + scale
    first = torch.floor(start)
    index = first[..., None] + torch.arange(taps, dtype=torch.float64)
    overlap = torch.minimum(index + 1, end[..., None]) - torch.maximum(index, start[..., None])
    overlap = overlap.clamp(min=0)
    inside = index <= (src - 1)[..., None]
    weights = torch.where(inside, overlap, torch.zeros_like(overlap))
    weights = weights / weights.sum(dim=-1, keepdim=True)
    return torch.minimum(index.long(), last[..., None]), weights


@dataclass(frozen=True)
class Taps:
    """One axis of a batch's resampling: output pixel ``o`` of image ``b`` is
    ``sum_k weight[b, o, k] * region[index[b, o, k]]`` (``(B, S, K)`` each, CPU);
    taps on the mean fill have weight 0. ``extent``: the regions' padded length."""

    index: torch.Tensor
    weight: torch.Tensor
    extent: int

    def dense(self, device: torch.device | str) -> torch.Tensor:
        """The ``(B, S, extent)`` float32 matrix, built on ``device``."""
        index = self.index.to(device, non_blocking=True)
        weight = self.weight.to(device, non_blocking=True)
        shape = (*index.shape[:2], self.extent)
        out = torch.zeros(shape, dtype=torch.float32, device=device)
        for k in range(index.shape[2]):  # one tap at a time: no colliding writes, deterministic
            one = torch.zeros(shape, dtype=torch.float32, device=device)
            out += one.scatter_(2, index[..., k : k + 1], weight[..., k : k + 1])
        return out

    def pin_memory(self) -> Taps:
        return Taps(self.index.pin_memory(), self.weight.pin_memory(), self.extent)


def resample_taps(
    geometry: Geometry,
    regions: torch.Tensor,
    names: tuple[str, ...],
    size: int,
    region_shape: tuple[int, int],
) -> tuple[Taps, Taps]:
    """The y and x :class:`Taps` mapping each image's region (``regions``:
    :func:`image_regions`) to the ``size x size`` output; x is reversed for a
    flipped image."""
    count = regions.shape[0]
    crop = geometry.crop
    area_down = (crop[:, 2] >= size) & (crop[:, 3] >= size)
    axes = []
    for axis, (origin, length, extent) in enumerate(
        ((1, 3, region_shape[0]), (0, 2, region_shape[1]))
    ):
        parts = []
        for method_index, name in enumerate(names):
            rows = (geometry.interpolation == method_index).nonzero().flatten()
            if rows.numel() == 0:
                continue
            index, weights = axis_weights(crop[rows, length], size, name, area_down[rows])
            # crop pixel -> image pixel -> region pixel
            shift = crop[rows, origin] - geometry.offset[rows, origin] - regions[rows, origin]
            region_pixel = index + shift[:, None, None]
            inside = (region_pixel >= 0) & (region_pixel < regions[rows, length][:, None, None])
            weights = torch.where(inside, weights, torch.zeros_like(weights))
            parts.append((rows, region_pixel.clamp(0, max(extent - 1, 0)), weights))
        taps = max([p[1].shape[2] for p in parts] + [1])
        index = torch.zeros(count, size, taps, dtype=torch.long)
        weight = torch.zeros(count, size, taps, dtype=torch.float32)
        for rows, region_pixel, weights in parts:
            k = region_pixel.shape[2]
            index[rows, :, :k] = region_pixel
            weight[rows, :, :k] = weights.float()
        if axis == 1:
            flip = geometry.flip[:, None, None]
            index = torch.where(flip, index.flip(1), index)
            weight = torch.where(flip, weight.flip(1), weight)
        axes.append(Taps(index, weight, max(extent, 1)))
    return axes[0], axes[1]


def resample_matrices(
    geometry: Geometry,
    regions: torch.Tensor,
    names: tuple[str, ...],
    size: int,
    region_shape: tuple[int, int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """``Ry (B, size, Hr)`` and ``Rx (B, size, Wr)`` (float32, CPU): :func:`resample_taps`
    as dense matrices."""
    y, x = resample_taps(geometry, regions, names, size, region_shape)
    return y.dense("cpu"), x.dense("cpu")


def warp(
    regions: torch.Tensor,
    ry: torch.Tensor,
    rx: torch.Tensor,
    mean_bgr: tuple[float, float, float],
) -> torch.Tensor:
    """``regions (B, Hr, Wr, 3)`` uint8 (any device) -> ``(B, S, S, 3)`` uint8:
    ``mean + Ry @ (region - mean) @ Rx^T`` per channel, rounded and saturated."""
    device = regions.device
    mean = torch.tensor([round(m) for m in mean_bgr], dtype=torch.float32, device=device)
    centred = regions.float() - mean
    planes = centred.permute(0, 3, 1, 2)  # (B, 3, Hr, Wr)
    ry, rx = ry.to(device, non_blocking=True), rx.to(device, non_blocking=True)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # pixels in float32, whatever run.allow_tf32 says
    try:
        out = torch.matmul(torch.matmul(ry[:, None], planes), rx[:, None].transpose(-1, -2))
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    out = out.permute(0, 2, 3, 1) + mean
    return torch.clamp(torch.round(out), 0, 255).to(torch.uint8)


# --- the whole augmentation --------------------------------------------------------


@dataclass(frozen=True)
class Augmented:
    """A batch out of :func:`augment_batch`: ``images (B, S, S, 3)`` uint8 on the device,
    per image ``boxes (N, 4)`` normalised float32 and ``labels (N,)`` (CPU)."""

    images: torch.Tensor
    boxes: list[torch.Tensor]
    labels: list[torch.Tensor]


def gather_regions(images: list[np.ndarray], regions: torch.Tensor) -> torch.Tensor:
    """The regions' pixels, zero-padded to the largest: ``(B, Hr, Wr, 3)`` uint8 (CPU)."""
    height = max(1, int(regions[:, 3].max())) if len(images) else 1
    width = max(1, int(regions[:, 2].max())) if len(images) else 1
    out = np.zeros((len(images), height, width, 3), dtype=np.uint8)
    for i, (image, (x, y, w, h)) in enumerate(zip(images, regions.tolist(), strict=True)):
        out[i, :h, :w] = image[y : y + h, x : x + w]
    return torch.from_numpy(out)


@dataclass(frozen=True)
class Planned:
    """A batch's host-side half (:func:`plan_batch`): the pixels the crops see
    ``(B, Hr, Wr, 3)`` uint8 (CPU), the colour draws, the resampling matrices and
    the boxes and labels each image keeps."""

    pixels: torch.Tensor
    draws: Photometric
    ry: Taps
    rx: Taps
    boxes: list[torch.Tensor]
    labels: list[torch.Tensor]


def plan_batch(
    images: list[np.ndarray],
    boxes: list[np.ndarray],
    labels: list[np.ndarray],
    generator: torch.Generator,
    cfg: AugmentConfig,
    size: int,
    pin: bool = False,
) -> Planned:
    """Every draw of a batch (from ``generator``, a CPU generator: the same batch on any
    device) and the pixels it needs: ``images`` BGR uint8 ``(H, W, 3)`` of any sizes,
    normalised ``boxes (N, 4)``, ``labels (N,)``. No per-pixel work but a copy."""
    sizes = torch.tensor([image.shape[:2] for image in images], dtype=torch.long).reshape(-1, 2)
    draws = draw_photometric(generator, len(images), cfg)
    geometry = draw_geometry(
        generator,
        sizes,
        [torch.from_numpy(np.asarray(b, dtype=np.float32).reshape(-1, 4)) for b in boxes],
        [torch.from_numpy(np.asarray(lab, dtype=np.int64)) for lab in labels],
        cfg,
    )
    regions = image_regions(geometry, sizes)
    pixels = gather_regions(images, regions)
    ry, rx = resample_taps(geometry, regions, cfg.interpolations, size, tuple(pixels.shape[1:3]))
    if pin:
        pixels, ry, rx = pixels.pin_memory(), ry.pin_memory(), rx.pin_memory()
    return Planned(pixels, draws, ry, rx, geometry.boxes, geometry.labels)


def render_batch(
    planned: Planned, mean_bgr: tuple[float, float, float], device: torch.device | str
) -> torch.Tensor:
    """The per-pixel half on ``device``: distortion, expansion, crop, warp and flip ->
    ``(B, S, S, 3)`` uint8."""
    pixels = planned.pixels.to(device, non_blocking=True)
    pixels = distort(pixels, planned.draws.to(device))
    return warp(pixels, planned.ry.dense(device), planned.rx.dense(device), mean_bgr)


def augment_batch(
    images: list[np.ndarray],
    boxes: list[np.ndarray],
    labels: list[np.ndarray],
    generator: torch.Generator,
    cfg: AugmentConfig,
    size: int,
    mean_bgr: tuple[float, float, float],
    device: torch.device | str = "cpu",
) -> Augmented:
    """Caffe's training augmentation of a batch (:func:`plan_batch`, then
    :func:`render_batch` on ``device``)."""
    planned = plan_batch(images, boxes, labels, generator, cfg, size)
    return Augmented(render_batch(planned, mean_bgr, device), planned.boxes, planned.labels)
