"""OpenCV 4.x's 8-bit BGR <-> HSV conversions, in numpy: the same bytes with any OpenCV.

Caffe's colour augmentation (saturation and hue) converts uint8 BGR to HSV and
back with ``cv::cvtColor``. These functions compute what OpenCV 4.x computes
(``modules/imgproc/src/color_hsv.simd.hpp``, structs ``RGB2HSV_b`` and
``HSV2RGB_b``; hue range 180), so the augmentation no longer depends on the
installed OpenCV:

* BGR -> HSV is integer arithmetic with OpenCV's 12-bit fixed-point division
  tables, the same in OpenCV's vector and scalar code.
* HSV -> BGR is float32 arithmetic. OpenCV's vector code (every pixel of a row
  but the last ``width mod 4·lanes``; lanes = 4 floats on SSE, 8 on AVX2) ends
  with a truncation (``v_trunc(x * 255)``), its scalar tail with a rounding
  (``saturate_cast<uchar>``), so OpenCV's bytes for the last pixels of a row
  depend on the image width and the CPU's vector width. Here every pixel takes
  the vector code's rule: OpenCV's result for all pixels of a row whose width is
  a multiple of 32, on any CPU.
"""

from __future__ import annotations

import numpy as np

_SHIFT = 12
_HALF = 1 << (_SHIFT - 1)
_F = np.float32
_ONE = _F(1.0)


def _division_tables() -> tuple[np.ndarray, np.ndarray]:
    """``sdiv_table`` and ``hdiv_table180``: ``cvRound((255 << 12) / i)`` and
    ``cvRound((180 << 12) / (6 i))`` (round half to even), 0 at ``i = 0``."""
    i = np.arange(1, 256, dtype=np.float64)
    sdiv = np.zeros(256, np.int32)
    hdiv = np.zeros(256, np.int32)
    sdiv[1:] = np.rint((255 << _SHIFT) / i)
    hdiv[1:] = np.rint((180 << _SHIFT) / (6.0 * i))
    return sdiv, hdiv


