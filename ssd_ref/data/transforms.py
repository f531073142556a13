"""Training augmentation and the evaluation resize, after Caffe SSD's data layer.

Images are BGR uint8 ``(H, W, 3)``; boxes are normalised corners ``(N, 4)``
float32 (see :mod:`ssd_ref.data.voc` for the conversion from VOC pixels);
labels ``(N,)`` are class indices. Every random choice draws from the
``numpy.random.Generator`` passed in, so a sample's augmentation is a pure
function of its generator's seed.

Training order (Caffe ``AnnotatedDataLayer``): photometric distortion (uint8),
expand, batch-sampler crop, resize to 300x300 with a random interpolation,
horizontal flip. The mean is subtracted later, on the device
(:func:`ssd_ref.engine.batches.to_network_input`).

Caffe keeps the image JPEG-encoded between its data-layer steps: it is
re-encoded (``EncodeCVMatToDatum``, OpenCV's default quality 95) and decoded
again after the distortion (always), after the expansion (when the image was
expanded) and after the crop (whenever a sampler gave a box, which the
whole-image sampler always does). ``AugmentConfig.jpeg_quality`` does the same.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from ssd_ref.config import AugmentConfig, SamplerConfig
from ssd_ref.data.hsv import bgr_to_hsv, hsv_to_bgr

INTERPOLATIONS = {
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "nearest": cv2.INTER_NEAREST,
    "cubic": cv2.INTER_CUBIC,
    "lanczos4": cv2.INTER_LANCZOS4,
}


class Sample(NamedTuple):
    """An image with its boxes (normalised corners) and labels."""

    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray


# --- photometric distortion (Caffe im_transforms.cpp) ------------------------------


def _affine_lut(image: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """OpenCV ``convertTo(-1, alpha, beta)`` on uint8: round half to even, saturate."""
    table = np.clip(np.rint(np.arange(256, dtype=np.float64) * alpha + beta), 0, 255)
    return cv2.LUT(image, table.astype(np.uint8))


def _adjust_hsv_channel(image: np.ndarray, channel: int, alpha: float, beta: float) -> np.ndarray:
    """Caffe's saturation/hue op: BGR -> HSV, ``convertTo`` on one channel, HSV -> BGR.
    The conversions are OpenCV 4.x's, computed by :mod:`ssd_ref.data.hsv`, so the
    bytes do not depend on the installed OpenCV (5.x differs) or the CPU."""
    hsv = bgr_to_hsv(image)
    hsv[..., channel] = _affine_lut(np.ascontiguousarray(hsv[..., channel]), alpha, beta)
    return hsv_to_bgr(hsv)


def random_brightness(
    image: np.ndarray, rng: np.random.Generator, prob: float, delta: float
) -> np.ndarray:
    if rng.uniform() < prob:
        return _affine_lut(image, 1.0, rng.uniform(-delta, delta))
    return image


def random_contrast(
    image: np.ndarray, rng: np.random.Generator, prob: float, lower: float, upper: float
) -> np.ndarray:
    if rng.uniform() < prob:
        return _affine_lut(image, rng.uniform(lower, upper), 0.0)
    return image


def random_saturation(
    image: np.ndarray, rng: np.random.Generator, prob: float, lower: float, upper: float
) -> np.ndarray:
    if rng.uniform() < prob:
        return _adjust_hsv_channel(image, 1, rng.uniform(lower, upper), 0.0)
    return image


def random_hue(
    image: np.ndarray, rng: np.random.Generator, prob: float, delta: float
) -> np.ndarray:
    """Add to OpenCV's 8-bit hue (0..180), saturating as Caffe's ``convertTo`` does."""
    if rng.uniform() < prob:
        return _adjust_hsv_channel(image, 0, 1.0, rng.uniform(-delta, delta))
    return image


def photometric_distort(
    image: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig
) -> np.ndarray:
    """Caffe ApplyDistort: with probability 1/2 each, brightness-contrast-saturation-hue
    or brightness-saturation-hue-contrast; each step itself happens with its probability."""
    image = random_brightness(image, rng, cfg.brightness_prob, cfg.brightness_delta)
    contrast_first = rng.uniform() > 0.5
    if contrast_first:
        image = random_contrast(
            image, rng, cfg.contrast_prob, cfg.contrast_lower, cfg.contrast_upper
        )
    image = random_saturation(
        image, rng, cfg.saturation_prob, cfg.saturation_lower, cfg.saturation_upper
    )
    image = random_hue(image, rng, cfg.hue_prob, cfg.hue_delta)
    if not contrast_first:
        image = random_contrast(
            image, rng, cfg.contrast_prob, cfg.contrast_lower, cfg.contrast_upper
        )
    return image


# --- geometry ------------------------------------------------------------------------


def expand(
    sample: Sample,
    rng: np.random.Generator,
    prob: float,
    max_ratio: float,
    fill_bgr: tuple[float, float, float],
) -> Sample:
    """Caffe ExpandImage: with ``prob``, place the image at a random integer offset in a
    canvas ``ratio`` (uniform in [1, max_ratio]) times larger, filled with the mean.
    Not expanded: ``sample`` itself is returned."""
    if rng.uniform() > prob or abs(max_ratio - 1.0) < 1e-2:
        return sample
    ratio = rng.uniform(1.0, max_ratio)
    height, width = sample.image.shape[:2]
    new_h, new_w = int(height * ratio), int(width * ratio)
    top = int(np.floor(rng.uniform(0.0, new_h - height)))
    left = int(np.floor(rng.uniform(0.0, new_w - width)))
    fill = [float(v) for v in np.array(fill_bgr, dtype=np.float64).round()]
    canvas = cv2.copyMakeBorder(
        sample.image,
        top,
        new_h - height - top,
        left,
        new_w - width - left,
        cv2.BORDER_CONSTANT,
        value=fill,
    )
    scale = np.array([width, height, width, height], dtype=np.float64)
    offset = np.array([left, top, left, top], dtype=np.float64)
    new_size = np.array([new_w, new_h, new_w, new_h], dtype=np.float64)
    boxes = ((sample.boxes * scale + offset) / new_size).astype(np.float32)
    return Sample(canvas, boxes, sample.labels)


def jaccard(crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of normalised ``crops (T, 4)`` with ``boxes (N, 4)`` -> ``(T, N)`` (no "+1")."""
    top_left = np.maximum(crops[:, None, :2], boxes[None, :, :2])
    bottom_right = np.minimum(crops[:, None, 2:], boxes[None, :, 2:])
    inter_wh = np.clip(bottom_right - top_left, 0, None)
    inter = inter_wh[..., 0] * inter_wh[..., 1]
    crop_wh = np.clip(crops[:, 2:] - crops[:, :2], 0, None)
    box_wh = np.clip(boxes[:, 2:] - boxes[:, :2], 0, None)
    union = (
        (crop_wh[:, 0] * crop_wh[:, 1])[:, None] + (box_wh[:, 0] * box_wh[:, 1])[None, :] - inter
    )
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def sample_boxes(rng: np.random.Generator, sampler: SamplerConfig, count: int) -> np.ndarray:
    """``count`` draws of Caffe SampleBBox -> ``(count, 4)``: a scale and an aspect ratio
    (clamped to [scale^2, 1/scale^2], so the box fits), then a uniform position."""
    scale = rng.uniform(sampler.min_scale, sampler.max_scale, size=count)
    aspect = rng.uniform(sampler.min_aspect_ratio, sampler.max_aspect_ratio, size=count)
    aspect = np.minimum(np.maximum(aspect, scale**2), 1.0 / scale**2)
    # The clamp makes both <= 1; minimum() only removes floating-point excess.
    width = np.minimum(1.0, scale * np.sqrt(aspect))
    height = np.minimum(1.0, scale / np.sqrt(aspect))
    x0 = rng.uniform(0.0, 1.0, size=count) * (1.0 - width)
    y0 = rng.uniform(0.0, 1.0, size=count) * (1.0 - height)
    return np.stack([x0, y0, x0 + width, y0 + height], axis=1)


