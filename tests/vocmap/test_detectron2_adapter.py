"""The detectron2-shaped evaluator (issue 12 item 3), against a stand-in of the
small protocol it reads (detectron2 is not on PyPI): == the CLI."""

from __future__ import annotations

import random

import pytest
from framework_case import cli_aps, demo_images, same

import vocmap

torch = pytest.importorskip("torch")
from vocmap.integrations.detectron2 import VocDevkitEvaluator  # noqa: E402


class Boxes:
    """detectron2.structures.Boxes: the (n, 4) tensor is ``.tensor``."""

    def __init__(self, tensor):
        self.tensor = tensor


class Instances:
    """detectron2.structures.Instances, as far as evaluators use it."""

    def __init__(self, image_size, **fields):
        self.image_size = image_size
        for name, value in fields.items():
            setattr(self, name, value)

    def to(self, device):
        return self


def model_outputs(images, grad=False):
    outputs = []
    for im in images:
        boxes = torch.from_numpy(im.boxes).clone().requires_grad_(grad)
        outputs.append(
            {
                "instances": Instances(
                    (500, 500),
                    pred_boxes=Boxes(boxes * 1.0),
                    scores=torch.from_numpy(im.scores),
                    pred_classes=torch.from_numpy(im.labels),
                )
            }
        )
    return outputs


def test_process_then_evaluate_equals_the_cli(tmp_path):
    gt, images = demo_images()
    expected = cli_aps(images, tmp_path)
    evaluator = VocDevkitEvaluator(gt)
    evaluator.reset()
    order = images[:]
    random.Random(4).shuffle(order)
    for start in range(0, len(order), 4):
        batch = order[start : start + 4]
        evaluator.process([{"image_id": im.image_id} for im in batch], model_outputs(batch, True))
    results = evaluator.evaluate()
    values = results["voc07"]
    got = {"map": values["mAP"]} | {k[3:]: v for k, v in values.items() if k != "mAP"}
    assert same(got, expected)
    assert evaluator.result is not None and evaluator.result.map == expected["map"]
    evaluator.reset()
    with pytest.warns(vocmap.IncompleteImageSetWarning):
        assert evaluator.evaluate()["voc07"]["mAP"] == 0.0


def test_a_batch_of_unequal_lengths_is_refused():
    gt, images = demo_images()
    evaluator = VocDevkitEvaluator(gt)
    with pytest.raises(ValueError):
        evaluator.process([{"image_id": images[0].image_id}], model_outputs(images[:2]))
