"""Property test: the bootstrap replicate kernel against its plain-Python twin, which
expands every detection into its copies and runs the devkit transcription (bit for
bit; NaN equals NaN). Also run under ``NUMBA_DISABLE_JIT=1`` (Makefile)."""

from __future__ import annotations

import math
import struct

import numpy as np
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vocmap.analysis import bootstrap_kernels as bk
from vocmap.core.kernels import FALSE_POSITIVE, IGNORED, TRUE_POSITIVE
from vocmap.testing import bootstrap_reference as ref


def bits(value: float) -> bytes:
    return b"nan" if math.isnan(value) else struct.pack("<d", float(value))


@st.composite
def class_case(draw):
    n_images = draw(st.integers(1, 6))
    npos = draw(st.lists(st.integers(0, 3), min_size=n_images, max_size=n_images))
    n = draw(st.integers(0, 40))
    det_image = draw(st.lists(st.integers(0, n_images - 1), min_size=n, max_size=n))
    outcome = draw(
        st.lists(
            st.sampled_from([TRUE_POSITIVE, FALSE_POSITIVE, FALSE_POSITIVE, IGNORED]),
            min_size=n,
            max_size=n,
        )
    )
    # a TP needs an object in its image (as matching guarantees)
    outcome = [
        o if not (o == TRUE_POSITIVE and npos[i] == 0) else FALSE_POSITIVE
        for i, o in zip(det_image, outcome)
    ]
    weights = draw(st.lists(st.integers(0, 4), min_size=n_images, max_size=n_images))
    return npos, det_image, outcome, weights


@settings(max_examples=examples(1500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(class_case(), st.sampled_from(["voc07", "voc12"]))
def test_replicate_kernel_agrees_with_the_literal_expansion(case, metric):
    npos, det_image, outcome, weights = case
    pos_image = np.array([i for i, n in enumerate(npos) if n], dtype=np.int32)
    pos_count = np.array([n for n in npos if n], dtype=np.int64)
    scratch = np.empty(max(1, len(outcome)))
    got = bk.weighted_ap(
        np.array(weights, dtype=np.int32),
        np.array(det_image, dtype=np.int32),
        np.array(outcome, dtype=np.int8),
        pos_image,
        pos_count,
        bk.METRIC_11POINT if metric == "voc07" else bk.METRIC_AREA,
        scratch,
        scratch.copy(),
    )
    expected = ref.replicate_ap(weights, det_image, outcome, npos, metric)
    assert bits(got) == bits(expected)


def test_image_counts_and_sequential_means():
    draws = np.array([[0, 0, 2], [1, 2, 2]])
    assert bk.image_counts(draws, 3).tolist() == [[2, 0, 1], [0, 1, 2]]
    values = np.array([[0.1, 0.2, 0.3], [np.nan, 1.0, 0.0]])
    means = bk.sequential_means(values)
    assert means[0] == (0.1 + 0.2 + 0.3) / 3 and math.isnan(means[1])


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(class_case(), min_size=1, max_size=3),
    st.sampled_from([bk.METRIC_11POINT, bk.METRIC_AREA]),
    st.integers(1, 70),
    st.integers(0, 2**32 - 1),
)
def test_blocked_kernel_equals_the_per_resample_kernel(cases, metric, resamples, seed):
    """replicate_aps (segments of FPs, blocks of resamples) == weighted_ap per resample."""
    n_images = 6
    rng = np.random.default_rng(seed)
    weights = rng.integers(0, 4, size=(resamples, n_images)).astype(np.int32)
    weights[:, :] = np.where(rng.random((resamples, n_images)) < 0.3, 0, weights)
    det_image, outcome, pos_image, pos_count = [], [], [], []
    class_offsets, pos_offsets = [0], [0]
    for npos, images, codes, _ in cases:
        det_image += images
        outcome += codes
        class_offsets.append(len(det_image))
        for i, n in enumerate(npos):
            if n:
                pos_image.append(i)
                pos_count.append(n)
        pos_offsets.append(len(pos_image))
    arrays = (
        np.array(class_offsets, dtype=np.int64),
        np.array(det_image, dtype=np.int32),
        np.array(outcome, dtype=np.int8),
        np.array(pos_offsets, dtype=np.int64),
        np.array(pos_image, dtype=np.int32),
        np.array(pos_count, dtype=np.int64),
    )
    got = bk.replicate_aps(weights, *arrays, metric)
    scratch = np.empty(max(1, len(det_image)))
    for b in range(resamples):
        for k in range(len(cases)):
            d0, d1 = class_offsets[k], class_offsets[k + 1]
            p0, p1 = pos_offsets[k], pos_offsets[k + 1]
            expected = bk.weighted_ap(
                weights[b],
                arrays[1][d0:d1],
                arrays[2][d0:d1],
                arrays[4][p0:p1],
                arrays[5][p0:p1],
                metric,
                scratch,
                scratch.copy(),
            )
            assert bits(got[b, k]) == bits(expected)
