"""The image bootstrap: replicates equal the devkit on the literally resampled data
set, intervals cover the true AP at about the nominal rate, and the stored shape."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fixture_paths import DEMO, GOLDEN

import vocmap
from vocmap.analysis import bootstrap as bs
from vocmap.analysis import bootstrap_kernels as bk
from vocmap.core import kernels
from vocmap.testing import bootstrap_reference as ref

CASES = [
    GOLDEN / name
    for name in (
        "random_11",
        "edge_score_ties",
        "edge_only_difficult_matches",
        "edge_recall_on_thresholds",
        "edge_duplicates_and_empty_classes",
    )
]


def load(root):
    if (root / "VOC2007").exists():
        gt = vocmap.read_voc(root / "VOC2007", cache=False)
        classes = list(vocmap.VOC_CLASSES)
    else:
        gt = vocmap.read_voc(root, cache=False)
        classes = json.loads((root / "case.json").read_text())["classes"]
    return gt, vocmap.read_detections(root / "results", gt, classes), classes


@pytest.mark.parametrize("root", [*CASES, DEMO], ids=lambda p: p.name)
@pytest.mark.parametrize("metric", ["voc07", "voc12"])
def test_replicate_equals_the_devkit_on_the_literally_duplicated_set(root, metric):
    gt, dets, classes = load(root)
    result = vocmap.Evaluator(gt, classes, metric=metric).evaluate(dets)
    inputs = bs.bootstrap_inputs(result, gt, dets)
    weights = bs.resample_weights(gt.num_images, 4, seed=7)
    weights[0, :] = 1  # the identity resample gives the AP itself
    aps, maps = bs.replicates(inputs, weights)
    assert np.array_equal(aps[0], np.array(list(result.aps.values())), equal_nan=True)
    for b in range(1, 4):
        big_gt, big_dets = ref.literal_resample(gt, dets, weights[b])
        literal = vocmap.Evaluator(big_gt, classes, metric=metric).evaluate(big_dets)
        assert np.array_equal(aps[b], np.array(list(literal.aps.values())), equal_nan=True)
        assert maps[b] == literal.map or (np.isnan(maps[b]) and np.isnan(literal.map))


def population(rng, n_images):
    """Outcomes of a detector on ``n_images`` images: 2 objects an image (1 in 10
    difficult), each found with probability 0.7 at a score ~ N(1, 1) (a found
    difficult object gives an ignored detection), and Poisson(3) background
    detections ~ N(0, 1) per image."""
    objects = np.full(n_images, 2)
    difficult = rng.random((n_images, 2)) < 0.1
    found = rng.random((n_images, 2)) < 0.7
    image, score, outcome = [], [], []
    for i in range(n_images):
        for j in range(2):
            if found[i, j]:
                image.append(i)
                score.append(rng.normal(1.0, 1.0))
                outcome.append(kernels.IGNORED if difficult[i, j] else kernels.TRUE_POSITIVE)
        for _ in range(rng.poisson(3)):
            image.append(i)
            score.append(rng.normal(0.0, 1.0))
            outcome.append(kernels.FALSE_POSITIVE)
    npos = objects - difficult.sum(axis=1)
    return np.array(image), np.array(score), np.array(outcome, dtype=np.int8), npos


def inputs_for(image, score, outcome, npos):
    order = kernels.stable_descending_order(score)
    images = np.flatnonzero(npos).astype(np.int32)
    return bs.BootstrapInputs(
        classes=("x",),
        n_images=npos.shape[0],
        metric=bk.METRIC_11POINT,
        class_offsets=np.array([0, order.shape[0]]),
        det_image=image[order].astype(np.int32),
        outcome=outcome[order],
        pos_offsets=np.array([0, images.shape[0]]),
        pos_image=images,
        pos_count=npos[images].astype(np.int64),
    )


def ap_of(image, score, outcome, npos):
    order = kernels.stable_descending_order(score)
    rec, prec = kernels.precision_recall(outcome[order], int(npos.sum()))
    return kernels.average_precision_11point(rec, prec)


def test_intervals_cover_the_true_ap_at_about_the_nominal_rate():
    rng = np.random.default_rng(2007)
    true_ap = ap_of(*population(rng, 200_000))  # the population's AP, to about 1e-3
    draws, covered, level = 300, 0, 0.9
    for k in range(draws):
        sample = population(rng, 300)
        inputs = inputs_for(*sample)
        aps, _ = bs.replicates(inputs, bs.resample_weights(300, 300, seed=k))
        lo, hi = bs.percentile_interval(aps[:, 0], level)
        covered += lo <= true_ap <= hi
    rate = covered / draws
    # nominal 0.90; the Monte Carlo error of the rate over 300 draws is about 0.017
    assert 0.84 <= rate <= 0.96, rate


def test_ci_is_stored_in_the_documented_shape():
    gt, dets, classes = load(DEMO)
    result = vocmap.Evaluator(gt).evaluate(dets)
    stored = bs.with_intervals(result, gt, dets, resamples=50, seed=3).to_dict()["ci"]
    assert set(stored) == {"level", "resamples", "seed", "method", "classes", "map"}
    assert (stored["level"], stored["resamples"], stored["seed"], stored["method"]) == (
        0.95,
        50,
        3,
        "percentile",
    )
    assert list(stored["classes"]) == classes
    lo, hi = stored["map"]
    assert lo <= result.map <= hi
    assert bs.stored_intervals({"ci": stored}, classes)["map"] == (lo, hi)
    again = bs.bootstrap(result, gt, dets, resamples=50, seed=3)
    assert again.to_dict() == stored  # seeded


def test_bootstrap_refuses_what_it_cannot_replicate_exactly():
    gt, dets, _ = load(DEMO)
    result = vocmap.Evaluator(gt, metric="coco50").evaluate(dets)
    with pytest.raises(vocmap.VocmapError, match="devkit"):
        bs.bootstrap(result, gt, dets)
    with pytest.raises(vocmap.VocmapError, match="level"):
        bs.bootstrap(vocmap.Evaluator(gt).evaluate(dets), gt, dets, level=95)


def test_a_malformed_stored_interval_is_not_trusted():
    assert bs.stored_intervals({"ci": {"classes": {"dog": [0.1]}, "map": [0, 1]}}, ["dog"]) is None
    assert bs.stored_intervals({"ci": {"classes": {"dog": ["a", 1]}}}, ["dog"]) is None
    assert bs.stored_intervals({}, ["dog"]) is None
