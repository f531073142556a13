"""mAP during training (``run.eval_every``): detect on the test set, score, store.

Every ``eval_every`` steps the network detects on the first of
``data.val_sets`` (all its images, on the training device; under ``torchrun``
each rank takes its share of whole batches, as ``ssd_ref detect`` does). Rank 0
then

1. writes the devkit result files to ``RUN/detections/step_XXXXXX/`` (the bytes
   ``ssd_ref detect`` writes for the step's checkpoint);
2. adds the very numbers of those lines (their decimal text read back) to
   vocmap's :class:`~vocmap.core.accumulator.DetectionAccumulator`, image by
   image, and evaluates with the devkit's rules (voc07): the result is ``==`` to
   ``vocmap evaluate`` on that folder;
3. stores it as ``RUN/eval/voc07/step_XXXXXX.json``, in the form and with the
   provenance ``vocmap score`` writes (:mod:`vocmap.runs.stored`), so
   ``vocmap table RUN`` and ``vocmap plot RUN`` show AP over steps while the run
   goes on, and ``vocmap score RUN`` later finds the step already scored.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import torch

from ssd_ref.config import SSDConfig
from ssd_ref.data.voc import VocDataset
from ssd_ref.engine.inference import _image_lines, batch_shard, write_result_files
from ssd_ref.utils.distributed import DistInfo, barrier, gather_to_main
from ssd_ref.utils.progress import Progress
from vocmap.core.atomic import atomic_write_text
from vocmap.core.evaluate import Evaluator
from vocmap.core.results import EvalResult
from vocmap.core.settings import EvalSettings
from vocmap.io.voc import read_voc
from vocmap.runs.contract import RunFolder
from vocmap.runs.stored import CheckedResults, Provenance

logger = logging.getLogger(__name__)

#: Images per detection batch (per rank).
BATCH_SIZE = 32


def accumulate_lines(
    evaluator: Evaluator, image_ids: list[str], lines: list[list[list[str]]]
) -> EvalResult:
    """Evaluate result-file lines with the accumulator: ``lines[i][c]`` are image
    ``image_ids[i]``'s lines of class ``c`` (``"<id> <score> <x1> <y1> <x2> <y2>\\n"``,
    VOC pixels). The numbers are the lines' own decimal text, as a reader of the
    files gets them."""
    accumulator = evaluator.accumulator(box_format="voc")
    for image_id, per_class in zip(image_ids, lines, strict=True):
        rows = [line.split() for class_lines in per_class for line in class_lines]
        names = [name for name, class_lines in zip(evaluator.classes, per_class, strict=True)
                 for _ in class_lines]  # fmt: skip
        numbers = np.array([[float(v) for v in row[1:6]] for row in rows], dtype=np.float64)
        numbers = numbers.reshape(-1, 5)
        accumulator.add(image_id, numbers[:, 1:], numbers[:, 0], np.array(names, dtype=object))
    return accumulator.evaluate()


def stored_result(
    result: EvalResult,
    step: int,
    detections_dir: Path,
    image_set: str,
    seconds: float,
    provenance: Provenance,
) -> dict:
    """The JSON of ``eval/<settings>/step_XXXXXX.json``, as ``vocmap score`` writes it."""
    data = result.to_dict(curves=True)
    data["step"] = step
    data["detections_dir"] = os.fspath(detections_dir)
    data["image_set"] = image_set
    data["seconds"] = round(seconds, 3)
    data["provenance"] = provenance.to_dict()
    return data


class TrainingEvaluation:
    """The test set, its ground truth (rank 0) and the evaluator of a run."""

    def __init__(self, config: SSDConfig, run_dir: Path, info: DistInfo) -> None:
        if not config.data.val_sets:
            raise ValueError("run.eval_every needs data.val_sets (the test set)")
        year, image_set = config.data.val_sets[0]
        year_root = Path(config.data.voc_root or ".") / year
        self.config, self.info, self.image_set = config, info, image_set
        self.run = RunFolder(Path(run_dir))
        self.voc = VocDataset(year_root, [(".", image_set)], config.data.classes)
        self.evaluator: Evaluator | None = None
        self.provenance: Provenance | None = None
        if info.is_main:
            ground_truth = read_voc(year_root, image_set=image_set)
            settings = EvalSettings()
            self.evaluator = Evaluator(ground_truth, config.data.classes, settings=settings)
            self.provenance = Provenance.of(
                ground_truth, image_set, self.evaluator.classes, settings
            )

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module, step: int, device: torch.device) -> float | None:
        """Detect, score and store step ``step``; the mAP on rank 0, None elsewhere."""
        began = time.perf_counter()
        was_training = model.training
        model.eval()
        mine = batch_shard(len(self.voc), BATCH_SIZE, self.info)
        shown = Progress(len(mine), f"mAP at step {step}", "images", enabled=False)
        try:
            found = _image_lines(model, self.config, self.voc, device, BATCH_SIZE, 0, mine,
                                 "ssd_ref", shown)  # fmt: skip
        finally:
            model.train(was_training)
        shards = gather_to_main(found)
        value = None
        if shards is not None and self.evaluator is not None and self.provenance is not None:
            merged = {i: lines for shard in shards for i, lines in shard.items()}
            ordered = [merged[i] for i in range(len(self.voc))]
            per_class: list[list[str]] = [[] for _ in self.config.data.classes]
            for image_lines in ordered:
                for class_lines, new in zip(per_class, image_lines, strict=True):
                    class_lines.extend(new)
            out = write_result_files(
                self.run.detection_dir(step), self.config.data.classes, per_class, self.image_set
            )
            ids = [item.annotation.image_id for item in self.voc.items]
            result = accumulate_lines(self.evaluator, ids, ordered)
            key = self.evaluator.settings.key
            path = self.run.eval_path(step, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            data = stored_result(result, step, out, self.image_set,
                                 time.perf_counter() - began, self.provenance)  # fmt: skip
            atomic_write_text(path, json.dumps(data) + "\n")
            checked = CheckedResults(self.run.eval_dir(key))
            checked.record(path, self.provenance)
            checked.save()
            value = result.map
            logger.info("step %d: mAP %.4f on %s (%d images, %.1f s)", step, value,
                        self.image_set, len(self.voc), time.perf_counter() - began)  # fmt: skip
        barrier()
        return value
