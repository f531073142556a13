"""``table --best`` (issue 22, 3): the best checkpoint and the paired bootstrap against
the next best, with Holm's correction; checked by hand, and by simulation as the
``--ci`` intervals are (``test_bootstrap.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from vocmap.analysis import best_checkpoint as bc
from vocmap.analysis import bootstrap as bs
from vocmap.analysis import bootstrap_kernels as bk
from vocmap.core import kernels


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1: 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    assert bc.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert bc.holm([0.5]) == [0.5]
    assert bc.holm([0.6, 0.9]) == [1.0, 1.0]  # capped at 1
    assert np.isnan(bc.holm([np.nan, 0.02])[0]) and bc.holm([np.nan, 0.02])[1] == 0.02
    assert bc.holm([]) == []


def test_two_sided_p_by_hand():
    assert bc.two_sided_p(np.array([0.1, 0.2, -0.1, 0.3])) == 0.5  # 2 * 1/4
    assert bc.two_sided_p(np.array([0.1, 0.2, 0.0, 0.3])) == 0.5  # a tie counts on both sides
    assert bc.two_sided_p(np.array([0.1, 0.2])) == 0.0
    assert np.isnan(bc.two_sided_p(np.array([np.nan])))


def test_decide_by_hand():
    maps = {100: 0.50, 200: 0.60, 300: 0.58, 400: 0.40}
    rep = {
        100: np.array([0.50, 0.50, 0.50, 0.50]),
        200: np.array([0.60, 0.61, 0.59, 0.62]),
        300: np.array([0.61, 0.57, 0.58, 0.60]),
        400: np.array([0.40, 0.40, 0.40, 0.40]),
    }
    best = bc.decide(maps, rep, 0.95, 4, 0, 10)
    assert best.step == 200 and best.map == 0.60
    assert [r.step for r in best.rivals] == [300, 100, 400]  # next best first
    r300 = best.rivals[0]
    assert r300.beats == 0.25  # 0.61 > 0.60 in one resample of four
    assert r300.diff == pytest.approx(0.02) and r300.p == 0.5 and not r300.real
    assert best.rivals[1].p == 0.0 and best.rivals[1].real  # Holm over 6 pairs: 0 * 6
    sentence = best.verdicts()[0]
    assert sentence.startswith("step 300 beats 200 in 25.0% of the resamples: not a real")
    assert "Holm over the 6 pairs of the 4 checkpoints" in sentence
    data = best.to_dict()
    assert data["best"] == {"step": 200, "map": 0.6}
    assert data["correction"] == "holm, over the 6 pairs of checkpoints"


def test_ties_go_to_the_earlier_step_and_nan_is_never_best():
    rep = {s: np.zeros(3) for s in (1, 2, 3)}
    assert bc.decide({1: 0.5, 2: 0.5, 3: np.nan}, rep, 0.9, 3, 0, 1).step == 1


def detections(rng, difficult, found_rate, fp_rate):
    """One checkpoint's detections on fixed images of two objects each: each object
    found with ``found_rate`` (score ~ N(1, 1); a difficult one gives an ignored
    detection), Poisson(``fp_rate``) background detections an image, score ~ N(0, 1)."""
    images = difficult.shape[0]
    found = rng.random(difficult.shape) < found_rate
    hit_image = np.repeat(np.arange(images), 2)[found.ravel()]
    hit_outcome = np.where(difficult.ravel()[found.ravel()], kernels.IGNORED, kernels.TRUE_POSITIVE)
    fp_image = np.repeat(np.arange(images), rng.poisson(fp_rate, images))
    image = np.concatenate([hit_image, fp_image])
    score = np.concatenate(
        [rng.normal(1.0, 1.0, hit_image.size), rng.normal(0.0, 1.0, fp_image.size)]
    )
    outcome = np.concatenate([hit_outcome, np.full(fp_image.size, kernels.FALSE_POSITIVE)])
    return image, score, outcome.astype(np.int8)


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


def simulate(found_rates, draws=150, images=200, resamples=200, level=0.95, seed=22):
    """``decide`` on ``draws`` simulated test sets, checkpoint ``k`` finding objects at
    ``found_rates[k]``: yields each BestCheckpoint."""
    rng = np.random.default_rng(seed)
    for k in range(draws):
        difficult = rng.random((images, 2)) < 0.1
        npos = 2 - difficult.sum(axis=1)
        weights = bs.resample_weights(images, resamples, seed=k)
        maps, reps = {}, {}
        for step, rate in enumerate(found_rates):
            image, score, outcome = detections(rng, difficult, rate, 3)
            order = kernels.stable_descending_order(score)
            rec, prec = kernels.precision_recall(outcome[order], int(npos.sum()))
            maps[step] = kernels.average_precision_11point(rec, prec)
            reps[step] = bs.replicates(inputs_for(image, score, outcome, npos), weights)[1]
        yield bc.decide(maps, reps, level, resamples, k, images)


def test_equal_checkpoints_are_called_different_at_most_about_five_percent():
    # Four checkpoints of the same quality: any "real difference" is a false one. Holm
    # over every pair keeps the family-wise rate at 5% (400 data sets: 0.0525; Holm
    # over the best's pairs only gave 0.075, since the best is chosen by the data).
    # Over 150 data sets the Monte Carlo error of the rate is about 0.018.
    false_calls = sum(any(r.real for r in b.rivals) for b in simulate([0.7, 0.7, 0.7, 0.7]))
    assert false_calls / 150 <= 0.09, false_calls
    assert false_calls > 0  # not a test that calls nothing


def test_a_clearly_worse_checkpoint_is_found():
    # Checkpoint 1 finds half the objects where the others find 80%.
    found = [
        any(r.step == 1 and r.real for r in best.rivals) and best.step != 1
        for best in simulate([0.8, 0.5, 0.8], draws=40)
    ]
    assert sum(found) / 40 >= 0.9, sum(found)
