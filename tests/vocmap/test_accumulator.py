"""The accumulator: image order, duplicates, incomplete sets, merge and states
(issue 10 item 7, issue 12 item 2 in one process; the gloo run is test_distributed_gloo)."""

from __future__ import annotations

import pickle
import random
import sys
import types
import warnings

import numpy as np
import pytest
from framework_case import VOC_ROOT, cli_aps, demo_images, result_aps, same

import vocmap
from vocmap.core.accumulator import IncompleteImageSetWarning


@pytest.fixture(scope="module")
def case():
    return demo_images()


@pytest.fixture(scope="module")
def cli(case, tmp_path_factory):
    return cli_aps(case[1], tmp_path_factory.mktemp("cli"))


def fill(acc, images):
    for im in images:
        acc.add(im.image_id, im.boxes, im.scores, im.labels)
    return acc


def test_any_add_order_gives_the_clis_tie_broken_numbers(case, cli):
    gt, images = case
    shuffled = images[:]
    random.Random(5).shuffle(shuffled)
    acc = fill(vocmap.Evaluator(gt).accumulator("xyxy"), shuffled)
    assert same(result_aps(acc.evaluate()), cli)


def test_the_same_image_added_twice_is_an_error(case):
    gt, images = case
    acc = fill(vocmap.Evaluator(gt).accumulator("xyxy"), images[:3])
    with pytest.raises(vocmap.InputError, match=r"added twice.*drop-repeats"):
        fill(acc, images[1:2])


def test_drop_repeats_drops_identical_repeats_and_refuses_different_ones(case, cli):
    gt, images = case
    acc = fill(vocmap.Evaluator(gt).accumulator("xyxy", duplicates="drop-repeats"), images)
    fill(acc, images[:2])  # DistributedSampler's padding: the first images again
    assert acc.repeats_dropped == 2 and acc.images_seen == len(images)
    assert same(result_aps(acc.evaluate()), cli)
    other = images[0]
    with pytest.raises(vocmap.InputError, match="different detections"):
        acc.add(other.image_id, other.boxes + 1, other.scores, other.labels)
    with pytest.raises(vocmap.VocmapError, match="duplicates must be one of"):
        vocmap.Evaluator(gt).accumulator("xyxy", duplicates="keep")


def test_evaluating_after_a_few_images_warns(case):
    gt, images = case
    acc = fill(vocmap.Evaluator(gt).accumulator("xyxy"), images[:5])
    with pytest.warns(IncompleteImageSetWarning, match="after 5 of 200 images"):
        acc.evaluate()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        acc.evaluate(images="all")  # asked for: no word
        fill(acc, images[5:])
        acc.evaluate()  # complete: no word


def test_images_seen_scores_only_the_images_added(case, tmp_path):
    gt, images = case
    some = images[::3]
    acc = fill(vocmap.Evaluator(gt).accumulator("xyxy"), some)
    # the CLI on an image set of those images only
    root = tmp_path / "VOC2007"
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "Annotations").symlink_to(VOC_ROOT.resolve() / "Annotations")
    (root / "ImageSets" / "Main" / "test.txt").write_text("".join(f"{i.image_id}\n" for i in some))
    expected = cli_aps(some, tmp_path, "xyxy", "--voc-root", str(root))
    assert same(result_aps(acc.evaluate(images="seen")), expected)
    with pytest.raises(vocmap.VocmapError, match="'all' or 'seen'"):
        acc.evaluate(images="some")


def test_one_rank_of_several_is_never_scored_silently(case, monkeypatch):
    gt, images = case
    fake = types.SimpleNamespace(
        is_available=lambda: True,
        is_initialized=lambda: True,
        get_rank=lambda: 1,
        get_world_size=lambda: 2,
    )
    monkeypatch.setitem(sys.modules, "torch.distributed", fake)
    acc = fill(vocmap.Evaluator(gt).accumulator("xyxy"), images[1::2])
    with pytest.raises(vocmap.VocmapError, match=r"rank 1 of 2\) has 100 of the 200 images"):
        acc.evaluate()
    acc.evaluate(images="seen")  # asked for
    acc.gathered_ranks = 2  # as gather_accumulator marks it
    with pytest.warns(IncompleteImageSetWarning):
        acc.evaluate()


