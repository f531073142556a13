"""Every public function of ``vocmap`` (``__all__``), each registered argument with every
mutator of its kind: a right answer, or the project's own error (VocmapError); never
another exception, never a hang, never a file outside the inputs opened."""

from __future__ import annotations

import json
from functools import cache

import pytest
from cli_check import within_seconds
from conftest import open_watch
from mutators import API_VALUES, marks_for, special_path
from registry import API

import vocmap
from vocmap.core.errors import VocmapError

CLASSES = ["bottle", "car", "cat", "dog", "person"]  # run_builder's


@cache
def _inputs(voc: str, results: str, results_b: str):
    gt = vocmap.read_voc(voc, cache=False)
    dets = vocmap.read_detections(results, gt, CLASSES)
    dets_b = vocmap.read_detections(results_b, gt, CLASSES)
    result = vocmap.Evaluator(gt, CLASSES).evaluate(dets)
    return gt, dets, dets_b, result


def _coco_files(ws):
    """A COCO ground truth (two images, a dog each) and results for it."""
    gt_path = ws.root / "coco_gt.json"
    res_path = ws.root / "coco_results.json"
    if not gt_path.exists():
        gt_path.write_text(json.dumps({
            "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100},
                       {"id": 2, "file_name": "b.jpg", "width": 100, "height": 100}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 18, "bbox": [10, 10, 40, 40],
                 "area": 1600, "iscrowd": 0},
                {"id": 2, "image_id": 2, "category_id": 18, "bbox": [20, 20, 30, 30],
                 "area": 900, "iscrowd": 0},
            ],
            "categories": [{"id": 18, "name": "dog"}],
        }))  # fmt: skip
        res_path.write_text(json.dumps([
            {"image_id": 1, "category_id": 18, "bbox": [10, 10, 40, 40], "score": 0.9},
            {"image_id": 2, "category_id": 18, "bbox": [0, 0, 10, 10], "score": 0.5},
        ]))  # fmt: skip
    return gt_path, res_path


def _call(name: str, ws, changed: dict):  # noqa: C901 (one branch a public function)
    gt, dets, dets_b, result = _inputs(str(ws.voc), str(ws.results), str(ws.results_b))
    if name == "eval_settings":
        return vocmap.EvalSettings(**changed)
    if name == "evaluator":
        return vocmap.Evaluator(gt, **{"classes": CLASSES, **changed}).evaluate(dets)
    if name == "evaluate_class":
        cls = changed.get("name", "dog")
        return vocmap.evaluate_class(cls, gt.for_class(cls), dets["dog"])
    if name == "accumulator":
        acc = vocmap.Evaluator(gt, CLASSES).accumulator(**{"box_format": "voc", **changed})
        acc.add(gt.image_ids[0], [[1, 1, 20, 20]], [0.5], [0])
        return acc.evaluate(images="seen")
    if name == "read_voc":
        return vocmap.read_voc(**{"voc_root": ws.voc, **changed}, cache=False)
    if name == "read_annotations":
        args = {"annotations_dir": ws.voc / "Annotations",
                "image_set_file": ws.voc / "ImageSets" / "Main" / "test.txt", **changed}  # fmt: skip
        return vocmap.read_annotations(**args, cache=False)
    if name == "read_image_set":
        return vocmap.read_image_set(**{"path": ws.voc / "ImageSets/Main/test.txt", **changed})
    if name == "read_detections":
        args = {"source": ws.results, "classes": CLASSES, **changed}
        return vocmap.read_detections(**args, ground_truth=gt)
    if name == "read_result_folder":
        args = {"folder": ws.results, "classes": CLASSES, **changed}
        return vocmap.read_result_folder(**args, ground_truth=gt)
    if name == "read_result_file":
        path = changed.get("path", ws.results / "comp4_det_test_dog.txt")
        return vocmap.read_result_file(path, gt)
    if name == "read_coco_results":
        coco_gt, coco_results = _coco_files(ws)
        truth = vocmap.read_coco_ground_truth(coco_gt)
        return vocmap.read_coco_results(changed.get("path", coco_results), truth)
    if name == "read_coco_ground_truth":
        return vocmap.read_coco_ground_truth(changed.get("path", _coco_files(ws)[0]))
    if name == "format_result":
        return vocmap.format_result(result, **changed)
    if name == "diagnose":
        return vocmap.diagnose(gt, dets, CLASSES, **{"top": 3, **changed})
    if name == "bootstrap":
        return vocmap.bootstrap(result, gt, dets, **{"resamples": 10, **changed})
    if name == "with_intervals":
        return vocmap.with_intervals(result, gt, dets, **{"resamples": 10, **changed})
    if name == "compare_runs":
        return vocmap.compare_runs(gt, dets, dets_b, CLASSES, **{"resamples": 10, **changed})
    if name == "compare_with_coco50":
        return vocmap.compare_with_coco50(gt, dets, CLASSES, **changed)
    if name == "check":
        return vocmap.check(gt, dets, **{"classes": CLASSES, **changed})
    if name == "read_yolo_ground_truth":
        args = {"labels_folder": ws.yolo / "labels", "classes": ws.yolo / "data.yaml", **changed}
        return vocmap.read_yolo_ground_truth(**args)
    if name == "read_yolo_predictions":
        data = vocmap.read_yolo_ground_truth(ws.yolo / "labels", ws.yolo / "data.yaml")
        return vocmap.read_yolo_predictions(changed.get("folder", ws.yolo / "pred"), data)
    if name == "read_yolo_classes":
        return vocmap.read_yolo_classes(changed.get("path", ws.yolo / "data.yaml"))
    if name == "operating_points":
        return vocmap.operating_points(result, dets, **changed)
    if name == "evaluate_folder":
        args = {"detections": ws.results, "voc_root": ws.voc, "classes": CLASSES, **changed}
        return vocmap.evaluate_folder(**args)
    raise KeyError(name)


def _params():
    out = []
    for public, entry in API.items():
        if entry.call is None:
            continue
        for argument, kind in entry.arguments.items():
            for mutator in (*kind.refuse, *kind.tolerate):
                if mutator == "link_out":
                    continue  # links inside folders: the CLI's cases (the same readers)
                verdict = "refuse" if mutator in kind.refuse else "tolerate"
                case_id = f"api {public} {argument} {mutator}"
                marks = marks_for(case_id)
                out.append(
                    pytest.param(
                        entry.call, argument, kind, mutator, verdict, id=case_id, marks=marks
                    )
                )
    return out


@pytest.mark.parametrize(("call", "argument", "kind", "mutator", "verdict"), _params())
def test_public_function_argument_mutated(
    workspace, tmp_path, call, argument, kind, mutator, verdict
):
    if kind.path:
        value = special_path(mutator, workspace, None, None, tmp_path)
    else:
        value = API_VALUES[mutator]
        if argument == "classes":
            value = [value]
    watch = open_watch()
    watch.opened = []
    watch.target = str(workspace.secret.resolve())
    try:
        with within_seconds(30):
            _call(call, workspace, {argument: value})
    except VocmapError as error:
        assert str(error).isprintable(), repr(str(error))
    else:
        assert verdict == "tolerate", f"{argument}={value!r:.60} accepted"
    finally:
        watch.target = None
    assert watch.opened == []


@pytest.mark.parametrize("call", sorted({e.call for e in API.values() if e.call}))
def test_each_baseline_call_succeeds(workspace, call):
    """The cases above start from a call that works: otherwise a refusal proves nothing."""
    assert _call(call, workspace, {}) is not None
