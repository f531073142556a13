"""The step-indexed data order: epochs, ranks, resume."""

from __future__ import annotations

import itertools

import pytest

from ssd_ref.data.samplers import StepBatchSampler


def test_each_epoch_visits_every_item_once():
    sampler = StepBatchSampler(10, 5, seed=0, start_step=0, max_step=6)
    items = [item for batch in sampler for _, item in batch]
    for epoch in range(3):
        assert sorted(items[epoch * 10 : (epoch + 1) * 10]) == list(range(10))
    assert items[:10] != items[10:20]  # a new permutation each epoch
    assert [i for batch in sampler for i, _ in batch] == list(range(30))  # stream indices


def test_ranks_split_the_same_global_batch():
    single = list(StepBatchSampler(13, 8, seed=4, start_step=0, max_step=5))
    ranks = [list(StepBatchSampler(13, 8, 4, 0, 5, world_size=4, rank=r)) for r in range(4)]
    for step in range(5):
        assert list(itertools.chain(*(ranks[r][step] for r in range(4)))) == single[step]


def test_resuming_at_a_step_continues_the_same_order():
    straight = list(StepBatchSampler(7, 4, seed=9, start_step=0, max_step=12))
    resumed = list(StepBatchSampler(7, 4, seed=9, start_step=5, max_step=12))
    assert resumed == straight[5:]
    assert len(StepBatchSampler(7, 4, 9, 5, 12)) == 7


def test_seed_changes_the_order_and_batch_must_divide():
    a = list(StepBatchSampler(50, 10, seed=1, start_step=0, max_step=1))
    b = list(StepBatchSampler(50, 10, seed=2, start_step=0, max_step=1))
    assert a != b
    with pytest.raises(ValueError, match="divisible"):
        StepBatchSampler(50, 32, 0, 0, 1, world_size=3)


def test_fixed_epoch_order_repeats_the_first_permutation():
    fixed = [i for b in StepBatchSampler(10, 5, 0, 0, 6, epoch_order="fixed") for _, i in b]
    reshuffled = [i for b in StepBatchSampler(10, 5, 0, 0, 6) for _, i in b]
    assert sorted(fixed[:10]) == list(range(10))
    assert fixed[:10] == fixed[10:20] == fixed[20:30] == reshuffled[:10]
    assert reshuffled[10:20] != reshuffled[:10]
    # Resuming mid-epoch continues the same fixed order; the state records it.
    resumed = StepBatchSampler(10, 5, 0, 3, 6, epoch_order="fixed")
    assert [i for b in resumed for _, i in b] == fixed[15:]
    assert resumed.state_dict(3)["epoch_order"] == "fixed"
    with pytest.raises(ValueError, match="epoch order"):
        StepBatchSampler(10, 5, 0, 0, 1, epoch_order="sometimes")
