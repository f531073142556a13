"""bench-coco runs end to end on a tiny case without the peers (no figure asserted),
and the numbers it prints for vocmap are pycocotools' own."""

from __future__ import annotations

import json

from fixture_paths import REPO


def test_coco_bench_runs_and_prints_pycocotools_numbers(capsys, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.coco_bench import SMOKE_CASES, ensure_case, main

    args = ["--smoke", "--data", str(tmp_path), "--peer-python", str(tmp_path / "no-python")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "not installed" in out and "whole pipeline, median of 1" in out
    printed = json.loads(out.split("vocmap's twelve numbers: ")[1].splitlines()[0])
    gt_path, results_path = ensure_case(tmp_path, *SMOKE_CASES[0])
    from vocmap.testing.coco_reference import run_pycocotools

    ground_truth = json.loads(gt_path.read_text())
    _, _, stats = run_pycocotools(ground_truth, json.loads(results_path.read_text()))
    assert printed == stats
