"""The shells of issue 13's statistics: evaluate --ci, compare-runs (folders and
RUN_DIR@STEP), score --ci into stored results, table/plot showing them, and
compare --semantics coco50."""

from __future__ import annotations

import json

import pytest
from fixture_paths import DEMO
from run_builder import CLASSES, make_run

from vocmap.cli import main

DEMO_ARGS = [str(DEMO / "results"), "--voc-root", str(DEMO / "VOC2007")]


@pytest.fixture(scope="module")
def scored_run(tmp_path_factory):
    voc_root, run = make_run(tmp_path_factory.mktemp("stats-run"), steps=(100, 200, 300))
    args = ["score", str(run), "--voc-root", str(voc_root), "--quiet"]
    assert main(args) == 0
    assert main([*args, "--ci", "--resamples", "100", "--steps", "200,300"]) == 0
    return voc_root, run


def test_evaluate_ci_writes_the_shared_json_shape(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert (
        main(
            ["evaluate", *DEMO_ARGS, "--ci", "--resamples", "50", "--seed", "4", "--json", str(out)]
        )
        == 0
    )
    data = json.loads(out.read_text())
    ci = data["ci"]
    assert (ci["level"], ci["resamples"], ci["seed"], ci["method"]) == (0.95, 50, 4, "percentile")
    assert set(ci["classes"]) == set(data["classes"])
    assert ci["map"][0] <= data["map"] <= ci["map"][1]
    text = capsys.readouterr().out
    assert "95% CI" in text and "50 resamples, seed 4" in text


def test_evaluate_ci_refuses_coco_metrics(capsys):
    assert main(["evaluate", *DEMO_ARGS, "--metric", "coco50", "--ci"]) == 2
    assert "devkit" in capsys.readouterr().err


def test_compare_runs_of_two_steps_of_a_run(scored_run, capsys):
    voc_root, run = scored_run
    assert (
        main(
            [
                "compare-runs",
                f"{run}@100",
                f"{run}@300",
                "--voc-root",
                str(voc_root),
                "--resamples",
                "200",
                "--json",
                "-",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    m = data["map"]
    assert m["diff"] == m["b"] - m["a"] and m["diff"] > 0  # skill rises with the step
    assert m["ci"][0] <= m["diff"] <= m["ci"][1]
    assert 0.0 <= m["b_better"] <= 1.0 and set(data["classes"]) == set(CLASSES)


def test_compare_runs_of_a_set_with_itself_is_zero_everywhere(capsys):
    assert (
        main(["compare-runs", DEMO_ARGS[0], DEMO_ARGS[0], *DEMO_ARGS[1:], "--resamples", "20"]) == 0
    )
    out = capsys.readouterr().out
    assert "within the test set's noise" in out and "B beats A in 0.0%" in out


def test_compare_runs_names_a_step_without_detections(scored_run, capsys):
    voc_root, run = scored_run
    assert main(["compare-runs", f"{run}@999", f"{run}@100", "--voc-root", str(voc_root)]) == 2
    err = capsys.readouterr().err
    assert "step 999 has no detections" in err and "100, 200, 300" in err


def test_score_ci_stores_intervals_that_table_and_plot_show(scored_run, tmp_path, capsys):
    _, run = scored_run
    stored = json.loads((run / "eval" / "voc07" / "step_000300.json").read_text())
    assert stored["ci"]["resamples"] == 100 and "ci" not in json.loads(
        (run / "eval" / "voc07" / "step_000100.json").read_text()
    )
    capsys.readouterr()
    assert main(["table", str(run), "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["ci"]["mAP"][2] == stored["ci"]["map"]
    assert table["ci"]["mAP"][0] == [None, None]  # step 100 holds none
    assert main(["table", str(run)]) == 0
    assert "95% bootstrap intervals" in capsys.readouterr().out
    assert main(["plot", str(run), "--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / "ap_over_steps.png").stat().st_size > 0


def test_score_ci_refuses_a_stored_result_that_is_not_its_detections(scored_run, capsys):
    voc_root, run = scored_run
    path = run / "eval" / "voc07" / "step_000100.json"
    data = json.loads(path.read_text())
    data["map"] = 0.123
    path.write_text(json.dumps(data))
    try:
        assert (
            main(
                [
                    "score",
                    str(run),
                    "--voc-root",
                    str(voc_root),
                    "--quiet",
                    "--ci",
                    "--resamples",
                    "20",
                    "--steps",
                    "100",
                ]
            )
            == 2
        )
        assert "not that of its detections" in capsys.readouterr().err
    finally:
        path.unlink()  # the next score run rebuilds it


def test_compare_with_coco50_explains_every_class(capsys):
    assert main(["compare", *DEMO_ARGS, "--semantics", "coco50", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["a"], data["b"]) == ("voc07", "coco50")
    for name, entry in data["classes"].items():
        if entry["ap_a"] != entry["ap_b"]:
            rules = [r["rule"] for r in entry["reasons"]]
            assert rules and "arithmetic" not in rules, name
    assert [r["rule"] for r in data["map_reasons"]] == ["coco_mean"]
