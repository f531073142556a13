"""Property tests: the diagnose kernels against their plain-Python twins.

Random images with objects of a few classes (fractional, degenerate and
touching boxes, score ties) and detections around them; every number compared
bit for bit. Also run under ``NUMBA_DISABLE_JIT=1`` (see the Makefile).
"""

from __future__ import annotations

import math
import struct

import numpy as np
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vocmap.analysis import diagnose_kernels, tide_kernels
from vocmap.testing import diagnose_reference as ref

SETTINGS = settings(
    max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def bits(value: float) -> bytes:
    value = float(value)
    return b"nan" if math.isnan(value) else struct.pack("<d", value)


coordinate = st.one_of(
    st.integers(0, 12).map(float), st.floats(0, 12, allow_nan=False).map(lambda v: round(v, 1))
)


@st.composite
def boxes(draw):
    x1, y1 = draw(coordinate), draw(coordinate)
    return [x1, y1, x1 + draw(st.integers(-1, 8)), y1 + draw(st.integers(-1, 8))]


@st.composite
def scenes(draw):
    """Per image: objects (class, box) and detections (class, score, box)."""
    n_images = draw(st.integers(1, 3))
    images = []
    for _ in range(n_images):
        objects = draw(st.lists(st.tuples(st.integers(0, 2), boxes(), st.booleans()), max_size=4))
        dets = draw(
            st.lists(
                st.tuples(st.integers(0, 2), st.sampled_from([0.1, 0.5, 0.5, 0.9]), boxes()),
                max_size=6,
            )
        )
        images.append((objects, dets))
    return images


@SETTINGS
@given(scenes(), st.integers(0, 2))
def test_group_overlaps_matches_its_twin(scene, seed):
    rng = np.random.default_rng(seed)
    relation = rng.integers(-1, 3, size=(3, 3))
    offsets, obj_boxes, obj_class, det_image, det_boxes, det_class = [0], [], [], [], [], []
    for i, (objects, dets) in enumerate(scene):
        for cls, box, _ in objects:
            obj_boxes.append(box)
            obj_class.append(cls if cls != 2 or seed != 1 else -1)
        offsets.append(len(obj_boxes))
        for cls, _, box in dets:
            det_image.append(i)
            det_boxes.append(box)
            det_class.append(cls)
    args = (
        np.array(det_image, dtype=np.int64),
        np.array(det_boxes, dtype=np.float64).reshape(-1, 4),
        np.array(det_class, dtype=np.int64),
        np.array(offsets, dtype=np.int64),
        np.array(obj_boxes, dtype=np.float64).reshape(-1, 4),
        np.array(obj_class, dtype=np.int64),
        relation.astype(np.int64),
        3,
    )
    best, rows = diagnose_kernels.group_overlaps(*args)
    nbest, nrows = ref.naive_group_overlaps(*args)
    assert [[bits(v) for v in r] for r in best.tolist()] == [[bits(v) for v in r] for r in nbest]
    assert rows.tolist() == nrows


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(-1, 5), st.sampled_from([-math.inf, 0.2, 0.5, 0.7, 1.0])),
        max_size=30,
    ),
    st.lists(st.booleans(), min_size=6, max_size=6),
    st.sampled_from([0.5, 0.7]),
)
def test_subset_outcomes_matches_its_twin(pairs, counted, threshold):
    rows = np.array([r if ov > -math.inf else -1 for r, ov in pairs], dtype=np.int64)
    overlaps = np.array([ov if r >= 0 else -math.inf for r, ov in pairs], dtype=np.float64)
    mask = np.array(counted, dtype=bool)
    got = diagnose_kernels.subset_outcomes(rows, overlaps, mask, threshold)
    assert got.tolist() == ref.naive_subset_outcomes(
        rows.tolist(), overlaps.tolist(), counted, threshold
    )


def _csr(per_image):
    offsets, flat = [0], []
    for items in per_image:
        flat += items
        offsets.append(len(flat))
    return np.array(offsets, dtype=np.int64), flat


@SETTINGS
@given(scenes(), st.sampled_from([(0.5, 0.1), (0.3, 0.1), (0.5, 0.0)]))
def test_tide_assign_matches_its_twin(scene, thresholds):
    pos, bg = thresholds
    preds, gts, ignores = [], [], []
    for objects, dets in scene:
        # tidecv's order: a stable sort by decreasing score
        ordered = sorted(dets, key=lambda d: -d[1])
        preds.append([(c, s, [b[0], b[1], b[2] - b[0], b[3] - b[1]]) for c, s, b in ordered])
        gts.append(
            [(c, [b[0], b[1], b[2] - b[0], b[3] - b[1]]) for c, b, ign in objects if not ign]
        )
        ignores.append(
            [(c, [b[0], b[1], b[2] - b[0], b[3] - b[1]]) for c, b, ign in objects if ign]
        )
    p_off, p_flat = _csr(preds)
    g_off, g_flat = _csr(gts)
    i_off, i_flat = _csr(ignores)
    got = tide_kernels.tide_assign(
        p_off,
        np.array([p[0] for p in p_flat], dtype=np.int64),
        np.array([p[1] for p in p_flat], dtype=np.float64),
        np.array([p[2] for p in p_flat], dtype=np.float64).reshape(-1, 4),
        g_off,
        np.array([g[0] for g in g_flat], dtype=np.int64),
        np.array([g[1] for g in g_flat], dtype=np.float64).reshape(-1, 4),
        i_off,
        np.array([g[0] for g in i_flat], dtype=np.int64),
        np.array([g[1] for g in i_flat], dtype=np.float64).reshape(-1, 4),
        pos,
        bg,
    )
    want = ref.naive_tide_assign(preds, gts, ignores, pos, bg)
    assert [a.tolist() for a in got] == [list(w) for w in want]
