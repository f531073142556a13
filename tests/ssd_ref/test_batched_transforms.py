"""The batched augmentation against the CPU path: ops equal (or within OpenCV's
fixed-point rounding), and the same laws (seeded two-sample tests on CPU tensors)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from ssd_ref.config import AugmentConfig, SamplerConfig
from ssd_ref.data import batched_transforms as bt
from ssd_ref.data.hsv import bgr_to_hsv, hsv_to_bgr
from ssd_ref.data.transforms import (
    INTERPOLATIONS,
    Sample,
    _adjust_hsv_channel,
    _affine_lut,
    crop,
    generate_crops,
    jaccard,
    photometric_distort,
    resize,
)

MEAN = (104.0, 117.0, 123.0)
NAMES = AugmentConfig().interpolations


def ks_two_sample(a, b) -> float:
    """Kolmogorov-Smirnov distance of two samples' empirical distributions."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    grid = np.concatenate([a, b])
    return float(
        np.max(
            np.abs(
                np.searchsorted(a, grid, "right") / len(a)
                - np.searchsorted(b, grid, "right") / len(b)
            )
        )
    )


def same_law(a, b, alpha_c: float = 1.95) -> bool:
    """KS test at level 0.001 (c = 1.95): True when the samples do not differ."""
    n, m = len(a), len(b)
    return ks_two_sample(a, b) <= alpha_c * math.sqrt((n + m) / (n * m))


def same_rate(k1: int, n1: int, k2: int, n2: int, z: float = 3.3) -> bool:
    """Two-proportion z-test at about 0.001."""
    pooled = (k1 + k2) / (n1 + n2)
    spread = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / n1 + 1 / n2))
    return abs(k1 / n1 - k2 / n2) <= z * spread + 1e-12


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- the ops, one by one -----------------------------------------------------------


def test_hsv_tables_are_the_cpu_paths_conversions():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(64, 80, 3), dtype=np.uint8)  # hue past 179 too
    to_hsv, to_bgr = bt.hsv_tables("cpu")
    assert to_hsv.shape == to_bgr.shape == (1 << 24, 3)
    pixels = torch.from_numpy(image)
    assert np.array_equal(bt._convert(pixels, to_hsv).numpy(), bgr_to_hsv(image))
    assert np.array_equal(bt._convert(pixels, to_bgr).numpy(), hsv_to_bgr(image))
    # and OpenCV's own within its rounding (its scalar tail of a row rounds, the rest truncates)
    opencv = cv2.cvtColor(image, cv2.COLOR_HSV2BGR).astype(int)
    assert np.abs(bt._convert(pixels, to_bgr).numpy().astype(int) - opencv).max() <= 1


@pytest.mark.parametrize("seed", range(4))
def test_distort_equals_the_cpu_steps_for_the_same_draws(seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(6, 9, 5, 3), dtype=np.uint8)
    draws = bt.draw_photometric(generator(seed), 6, AugmentConfig())
    out = bt.distort(torch.from_numpy(images), draws).numpy()
    for i in range(6):
        # Recover the draws from the tables, then apply the CPU path's ops in its order.
        image = draws.brightness[i].numpy()[images[i]]
        steps = []
        if draws.contrast_first[i]:
            steps.append(("contrast", None))
        steps += [("saturation", 1), ("hue", 0)]
        if not draws.contrast_first[i]:
            steps.append(("contrast", None))
        for name, channel in steps:
            table = getattr(draws, name)[i].numpy()
            if name == "contrast":
                image = table[image]
            elif bool(getattr(draws, "saturate" if name == "saturation" else "shift_hue")[i]):
                hsv = bgr_to_hsv(image)
                hsv[..., channel] = table[hsv[..., channel]]
                image = hsv_to_bgr(hsv)
        assert np.array_equal(out[i], image), i


