"""Hypothesis strategies of small detection cases for the diagnose tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import vocmap


@st.composite
def small_cases(draw):
    """A few images, two classes, difficult objects, ties, touching and nested boxes."""
    n_images = draw(st.integers(1, 4))
    ids = [f"{i:06d}" for i in range(n_images)]
    coord = st.integers(0, 30).map(float)
    objects = draw(
        st.lists(
            st.tuples(
                st.integers(0, n_images - 1),
                st.sampled_from(["cat", "dog"]),
                coord,
                coord,
                st.integers(0, 20),
                st.integers(0, 20),
                st.booleans(),
            ),
            max_size=8,
        )
    )
    objects.sort(key=lambda o: o[0])
    gt = vocmap.GroundTruth.from_arrays(
        ids,
        np.array([o[0] for o in objects], dtype=np.int64),
        [o[1] for o in objects],
        np.array([[o[2], o[3], o[2] + o[4], o[3] + o[5]] for o in objects]).reshape(-1, 4),
        np.array([o[6] for o in objects], dtype=bool),
    )
    per_class = {}
    for name in ("cat", "dog"):
        dets = draw(
            st.lists(
                st.tuples(
                    st.integers(0, n_images - 1),
                    st.sampled_from([0.2, 0.5, 0.5, 0.9]),
                    coord,
                    coord,
                    st.integers(0, 20),
                    st.integers(0, 20),
                ),
                max_size=8,
            )
        )
        per_class[name] = (
            np.array([d[0] for d in dets], dtype=np.int64),
            np.array([d[1] for d in dets]),
            np.array([[d[2], d[3], d[2] + d[4], d[3] + d[5]] for d in dets]).reshape(-1, 4),
        )
    return gt, vocmap.Detections.from_arrays(gt, per_class, box_format="voc", image_index=True)
