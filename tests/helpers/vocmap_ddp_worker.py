"""One rank of test_distributed_gloo: every distributed path on a padded sampler.

Each rank scores its DistributedSampler share (shuffled, padded: 199 images on
2 ranks, so one image is on both) through the accumulator + gather, the
torchmetrics Metric (both ground-truth modes) and the detectron2-shaped
evaluator, and writes what it got to ``<out>/rank<r>.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.distributed as dist
from framework_case import demo_images, result_aps
from torch.utils.data import DistributedSampler

import vocmap
from vocmap.integrations.detectron2 import VocDevkitEvaluator
from vocmap.integrations.distributed import gather_accumulator
from vocmap.integrations.torchmetrics import VocMeanAveragePrecision


def run(rank: int, out: str, world: int, voc_root: str) -> None:
    dist.init_process_group(
        "gloo", init_method=f"file://{out}/rendezvous", rank=rank, world_size=world
    )
    try:
        report = _checks(rank, world, voc_root)
    finally:
        dist.destroy_process_group()
    Path(out, f"rank{rank}.json").write_text(json.dumps(report))


def _checks(rank: int, world: int, voc_root: str) -> dict:
    gt = vocmap.read_voc(voc_root, cache=False)
    _, all_images = demo_images()
    images = [im for im in all_images if im.image_id in gt.image_index]
    sampler = DistributedSampler(range(len(images)), num_replicas=world, rank=rank, seed=3)
    mine = [images[i] for i in sampler]
    report: dict = {"share": [im.image_id for im in mine]}
    evaluator = vocmap.Evaluator(gt)

    acc = evaluator.accumulator("xyxy", duplicates="drop-repeats")
    for im in mine:
        acc.add(im.image_id, im.boxes, im.scores, im.labels)
    try:
        acc.evaluate()
        report["alone"] = "evaluated"
    except vocmap.VocmapError as error:
        report["alone"] = str(error)
    report["accumulator"] = result_aps(gather_accumulator(acc).evaluate())

    strict = evaluator.accumulator("xyxy")
    for im in mine:
        strict.add(im.image_id, im.boxes, im.scores, im.labels)
    try:
        gather_accumulator(strict)
        report["strict"] = "merged"
    except vocmap.InputError as error:
        report["strict"] = str(error)

    with_gt = VocMeanAveragePrecision(gt, duplicates="drop-repeats")
    from_targets = VocMeanAveragePrecision(duplicates="drop-repeats")
    d2 = VocDevkitEvaluator(gt, duplicates="drop-repeats")
    d2.reset()
    for start in range(0, len(mine), 8):
        batch = mine[start : start + 8]
        preds = [
            {
                "boxes": torch.from_numpy(im.boxes),
                "scores": torch.from_numpy(im.scores),
                "labels": torch.from_numpy(im.labels),
            }
            for im in batch
        ]
        with_gt.update(preds, [{"image_id": im.image_id} for im in batch])
        from_targets.update(preds, [_target(gt, im.image_id) for im in batch])
        d2.process(
            [{"image_id": im.image_id} for im in batch],
            [{"instances": _instances(im)} for im in batch],
        )
    report["torchmetrics_gt"] = _aps(with_gt.compute())
    report["torchmetrics_targets"] = _aps(from_targets.compute())
    values = next(iter(d2.evaluate().values()))
    report["detectron2"] = {"map": values["mAP"]} | {
        k.removeprefix("AP-"): v for k, v in values.items() if k != "mAP"
    }
    return report


def _aps(out: dict) -> dict:
    aps = {"map": out["map"].item()}
    aps.update(zip(vocmap.VOC_CLASSES, out["map_per_class"].tolist()))
    return aps


def _target(gt: vocmap.GroundTruth, image_id: str) -> dict:
    index = gt.image_index[image_id]
    rows = (gt.object_image == index).nonzero()[0]
    return {
        "boxes": torch.tensor(gt.boxes[rows] - [1, 1, 0, 0], dtype=torch.float32),
        "labels": torch.tensor(
            [vocmap.VOC_CLASSES.index(gt.class_names[c]) for c in gt.object_class[rows]],
            dtype=torch.int64,
        ),
        "difficult": torch.tensor(gt.difficult[rows]),
        "image_id": int(image_id),
    }


def _instances(im) -> SimpleNamespace:
    """detectron2's Instances as far as the evaluator reads them."""
    return SimpleNamespace(
        pred_boxes=SimpleNamespace(tensor=torch.from_numpy(im.boxes)),
        scores=torch.from_numpy(im.scores),
        pred_classes=torch.from_numpy(im.labels),
    )


if __name__ == "__main__":  # pragma: no cover - spawned by the test only
    raise SystemExit(os.EX_USAGE)