def test_tables_are_opencvs_convert_to():
    apply = torch.tensor([True, True, False])
    tables = bt.affine_tables(apply, torch.tensor([1.0, 1.5, 3.0], dtype=torch.float64),
                              torch.tensor([10.0, 0.0, 9.0], dtype=torch.float64))  # fmt: skip
    values = np.arange(256, dtype=np.uint8)[None, :, None]
    assert np.array_equal(tables[0].numpy(), _affine_lut(values, 1.0, 10.0).ravel())
    assert np.array_equal(tables[1].numpy(), _affine_lut(values, 1.5, 0.0).ravel())
    assert np.array_equal(tables[2].numpy(), np.arange(256))  # not drawn: identity
    # the HSV step itself: the CPU path's helper on the same table
    image = np.random.default_rng(1).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    on = torch.tensor([True])
    sat = bt.affine_tables(
        on, torch.tensor([1.3], dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    )
    got = bt._hsv_step(torch.from_numpy(image)[None], sat, 1, on)[0].numpy()
    assert np.array_equal(got, _adjust_hsv_channel(image, 1, 1.3, 0.0))


def one_geometry(h, w, crop_box, name, flip=False, offset=(0, 0)):
    return bt.Geometry(
        offset=torch.tensor([offset]),
        crop=torch.tensor([crop_box]),
        interpolation=torch.tensor([NAMES.index(name)]),
        flip=torch.tensor([flip]),
        boxes=[],
        labels=[],
    )


def run_warp(image, geometry):
    sizes = torch.tensor([image.shape[:2]])
    regions = bt.image_regions(geometry, sizes)
    pixels = bt.gather_regions([image], regions)
    ry, rx = bt.resample_matrices(geometry, regions, NAMES, 300, tuple(pixels.shape[1:3]))
    return bt.warp(pixels, ry, rx, MEAN)[0].numpy()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(400, 500), (120, 90), (250, 650)])
def test_warp_is_opencvs_resize_within_its_rounding(name, shape):
    rng = np.random.default_rng(7)
    image = cv2.GaussianBlur(rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8), (5, 5), 2)
    h, w = shape
    out = run_warp(image, one_geometry(h, w, (0, 0, w, h), name))
    reference = cv2.resize(image, (300, 300), interpolation=INTERPOLATIONS[name])
    difference = np.abs(out.astype(int) - reference)
    assert difference.max() <= 1 and difference.mean() < 0.2


@pytest.mark.parametrize("name", NAMES)
def test_expand_crop_warp_flip_equal_the_cpu_path(name):
    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.integers(0, 256, size=(90, 120, 3), dtype=np.uint8), (5, 5), 2)
    top, left, canvas_h, canvas_w = 30, 50, 200, 260
    canvas = cv2.copyMakeBorder(image, top, canvas_h - 90 - top, left, canvas_w - 120 - left,
                                cv2.BORDER_CONSTANT, value=[104, 117, 123])  # fmt: skip
    for x0, y0, cw, ch, flip in [(20, 10, 150, 140, False), (0, 0, 260, 200, True),
                                 (60, 35, 100, 80, True), (0, 130, 40, 60, False)]:  # fmt: skip
        geometry = one_geometry(90, 120, (x0, y0, cw, ch), name, flip, (left, top))
        out = run_warp(image, geometry)
        reference = resize(canvas[y0 : y0 + ch, x0 : x0 + cw], 300, name)
        if flip:
            reference = reference[:, ::-1]
        assert np.abs(out.astype(int) - reference).max() <= 1, (x0, y0, flip)


def test_crop_rule_matches_the_cpu_crop_on_an_unexpanded_image():
    cfg = AugmentConfig(expand_prob=0.0, flip_prob=0.0)
    rng = np.random.default_rng(5)
    compared = 0
    for seed in range(40):
        n = int(rng.integers(1, 6))
        centres, sizes = rng.uniform(0.1, 0.9, (n, 2)), rng.uniform(0.05, 0.6, (n, 2))
        boxes = np.clip(np.concatenate([centres - sizes / 2, centres + sizes / 2], 1), 0, 1)
        boxes = np.maximum(boxes, 0).astype(np.float32)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1e-3)
        h, w = int(rng.integers(50, 400)), int(rng.integers(50, 400))
        g = bt.draw_geometry(generator(seed), torch.tensor([[h, w]]),
                             [torch.from_numpy(boxes)], [torch.arange(n)], cfg)  # fmt: skip
        x0, y0, cw, ch = g.crop[0].tolist()
        crop_box = np.array([x0 / w, y0 / h, (x0 + cw) / w, (y0 + ch) / h])
        cpu = crop(Sample(np.zeros((h, w, 3), np.uint8), boxes, np.arange(n)), crop_box)
        if cpu.image.shape[:2] != (ch, cw):  # x0 / w * w fell just below x0: another crop
            continue
        compared += 1
        assert np.array_equal(cpu.labels, g.labels[0].numpy())
        assert np.allclose(cpu.boxes, g.boxes[0].numpy(), atol=1e-6)
    assert compared > 30


# --- the laws: the CPU path's expectations, on both paths ---------------------------