def satisfies(crops: np.ndarray, boxes: np.ndarray, sampler: SamplerConfig) -> np.ndarray:
    """Caffe SatisfySampleConstraint per crop ``(T, 4)`` -> ``(T,)`` bool: no bound -> True;
    else True if **any** box's IoU with the crop lies in [min_jaccard, max_jaccard]."""
    if sampler.min_jaccard_overlap is None and sampler.max_jaccard_overlap is None:
        return np.ones(len(crops), dtype=bool)
    overlaps = jaccard(crops, boxes)
    ok = np.ones(overlaps.shape, dtype=bool)
    if sampler.min_jaccard_overlap is not None:
        ok &= overlaps >= sampler.min_jaccard_overlap
    if sampler.max_jaccard_overlap is not None:
        ok &= overlaps <= sampler.max_jaccard_overlap
    return ok.any(axis=1)


def generate_crops(
    boxes: np.ndarray, rng: np.random.Generator, samplers: tuple[SamplerConfig, ...]
) -> list[np.ndarray]:
    """Caffe GenerateBatchSamples: each sampler makes up to ``max_trials`` independent
    draws and keeps the first ``max_sample`` that satisfy its constraint (drawn
    all at once here; the trials are independent, so the outcome has the same law)."""
    crops: list[np.ndarray] = []
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    for sampler in samplers:
        trials = sample_boxes(rng, sampler, sampler.max_trials)
        passed = np.flatnonzero(satisfies(trials, boxes, sampler))[: sampler.max_sample]
        crops.extend(trials[i] for i in passed)
    return crops


