"""ssd_ref's own HSV round trip equals OpenCV 4.x's uint8 cvtColor (issue 18 §1.7).

The expected bytes below were made once with opencv-python-headless 4.10.0.84
(``cv2.cvtColor`` on rows 256 or 64 pixels wide, so every pixel went through
OpenCV's vector code, see :mod:`ssd_ref.data.hsv`), on an x86-64 CPU with AVX2
and FMA. They are fixed: the tests do not depend on the OpenCV installed.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import cv2
import numpy as np
import pytest

from ssd_ref.data.hsv import _one_minus_product, bgr_to_hsv, hsv_to_bgr
from ssd_ref.data.transforms import random_hue, random_saturation

#: SHA-256 of OpenCV 4.10's output on the grids of :func:`grid` (HSV -> BGR, BGR -> HSV).
HSV2BGR_SHA256 = "10793da3b4985ad58be3270cca2580864a83845892311959b810d751aa351041"
BGR2HSV_SHA256 = "b7cdcef40a47d0bbc9c2488ffe7e1b262e01b80f1ef0212379449a11a63e6e64"

#: 40 triples (32 seeded, then edge cases: hue 179/180/255, black, grey, and
#: two pixels where an unfused ``1 - s*h`` gives another byte), and OpenCV
#: 4.10's output for them read as HSV (H2B) and as BGR (B2H).
SAMPLE = (
    "d3e3c2e423e738667f619536097da8b7f1fc56dea109e44794bdbe5dd1752d15eedc2bf6e4ee42f8a65af0b1d0"
    "805d90db911d91f437f2a42bf046bd25d9ad93be9af0c8aa41b179f680a35c9fbc551fa76561cedcd547504e32"
    "a3aa692a78bc015a5501aab4b3ffffb4ffffffffff0000001e80c85a0101"
)
H2B = (
    "15c2bcc7e7d34c7f52362e16556ea80d25fc8ea114071a47be31b4756b15daeee4ccf6e804421d2f5a1f3fd03f"
    "905b690c1d1837022e112b0f89bd8919ad8a9a278e24aa2433792561a351bcb446a3a792ceb17f0b47332c3222"
    "4a236963bc983738553b40b40800ff0000ff7fff0000000063c8c8010100"
)
B2H = (
    "4b25e396d8e7138f7f4aa39516f1a81946fc2b9cde33f5e41d38be368ed1b1e9ee9ad2f658b8ee6aa2f88743f0"
    "9f5a9066dddb4ac6f466d2f28db5f025d4d9373abe6b4af02da1b1817af61582bca8d0a7b387ce5baddc5c6050"
    "5762aa10c6bc20fc5a1cfeb41e4cff1e4bff0000ff00000011d9c878fc5a"
)


def grid() -> np.ndarray:
    """Every pair of the first two bytes with the third in 0, 5, ..., 255, rows of 256."""
    every = np.arange(256, dtype=np.uint8)
    first, second, third = np.meshgrid(every, every, every[::5], indexing="ij")
    return np.stack([first, second, third], -1).reshape(-1, 256, 3)


def as_pixels(text: str) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(text), np.uint8).reshape(1, -1, 3)


def test_the_sample_gives_opencv_4_bytes():
    sample = as_pixels(SAMPLE)
    assert hsv_to_bgr(sample).tobytes().hex() == H2B
    assert bgr_to_hsv(sample).tobytes().hex() == B2H


def test_every_hue_and_saturation_gives_opencv_4_bytes():
    pixels = grid()
    assert hashlib.sha256(hsv_to_bgr(pixels).tobytes()).hexdigest() == HSV2BGR_SHA256
    assert hashlib.sha256(bgr_to_hsv(pixels).tobytes()).hexdigest() == BGR2HSV_SHA256


def test_shapes_are_kept_and_bad_input_refused():
    image = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    assert bgr_to_hsv(image).shape == hsv_to_bgr(image).shape == (7, 5, 3)
    for bad in (image.astype(np.int16), image[..., :2]):
        with pytest.raises(ValueError, match="uint8"):
            bgr_to_hsv(bad)
        with pytest.raises(ValueError, match="uint8"):
            hsv_to_bgr(bad)


def test_the_fused_one_minus_product_is_rounded_once():
    """``1 - a b`` rounded once to float32 (a fused multiply-add), checked exactly."""
    rng = np.random.default_rng(3)
    a = rng.random(2000).astype(np.float32)
    b = rng.random(2000).astype(np.float32)
    # ties: products whose exact 1 - ab lies half an ulp beside a float32 value
    a = np.concatenate([a, np.float32([0.5, 2.0**-24, 0.75])])
    b = np.concatenate([b, np.float32([2.0**-24, 1.0, 2.0**-25 * 3])])
    fused = _one_minus_product(a, b)
    for x, y, got in zip(a, b, fused, strict=True):
        exact = 1 - Fraction(float(x)) * Fraction(float(y))
        below = np.float32(float(exact))  # round-to-nearest of the exact value via float64 ...
        candidates = [below, np.nextafter(below, np.float32(2)), np.nextafter(below, np.float32(0))]
        best = min(candidates, key=lambda c: (abs(Fraction(float(c)) - exact),
                                              int(np.float32(c).view(np.int32)) & 1))  # fmt: skip
        assert got == best, (x, y)


def test_the_augmentation_no_longer_calls_opencv_for_hsv(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("cv2.cvtColor called")

    monkeypatch.setattr(cv2, "cvtColor", refuse)
    image = np.random.default_rng(1).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    out = random_saturation(image.copy(), np.random.default_rng(2), 1.0, 0.5, 1.5)
    assert out.shape == image.shape and out.dtype == np.uint8 and not np.array_equal(out, image)
    out = random_hue(image.copy(), np.random.default_rng(2), 1.0, 18.0)
    assert out.shape == image.shape and not np.array_equal(out, image)


@pytest.mark.skipif(not cv2.__version__.startswith("4."), reason="needs OpenCV 4.x installed")
def test_equal_to_the_installed_opencv_4_on_its_vector_path():
    pixels = grid()[:512]
    assert np.array_equal(hsv_to_bgr(pixels), cv2.cvtColor(pixels, cv2.COLOR_HSV2BGR))
    assert np.array_equal(bgr_to_hsv(pixels), cv2.cvtColor(pixels, cv2.COLOR_BGR2HSV))