def cpu_crops(boxes: np.ndarray, draws: int, samplers) -> tuple[list[int], list[np.ndarray]]:
    rng = np.random.default_rng(11)
    counts, chosen = [], []
    for _ in range(draws):
        crops = generate_crops(boxes, rng, samplers)
        counts.append(len(crops))
        chosen.append(crops[int(rng.integers(len(crops)))] if crops else np.array([0, 0, 1, 1.0]))
    return counts, chosen


def batched_crops(boxes: np.ndarray, draws: int, samplers) -> tuple[list[int], list[np.ndarray]]:
    padded = torch.from_numpy(np.repeat(boxes[None], draws, 0))
    valid = torch.ones(padded.shape[:2], dtype=torch.bool)
    trials, emitted = bt.emitted_crops(generator(11), samplers, padded, valid)
    found = emitted.sum(1)
    pick = torch.floor(
        torch.rand(draws, generator=generator(12), dtype=torch.float64) * found
    ).long()
    slot = (torch.cumsum(emitted.long(), 1) == (pick + 1)[:, None]) & emitted
    chosen = trials[torch.arange(draws), slot.long().argmax(1)].numpy()
    return found.tolist(), list(chosen)


SCENES = {
    "one small box": np.array([[0.40, 0.40, 0.55, 0.60]]),
    "two boxes": np.array([[0.05, 0.05, 0.95, 0.95], [0.6, 0.1, 0.9, 0.3]]),
}


@pytest.mark.parametrize("scene", sorted(SCENES))
def test_batch_samplers_have_the_cpu_paths_law(scene):
    boxes, samplers, draws = SCENES[scene], AugmentConfig().samplers, 2000
    cpu_counts, cpu_chosen = cpu_crops(boxes, draws, samplers)
    counts, chosen = batched_crops(boxes, draws, samplers)
    # Each of the seven samplers emits at most one crop; the whole image always.
    assert min(counts) >= 1 and max(counts) <= len(samplers)
    assert same_law(cpu_counts, counts)
    for measure in (
        lambda c: (c[2] - c[0]) * (c[3] - c[1]),  # area
        lambda c: (c[2] - c[0]) / (c[3] - c[1]),  # aspect
        lambda c: (c[0] + c[2]) / 2,  # centre
        lambda c: jaccard(c[None], boxes).max(),
    ):
        assert same_law([measure(c) for c in cpu_chosen], [measure(c) for c in chosen])
    whole = [bool(np.allclose(c, [0, 0, 1, 1])) for c in chosen]
    cpu_whole = [bool(np.allclose(c, [0, 0, 1, 1])) for c in cpu_chosen]
    assert same_rate(sum(cpu_whole), draws, sum(whole), draws)


def test_emitted_crops_meet_their_bounds_and_the_whole_image_always_qualifies():
    rng = np.random.default_rng(3)
    samplers = AugmentConfig().samplers
    for _ in range(50):
        n = int(rng.integers(1, 5))
        c, s = rng.uniform(0, 1, (n, 2)), rng.uniform(0.01, 0.8, (n, 2))
        boxes = np.clip(np.concatenate([c - s / 2, c + s / 2], 1), 0, 1)
        padded = torch.from_numpy(boxes[None])
        trials, emitted = bt.emitted_crops(generator(int(rng.integers(1 << 30))), samplers,
                                           padded, torch.ones(1, n, dtype=torch.bool))  # fmt: skip
        assert bool(emitted[0, 0]) and np.allclose(trials[0, 0].numpy(), [0, 0, 1, 1])
        start = 1
        for sampler in samplers[1:]:
            block = slice(start, start + sampler.max_trials)
            start += sampler.max_trials
            assert int(emitted[0, block].sum()) <= sampler.max_sample
            for crop_box in trials[0, block][emitted[0, block]].numpy():
                w, h = crop_box[2] - crop_box[0], crop_box[3] - crop_box[1]
                assert 0.3**2 - 1e-9 <= w * h <= 1 + 1e-9 and 0.5 - 1e-6 <= w / h <= 2 + 1e-6
                if sampler.min_jaccard_overlap is not None:
                    assert jaccard(crop_box[None], boxes).max() >= sampler.min_jaccard_overlap


