"""MultiBox loss: per-image 3:1 hard-negative mining, smooth L1, normalisation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ssd_ref.modeling.loss import hard_negative_mask, multibox_loss, normalise, smooth_l1


def test_smooth_l1_is_caffes():
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    assert smooth_l1(x).tolist() == [1.5, 0.5, 0.125, 0.0, 0.125, 0.5, 2.5]


def test_negatives_are_mined_per_image_at_three_to_one():
    generator = torch.Generator().manual_seed(0)
    priors = 200
    labels = torch.zeros(3, priors, dtype=torch.long)
    labels[0, :2] = 1  # image 0: 2 positives -> 6 negatives
    labels[1, :40] = 2  # image 1: 40 positives -> 120 negatives
    labels[2, 5] = -1  # image 2: no positive -> no negative
    # Make image 1's negatives "easy" everywhere, image 0's hard: a batch-wide
    # pool would take negatives from image 0 only.
    background_loss = torch.rand(3, priors, generator=generator)
    background_loss[0] += 10.0
    mask = hard_negative_mask(background_loss, labels, 3.0)
    assert mask.sum(dim=1).tolist() == [6, 120, 0]
    assert not (mask & (labels != 0)).any()  # only label-0 priors are negatives
    # The mined ones are the hardest of their image.
    for image in range(2):
        candidates = background_loss[image][labels[image] == 0]
        chosen = background_loss[image][mask[image]]
        assert chosen.min() >= candidates.sort(descending=True).values[len(chosen) - 1]


def test_negatives_are_capped_by_the_candidates():
    labels = torch.zeros(1, 10, dtype=torch.long)
    labels[0, :4] = 1  # 4 positives want 12 negatives; only 6 exist
    mask = hard_negative_mask(torch.rand(1, 10), labels, 3.0)
    assert int(mask.sum()) == 6


def test_ties_are_broken_by_prior_order():
    labels = torch.tensor([[1, 0, 0, 0, 0, 0]])
    mask = hard_negative_mask(torch.ones(1, 6), labels, 3.0)
    assert mask.tolist() == [[False, True, True, True, False, False]]


def test_loss_value_by_hand():
    # One image, 4 priors, 3 classes; prior 0 positive (class 2), others negatives.
    conf = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]])
    loc = torch.tensor([[[0.5, -2.0, 0.0, 0.0], [9.0, 9.0, 9.0, 9.0], [0.0] * 4, [0.0] * 4]])
    loc_target = torch.zeros(1, 4, 4)
    labels = torch.tensor([[2, 0, 0, 0]])
    sums = multibox_loss(loc, conf, loc_target, labels, neg_pos_ratio=2.0)
    log_p = F.log_softmax(conf[0], dim=-1)
    # Hardest two negatives by -log p(background): priors 2 and 3 (prior 1 is easy).
    expected_conf = -(log_p[0, 2] + log_p[2, 0] + log_p[3, 0])
    assert math.isclose(float(sums.conf_sum), float(expected_conf), rel_tol=1e-6)
    assert math.isclose(float(sums.loc_sum), 0.125 + 1.5, rel_tol=1e-6)  # prior 1 not counted
    assert float(sums.num_pos) == 1.0


def test_normalised_by_positives_of_the_whole_batch():
    generator = torch.Generator().manual_seed(1)
    conf = torch.randn(2, 50, 4, generator=generator)
    loc = torch.randn(2, 50, 4, generator=generator)
    labels = torch.zeros(2, 50, dtype=torch.long)
    labels[0, :1] = 1
    labels[1, :9] = 3
    target = torch.randn(2, 50, 4, generator=generator)
    both = multibox_loss(loc, conf, target, labels)
    first = multibox_loss(loc[:1], conf[:1], target[:1], labels[:1])
    second = multibox_loss(loc[1:], conf[1:], target[1:], labels[1:])
    # Per-image sums add up (mining is per image) ...
    assert torch.allclose(both.conf_sum, first.conf_sum + second.conf_sum)
    assert torch.allclose(both.loc_sum, first.loc_sum + second.loc_sum)
    # ... and the batch loss divides by all 10 positives, not a mean of per-image losses.
    loss, loc_loss, conf_loss = normalise(both)
    assert torch.allclose(loss, (both.loc_sum + both.conf_sum) / 10)
    assert torch.allclose(loc_loss + conf_loss, loss)
    zero = multibox_loss(loc, conf, target, torch.zeros(2, 50, dtype=torch.long))
    assert float(normalise(zero)[0]) == 0.0  # no positive: no loss, divided by max(1, 0)


def test_gradients_flow_only_through_selected_priors():
    conf = torch.randn(1, 30, 3, requires_grad=True)
    loc = torch.randn(1, 30, 4, requires_grad=True)
    labels = torch.zeros(1, 30, dtype=torch.long)
    labels[0, 0] = 1
    loss, _, _ = normalise(multibox_loss(loc, conf, torch.zeros(1, 30, 4), labels))
    loss.backward()
    assert int((conf.grad.abs().sum(-1) > 0).sum()) == 4  # 1 positive + 3 negatives
    assert int((loc.grad.abs().sum(-1) > 0).sum()) == 1


def test_ranks_normalised_by_the_global_positives_average_to_the_whole_batch_loss():
    # The trainer's rule (one function for trainer and tests): each of W ranks divides
    # its sums by (all positives / W); DDP's gradient average then equals one
    # process dividing the whole batch by all positives.
    generator = torch.Generator().manual_seed(2)
    conf = torch.randn(4, 40, 3, generator=generator)
    loc = torch.randn(4, 40, 4, generator=generator)
    target = torch.randn(4, 40, 4, generator=generator)
    labels = torch.zeros(4, 40, dtype=torch.long)
    labels[0, :3], labels[1, :1], labels[2, :7], labels[3, :2] = 1, 2, 1, 2
    whole = normalise(multibox_loss(loc, conf, target, labels), loc_weight=2.0)
    halves = [multibox_loss(loc[i : i + 2], conf[i : i + 2], target[i : i + 2], labels[i : i + 2])
              for i in (0, 2)]  # fmt: skip
    total = halves[0].num_pos + halves[1].num_pos
    per_rank = [normalise(h, 2.0, total_positives=total, world_size=2) for h in halves]
    for k in range(3):
        averaged = (per_rank[0][k] + per_rank[1][k]) / 2
        assert torch.allclose(averaged, whole[k], rtol=1e-6), k
    assert torch.allclose(whole.loss, 2.0 * whole.loc_loss + whole.conf_loss)