def crop(sample: Sample, crop_box: np.ndarray) -> Sample:
    """Cut the pixels of normalised ``crop_box`` (truncated to whole pixels as Caffe does);
    keep the boxes whose centre lies in the crop (inclusive), clipped to it and
    re-normalised; drop any box left with no area."""
    height, width = sample.image.shape[:2]
    x0 = int(np.clip(crop_box[0], 0, 1) * width)
    y0 = int(np.clip(crop_box[1], 0, 1) * height)
    crop_w = max(
        1, min(int((np.clip(crop_box[2], 0, 1) - np.clip(crop_box[0], 0, 1)) * width), width - x0)
    )
    crop_h = max(
        1, min(int((np.clip(crop_box[3], 0, 1) - np.clip(crop_box[1], 0, 1)) * height), height - y0)
    )
    image = sample.image[y0 : y0 + crop_h, x0 : x0 + crop_w]
    # The crop actually taken, in normalised coordinates of the input image.
    taken = np.array([x0 / width, y0 / height, (x0 + crop_w) / width, (y0 + crop_h) / height])
    boxes = sample.boxes.astype(np.float64)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2.0
    inside = np.all((centres >= taken[:2]) & (centres <= taken[2:]), axis=1)
    size = taken[2:] - taken[:2]
    projected = (boxes - np.concatenate([taken[:2], taken[:2]])) / np.concatenate([size, size])
    projected = np.clip(projected, 0.0, 1.0)
    has_area = np.all(projected[:, 2:] > projected[:, :2], axis=1)
    keep = inside & has_area
    return Sample(
        np.ascontiguousarray(image), projected[keep].astype(np.float32), sample.labels[keep]
    )


def random_crop(
    sample: Sample, rng: np.random.Generator, samplers: tuple[SamplerConfig, ...]
) -> Sample:
    """Pick one crop uniformly among those the samplers produced (none: ``sample`` itself)."""
    crops = generate_crops(sample.boxes.astype(np.float64), rng, samplers)
    if not crops:
        return sample
    return crop(sample, crops[int(rng.integers(len(crops)))])


def resize(image: np.ndarray, size: int, interpolation: str = "linear") -> np.ndarray:
    """Warp to ``size x size`` (Caffe resize_mode WARP); normalised boxes are unchanged."""
    return cv2.resize(image, (size, size), interpolation=INTERPOLATIONS[interpolation])


def hflip(sample: Sample) -> Sample:
    boxes = sample.boxes.copy()
    boxes[:, 0], boxes[:, 2] = 1.0 - sample.boxes[:, 2], 1.0 - sample.boxes[:, 0]
    return Sample(np.ascontiguousarray(sample.image[:, ::-1]), boxes, sample.labels)


def jpeg_roundtrip(image: np.ndarray, quality: int | None) -> np.ndarray:
    """Encode ``image`` (BGR uint8) as JPEG at ``quality`` and decode it (None: unchanged)."""
    if quality is None:
        return image
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError(f"JPEG encoding of a {image.shape} image failed")
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


def train_transform(
    sample: Sample,
    rng: np.random.Generator,
    cfg: AugmentConfig,
    size: int,
    mean_bgr: tuple[float, float, float],
) -> Sample:
    """The whole training augmentation; returns a ``size x size`` uint8 image."""
    image = photometric_distort(sample.image, rng, cfg)
    # Caffe's DistortImage re-encodes whether or not a distortion was drawn.
    sample = Sample(jpeg_roundtrip(image, cfg.jpeg_quality), sample.boxes, sample.labels)
    expanded = expand(sample, rng, cfg.expand_prob, cfg.max_expand_ratio, mean_bgr)
    if expanded is not sample:  # Caffe re-encodes an image it expanded
        expanded = expanded._replace(image=jpeg_roundtrip(expanded.image, cfg.jpeg_quality))
    sample = random_crop(expanded, rng, cfg.samplers)
    if sample is not expanded:  # ... and one it cropped (the whole image counts)
        sample = sample._replace(image=jpeg_roundtrip(sample.image, cfg.jpeg_quality))
    interpolation = cfg.interpolations[int(rng.integers(len(cfg.interpolations)))]
    sample = Sample(resize(sample.image, size, interpolation), sample.boxes, sample.labels)
    if rng.uniform() < cfg.flip_prob:
        sample = hflip(sample)
    return sample


def eval_transform(image: np.ndarray, size: int) -> np.ndarray:
    """Test-time input: a linear warp to ``size x size`` (Caffe's test transform)."""
    return resize(image, size, "linear")