def test_the_first_satisfying_trial_is_emitted():
    sampler = SamplerConfig(0.3, 1.0, 0.5, 2.0, min_jaccard_overlap=0.5, max_trials=50)
    boxes = torch.tensor([[[0.1, 0.1, 0.9, 0.9]]], dtype=torch.float64).repeat(200, 1, 1)
    trials, emitted = bt.emitted_crops(
        generator(0), (sampler,), boxes, torch.ones(200, 1, dtype=bool)
    )
    ok = bt.jaccard(trials, boxes)[..., 0] >= 0.5
    first = ok.long().argmax(1)
    has = ok.any(1)
    assert torch.equal(emitted.sum(1), has.long())
    assert torch.equal(emitted.long().argmax(1)[has], first[has])


def test_colour_ops_have_the_cpu_paths_law():
    rng = np.random.default_rng(8)
    image = cv2.GaussianBlur(rng.integers(0, 256, size=(2, 1024, 3), dtype=np.uint8), (3, 3), 1)
    cfg, draws = AugmentConfig(), 2000
    cpu = np.stack([photometric_distort(image, rng, cfg) for _ in range(draws)])
    batch = torch.from_numpy(np.repeat(image[None], draws, 0))
    out = bt.distort(batch, bt.draw_photometric(generator(8), draws, cfg)).numpy()
    for channel in range(3):
        assert same_law(cpu[..., channel].mean((1, 2)), out[..., channel].mean((1, 2)))
    cpu_hsv = np.stack([cv2.cvtColor(x, cv2.COLOR_BGR2HSV) for x in cpu])
    out_hsv = np.stack([cv2.cvtColor(x, cv2.COLOR_BGR2HSV) for x in out])
    for channel in (1, 2):  # saturation, value (a hue mean is circular: the BGR means cover it)
        assert same_law(cpu_hsv[..., channel].mean((1, 2)), out_hsv[..., channel].mean((1, 2)))
    unchanged = [np.array_equal(x, image) for x in cpu], [np.array_equal(x, image) for x in out]
    assert same_rate(sum(unchanged[0]), draws, sum(unchanged[1]), draws)


def test_expansion_flip_and_interpolation_laws():
    cfg, draws = AugmentConfig(), 4000
    sizes = torch.tensor([[100, 200]]).repeat(draws, 1)
    boxes = [torch.tensor([[0.2, 0.2, 0.4, 0.5]])] * draws
    g = bt.draw_geometry(generator(2), sizes, boxes, [torch.tensor([3])] * draws, cfg)
    expanded = (g.offset.sum(1) > 0) | (g.crop[:, 2] > 200) | (g.crop[:, 3] > 100)
    # P(expanded) 1/2 (offsets of 0 and crops within the image also occur when expanded)
    assert abs(float(expanded.double().mean()) - 0.5) < 0.04
    assert same_rate(int(g.flip.sum()), draws, draws // 2, draws)
    counts = torch.bincount(g.interpolation, minlength=len(NAMES)).double()
    chi2 = float(((counts - draws / len(NAMES)) ** 2 / (draws / len(NAMES))).sum())
    assert chi2 < 18.5  # chi-square, 4 degrees of freedom, 0.001
    # the expansion ratio is uniform on [1, 4]: the offset's maximum grows with it
    assert float((g.offset[:, 0].double() / 200).max()) > 2.5


def test_augment_batch_invariants():
    rng = np.random.default_rng(0)
    images, boxes, labels = [], [], []
    for _ in range(24):
        h, w = (int(v) for v in rng.integers(20, 300, size=2))
        images.append(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8))
        n = int(rng.integers(0, 5))
        c, s = rng.uniform(0, 1, (n, 2)), rng.uniform(0.01, 0.8, (n, 2))
        b = np.clip(np.concatenate([c - s / 2, c + s / 2], 1), 0, 1)
        b[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 1e-3)
        boxes.append(b.astype(np.float32))
        labels.append(rng.integers(0, 20, size=n))
    out = bt.augment_batch(images, boxes, labels, generator(0), AugmentConfig(), 300, MEAN)
    again = bt.augment_batch(images, boxes, labels, generator(0), AugmentConfig(), 300, MEAN)
    assert out.images.shape == (24, 300, 300, 3) and out.images.dtype == torch.uint8
    assert torch.equal(out.images, again.images)
    for b, lab, original in zip(out.boxes, out.labels, labels, strict=True):
        assert b.dtype == torch.float32 and b.shape == (len(lab), 4)
        assert bool((b >= 0).all() and (b <= 1).all() and (b[:, 2:] > b[:, :2]).all())
        assert set(lab.tolist()) <= set(np.asarray(original).tolist())