def test_merged_states_in_any_order_equal_one_accumulator(case, cli):
    gt, images = case
    evaluator = vocmap.Evaluator(gt)
    parts = [images[k::3] for k in range(3)]
    states = [
        pickle.loads(pickle.dumps(fill(evaluator.accumulator("xyxy"), p).state())) for p in parts
    ]
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        merged = evaluator.accumulator("voc").merge(*(states[k] for k in order))
        assert merged.images_seen == len(images)
        assert same(result_aps(merged.evaluate()), cli)
    # accumulators merge as well as their states
    accs = [fill(evaluator.accumulator("xyxy"), p) for p in parts]
    assert same(result_aps(accs[2].merge(accs[0], accs[1]).evaluate()), cli)


def test_merging_an_image_present_twice_follows_the_duplicates_rule(case):
    gt, images = case
    evaluator = vocmap.Evaluator(gt)
    first = fill(evaluator.accumulator("xyxy"), images[:10]).state()
    second = fill(evaluator.accumulator("xyxy"), images[9:20]).state()
    with pytest.raises(vocmap.InputError, match="added twice"):
        evaluator.accumulator("voc").merge(first, second)
    merged = evaluator.accumulator("voc", duplicates="drop-repeats").merge(first, second)
    assert merged.images_seen == 20 and merged.repeats_dropped == 1


def test_a_state_of_another_image_set_or_class_list_is_refused(case):
    gt, images = case
    state = fill(vocmap.Evaluator(gt).accumulator("xyxy"), images[:3]).state()
    with pytest.raises(vocmap.VocmapError, match="another image set or class list"):
        vocmap.Evaluator(gt, ["dog", "cat"]).accumulator("voc").merge(state)
    with pytest.raises(vocmap.VocmapError, match="not an accumulator state"):
        vocmap.Evaluator(gt).accumulator("voc").merge({"images": []})
    broken = dict(state, scores=state["scores"][:-1])
    with pytest.raises(vocmap.VocmapError, match="inconsistent"):
        vocmap.Evaluator(gt).accumulator("voc").merge(broken)


def _crafted(state: dict, name: str, how: str):
    value = state[name]
    if how == "nan":
        value = value.astype(np.float64)
        value.flat[0] = np.nan
    elif how == "inf":
        value = value.astype(np.float64)
        value.flat[-1] = -np.inf
    elif how == "fraction":
        value = value.astype(np.float64) + 0.5
    elif how == "text":
        value = np.array([str(v) for v in value.ravel().tolist()])
    elif how == "missing":
        return {k: v for k, v in state.items() if k != name}
    elif how == "object":
        value = [object()] * len(value)
    return dict(state, **{name: value})


@pytest.mark.parametrize(
    ("name", "how"),
    [
        ("scores", "nan"),
        ("scores", "inf"),
        ("boxes", "nan"),
        ("boxes", "inf"),
        ("scores", "text"),
        ("images", "fraction"),
        ("counts", "fraction"),
        ("class_ids", "fraction"),
        ("images", "text"),
        ("boxes", "missing"),
        ("counts", "missing"),
        ("scores", "object"),
        ("repeats_dropped", "negative"),
    ],
)
def test_a_crafted_state_is_refused_whole(case, name, how):
    """Issue 18: merge accepted a NaN score in a crafted state (and a fractional image
    index was truncated). The whole state is checked; a refused state adds nothing."""
    gt, images = case
    evaluator = vocmap.Evaluator(gt)
    state = fill(evaluator.accumulator("xyxy"), images[:4]).state()
    target = fill(evaluator.accumulator("xyxy"), images[10:12])
    before = target.state()
    if how == "negative":
        crafted = dict(state, repeats_dropped=-1)
    else:
        crafted = _crafted(state, name, how)
    with pytest.raises(vocmap.VocmapError, match="inconsistent accumulator state"):
        target.merge(crafted)
    after = target.state()
    assert after["images"].tolist() == before["images"].tolist()
    assert target.repeats_dropped == 0


def test_a_state_refused_halfway_adds_nothing(case):
    gt, images = case
    evaluator = vocmap.Evaluator(gt)
    target = fill(evaluator.accumulator("xyxy"), images[5:6])
    state = fill(evaluator.accumulator("xyxy"), images[:8]).state()  # image 5 again
    with pytest.raises(vocmap.InputError, match="added twice"):
        target.merge(state)
    assert target.images_seen == 1


def test_an_image_without_detections_counts_as_seen(case):
    gt, _ = case
    acc = vocmap.Evaluator(gt).accumulator("xyxy")
    acc.add(gt.image_ids[0], np.zeros((0, 4)), [], [])
    acc.add(gt.image_ids[1], [], [], [])
    assert acc.images_seen == 2
    assert acc.state()["counts"].tolist() == [0, 0]
