"""A mean over fewer classes printed as the mAP (issue 18, 1.2).

The demo results without ``comp4_det_test_dog.txt`` and no ``--classes`` gave exit 0
and ``mAP 0.7881``, a 19-class mean that nothing told apart from a VOC2007 mAP. Now:
the ground truth has dogs, so a missing dog file stops with exit 2 naming it (as the
devkit stops); naming the 19 classes evaluates them, and every place that shows the
number (table, ``--format map``, JSON, CSV, compare, compare-runs, the report, the
API) says it is a mean over 19 classes without dog.
"""

from __future__ import annotations

import json
import shutil

import pytest
from fixture_paths import DEMO

import vocmap
from vocmap.cli import main
from vocmap.core.constants import VOC_CLASSES
from vocmap.core.errors import InputError

NINETEEN = [c for c in VOC_CLASSES if c != "dog"]
ROOT = DEMO / "VOC2007"


@pytest.fixture
def without_dog(tmp_path):
    folder = tmp_path / "results"
    shutil.copytree(DEMO / "results", folder)
    (folder / "comp4_det_test_dog.txt").unlink()
    return folder


def run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "--format", "map"],
        ["compare", "--semantics", "mmdet"],
        ["diagnose", "--format", "json"],
    ],
)
def test_a_missing_class_file_is_refused_naming_the_class(command, without_dog, capsys):
    status, out, err = run(capsys, command[0], without_dog, "--voc-root", ROOT, *command[1:])
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "the ground truth has objects of class dog, which has no result file" in lines[0]
    assert "--classes" in lines[0]


def test_the_api_refuses_it_too(without_dog):
    ground_truth = vocmap.read_voc(ROOT)
    with pytest.raises(InputError, match="no result file for class dog"):
        vocmap.read_detections(without_dog, ground_truth)


def test_format_map_says_over_which_classes(without_dog, capsys):
    classes = ",".join(NINETEEN)
    status, out, _ = run(
        capsys, "evaluate", without_dog, "--voc-root", ROOT, "--classes", classes, "--format", "map"
    )
    assert status == 0
    value, scope = out.rstrip("\n").split("\t")
    assert float(value) == pytest.approx(0.7880863568027051, abs=1e-15)
    assert scope == "a mean over 19 classes, not the mAP: the ground truth's class dog is left out"


def test_table_json_and_csv_say_over_which_classes(without_dog, tmp_path, capsys):
    classes = ",".join(NINETEEN)
    json_path, csv_path = tmp_path / "r.json", tmp_path / "r.csv"
    argv = ["evaluate", without_dog, "--voc-root", ROOT, "--classes", classes]
    status, out, _ = run(capsys, *argv, "--format", "text", "--json", json_path, "--csv", csv_path)
    assert status == 0
    assert "mAP (19 classes): a mean over 19 classes, not the mAP" in out.splitlines()[0]
    assert out.splitlines()[-1].startswith("mAP (19 classes)  0.7881")
    data = json.loads(json_path.read_text())
    assert data["map_classes"] == NINETEEN and data["map_left_out"] == ["dog"]
    assert csv_path.read_text().splitlines()[-1].startswith("mAP (19 classes),0.78808635")


def test_the_whole_set_has_no_subset_words(tmp_path, capsys):
    status, out, _ = run(
        capsys, "evaluate", DEMO / "results", "--voc-root", ROOT, "--format", "map"
    )
    assert status == 0 and "\t" not in out and float(out) == pytest.approx(0.78633, abs=1e-5)
    status, out, _ = run(capsys, "evaluate", DEMO / "results", "--voc-root", ROOT, "--json", "-")
    assert "map_left_out" not in json.loads(out)


def test_compare_and_compare_runs_label_the_subset_mean(without_dog, capsys):
    classes = ",".join(NINETEEN[:3])
    status, out, _ = run(
        capsys, "compare", without_dog, "--voc-root", ROOT, "--classes", classes,
        "--semantics", "mmdet",
    )  # fmt: skip
    assert status == 0 and "mAP (3 classes)" in out and "17 other classes" in out
    status, out, _ = run(
        capsys, "compare-runs", without_dog, without_dog, "--voc-root", ROOT,
        "--classes", classes, "--resamples", "50",
    )  # fmt: skip
    assert status == 0 and "mAP (3 classes)" in out and "not the mAP" in out


def test_the_api_result_knows_what_it_left_out():
    result = vocmap.evaluate_folder(DEMO / "results", ROOT, classes=["cat", "dog"])
    assert result.left_out == tuple(c for c in VOC_CLASSES if c not in ("cat", "dog"))
    assert result.map_row_label == "mAP (2 classes)"
    assert result.map_text().split("\t")[1].startswith("a mean over 2 classes, not the mAP")
    assert vocmap.evaluate_folder(DEMO / "results", ROOT).left_out == ()


def test_the_report_labels_the_subset_mean(without_dog, tmp_path, capsys):
    json_path, html_path = tmp_path / "r.json", tmp_path / "r.html"
    classes = ",".join(NINETEEN)
    argv = ["evaluate", without_dog, "--voc-root", ROOT, "--classes", classes, "--json", json_path]
    assert run(capsys, *argv)[0] == 0
    assert run(capsys, "report", json_path, "--out", html_path)[0] == 0
    html = html_path.read_text()
    assert "mAP (19 classes)" in html and "class dog is left out" in html


def test_diagnose_says_its_means_are_over_a_subset(capsys):
    argv = ["diagnose", DEMO / "results", "--voc-root", ROOT, "--classes", "cat,dog"]
    status, out, _ = run(capsys, *argv)
    assert status == 0
    assert out.splitlines()[0].startswith(
        "the mean rows below: a mean over 2 classes, not the mAP: the ground truth's 18 other"
    )


def test_a_run_scored_on_fewer_classes_says_so_in_its_table(tmp_path, capsys):
    from run_builder import make_run

    voc_root, run_dir = make_run(tmp_path, steps=(100, 200), images=20)
    assert main(["score", str(run_dir), "--voc-root", str(voc_root), "--classes", "cat,dog"]) == 0
    status, out, _ = run(capsys, "table", run_dir)
    assert status == 0 and out.splitlines()[-1].startswith("mAP (2 classes)")
    assert "the ground truth's 3 other classes bottle, car, person are left out" in out
