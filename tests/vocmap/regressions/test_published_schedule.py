"""The published run's schedule (issue 19, section 3): `--compare published` set a
run beside the published one without saying that the published run trained on
batch 31 with lr drops at 56k/76k and 102k steps; the notebook said "dropped after
step 79990" for a drop at 80000."""

from __future__ import annotations

import json

import numpy as np
from run_builder import make_run

from vocmap.cli import main
from vocmap.data import PUBLISHED_SCHEDULE, schedule_words
from vocmap.report.narrative import describe_run
from vocmap.runs.tables import load_table


def _scored_run(tmp_path, solver: dict | None):
    voc_root, run = make_run(tmp_path, steps=(20000, 40000))  # steps the published table has
    if solver is not None:
        config = json.loads((run / "config.json").read_text())
        config["solver"] = solver
        (run / "config.json").write_text(json.dumps(config))
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet", "--no-cache"]) == 0
    return run


def test_compare_published_says_when_the_schedules_differ(tmp_path, capsys):
    reference = {"batch_size": 32, "milestones": [80000, 100000], "max_iter": 120000}
    run = _scored_run(tmp_path, reference)
    capsys.readouterr()
    assert main(["table", str(run), "--compare", "published"]) == 0
    err = capsys.readouterr().err
    assert err == (
        "vocmap: --compare published: the published run trained with batch 31, lr drops at "
        "56000 and 76000, 102000 steps; this run with batch 32, lr drops at 80000 and 100000, "
        "120000 steps, so the same step is not the same point of training\n"
    )
    assert main(["table", str(run), "--compare", "published", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_no_word_when_the_schedule_is_the_published_or_unknown(tmp_path, capsys):
    same = dict(PUBLISHED_SCHEDULE, milestones=list(PUBLISHED_SCHEDULE["milestones"]))
    for k, solver in enumerate((same, None)):
        run = _scored_run(tmp_path / str(k), solver)
        capsys.readouterr()
        assert main(["table", str(run), "--compare", "published"]) == 0
        assert capsys.readouterr().err == ""


def test_schedule_words():
    assert schedule_words(PUBLISHED_SCHEDULE) == (
        "batch 31, lr drops at 56000 and 76000, 102000 steps"
    )


def _history(rows: list[tuple[int, float]]) -> dict[str, np.ndarray]:
    return {
        "step": np.array([s for s, _ in rows], dtype=np.float64),
        "lr": np.array([lr for _, lr in rows]),
    }


def test_a_drop_is_named_by_the_schedules_milestone(tmp_path):
    table = load_table("published")
    # ssd_ref's rows: the row of step 80000 shows the lr its last update used (the old)
    ssd_ref_rows = _history([(79990, 1e-3), (80000, 1e-3), (80010, 1e-4)])
    # another trainer's rows show the next step's lr: the drop appears a row earlier
    other_rows = _history([(79990, 1e-3), (80000, 1e-4), (80010, 1e-4)])
    for history in (ssd_ref_rows, other_rows):
        lines = describe_run(table, history, milestones=(80000, 100000))
        assert (
            "The learning rate dropped from 0.001 to 0.0001 at step 80000 (the schedule's "
            "milestone)." in lines
        )
    lines = describe_run(table, other_rows)
    assert "The learning rate dropped from 0.001 to 0.0001 between steps 79990 and 80000." in lines
    assert not any("after step 79990" in line for line in lines)
