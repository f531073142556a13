"""One evaluator's COCO pipeline, timed in a warm process (driven by coco_bench.py).

``python coco_worker.py TOOL GT_JSON RESULTS_JSON`` with TOOL ``vocmap``,
``hotcoco`` or ``ultrafast``. Each line ``run`` on stdin runs the whole in-process
pipeline once (read the ground-truth json, read the results json, evaluate,
the twelve numbers) and answers one JSON line ``{"seconds", "stats"}``; ``quit``
ends. The peers are imported from the benchmark-only environment (.venv-bench),
vocmap from the project's. This file imports nothing of vocmap unless TOOL is
vocmap, so that it runs in either environment.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time

#: The phases of the last run (seconds): where the time goes.
PHASES: dict[str, float] = {}


def vocmap_pipeline(gt_path: str, results_path: str) -> list[float]:
    import os

    import vocmap

    cached = os.environ.get("VOCMAP_BENCH_GT_CACHE", "on") != "off"
    start = time.perf_counter()
    gt = vocmap.read_coco_ground_truth(gt_path, cache=cached)
    read_gt = time.perf_counter()
    names = _category_names(gt_path)
    classes = [names[c] for c in sorted(names)]  # pycocotools' order: sorted ids
    # category_id as a 1-based position in ``categories`` (COCO's ids, gaps named)
    categories = [names.get(i, f"(no category {i})") for i in range(1, max(names) + 1)]
    dets = vocmap.read_coco_results(results_path, gt, classes, categories=categories)
    read_results = time.perf_counter()
    result = vocmap.Evaluator(gt, classes, metric="coco").evaluate(dets)
    _phases(start, read_gt, read_results)
    return [float(v) for v in result.summary.values()]


def _phases(start: float, read_gt: float, read_results: float) -> None:
    PHASES.update(
        {
            "ground truth": read_gt - start,
            "results": read_results - read_gt,
            "metric": time.perf_counter() - read_results,
        }
    )


_NAMES: dict[str, dict[int, str]] = {}


def _category_names(gt_path: str) -> dict[int, str]:
    """The ground truth's ``{category id: name}`` (read once, outside the timing)."""
    if gt_path not in _NAMES:
        with open(gt_path, encoding="utf-8") as handle:
            document = json.load(handle)
        _NAMES[gt_path] = {c["id"]: c["name"] for c in document["categories"]}
    return _NAMES[gt_path]


def hotcoco_pipeline(gt_path: str, results_path: str) -> list[float]:
    import hotcoco

    start = time.perf_counter()
    gt = hotcoco.COCO(gt_path)
    read_gt = time.perf_counter()
    dt = gt.load_res(results_path)
    read_results = time.perf_counter()
    evaluator = hotcoco.COCOeval(gt, dt, "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    _phases(start, read_gt, read_results)
    return [float(v) for v in evaluator.stats]


def ultrafast_pipeline(gt_path: str, results_path: str) -> list[float]:
    from ultrafast_pycocotools import COCO, COCOeval

    start = time.perf_counter()
    gt = COCO(gt_path)
    read_gt = time.perf_counter()
    dt = gt.loadRes(results_path)
    read_results = time.perf_counter()
    evaluator = COCOeval(gt, dt, "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    _phases(start, read_gt, read_results)
    return [float(v) for v in evaluator.stats]


PIPELINES = {
    "vocmap": vocmap_pipeline,
    "hotcoco": hotcoco_pipeline,
    "ultrafast": ultrafast_pipeline,
}


def main(argv: list[str]) -> int:
    tool, gt_path, results_path = argv
    pipeline = PIPELINES[tool]
    if tool == "vocmap":
        _category_names(gt_path)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            stats = pipeline(gt_path, results_path)
            seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "stats": stats, "phases": PHASES}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
