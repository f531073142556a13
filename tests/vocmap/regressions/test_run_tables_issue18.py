"""Run tables that printed numbers no checkpoint had (issue 18, 1.3).

* ``table --best-per 20000`` showed, as a window's mAP, the mean of each class's best
  AP, which come from different checkpoints (0.6435 where the best checkpoint had
  0.6367). A column is now one checkpoint's numbers, and names it.
* ``table --compare published`` on a 5-class, 600-step run subtracted the 20-class
  published mAP from a 5-class mAP and set step 600 beside step 102000. Only the steps
  and classes both tables have are set side by side, and the title says which; the
  mAPs only when they are means over the same classes; no common step is refused.
* ``table published`` showed 0.6960 and ``--best-per 20000`` 0.6964 for the same step.
  The published numbers have one source (``vocmap/data/``) and are shown at the
  precision published.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from vocmap.cli import main
from vocmap.report.narrative import describe_run
from vocmap.report.run_tables import render
from vocmap.runs.tables import APTable, best_per_window, load_table, pair_tables


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def issue_table() -> APTable:
    # Two checkpoints in the window (0, 20000]: class a peaks at 10000, class b at 20000.
    ap = np.array([[0.70, 0.60, 0.65], [0.50, 0.62, 0.64]])
    maps = np.array([0.60, 0.61, 0.645])
    return APTable((10000, 20000, 30000), ("a", "b"), ap, maps, "run")


def test_a_best_per_column_is_one_checkpoint_with_its_own_map():
    best = best_per_window(issue_table(), 20000)
    assert best.steps == (20000, 30000) and best.checkpoints == (20000, 30000)
    assert best.map.tolist() == [0.61, 0.645]  # not (0.70 + 0.62) / 2 = 0.66
    assert best.ap[:, 0].tolist() == [0.60, 0.62]


def test_a_column_holding_another_checkpoint_names_it():
    table = APTable(
        (10000, 20000, 30000), ("a",), np.array([[0.7, 0.6, 0.5]]), np.array([0.7, 0.6, 0.5]), "r"
    )
    best = best_per_window(table, 20000)
    assert best.checkpoints == (10000, 30000)
    text = render(best, "text")
    assert text.splitlines()[1].split() == ["class", "20000:", "10000", "30000"]
    assert json.loads(render(best, "json"))["checkpoints"] == [10000, 30000]
    assert render(best, "csv").splitlines()[0] == "class,10000,30000"


def test_published_is_the_same_with_and_without_best_per(capsys):
    _, plain, _ = run_cli(capsys, "table", "published")
    _, best, _ = run_cli(capsys, "table", "published", "--best-per", "20000")
    assert plain == best
    assert plain.splitlines()[-1].split() == [
        "mAP", "0.6960", "0.7260", "0.7380", "0.7660", "0.7709", "0.7711",
    ]  # fmt: skip


def test_published_is_shown_at_the_precision_published(capsys):
    _, out, _ = run_cli(capsys, "table", "published", "--digits", "8")
    assert out.splitlines()[-1].split()[1] == "0.6960"
    _, out, _ = run_cli(capsys, "table", "published", "--digits", "2")
    assert out.splitlines()[-1].split()[1] == "0.70"
    _, out, _ = run_cli(capsys, "table", "published", "--format", "json")
    assert json.loads(out)["mAP"][0] == 0.696


def test_no_step_in_common_is_refused():
    table = APTable((200, 600), ("dog",), np.array([[0.1, 0.2]]), np.array([0.1, 0.2]), "run")
    with pytest.raises(Exception, match="has no step in common with run"):
        pair_tables(table, load_table("published"))


@pytest.fixture
def five_class_run() -> APTable:
    classes = ("bottle", "car", "cat", "dog", "person")
    ap = np.linspace(0.1, 0.9, 15).reshape(5, 3)
    return APTable((20000, 40000, 60000), classes, ap, ap.mean(axis=0), "five")


def test_only_the_common_steps_and_classes_are_compared(five_class_run):
    published = load_table("published")
    pairing = pair_tables(five_class_run, published)
    assert pairing.steps == (20000, 40000, 60000)
    assert pairing.classes == five_class_run.classes and not pairing.map_compared
    text = render(five_class_run, "text", reference=published)
    title, header, *rows = text.splitlines()
    assert "published SSD300 beside the steps both have: 20000, 40000, 60000" in title
    assert "its steps 80000, 100000, 102000 left out" in title
    assert "the 5 classes both have (5 here, 20 there)" in title
    assert "the mAPs are means over different classes" in title
    assert header.split()[-1] == "(60000)" and "102000" not in header
    mean_row = rows[-1].split()
    assert mean_row[0] == "mAP" and len(mean_row) == 4  # its own 3 steps, nothing beside
    bottle = rows[0].split()
    want = five_class_run.ap[0, 2] - published.column(60000)["bottle"]
    assert bottle[-1] == f"{want:+.4f}"  # step 60000 with step 60000
    data = json.loads(render(five_class_run, "json", reference=published))
    assert data["compared"]["steps"] == [20000, 40000, 60000]
    assert data["compared"]["map"] is False
    assert data["reference"]["steps"] == [20000, 40000, 60000]


def test_the_map_is_compared_when_the_classes_are_the_same():
    published = load_table("published")
    same = APTable(
        (100000,), published.classes, published.ap[:, [4]] + 0.01, np.array([0.7809]), "mine"
    )
    text = render(same, "text", reference=published)
    assert text.splitlines()[-1].split() == ["mAP", "0.7809", "0.7709", "+0.0100"]


def test_the_reading_never_pairs_different_steps(five_class_run):
    published = load_table("published")
    short = APTable((600,), ("dog",), np.array([[0.5]]), np.array([0.5]), "short")
    assert describe_run(short, None, published)[-1].startswith(
        "Not compared with published SSD300: published SSD300 (steps 20000 to 102000) has no "
        "step in common"
    )
    assert describe_run(five_class_run, None, published)[-1].startswith(
        "Not compared with published SSD300 on the mAP: the means are over different classes"
    )


def test_a_table_of_a_subset_mean_says_so():
    table = APTable((1,), ("dog",), np.array([[0.5]]), np.array([0.5]), "r", left_out=("cat",))
    text = render(table, "text")
    assert "mAP (1 class): a mean over 1 class, not the mAP" in text.splitlines()[0]
    assert text.splitlines()[-1].split()[:3] == ["mAP", "(1", "class)"]
    assert json.loads(render(table, "json"))["map_left_out"] == ["cat"]
