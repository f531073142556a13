"""Augmentation: invariants on random inputs, and the Caffe rules one by one."""

from __future__ import annotations

import numpy as np
import pytest

from ssd_ref.config import AugmentConfig, SamplerConfig
from ssd_ref.data.transforms import (
    Sample,
    _affine_lut,
    crop,
    expand,
    generate_crops,
    hflip,
    jaccard,
    photometric_distort,
    random_hue,
    satisfies,
    train_transform,
)

MEAN = (104.0, 117.0, 123.0)


def random_sample(rng: np.random.Generator) -> Sample:
    height, width = (int(v) for v in rng.integers(20, 400, size=2))
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    n = int(rng.integers(0, 6))
    centres = rng.uniform(0, 1, size=(n, 2))
    sizes = rng.uniform(0.01, 0.8, size=(n, 2))
    boxes = np.clip(np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1), 0, 1)
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1e-3)
    return Sample(image, boxes.astype(np.float32), rng.integers(0, 20, size=n))


def test_train_transform_invariants_on_random_inputs():
    rng = np.random.default_rng(0)
    for _ in range(300):
        sample = random_sample(rng)
        out = train_transform(sample, rng, AugmentConfig(), 300, MEAN)
        assert out.image.shape == (300, 300, 3) and out.image.dtype == np.uint8
        assert out.boxes.dtype == np.float32 and out.boxes.shape == (len(out.labels), 4)
        assert np.all(out.boxes >= 0) and np.all(out.boxes <= 1)
        assert np.all(out.boxes[:, 2] > out.boxes[:, 0]) and np.all(
            out.boxes[:, 3] > out.boxes[:, 1]
        )
        assert len(out.labels) <= len(sample.labels)
        assert set(out.labels.tolist()) <= set(sample.labels.tolist())


def test_same_generator_seed_same_result():
    sample = random_sample(np.random.default_rng(5))
    a = train_transform(sample, np.random.default_rng([1, 2]), AugmentConfig(), 300, MEAN)
    b = train_transform(sample, np.random.default_rng([1, 2]), AugmentConfig(), 300, MEAN)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.boxes, b.boxes)


def test_crop_keeps_boxes_whose_centre_is_inside_and_clips_them():
    image = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array(
        [
            [0.1, 0.1, 0.3, 0.3],  # centre (0.2, 0.2): inside
            [0.4, 0.4, 0.9, 0.9],  # centre (0.65, 0.65): outside though overlapping
            [0.0, 0.2, 0.5, 0.3],  # centre (0.25, 0.25) inside, sticks out left: clipped
        ],
        dtype=np.float32,
    )
    out = crop(Sample(image, boxes, np.array([0, 1, 2])), np.array([0.1, 0.1, 0.6, 0.6]))
    assert out.image.shape == (50, 50, 3)
    assert out.labels.tolist() == [0, 2]
    assert np.allclose(out.boxes, [[0.0, 0.0, 0.4, 0.4], [0.0, 0.2, 0.8, 0.4]], atol=1e-6)


def test_a_crop_qualifies_if_any_box_meets_its_bound():
    sampler = SamplerConfig(0.3, 1.0, 0.5, 2.0, min_jaccard_overlap=0.7, max_trials=50)
    crop_box = np.array([[0.0, 0.0, 0.5, 0.5]])
    far = np.array([[0.9, 0.9, 1.0, 1.0]])
    same = np.array([[0.0, 0.0, 0.5, 0.5]])
    assert not satisfies(crop_box, far, sampler)[0]
    assert satisfies(crop_box, np.concatenate([far, same]), sampler)[0]
    assert satisfies(crop_box, np.zeros((0, 4)), SamplerConfig())[0]  # no bound: always
    assert not satisfies(crop_box, np.zeros((0, 4)), sampler)[0]  # bound, no box: never


def test_sampled_crops_meet_their_bounds():
    rng = np.random.default_rng(3)
    samplers = AugmentConfig().samplers
    for _ in range(100):
        boxes = random_sample(rng).boxes.astype(np.float64)
        crops = generate_crops(boxes, rng, samplers)
        assert np.allclose(crops[0], [0, 0, 1, 1])  # the whole-image sampler always qualifies
        assert len(crops) <= len(samplers)  # max_sample 1 each
        for sampler in samplers[1:]:
            for c in generate_crops(boxes, rng, (sampler,)):
                assert np.all(c >= -1e-9) and np.all(c <= 1 + 1e-9)
                w, h = c[2] - c[0], c[3] - c[1]
                assert 0.3**2 - 1e-9 <= w * h <= 1 + 1e-9
                assert 0.5 - 1e-6 <= w / h <= 2.0 + 1e-6
                if sampler.min_jaccard_overlap is not None:
                    assert jaccard(c[None], boxes).max() >= sampler.min_jaccard_overlap


def test_min_iou_sampler_fires():
    rng = np.random.default_rng(0)
    boxes = np.array([[0.05, 0.05, 0.95, 0.95]])
    sampler = SamplerConfig(0.3, 1.0, 0.5, 2.0, min_jaccard_overlap=0.9, max_trials=50)
    found = [generate_crops(boxes, rng, (sampler,)) for _ in range(400)]
    hits = [c[0] for c in found if c]
    assert hits, "the 0.9 sampler never produced a crop"
    assert all(jaccard(c[None], boxes)[0, 0] >= 0.9 for c in hits)
    assert len(hits) < 400  # and it does reject


