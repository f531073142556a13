"""The MMEngine BaseMetric (issue 12 item 3), through the real mmengine Evaluator:
== the CLI, in both of mmdet's box frames."""

from __future__ import annotations

import pytest
from framework_case import VOC_ROOT, cli_aps, demo_images, in_voc0, same

import vocmap

torch = pytest.importorskip("torch")
pytest.importorskip("mmengine")
from mmengine.evaluator import Evaluator as MMEvaluator  # noqa: E402
from mmengine.structures import BaseDataElement, InstanceData  # noqa: E402

from vocmap.integrations.mmengine import VocDevkitMetric  # noqa: E402


def data_samples(images, integer_ids=False):
    samples = []
    for im in images:
        sample = BaseDataElement(
            metainfo={"img_id": int(im.image_id) if integer_ids else im.image_id}
        )
        sample.pred_instances = InstanceData(
            bboxes=torch.from_numpy(im.boxes),
            scores=torch.from_numpy(im.scores),
            labels=torch.from_numpy(im.labels),
        )
        samples.append(sample)
    return samples


@pytest.mark.parametrize("box_format", ["xyxy", "voc0"])
def test_mmengine_evaluator_equals_the_cli(tmp_path, box_format):
    _, images = demo_images()
    if box_format == "voc0":
        images = in_voc0(images)
    expected = cli_aps(images, tmp_path, box_format)
    evaluator = MMEvaluator(VocDevkitMetric(str(VOC_ROOT), box_format=box_format))
    evaluator.dataset_meta = {"classes": vocmap.VOC_CLASSES}
    for start in range(0, len(images), 16):
        batch = images[start : start + 16]
        evaluator.process(data_samples(batch, integer_ids=start % 32 == 0), data_batch=None)
    metrics = evaluator.evaluate(len(images))
    got = {"map": metrics["vocmap/mAP"]} | {
        k.removeprefix("vocmap/AP-"): v for k, v in metrics.items() if k != "vocmap/mAP"
    }
    assert same(got, expected)


def test_the_box_format_is_required_since_mmdet_has_two():
    with pytest.raises(vocmap.VocmapError, match="box_format is required"):
        VocDevkitMetric(str(VOC_ROOT))


def test_the_dataset_classes_index_the_labels():
    gt, _ = demo_images()
    metric = VocDevkitMetric(gt, box_format="xyxy")
    metric.dataset_meta = {"classes": ("dog", "cat")}
    assert metric.class_names() == ("dog", "cat")
    assert VocDevkitMetric(gt, "xyxy", classes=["cat"]).class_names() == ("cat",)
