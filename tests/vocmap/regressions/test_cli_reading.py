"""``vocmap evaluate`` reading (issue 12, item 6): the class list inferred from the
result files when ``--classes`` is not given, and ``-`` reading stdin."""

from __future__ import annotations

import io
import json
import sys

import pytest
from case_builder import cat, dog, make_case
from cli_check import PERFECT_AP, expect_failure, expect_success
from fixture_paths import DEMO

from vocmap.io.writers import VocObject


def custom_case(tmp_path):
    objects = {
        "000001": [VocObject("apple", (10, 10, 50, 50))],
        "000002": [VocObject("pear", (100, 100, 150, 150)), VocObject("plum", (1, 1, 9, 9))],
    }
    results = {
        "apple": "000001 0.9 10 10 50 50\n",
        "pear": "000002 0.8 100 100 150 150\n",
        "plum": "000002 0.7 1 1 9 9\n",
    }
    return make_case(tmp_path / "case", objects, results)


def test_classes_are_inferred_from_the_files_and_said_on_stderr(tmp_path, capsys):
    voc_root, results = custom_case(tmp_path)
    data, err = expect_success(capsys, tmp_path / "out", [results, "--voc-root", voc_root])
    assert list(data["classes"]) == ["apple", "pear", "plum"]
    assert data["classes"]["apple"]["ap"] == PERFECT_AP
    assert "map_left_out" not in data and "map_classes" not in data
    assert (
        "vocmap: no --classes given: evaluating the 3 classes with result files "
        "(comp4_det_test_<class>.txt): apple, pear, plum\n"
    ) in err


def test_an_annotated_class_without_a_result_file_is_refused_when_inferring(tmp_path, capsys):
    # Issue 18 1.2: a mean over the classes with files used to be printed as the mAP.
    voc_root, results = custom_case(tmp_path)
    (results / "comp4_det_test_plum.txt").unlink()
    expect_failure(
        capsys,
        tmp_path / "out",
        [results, "--voc-root", voc_root],
        "the ground truth has objects of class plum, which has no result file",
        "--classes",
    )
    data, _ = expect_success(
        capsys, tmp_path / "o2", [results, "--voc-root", voc_root, "--classes", "apple,pear"]
    )
    assert data["map_classes"] == ["apple", "pear"] and data["map_left_out"] == ["plum"]


def test_the_20_voc_classes_are_used_without_a_note(tmp_path, capsys):
    data, err = expect_success(
        capsys, tmp_path / "out", [DEMO / "results", "--voc-root", DEMO / "VOC2007"]
    )
    assert len(data["classes"]) == 20 and "no --classes" not in err


def test_inferring_from_two_runs_is_an_error(tmp_path, capsys):
    voc_root, results = custom_case(tmp_path)
    (results / "comp3_det_test_plum.txt").write_text("000002 0.7 1 1 9 9\n")
    expect_failure(
        capsys,
        tmp_path / "out",
        [results, "--voc-root", voc_root],
        "result files of 2 runs",
        "choose one with --prefix or name the classes with --classes",
    )
    data, _ = expect_success(
        capsys, tmp_path / "o2", [results, "--voc-root", voc_root, "--prefix", "comp4"]
    )
    assert list(data["classes"]) == ["apple", "pear", "plum"]


@pytest.fixture
def voc_root(tmp_path):
    root, _ = make_case(tmp_path / "gt", {"000001": [dog()], "000002": [cat()]})
    return root


def feed_stdin(monkeypatch, data: bytes, tty: bool = False):
    class Stdin(io.TextIOWrapper):
        def isatty(self):
            return tty

    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(data)))


def test_stdin_reads_a_results_json(tmp_path, capsys, monkeypatch, voc_root):
    records = [
        {"image_id": "000001", "category": "dog", "bbox": [9, 9, 41, 41], "score": 0.9},
        {"image_id": 2, "category": "cat", "bbox": [99, 99, 51, 51], "score": 0.8},
    ]
    feed_stdin(monkeypatch, b"\xef\xbb\xbf \n" + json.dumps(records).encode())
    data, _ = expect_success(
        capsys, tmp_path / "out", ["-", "--voc-root", voc_root, "--classes", "dog,cat"]
    )
    assert data["classes"]["dog"]["ap"] == PERFECT_AP == data["classes"]["cat"]["ap"]


def test_stdin_reads_one_result_file_for_one_class(tmp_path, capsys, monkeypatch, voc_root):
    feed_stdin(monkeypatch, b"000001 0.9 10 10 50 50\n000002 0.3 1 1 5 5\n")
    data, _ = expect_success(
        capsys, tmp_path / "out", ["-", "--voc-root", voc_root, "--classes", "dog"]
    )
    assert data["classes"]["dog"]["ap"] == PERFECT_AP and data["classes"]["dog"]["fp"] == 1


def test_a_result_file_on_stdin_needs_one_class(tmp_path, capsys, monkeypatch, voc_root):
    feed_stdin(monkeypatch, b"000001 0.9 10 10 50 50\n")
    expect_failure(
        capsys,
        tmp_path / "out",
        ["-", "--voc-root", voc_root],
        "<stdin>: a result file on standard input holds one class",
    )


def test_stdin_errors_name_stdin_and_the_line(tmp_path, capsys, monkeypatch, voc_root):
    feed_stdin(monkeypatch, b"000001 0.9 10 10 50 50\n000001 x 1 1 2 2\n")
    expect_failure(
        capsys,
        tmp_path / "out",
        ["-", "--voc-root", voc_root, "--classes", "dog"],
        "<stdin>:2: field 2 (score) is not a number: 'x'",
    )


def test_stdin_that_is_a_terminal_is_refused_instead_of_waiting(
    tmp_path, capsys, monkeypatch, voc_root
):
    feed_stdin(monkeypatch, b"", tty=True)
    expect_failure(
        capsys,
        tmp_path / "out",
        ["-", "--voc-root", voc_root, "--classes", "dog"],
        "standard input, which is a terminal",
    )


def test_an_inferred_class_name_with_a_control_character_is_refused(tmp_path, capsys):
    voc_root, results = custom_case(tmp_path)
    (results / "comp4_det_test_pe\x1b[2Jar.txt").write_text("")
    expect_failure(
        capsys,
        tmp_path / "out",
        [results, "--voc-root", voc_root],
        "gives a class name with U+001B (ESCAPE)",
    )


@pytest.mark.parametrize(
    "command",
    [["diagnose", "--format", "json"], ["compare", "--semantics", "mmdet", "--json", "-"]],
)
def test_diagnose_and_compare_infer_the_classes_as_evaluate_does(command, tmp_path, capsys):
    # They used to take the 20 VOC classes and fail on a folder of apples and pears.
    from vocmap.cli import main

    voc_root, results = custom_case(tmp_path)
    capsys.readouterr()
    assert main([command[0], str(results), "--voc-root", str(voc_root), *command[1:]]) == 0
    out, err = capsys.readouterr()
    assert "vocmap: no --classes given: evaluating the 3 classes with result files" in err
    assert "apple" in out and "pear" in out and "aeroplane" not in out