def test_expand_places_the_image_and_maps_boxes():
    rng = np.random.default_rng(1)
    image = np.zeros((40, 60, 3), np.uint8)
    image[10:20, 30:45] = 255  # pixels of a box (15 wide, 10 high)
    box = np.array([[30 / 60, 10 / 40, 45 / 60, 20 / 40]], dtype=np.float32)
    for _ in range(20):
        out = expand(Sample(image, box, np.array([0])), rng, 1.0, 4.0, MEAN)
        height, width = out.image.shape[:2]
        assert height >= 40 and width >= 60
        x1, y1, x2, y2 = np.round(out.boxes[0] * [width, height, width, height]).astype(int)
        assert (x2 - x1, y2 - y1) == (15, 10)
        assert np.all(out.image[y1:y2, x1:x2] == 255)
        if width > 60:  # the canvas is the mean colour
            assert (out.image == np.array(MEAN, np.uint8)).all(axis=2).sum() > 0
    unchanged = expand(Sample(image, box, np.array([0])), rng, 0.0, 4.0, MEAN)
    assert unchanged.image is image


def test_hflip_mirrors_boxes():
    image = np.arange(2 * 4 * 3, dtype=np.uint8).reshape(2, 4, 3)
    out = hflip(Sample(image, np.array([[0.0, 0.0, 0.25, 1.0]], np.float32), np.array([1])))
    assert np.array_equal(out.image, image[:, ::-1])
    assert out.boxes.tolist() == [[0.75, 0.0, 1.0, 1.0]]


def test_photometric_steps_saturate_like_opencv_convert_to():
    image = np.array([[[0, 100, 250]]], np.uint8)
    assert _affine_lut(image, 1.0, 10.0).tolist() == [[[10, 110, 255]]]
    assert _affine_lut(image, 1.0, -20.0).tolist() == [[[0, 80, 230]]]
    assert _affine_lut(image, 1.5, 0.0).tolist() == [[[0, 150, 255]]]
    assert _affine_lut(np.array([[[1, 3]]], np.uint8), 0.5, 0.0).tolist() == [[[0, 2]]]  # half-even


@pytest.mark.parametrize("seed", range(5))
def test_photometric_distortion_keeps_shape_and_type(seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(31, 17, 3), dtype=np.uint8)
    out = photometric_distort(image, rng, AugmentConfig())
    assert out.shape == image.shape and out.dtype == np.uint8


def test_hue_shift_adds_to_opencv_hue():
    import cv2

    image = np.full((4, 4, 3), (255, 255, 0), np.uint8)  # cyan, OpenCV hue 90
    shifted = random_hue(image, np.random.default_rng(0), 1.0, 18.0)
    draws = np.random.default_rng(0)
    draws.uniform()  # the probability draw
    delta = draws.uniform(-18.0, 18.0)
    hue = cv2.cvtColor(shifted, cv2.COLOR_BGR2HSV)[..., 0].astype(int)
    assert abs(delta) > 2  # the check below is about a real shift
    assert np.all(np.abs(hue - round(90 + delta)) <= 1)


def count_reencodings(monkeypatch) -> list[tuple[int, int]]:
    """Record the (height, width) of every image train_transform re-encodes."""
    from ssd_ref.data import transforms

    seen: list[tuple[int, int]] = []
    real = transforms.jpeg_roundtrip

    def spy(image, quality):
        seen.append(image.shape[:2])
        return real(image, quality)

    monkeypatch.setattr(transforms, "jpeg_roundtrip", spy)
    return seen


def test_jpeg_is_reencoded_after_distortion_expansion_and_crop_as_caffe_does(monkeypatch):
    seen = count_reencodings(monkeypatch)
    sample = random_sample(np.random.default_rng(2))
    whole_image = AugmentConfig().samplers[:1]
    # No expansion, only the whole-image sampler: after distortion and after the "crop".
    cfg = AugmentConfig(expand_prob=0.0, samplers=whole_image)
    train_transform(sample, np.random.default_rng(0), cfg, 300, MEAN)
    assert seen == [sample.image.shape[:2]] * 2
    # Always expanded: the expanded canvas is re-encoded too, before the crop.
    seen.clear()
    cfg = AugmentConfig(expand_prob=1.0, samplers=whole_image)
    train_transform(sample, np.random.default_rng(0), cfg, 300, MEAN)
    assert len(seen) == 3 and seen[0] == sample.image.shape[:2] and seen[1] == seen[2]
    assert seen[1][0] > sample.image.shape[0] or seen[1][1] > sample.image.shape[1]
    # No sampler gives a box: Caffe does not crop, so no third encoding.
    seen.clear()
    train_transform(sample, np.random.default_rng(0), AugmentConfig(expand_prob=0.0, samplers=()),
                    300, MEAN)  # fmt: skip
    assert len(seen) == 1


def test_jpeg_roundtrip_is_opencvs_default_quality_95_and_off_with_none():
    import cv2

    from ssd_ref.data.transforms import jpeg_roundtrip

    rng = np.random.default_rng(4)
    image = cv2.GaussianBlur(rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8), (5, 5), 2)
    default = cv2.imdecode(cv2.imencode(".jpg", image)[1], cv2.IMREAD_COLOR)  # Caffe's call
    again = jpeg_roundtrip(image, 95)
    assert np.array_equal(again, default) and not np.array_equal(again, image)
    assert np.abs(again.astype(int) - image).mean() < 8  # lossy (4:2:0 chroma), but close
    assert jpeg_roundtrip(image, None) is image
    sample = random_sample(np.random.default_rng(2))
    plain = train_transform(sample, np.random.default_rng(1), AugmentConfig(jpeg_quality=None),
                            300, MEAN)  # fmt: skip
    encoded = train_transform(sample, np.random.default_rng(1), AugmentConfig(), 300, MEAN)
    # The same random draws (boxes, labels) either way; only the pixels change.
    assert np.array_equal(plain.boxes, encoded.boxes) and not np.array_equal(
        plain.image, encoded.image
    )
