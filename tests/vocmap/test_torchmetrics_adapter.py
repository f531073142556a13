"""The torchmetrics Metric (issue 12 item 3): == the CLI on the same detections,
with the XML ground truth or with the targets as ground truth; DDP sync is
tested in test_distributed_gloo.py, Lightning in test_readme_frameworks.py."""

from __future__ import annotations

import random

import numpy as np
import pytest
from framework_case import cli_aps, demo_images, same

import vocmap

torch = pytest.importorskip("torch")
pytest.importorskip("torchmetrics")
from vocmap.integrations.torchmetrics import VocMeanAveragePrecision  # noqa: E402


@pytest.fixture(scope="module")
def case():
    return demo_images()


@pytest.fixture(scope="module")
def cli(case, tmp_path_factory):
    return cli_aps(case[1], tmp_path_factory.mktemp("cli"))


def targets_of(gt: vocmap.GroundTruth, label_offset: int = 0) -> list[dict]:
    """The ground truth as torchvision-style targets: 0-based corners, int labels."""
    targets = []
    for index, image_id in enumerate(gt.image_ids):
        rows = np.flatnonzero(gt.object_image == index)
        voc = gt.boxes[rows]
        names = [gt.class_names[c] for c in gt.object_class[rows]]
        targets.append(
            {
                "boxes": torch.tensor(voc - np.array([1, 1, 0, 0]), dtype=torch.float32),
                "labels": torch.tensor(
                    [vocmap.VOC_CLASSES.index(n) + label_offset for n in names], dtype=torch.int64
                ),
                "difficult": torch.tensor(gt.difficult[rows]),
                "image_id": int(image_id),
            }
        )
    return targets


def preds_of(images, label_offset: int = 0) -> list[dict]:
    return [
        {
            "boxes": torch.from_numpy(im.boxes),
            "scores": torch.from_numpy(im.scores),
            "labels": torch.from_numpy(im.labels + label_offset),
        }
        for im in images
    ]


def metric_aps(metric: VocMeanAveragePrecision) -> dict[str, float]:
    out = metric.compute()
    aps = {"map": out["map"].item()}
    aps.update(zip(vocmap.VOC_CLASSES, out["map_per_class"].tolist()))
    return aps


def batches(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


def test_with_the_xml_ground_truth_equals_the_cli(case, cli):
    gt, images = case
    metric = VocMeanAveragePrecision(gt, label_offset=1)
    order = list(range(len(images)))
    random.Random(1).shuffle(order)  # a shuffled loader: the number must not move
    preds = preds_of([images[i] for i in order], label_offset=1)
    targets = [{"image_id": images[i].image_id} for i in order]
    for p, t in zip(batches(preds, 8), batches(targets, 8)):
        metric.update(p, t)
    got = metric_aps(metric)
    assert same(got, cli)
    assert out_dtype(metric) == torch.float64
    assert metric.result is not None and metric.result.map == cli["map"]


def out_dtype(metric):
    return metric.compute()["map"].dtype


def test_targets_as_ground_truth_equal_the_cli(case, cli):
    gt, images = case
    metric = VocMeanAveragePrecision()
    targets = targets_of(gt)
    preds = preds_of(images)
    order = list(range(len(images)))
    random.Random(2).shuffle(order)
    for i in order:  # image_id puts them back in order
        metric.update([preds[i]], [targets[i]])
    assert same(metric_aps(metric), cli)
    metric.reset()
    for p, t in zip(batches(preds, 16), batches(targets, 16)):  # without ids: update order
        metric.update(p, [{k: v for k, v in x.items() if k != "image_id"} for x in t])
    assert same(metric_aps(metric), cli)


def test_forward_only_accumulates(case):
    gt, images = case
    metric = VocMeanAveragePrecision(gt)
    assert metric(preds_of(images[:1]), [{"image_id": images[0].image_id}]) is None


def test_bad_updates_are_one_clear_error(case):
    gt, images = case
    metric = VocMeanAveragePrecision(gt)
    pred = preds_of(images[:1])
    with pytest.raises(vocmap.InputError, match="needs its 'image_id'"):
        metric.update(pred, [{}])
    with pytest.raises(vocmap.InputError, match="label outside the class list"):
        metric.update([{**pred[0], "labels": pred[0]["labels"] + 20}], [{"image_id": "000001"}])
    with pytest.raises(vocmap.VocmapError, match=r"shape \(n, 4\)"):
        metric.update([{**pred[0], "boxes": pred[0]["boxes"].reshape(-1, 2)}], [{"image_id": 1}])
    with pytest.raises(vocmap.VocmapError, match="unknown box_format"):
        VocMeanAveragePrecision(gt, box_format="cxcywh")
    mixed = VocMeanAveragePrecision()
    targets = targets_of(gt)[:2]
    mixed.update(preds_of(images[:1]), targets[:1])
    mixed.update(preds_of(images[1:2]), [{k: v for k, v in targets[1].items() if k != "image_id"}])
    with pytest.raises(vocmap.InputError, match="some targets have an 'image_id'"):
        mixed.compute()


@pytest.mark.parametrize("with_ground_truth", [True, False])
def test_an_image_id_of_several_values_is_one_clear_error(case, with_ground_truth):
    """Issue 18: an image_id tensor of shape (2,) gave torch's RuntimeError (targets as
    ground truth) instead of the project's error."""
    gt, images = case
    metric = VocMeanAveragePrecision(gt) if with_ground_truth else VocMeanAveragePrecision()
    target = targets_of(gt)[0]
    for bad in (torch.tensor([1, 2]), np.array([1, 2]), torch.zeros((2, 1), dtype=torch.int64)):
        with pytest.raises(vocmap.VocmapError, match=r"image id must be one value, not shape"):
            metric.update(preds_of(images[:1]), [{**target, "image_id": bad}])
    metric.update(preds_of(images[:1]), [{**target, "image_id": torch.tensor([1])}])  # one value
