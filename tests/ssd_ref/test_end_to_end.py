"""The whole loop on CPU: the tiny SSD (``small`` preset) trained on the synthetic set
(the session's ``trained_run``: checkpoints at steps 100..400), then ``vocmap score``,
``table`` and ``plot`` on its run folder, and a ``score`` killed midway and run again."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from trained_run import trained_run_voc_root

import vocmap
from vocmap.cli import main
from vocmap.report import plotting
from vocmap.report.run_tables import render
from vocmap.runs.contract import RunFolder
from vocmap.runs.history import read_history
from vocmap.runs.tables import load_table

pytestmark = [pytest.mark.slow, pytest.mark.torch]

STEPS = [100, 200, 300, 400]


@pytest.fixture(scope="module")
def scored_run(trained_run, tmp_path_factory):
    """A copy of the trained run after one uninterrupted ``vocmap score``."""
    run = tmp_path_factory.mktemp("e2e") / "run"
    shutil.copytree(trained_run, run)
    voc_root = trained_run_voc_root(run)
    command = ["score", str(run), "--voc-root", str(voc_root), "--quiet", "--device", "cpu"]
    assert main(command) == 0
    return run, voc_root


def test_score_makes_detections_and_results_for_every_checkpoint(scored_run):
    run, _ = scored_run
    folder = RunFolder(run)
    assert sorted(folder.checkpoints()) == STEPS
    assert sorted(folder.detection_folders()) == STEPS
    assert sorted(folder.evaluated()) == STEPS
    classes = json.loads((run / "config.json").read_text())["data"]["classes"]
    for step in STEPS:
        names = sorted(p.name for p in folder.detection_dir(step).iterdir())
        assert names == sorted(f"comp4_det_test_{c}.txt" for c in classes)


def test_table_equals_evaluating_each_step_directly(scored_run, capsys):
    run, voc_root = scored_run
    capsys.readouterr()
    assert main(["table", str(run), "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["steps"] == STEPS
    classes = list(table["classes"])
    assert classes == json.loads((run / "config.json").read_text())["data"]["classes"]
    for k, step in enumerate(STEPS):
        direct = vocmap.evaluate_folder(
            RunFolder(run).detection_dir(step), voc_root, classes=classes
        )
        assert table["mAP"][k] == direct.map
        for cls in classes:
            assert table["classes"][cls][k] == direct.classes[cls].ap
    # The model learns: the last checkpoint beats the first.
    assert table["mAP"][-1] > table["mAP"][0]


def test_plots_of_the_run_are_drawn_from_its_data(scored_run, tmp_path):
    run, _ = scored_run
    assert main(["plot", str(run), "--out-dir", str(tmp_path)]) == 0
    for name in ("loss_history.png", "ap_over_steps.png", "pr_curves.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, name

    history = read_history(RunFolder(run).history_path)
    loss = plotting.plot_loss_history(history, None)
    lines = {line.get_label(): line for line in loss.axes[0].get_lines()}
    assert lines["validation loss"].get_xdata().tolist() == STEPS
    training = [line for label, line in lines.items() if label.startswith("training loss")]
    assert len(training) == 1 and len(training[0].get_xdata()) == len(history["step"])
    # the small preset: AdamW at 0.004, x0.1 at step 320 (read from history.csv's lr column)
    assert any("lr 4e-03 → 4e-04" in text.get_text() for text in loss.axes[0].texts)

    table = load_table(run)
    ap = plotting.plot_ap_over_steps(table, None)
    bold = max(ap.axes[0].get_lines(), key=lambda line: line.get_linewidth())
    assert bold.get_ydata().tolist() == table.map.tolist()


def test_killed_score_resumes_to_the_same_table(scored_run, trained_run, tmp_path):
    straight_run, voc_root = scored_run
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    folder = RunFolder(run)
    command = [sys.executable, "-m", "vocmap", "score", str(run), "--voc-root", str(voc_root)]
    command += ["--quiet", "--device", "cpu"]
    process = subprocess.Popen(command)
    deadline = time.monotonic() + 600
    while not folder.evaluated() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = folder.evaluated()
    assert 1 <= len(finished) < len(STEPS), "the kill did not land midway"

    def stamp(path):
        return path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes()

    before = {step: stamp(path) for step, path in finished.items()}
    subprocess.run(command, check=True, timeout=600)
    after = folder.evaluated()
    assert sorted(after) == STEPS
    assert {step: stamp(after[step]) for step in before} == before  # not redone
    leftovers = [p for d in (folder.detections_dir, folder.eval_dir()) for p in d.iterdir()]
    assert not [p.name for p in leftovers if p.name.startswith(".")]
    resumed, straight = load_table(run), load_table(straight_run)
    assert resumed.steps == straight.steps
    assert np.array_equal(resumed.ap, straight.ap, equal_nan=True)
    assert render(resumed, "csv") == render(straight, "csv")
