"""The framework adapters fed hostile updates: each field of a prediction or target
replaced by a hostile value gives the right answer or the project's error, never a
torch/numpy exception (registry.ADAPTERS names what each covers)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import vocmap
from vocmap.core.errors import VocmapError

torch = pytest.importorskip("torch")
pytest.importorskip("torchmetrics")

CLASSES = ["bottle", "car", "cat", "dog", "person"]

#: hostile values of a field of an update
FIELD_VALUES = {
    "none": None,
    "text": "x",
    "nan": float("nan"),
    "nan_tensor": torch.tensor([float("nan")]),
    "inf_tensor": torch.tensor([float("inf")]),
    "two_values": torch.tensor([1, 2]),
    "matrix": torch.zeros((2, 2)),
    "empty": torch.zeros((0,)),
    "huge": 10**30,
    "negative": -1,
    "strings": ["a", "b"],
    "nested": [[[1]]],
    "object": object(),
}


def _update(field: str, where: str, value):
    from vocmap.integrations.torchmetrics import VocMeanAveragePrecision

    metric = VocMeanAveragePrecision(classes=CLASSES, box_format="xyxy")
    pred = {"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]]), "scores": torch.tensor([0.9]),
            "labels": torch.tensor([1])}  # fmt: skip
    target = {"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]]), "labels": torch.tensor([1]),
              "image_id": 7}  # fmt: skip
    (pred if where == "pred" else target)[field] = value
    metric.update([pred], [target])
    return metric.compute()


FIELDS = [("boxes", "pred"), ("scores", "pred"), ("labels", "pred"), ("boxes", "target"),
          ("labels", "target"), ("image_id", "target"), ("difficult", "target")]  # fmt: skip


def test_the_baseline_update_computes():
    out = _update("scores", "pred", torch.tensor([0.9]))
    # car found perfectly (the devkit's 11-point 1.0000000000000002); the other four
    # classes have no objects and no detections: AP 0 each, as the devkit's max([]) = 0
    assert math.isclose(float(out["map"]), 0.2, rel_tol=1e-9)


@pytest.mark.parametrize("value", list(FIELD_VALUES), ids=list(FIELD_VALUES))
@pytest.mark.parametrize(("field", "where"), FIELDS, ids=[f"{w}.{f}" for f, w in FIELDS])
def test_torchmetrics_update_field_mutated(field, where, value):
    try:
        result = _update(field, where, FIELD_VALUES[value])
    except VocmapError as error:
        assert str(error).isprintable()
        return
    for number in result.values():  # accepted: finite numbers or NaN, never garbage
        assert isinstance(number, torch.Tensor)


@pytest.mark.parametrize("value", list(FIELD_VALUES), ids=list(FIELD_VALUES))
@pytest.mark.parametrize("field", ["filename", "name", "difficult", "xmin", "object"])
def test_torchvision_targets_field_mutated(field, value):
    from vocmap.integrations.torchvision import ground_truth_from_voc_targets

    obj = {"name": "dog", "difficult": "0",
           "bndbox": {"xmin": "1", "ymin": "1", "xmax": "10", "ymax": "10"}}  # fmt: skip
    annotation = {"filename": "000001.jpg", "object": [obj]}
    if field == "xmin":
        obj["bndbox"]["xmin"] = FIELD_VALUES[value]
    elif field in ("name", "difficult"):
        obj[field] = FIELD_VALUES[value]
    else:
        annotation[field] = FIELD_VALUES[value]
    try:
        gt = ground_truth_from_voc_targets([{"annotation": annotation}])
    except VocmapError as error:
        assert str(error).isprintable()
        return
    assert np.isfinite(gt.boxes).all()


def test_gather_accumulator_outside_torch_distributed_is_the_accumulator():
    from vocmap.integrations.distributed import gather_accumulator

    gt = vocmap.GroundTruth.from_arrays(["a"])
    acc = vocmap.Evaluator(gt, ["dog"]).accumulator("voc")
    assert gather_accumulator(acc).images_seen == 0  # states: checked by merge (tests/vocmap)
