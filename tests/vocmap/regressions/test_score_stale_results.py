"""`vocmap score` served stale results (issue 10): results were keyed on the
metric, IoU and semantics only, so scoring a run again against other annotations,
another image set or other --classes printed "scored 0 step(s)" and kept the old
numbers; a truncated or invalid eval/.../step_N.json was "done" forever and made
`table` fail. Now each result carries what it was scored against; a mismatch is
an error naming the file (--force replaces it), an invalid result is scored
again, and `table` never mixes results or crashes on a bad one."""

from __future__ import annotations

import json
import shutil

import pytest
from run_builder import CLASSES, make_run

import vocmap
from vocmap.cli import main
from vocmap.io.writers import VocObject, write_annotation, write_image_set
from vocmap.runs.contract import RunFolder


@pytest.fixture
def run(tmp_path):
    voc_root, run_dir = make_run(tmp_path, steps=(100, 200), images=30)
    assert score(run_dir, voc_root) == 0
    return voc_root, run_dir


def score(run_dir, voc_root, *extra: str) -> int:
    return main(["score", str(run_dir), "--voc-root", str(voc_root), "--no-cache", *extra])


def stored(run_dir, step: int, key: str = "voc07") -> dict:
    return json.loads(RunFolder(run_dir).eval_path(step, key).read_text())


def direct(run_dir, voc_root, step: int, image_set: str = "test", classes=CLASSES):
    return vocmap.evaluate_folder(
        RunFolder(run_dir).detection_dir(step),
        voc_root,
        image_set=image_set,
        classes=list(classes),
    )


def assert_equals_direct(run_dir, voc_root, step, **kwargs) -> None:
    data, want = stored(run_dir, step), direct(run_dir, voc_root, step, **kwargs)
    assert data["map"] == want.map
    assert {c: e["ap"] for c, e in data["classes"].items()} == {
        c: r.ap for c, r in want.classes.items()
    }


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("vocmap: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def test_other_annotations_are_not_served_the_old_numbers(run, tmp_path, capsys):
    voc_root, run_dir = run
    other = tmp_path / "other" / "VOC2007"
    shutil.copytree(voc_root, other)
    annotation = next((other / "Annotations").glob("*.xml"))
    annotation.write_text(annotation.read_text().replace("<difficult>0", "<difficult>1", 1))
    before = stored(run_dir, 100)
    capsys.readouterr()
    assert score(run_dir, other) == 2
    path = RunFolder(run_dir).eval_path(100)
    assert error_line(capsys) == (
        f"vocmap: error: {path}: scored against other ground truth (annotations or "
        "image-set content); give --force to score again and replace it"
    )
    assert stored(run_dir, 100) == before
    assert score(run_dir, other, "--force") == 0
    assert "scored 2 step(s)" in capsys.readouterr().out
    assert_equals_direct(run_dir, other, 100)
    assert_equals_direct(run_dir, other, 200)
    assert stored(run_dir, 100)["map"] != before["map"]


def test_another_image_set_is_not_served_the_old_numbers(run, capsys):
    voc_root, run_dir = run
    ids = (voc_root / "ImageSets" / "Main" / "test.txt").read_text().split()
    # One more image, with a dog nobody detects: every AP of dog changes.
    write_annotation(voc_root / "Annotations", "999999", 500, 375, [VocObject("dog", (1, 1, 9, 9))])
    write_image_set(voc_root / "ImageSets" / "Main" / "more.txt", [*ids, "999999"])
    capsys.readouterr()
    assert score(run_dir, voc_root, "--image-set", "more") == 2
    assert "scored against other ground truth" in error_line(capsys)
    # The same content under another name also counts: the name picks the result files.
    write_image_set(voc_root / "ImageSets" / "Main" / "copy.txt", ids)
    assert score(run_dir, voc_root, "--image-set", "copy") == 2
    assert "scored against image set 'test', not 'copy'" in error_line(capsys)
    assert score(run_dir, voc_root, "--image-set", "more", "--force") == 0
    capsys.readouterr()
    data, want = stored(run_dir, 100), direct(run_dir, voc_root, 100, image_set="more")
    assert data["map"] == want.map and data["image_set"] == "more"
    assert data["map"] != direct(run_dir, voc_root, 100).map


def test_other_classes_are_not_served_the_old_numbers(run, capsys):
    voc_root, run_dir = run
    capsys.readouterr()
    assert score(run_dir, voc_root, "--classes", "car", "dog") == 2
    assert "scored against classes bottle, car, cat, dog, ... (5), not car, dog" in error_line(
        capsys
    )
    assert score(run_dir, voc_root, "--classes", "car", "dog", "--force") == 0
    capsys.readouterr()
    assert list(stored(run_dir, 100)["classes"]) == ["car", "dog"]
    assert_equals_direct(run_dir, voc_root, 100, classes=("car", "dog"))


def test_other_settings_are_stored_apart(run, capsys):
    voc_root, run_dir = run
    assert score(run_dir, voc_root, "--iou", "0.7") == 0
    assert "scored 2 step(s)" in capsys.readouterr().out
    assert main(["table", str(run_dir), "--iou", "0.7", "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    want = vocmap.evaluate_folder(
        RunFolder(run_dir).detection_dir(200), voc_root, classes=list(CLASSES), iou=0.7
    )
    assert table["mAP"][-1] == want.map


def test_the_same_ground_truth_is_not_scored_again(run, capsys):
    voc_root, run_dir = run
    path = RunFolder(run_dir).eval_path(100)
    before = path.stat().st_mtime_ns, path.stat().st_ino
    capsys.readouterr()
    assert score(run_dir, voc_root) == 0
    assert "scored 0 step(s)" in capsys.readouterr().out
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before
    assert score(run_dir, voc_root, "--force", "--steps", "100") == 0
    assert "scored 1 step(s)" in capsys.readouterr().out
    assert path.stat().st_ino != before[1]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not a valid result: truncated or invalid JSON (Expecting value)"),
        (b'{"classes": {"bottle": {"ap": 0.5', "not a valid result: truncated or invalid JSON"),
        (b"{}", "not a valid result: no 'classes'"),
        (b"\xff\xfe{}", "not a valid result: not UTF-8 (byte 0)"),
        (b"[" * 100_000 + b"]" * 100_000, "not a valid result: nested too deeply"),
        (b'{"classes": {"bottle": {"ap": "high"}}, "map": 0.5, "step": 100}', "no valid 'ap'"),
    ],
    ids=["empty", "truncated", "empty-object", "not-utf8", "nested", "bad-ap"],
)
def test_invalid_result_is_refused_by_table_and_scored_again(run, capsys, content, reason):
    voc_root, run_dir = run
    path = RunFolder(run_dir).eval_path(100)
    path.write_bytes(content)
    capsys.readouterr()
    assert main(["table", str(run_dir)]) == 2
    line = error_line(capsys)
    assert line.startswith(f"vocmap: error: {path}") and reason in line
    assert score(run_dir, voc_root) == 0
    captured = capsys.readouterr()
    assert "scored 1 step(s)" in captured.out
    assert f"{path}" in captured.err and "scoring step 100 again" in captured.err
    assert_equals_direct(run_dir, voc_root, 100)
    assert main(["table", str(run_dir)]) == 0


