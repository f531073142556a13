"""mAP during training: the accumulator's result is == vocmap evaluate on the same files,
stored where vocmap's table reads it."""

from __future__ import annotations

import dataclasses
import io
import json
from contextlib import redirect_stdout

import pytest
import torch

import vocmap
from ssd_ref.config import apply_overrides, tiny_config
from ssd_ref.data.synthetic import make_synthetic_voc
from ssd_ref.engine.evaluation import TrainingEvaluation
from ssd_ref.modeling.ssd import build_model
from ssd_ref.utils.distributed import DistInfo
from vocmap.runs.stored import read_result, result_provenance


@pytest.fixture(scope="module")
def voc_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("voc")
    make_synthetic_voc(root, seed=3, num_trainval=4, num_test=12, size_range=(60, 90))
    return root


def config_for(root):
    config = apply_overrides(tiny_config(), ["detect.top_k=20", "detect.keep_top_k=20"])
    return config.replace(data=dataclasses.replace(config.data, voc_root=str(root)))


def test_in_training_map_equals_vocmap_evaluate_and_is_stored_for_table(voc_root, tmp_path):
    config = config_for(voc_root)
    torch.manual_seed(0)
    model = build_model(config)
    run = tmp_path / "run"
    evaluation = TrainingEvaluation(config, run, DistInfo())
    value = evaluation(model, 7, torch.device("cpu"))
    assert model.training  # put back as it was

    year = voc_root / "SYNTH"
    gt = vocmap.read_voc(year, image_set="test")
    classes = list(config.data.classes)
    folder = run / "detections" / "step_000007"
    assert sum(len(p.read_text().splitlines()) for p in folder.iterdir()) > 0
    expected = vocmap.Evaluator(gt, classes=classes).evaluate(
        vocmap.read_detections(folder, gt, classes=classes)
    )
    stored = read_result(run / "eval" / "voc07" / "step_000007.json", 7, curves=True)
    assert value == expected.map
    reference = expected.to_dict(curves=True)
    assert json.dumps({k: stored[k] for k in reference}) == json.dumps(reference)
    provenance = result_provenance(stored)
    assert provenance is not None and provenance.image_set == "test"

    from vocmap.cli import main as vocmap_main

    out = io.StringIO()
    with redirect_stdout(out):
        code = vocmap_main(["table", str(run)])
    assert code in (0, None), out.getvalue()
    table = out.getvalue()
    assert "7" in table and f"mAP        {value:.4f}" in table


def test_accumulated_lines_equal_the_files_read_back_with_real_hits_and_ties(voc_root, tmp_path):
    import numpy as np

    from ssd_ref.engine.evaluation import accumulate_lines
    from ssd_ref.engine.inference import write_result_files

    year = voc_root / "SYNTH"
    gt = vocmap.read_voc(year, image_set="test")
    classes = list(tiny_config().data.classes)
    rng = np.random.default_rng(0)
    lines = []
    for index, image_id in enumerate(gt.image_ids):
        per_class = [[] for _ in classes]
        for k in np.flatnonzero(gt.object_image == index):
            box = gt.boxes[k] + rng.normal(0, 3, 4)
            for jitter in (box, box + rng.normal(0, 15, 4)):
                score = rng.choice([0.5, 0.25, rng.uniform()])  # ties across images
                x1, y1, x2, y2 = jitter
                per_class[int(gt.object_class[k])].append(
                    f"{image_id} {score:.6f} {x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f}\n"
                )
        lines.append(per_class)
    evaluator = vocmap.Evaluator(gt, classes=classes)
    result = accumulate_lines(evaluator, list(gt.image_ids), lines)
    merged = [[line for image in lines for line in image[c]] for c in range(len(classes))]
    folder = write_result_files(tmp_path / "dets", tuple(classes), merged, "test")
    expected = evaluator.evaluate(vocmap.read_detections(folder, gt, classes=classes))
    assert 0.2 < result.map < 1.0
    assert result.map == expected.map
    assert json.dumps(result.to_dict(curves=True)) == json.dumps(expected.to_dict(curves=True))
