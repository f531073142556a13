"""``vocmap table RUN --best`` and the report's best-checkpoint section (issue 22, 3):
the CLI equals the analysis on the run's detections, and every bad input is one line."""

from __future__ import annotations

import json

import pytest
from run_builder import make_run

import vocmap
from vocmap.analysis.best_checkpoint import best_checkpoint
from vocmap.cli import main
from vocmap.runs.contract import RunFolder


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    voc_root, run = make_run(tmp_path_factory.mktemp("best"), steps=(100, 200, 300, 400))
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet"]) == 0
    return voc_root, run


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_best_names_the_highest_map_and_equals_the_analysis(scored, capsys):
    voc_root, run = scored
    argv = ["table", run, "--best", "--voc-root", voc_root, "--resamples", "200"]
    status, out, _ = run_cli(capsys, *argv, "--format", "json", "--against", "2")
    assert status == 0
    data = json.loads(out)
    stored = {
        step: json.loads(path.read_text())["map"]
        for step, path in RunFolder(run).evaluated().items()
    }
    ranked = sorted(stored, key=lambda s: -stored[s])
    assert data["best"] == {"step": ranked[0], "map": stored[ranked[0]]}
    assert [r["step"] for r in data["rivals"]] == ranked[1:3]
    ground_truth = vocmap.read_voc(voc_root)
    classes = ["bottle", "car", "cat", "dog", "person"]
    detections = {
        s: vocmap.read_detections(RunFolder(run).detection_dir(s), ground_truth, classes)
        for s in ranked[:3]
    }
    direct = best_checkpoint(ground_truth, detections, classes, resamples=200)
    assert data == direct.to_dict()
    assert data["correction"] == "holm, over the 3 pairs of checkpoints"


def test_best_text_says_how_often_each_beats_it(scored, capsys):
    voc_root, run = scored
    status, out, _ = run_cli(
        capsys, "table", run, "--best", "--voc-root", voc_root, "--resamples", "100"
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("best checkpoint: step 400, mAP ")
    assert "Holm-adjusted over the 6 pairs of the 4 checkpoints" in lines[0]
    verdicts = [line for line in lines if " beats 400 in " in line]
    assert len(verdicts) == 3
    assert all(" beats 400 in " in v and "difference at 95%" in v for v in verdicts)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--against", "2"], "--against goes with --best"),
        (["--seed", "3"], "--seed goes with --best"),
        (["--voc-root", "X"], "--voc-root goes with --best"),
        (["--no-cache"], "--no-cache goes with --best"),
        (["--best", "--best-per", "200"], "--best goes alone: not with --best-per or --compare"),
        (["--best", "--format", "csv"], "--best writes text, markdown or json, not csv"),
        (["--best", "--voc-root", "nowhere"], "nowhere: VOC root folder not found"),
        (["--best", "--metric", "coco50"], "--best resamples the devkit's AP"),
    ],
)
def test_bad_best_options_are_one_line(scored, capsys, extra, message):
    voc_root, run = scored
    argv = ["table", run, *extra]
    if "--best" in extra and "--voc-root" not in extra:
        argv += ["--voc-root", voc_root]
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and message in err, err


@pytest.mark.parametrize(
    ("option", "value"), [("--level", "1.5"), ("--resamples", "0"), ("--resamples", "10**9")]
)
def test_the_bootstraps_options_are_refused_by_the_parser(scored, capsys, option, value):
    voc_root, run = scored
    with pytest.raises(SystemExit) as stop:
        main(["table", str(run), "--best", "--voc-root", str(voc_root), option, value])
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], lines


@pytest.mark.parametrize("value", ["0", "21", "x", "-1"])
def test_against_is_a_bounded_count(scored, value, capsys):
    voc_root, run = scored
    with pytest.raises(SystemExit) as stop:
        main(["table", str(run), "--best", "--voc-root", str(voc_root), "--against", value])
    assert stop.value.code == 2
    assert "--against" in capsys.readouterr().err.splitlines()[-1]


def test_best_refuses_a_table_and_other_ground_truth(scored, tmp_path, capsys):
    from fixture_paths import DEMO

    voc_root, run = scored
    status, _, err = run_cli(capsys, "table", "published", "--best", "--voc-root", voc_root)
    assert status == 2 and "--best needs a run folder" in err
    status, _, err = run_cli(capsys, "table", run, "--best", "--voc-root", DEMO / "VOC2007")
    assert status == 2 and "scored against other ground truth than the options name" in err


def test_a_step_without_detections_is_named(scored, tmp_path, capsys):
    import shutil

    voc_root, original = scored
    run = tmp_path / "run"
    shutil.copytree(original, run)
    shutil.rmtree(RunFolder(run).detection_dir(300))
    status, _, err = run_cli(capsys, "table", run, "--best", "--voc-root", voc_root)
    assert status == 2 and "step 300 has no detections to resample" in err


def test_one_step_is_the_only_one(scored, capsys):
    voc_root, run = scored
    status, out, _ = run_cli(
        capsys, "table", run, "--best", "--voc-root", voc_root, "--steps", "200"
    )
    assert status == 0 and out.startswith("best checkpoint: step 200") and "the only one" in out


def test_the_report_of_a_run_has_the_section(scored, tmp_path, capsys):
    voc_root, run = scored
    out = tmp_path / "r.html"
    argv = ["report", run, "--out", out, "--voc-root", voc_root, "--resamples", "100"]
    assert run_cli(capsys, *argv)[0] == 0
    html = out.read_text()
    assert '<section id="best"><h2>The best checkpoint</h2>' in html
    assert "Step 400 has the highest mAP" in html and "beats 400 in" in html
    assert run_cli(capsys, "report", run, "--out", out)[0] == 0
    assert "Give the ground truth the run was scored with" in out.read_text()
    status, _, err = run_cli(capsys, "report", run, "--out", out, "--seed", "2")
    assert status == 2 and "--seed needs the ground truth: give --voc-root" in err
    result = RunFolder(run).evaluated()[400]
    status, _, err = run_cli(capsys, "report", result, "--out", out, "--voc-root", voc_root)
    assert status == 2 and "goes with a run folder" in err