def test_result_of_an_older_vocmap_is_scored_again(run, capsys):
    voc_root, run_dir = run
    path = RunFolder(run_dir).eval_path(100)
    data = stored(run_dir, 100)
    del data["provenance"]
    data["map"] = 0.123  # what an unverifiable old result might say
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert score(run_dir, voc_root) == 0
    captured = capsys.readouterr()
    assert "scored 1 step(s)" in captured.out and "older vocmap" in captured.err
    assert_equals_direct(run_dir, voc_root, 100)


def test_table_never_mixes_results_scored_against_different_ground_truth(run, capsys):
    voc_root, run_dir = run
    assert score(run_dir, voc_root, "--classes", "car", "dog", "--force", "--steps", "200") == 0
    capsys.readouterr()
    assert main(["table", str(run_dir)]) == 2
    path = RunFolder(run_dir).eval_path(100)
    assert error_line(capsys) == (
        f"vocmap: error: {path}: scored against other ground truth, image set, classes or "
        "settings than step_000200.json; run `vocmap score --force` to score all steps alike"
    )


def test_a_resumed_score_does_not_reread_unchanged_results(run, capsys, monkeypatch):
    # Results hold the PR curves (tens of MB each on VOC2007): checking them must
    # not mean parsing every one at every resume, yet a changed one is read again.
    import time

    from vocmap.runs import scoring

    voc_root, run_dir = run
    reads = []
    real = scoring.read_result
    monkeypatch.setattr(scoring, "read_result", lambda *a, **k: reads.append(a[0]) or real(*a, **k))
    capsys.readouterr()
    assert score(run_dir, voc_root) == 0
    assert reads == [] and "scored 0 step(s)" in capsys.readouterr().out
    # Damaged in place, same size: the change of ctime gives it away.
    time.sleep(0.05)
    path = RunFolder(run_dir).eval_path(200)
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"x" + data[101:])
    assert score(run_dir, voc_root) == 0
    captured = capsys.readouterr()
    assert reads == [path] and "scored 1 step(s)" in captured.out
    assert "scoring step 200 again" in captured.err
    assert_equals_direct(run_dir, voc_root, 200)
    # A damaged index only costs time.
    (RunFolder(run_dir).eval_dir() / "checked.index").write_text("{")
    reads.clear()
    assert score(run_dir, voc_root) == 0
    assert sorted(reads) == sorted(RunFolder(run_dir).evaluated().values())
    assert "scored 0 step(s)" in capsys.readouterr().out