def _one_minus_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float32 ``1 - a * b`` with one rounding, as a fused multiply-add computes it
    (OpenCV's AVX2 code: the compiler fuses ``v_sub(one, v_mul(a, b))``).

    The float32 product is exact in float64, ``1 - p`` is rounded once to float64
    with its error known exactly (Fast2Sum); only a float64 result that lies on a
    float32 tie can round differently from the exact value, and that case is
    decided by the error's sign.
    """
    product = a.astype(np.float64) * b.astype(np.float64)
    wide = 1.0 - product
    error = (1.0 - wide) - product  # exact: wide + error == 1 - product
    narrow = wide.astype(_F)
    offset = wide - narrow.astype(np.float64)
    half_ulp = np.spacing(np.abs(narrow)).astype(np.float64) / 2
    tie = (np.abs(offset) == half_ulp) & (error != 0)
    # On a tie numpy rounded to even; the exact value lies beyond the tie when
    # the error points the same way as the tie's offset from the rounded value.
    away = tie & (np.sign(error) == np.sign(offset))
    narrow[away] = np.nextafter(narrow[away], wide[away].astype(_F) + offset[away].astype(_F))
    return narrow


def _hsv_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per hue byte: OpenCV's sector (0..5); per (hue, saturation) byte pair: the
    float32 factors ``1 - s`` (saturation only), ``1 - s h`` and ``1 - s (1 - h)``."""
    hue = np.arange(256, dtype=_F) * (_F(6.0) / _F(180.0))
    pre_sector = np.trunc(hue)
    fraction = hue - pre_sector
    sector = (pre_sector - np.trunc(pre_sector * (_ONE / _F(6.0))) * _F(6.0)).astype(np.int8)
    s = np.arange(256, dtype=_F) * (_ONE / _F(255.0))
    one_minus_s = _ONE - s
    s_grid, h_grid = np.meshgrid(s, fraction, indexing="xy")  # [hue, saturation]
    falling = _one_minus_product(s_grid, h_grid)
    rising = _one_minus_product(s_grid, _ONE - h_grid)
    return sector, one_minus_s, falling, rising


def _bgr_to_hsv_tables() -> tuple[np.ndarray, np.ndarray]:
    """S by ``(v, diff)`` and H by ``(numerator + 255, diff)``: OpenCV's fixed-point
    ``s = (diff sdiv[v] + 2^11) >> 12`` and ``h = (num hdiv[diff] + 2^11) >> 12``
    (plus 180 when negative), where ``num`` is ``g - b``, ``b - r + 2 diff`` or
    ``r - g + 4 diff`` as the maximum is red, green or blue (-255 .. 1275)."""
    sdiv, hdiv = _division_tables()
    values = np.arange(256, dtype=np.int64)
    s_table = (values[None, :] * sdiv[:, None] + _HALF) >> _SHIFT  # [v, diff]
    numerators = np.arange(-255, 5 * 255 + 1, dtype=np.int64)
    h_table = (numerators[:, None] * hdiv[None, :] + _HALF) >> _SHIFT  # [num + 255, diff]
    h_table[h_table < 0] += 180
    return s_table.astype(np.uint8), np.clip(h_table, 0, 255).astype(np.uint8)


_S_TABLE, _H_TABLE = _bgr_to_hsv_tables()


def _check(image: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.shape[-1:] != (3,):
        raise ValueError(f"expected uint8 (..., 3) {what}, got {array.dtype} {array.shape}")
    return array


def bgr_to_hsv(image: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 BGR -> uint8 HSV (H in 0..179, S and V in 0..255), as
    ``cv2.cvtColor(image, cv2.COLOR_BGR2HSV)`` in OpenCV 4.x."""
    bgr = _check(image, "BGR")
    b, g, r = bgr[..., 0], bgr[..., 1], bgr[..., 2]
    v = np.maximum(np.maximum(b, g), r)
    diff = v - np.minimum(np.minimum(b, g), r)  # uint8, no wrap: v is the maximum
    b16, g16, r16, d16 = (x.astype(np.int16) for x in (b, g, r, diff))
    red, green = v == r, v == g
    numerator = np.where(red, g16 - b16, np.where(green, b16 - r16 + 2 * d16, r16 - g16 + 4 * d16))
    out = np.empty(bgr.shape, np.uint8)
    out[..., 0] = _H_TABLE.ravel()[(numerator.astype(np.int32) + 255) * 256 + diff]
    out[..., 1] = _S_TABLE.ravel()[v.astype(np.int32) * 256 + diff]
    out[..., 2] = v
    return out


def _channel_factors() -> np.ndarray:
    """``(3, 256 * 256)`` float32: for each (hue byte, saturation byte), the factor
    of ``v`` that OpenCV's ``HSV2RGB_simd`` picks for blue, green and red: its
    ``tab[0..3]`` are v, v(1-s), v(1-sh) and v(1-s(1-h)) (h the fraction of the
    sector), the sector choosing which tab each channel takes."""
    sector, one_minus_s, falling, rising = _hsv_tables()
    per_tab = np.stack(
        [np.ones((256, 256), _F), np.broadcast_to(one_minus_s, (256, 256)), falling, rising]
    )  # [tab, hue, saturation]
    order = np.array([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]])
    chosen = order[sector]  # [hue, channel]
    factors = np.empty((3, 256, 256), _F)
    for channel in range(3):
        factors[channel] = np.take_along_axis(per_tab, chosen[None, :, channel, None], axis=0)[0]
    return factors.reshape(3, -1)


_FACTORS = _channel_factors()


def hsv_to_bgr(image: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 HSV (H in 0..255; 180 and above wrap as in OpenCV) -> uint8
    BGR, as OpenCV 4.x's vector code for ``cv2.COLOR_HSV2BGR`` (see the module doc):
    ``trunc(float32(v / 255 * factor) * 255)`` per channel."""
    hsv = _check(image, "HSV")
    index = hsv[..., 0].astype(np.int32) * 256 + hsv[..., 1]
    v = hsv[..., 2].astype(_F) * (_ONE / _F(255.0))
    out = np.empty(hsv.shape, np.uint8)
    for channel in range(3):
        tab = v * _FACTORS[channel][index]  # OpenCV's tab[k] = v * factor, float32
        out[..., channel] = np.trunc(tab * _F(255.0))  # in 0..255: the factors are in [0, 1]
    return out
