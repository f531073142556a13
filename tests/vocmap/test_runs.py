"""score / table / plot on run folders (detections per step, no training needed here;
tests/ssd_ref/test_end_to_end.py does the same on a real tiny ssd_ref run)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from fixture_paths import FIXTURES, REPO
from run_builder import CLASSES, make_run

import vocmap
from vocmap.cli import main
from vocmap.report.run_tables import render
from vocmap.runs.contract import RunFolder
from vocmap.runs.history import lr_drops, read_history
from vocmap.runs.tables import (
    APTable,
    best_per_window,
    load_table,
    read_ap_table_csv,
    select_steps,
)

SEED_CSV = FIXTURES / "seed_summary" / "ap_by_step.csv"


@pytest.fixture
def plotting():
    """vocmap's plots; the test is skipped where matplotlib (the plot extra) is missing."""
    pytest.importorskip("matplotlib")
    from vocmap.report import plotting

    return plotting


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    voc_root, run = make_run(tmp_path_factory.mktemp("run"))
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet", "--no-cache"]) == 0
    return voc_root, run


def test_table_values_equal_evaluating_each_step_directly(scored, capsys):
    voc_root, run = scored
    capsys.readouterr()
    assert main(["table", str(run), "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["steps"] == [100, 200, 300, 400, 500, 600]
    assert list(table["classes"]) == list(CLASSES)  # taken from the run's config.json
    for k, step in enumerate(table["steps"]):
        direct = vocmap.evaluate_folder(
            RunFolder(run).detection_dir(step), voc_root, classes=list(CLASSES)
        )
        assert table["mAP"][k] == direct.map
        for cls in CLASSES:
            assert table["classes"][cls][k] == direct.classes[cls].ap


def test_table_text_layout_and_every(scored, capsys):
    _, run = scored
    assert main(["table", str(run), "--every", "200"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["class", "200", "400", "600"]
    assert [line.split()[0] for line in lines[2:]] == [*CLASSES, "mAP"]
    assert lines[2].split()[1] == "AP"  # "bottle AP"


def test_best_per_window_by_hand():
    # Steps 10..50, window 20: windows (0,20] -> steps 10, 20; (20,40] -> 30, 40;
    # the last step 50 ends no window, so it gets its own column (the final model).
    ap = np.array([[0.1, 0.3, 0.2, 0.25, 0.4], [0.5, 0.4, np.nan, 0.6, 0.55]])
    table = APTable((10, 20, 30, 40, 50), ("a", "b"), ap, np.array([0.3, 0.35, 0.2, 0.425, 0.475]))
    best = best_per_window(table, 20)
    assert best.steps == (20, 40, 50)
    # Each window's column is its best checkpoint (20, then 40), with that checkpoint's
    # own APs and mAP: class b's 0.5 at step 10 is not taken (issue 18 1.3: the mean of
    # class bests, 0.4 here, was shown as a mAP no checkpoint reached).
    assert best.checkpoints == (20, 40, 50)
    assert best.ap.tolist() == [[0.3, 0.25, 0.4], [0.4, 0.6, 0.55]]
    assert best.map.tolist() == [0.35, 0.425, 0.475]
    assert best_per_window(select_steps(table, [10, 20, 30, 40]), 20).steps == (20, 40)


def test_published_csv_round_trips_and_compares(scored, tmp_path, capsys):
    published = read_ap_table_csv(SEED_CSV, "published")
    assert published.steps == (20000, 40000, 60000, 80000, 100000, 102000)
    assert published.map[-1] == 0.7711 and published.column(102000)["bottle"] == 0.4844
    assert main(["table", str(SEED_CSV), "--format", "csv", "--out", str(tmp_path / "t.csv")]) == 0
    again = read_ap_table_csv(tmp_path / "t.csv")
    assert again.steps == published.steps and np.array_equal(again.ap, published.ap)
    assert np.array_equal(again.map, published.map)
    _, run = scored
    capsys.readouterr()
    argv = ["table", str(run), "--compare", str(SEED_CSV), "--compare-label", "published"]
    # Issue 18 1.3: step 600 was set beside step 102000 (and a 5-class mAP beside a
    # 20-class one); no step in common is now one line saying so.
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        "vocmap: error: --compare: published (steps 20000 to 102000) has no step in common "
        "with run (steps 100 to 600): nothing to set side by side, since a step is only "
        "compared with the same step\n"
    )


def test_plots_from_a_run_are_drawn_from_the_data(scored, plotting):
    import matplotlib.lines

    _, run = scored
    table = load_table(run)
    figure = plotting.plot_ap_over_steps(table, None)
    axis = figure.axes[0]
    lines = [line for line in axis.get_lines() if isinstance(line, matplotlib.lines.Line2D)]
    assert len(lines) == len(CLASSES) + 1
    bold = max(lines, key=lambda line: line.get_linewidth())
    assert bold.get_ydata().tolist() == table.map.tolist()
    assert {t.get_text().split()[0] for t in axis.texts} == {*CLASSES, "mAP"}
    assert axis.get_xlabel() and axis.get_ylabel() and axis.get_title()
    history = read_history(RunFolder(run).history_path)
    loss = plotting.plot_loss_history(history, None)
    drawn = {line.get_label(): line for line in loss.axes[0].get_lines()}
    assert "validation loss" in drawn
    assert drawn["validation loss"].get_xdata().tolist() == [100, 200, 300, 400, 500, 600]
    assert any("lr 1e-03 → 1e-04" in t.get_text() for t in loss.axes[0].texts)
    # The builder's rows up to step 390 used 1e-3, so the drop took effect after 390.
    assert lr_drops(history["step"], history["lr"]) == [(390, 1e-3, 1e-4)]


def test_plot_command_writes_three_non_trivial_pngs(scored, tmp_path, plotting):
    _, run = scored
    out = tmp_path / "plots"
    assert main(["plot", str(run), "--out-dir", str(out), "--compare", str(SEED_CSV)]) == 0
    for name in ("loss_history.png", "ap_over_steps.png", "pr_curves.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 20_000, name
    assert sorted(p.name for p in out.iterdir()) == [
        "ap_over_steps.png",
        "loss_history.png",
        "pr_curves.png",
    ]


def test_plot_from_the_published_csv(tmp_path, plotting):
    assert main(["plot", str(SEED_CSV), "--out-dir", str(tmp_path), "--label", "published"]) == 0
    assert (tmp_path / "ap_over_steps.png").stat().st_size > 20_000
    table = read_ap_table_csv(SEED_CSV, "published")
    figure = plotting.plot_ap_over_steps(table, None)
    # 20 classes: the mAP on top, then one panel a class (issue 19 5: small multiples)
    assert len(figure.axes) == 21 and len(figure.axes[0].get_lines()) == 1
    for i, axis in enumerate(figure.axes[1:]):
        assert axis.get_title().split()[0] == table.classes[i]
        assert any(line.get_ydata().tolist() == table.ap[i].tolist() for line in axis.get_lines())


def test_history_rejects_a_bad_cell(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("step,loss\n10,1.5\n20,abc\n")
    with pytest.raises(vocmap.InputError, match=r"history.csv:3: column 'loss' is not a number"):
        read_history(path)


SLOW_SCORE = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from run_builder import CLASSES
    import vocmap
    from vocmap.runs.scoring import ScoreSettings, score_run
    from vocmap.testing.synthetic import generate_annotations, generate_detections

    root = Path({root!r})
    objects = generate_annotations(root / "scratch", images=60, classes=CLASSES, seed=3)

    def slow_detect(run, step, settings):
        # Stands in for a model: 0.3 s per step (the kill lands within 0.05 s of the
        # second step's result), written through a temporary folder.
        time.sleep(0.3)
        temporary = run.detections_dir / f".step_{{step:06d}}.tmp-{{os.getpid()}}"
        generate_detections(temporary, objects, detections_per_image=15, seed=step)
        temporary.rename(run.detection_dir(step))

    gt = vocmap.read_voc(root / "VOC2007", cache=False)
    score_run(root / "run", gt, ScoreSettings(classes=CLASSES), progress=None, detect=slow_detect)
    """
)


def test_killed_score_resumes_without_redoing_finished_steps(tmp_path):
    voc_root, run = make_run(tmp_path, steps=(100,), images=60)
    folder = RunFolder(run)
    ckpt = folder.checkpoints_dir
    ckpt.mkdir(parents=True)
    for step in (200, 300, 400, 500):
        (ckpt / f"step_{step:06d}.pt").write_bytes(b"")
    script = SLOW_SCORE.format(tests=str(REPO / "tests" / "helpers"), root=str(tmp_path))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.time() + 60
    while len(folder.evaluated()) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = folder.evaluated()
    assert 2 <= len(finished) < 5, "killed midway"
    before = {
        step: (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes())
        for step, p in finished.items()
    }
    subprocess.run([sys.executable, "-c", script], env=env, check=True)
    after = folder.evaluated()
    assert sorted(after) == [100, 200, 300, 400, 500]
    for step, (mtime, inode, content) in before.items():
        path = after[step]
        assert (path.stat().st_mtime_ns, path.stat().st_ino, path.read_bytes()) == (
            mtime,
            inode,
            content,
        )
    assert not list(folder.detections_dir.glob(".*")), "no temporary folder left behind"
    # The resumed table equals the table of one uninterrupted run.
    clean_root = tmp_path / "clean"
    make_run(clean_root, steps=(100,), images=60)
    for step in (200, 300, 400, 500):
        (RunFolder(clean_root / "run").checkpoints_dir).mkdir(parents=True, exist_ok=True)
        (RunFolder(clean_root / "run").checkpoints_dir / f"step_{step:06d}.pt").write_bytes(b"")
    subprocess.run(
        [
            sys.executable,
            "-c",
            SLOW_SCORE.format(tests=str(REPO / "tests" / "helpers"), root=str(clean_root)),
        ],
        env=env,
        check=True,
    )
    resumed, clean = load_table(run), load_table(clean_root / "run")
    assert resumed.steps == clean.steps and np.array_equal(resumed.ap, clean.ap)
    assert render(resumed, "csv") == render(clean, "csv")
    del voc_root


def test_score_errors_are_one_line(tmp_path, capsys):
    assert (
        main(["score", str(tmp_path / "nope"), "--voc-root", str(FIXTURES / "demo" / "VOC2007")])
        == 2
    )
    assert "run folder not found" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["score", str(empty), "--voc-root", str(FIXTURES / "demo" / "VOC2007")]) == 2
    assert "no checkpoints/step_*.pt and no detections/step_*/ found" in capsys.readouterr().err


def test_jobs_give_the_same_results_as_one_process(scored, tmp_path):
    voc_root, run = scored
    copy = tmp_path / "copy"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("eval", "plots"))
    assert main(["score", str(copy), "--voc-root", str(voc_root), "--jobs", "2", "--quiet"]) == 0
    for step, path in RunFolder(run).evaluated().items():
        mine = json.loads(path.read_text())
        theirs = json.loads(RunFolder(copy).eval_path(step).read_text())
        assert mine["classes"] == theirs["classes"] and mine["map"] == theirs["map"]
