"""Every kind of bad input: a one-line error naming file and line, exit 2, no output left.

Each test runs the CLI with --json and --csv targets and checks that neither they
nor any temporary file appear, and that an older output file is left untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from case_builder import cat, dog, make_case

from vocmap.cli import main

GOOD_DOG = "000001 0.9 10 10 50 50\n"
GOOD_CAT = "000002 0.8 100 100 150 150\n"


def run_cli(capsys, voc_root: Path, results: Path, out: Path, *extra: str) -> tuple[int, str]:
    out.mkdir(exist_ok=True)
    (out / "old.json").write_text("previous")
    status = main(
        [
            "evaluate",
            str(results),
            "--voc-root",
            str(voc_root),
            "--classes",
            "dog",
            "cat",
            "--json",
            str(out / "new.json"),
            "--csv",
            str(out / "new.csv"),
            "--no-cache",
            *extra,
        ]
    )
    return status, capsys.readouterr().err


def assert_failed_cleanly(status: int, err: str, out: Path, *fragments: str) -> None:
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vocmap: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert sorted(p.name for p in out.iterdir()) == ["old.json"]
    assert (out / "old.json").read_text() == "previous"


def basic_case(tmp_path, dog_text=GOOD_DOG, cat_text=GOOD_CAT, **kwargs):
    return make_case(
        tmp_path / "case",
        {"000001": [dog()], "000002": [cat()]},
        {"dog": dog_text, "cat": cat_text},
        **kwargs,
    )


def test_good_case_writes_both_outputs(tmp_path, capsys):
    voc_root, results = basic_case(tmp_path)
    status, err = run_cli(capsys, voc_root, results, tmp_path / "out")
    assert status == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "new.csv",
        "new.json",
        "old.json",
    ]


@pytest.mark.parametrize(
    ("line", "fragments"),
    [
        ("000001 0.9 10 10 50\n", [":2: expected 6 fields", "found 5"]),
        ("000001 0.9 10 10 50 50 7\n", [":2: expected 6 fields", "found 7"]),
        ("000001 0.9 10 abc 50 50\n", [":2: field 4 (ymin) is not a number: 'abc'"]),
        ("000001 high 10 10 50 50\n", [":2: field 2 (score) is not a number: 'high'"]),
        ("000001 0.9 10 10 50 1,5\n", [":2: field 6 (ymax) is not a number"]),
        ("000001 nan 10 10 50 50\n", [":2: field 2 (score) is NaN or infinite"]),
        ("000001 0.9 -inf 10 50 50\n", [":2: field 3 (xmin) is NaN or infinite"]),
        ("000001 0.9 10 10 1e999 50\n", [":2: field 5 (xmax) is out of range"]),
    ],
)
def test_bad_result_line(tmp_path, capsys, line, fragments):
    voc_root, results = basic_case(tmp_path, dog_text=GOOD_DOG + line)
    status, err = run_cli(capsys, voc_root, results, tmp_path / "out")
    assert_failed_cleanly(status, err, tmp_path / "out", "comp4_det_test_dog.txt", *fragments)


def test_unknown_image_is_an_error_like_the_devkit(tmp_path, capsys):
    voc_root, results = basic_case(tmp_path, dog_text=GOOD_DOG + "\n999999 0.5 1 1 5 5\n")
    status, err = run_cli(capsys, voc_root, results, tmp_path / "out")
    assert_failed_cleanly(
        status,
        err,
        tmp_path / "out",
        'comp4_det_test_dog.txt:3: image "999999" is not in the image set',
    )


def test_unknown_images_can_be_dropped_with_a_count(tmp_path, capsys):
    voc_root, results = basic_case(
        tmp_path, dog_text=GOOD_DOG + "999999 0.5 1 1 5 5\n888888 0.4 1 1 5 5\n"
    )
    out = tmp_path / "out"
    status = main(
        [
            "evaluate",
            str(results),
            "--voc-root",
            str(voc_root),
            "--classes",
            "dog",
            "cat",
            "--ignore-unknown-images",
            "--json",
            str(out / "r.json"),
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "2 line(s) for images outside the image set dropped" in printed
    assert (out / "r.json").exists()


def test_duplicate_image_id_in_image_set(tmp_path, capsys):
    voc_root, results = basic_case(tmp_path, image_set=["000001", "000002", "000001"])
    status, err = run_cli(capsys, voc_root, results, tmp_path / "out")
    assert_failed_cleanly(status, err, tmp_path / "out", "test.txt:3:", '"000001" repeats line 1')


def test_missing_annotation_file(tmp_path, capsys):
    voc_root, results = basic_case(tmp_path, image_set=["000001", "000002", "000003"])
    status, err = run_cli(capsys, voc_root, results, tmp_path / "out")
    assert_failed_cleanly(status, err, tmp_path / "out", "000003.xml", "annotation file not found")


def test_malformed_xml(tmp_path, capsys):
    voc_root, results = basic_case(tmp_path)
    xml = voc_root / "Annotations" / "000002.xml"
    xml.write_text(xml.read_text().replace("</object>", "</objekt>", 1))
    status, err = run_cli(capsys, voc_root, results, tmp_path / "out")
    assert_failed_cleanly(status, err, tmp_path / "out", "000002.xml:", "malformed XML")


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("<bndbox>", "<box>", "object 'cat' has no <bndbox>"),
        ("<ymax>150</ymax>", "", "<bndbox> has no <ymax>"),
        ("<xmin>100</xmin>", "<xmin>1OO</xmin>", "<xmin> is not a number: '1OO'"),
        ("<difficult>0</difficult>", "<difficult>yes</difficult>", "<difficult> must be 0 or 1"),
        ("<name>cat</name>", "", "<object> has no <name>"),
    ],
)
def test_bad_annotation_field(tmp_path, capsys, old, new, fragment):
    voc_root, results = basic_case(tmp_path)
    xml = voc_root / "Annotations" / "000002.xml"
    text = xml.read_text()
    if old == "<bndbox>":
        text = text.replace("<bndbox>", "<box>").replace("</bndbox>", "</box>")
    else:
        text = text.replace(old, new)
    xml.write_text(text)
    status, err = run_cli(capsys, voc_root, results, tmp_path / "out")
    assert_failed_cleanly(status, err, tmp_path / "out", "000002.xml:", fragment)
    line = int(err.split("000002.xml:")[1].split(":")[0])
    assert 1 <= line <= text.count("\n")


def test_missing_class_file_is_an_error_unless_excluded(tmp_path, capsys):
    voc_root, results = basic_case(tmp_path)
    (results / "comp4_det_test_cat.txt").unlink()
    status, err = run_cli(capsys, voc_root, results, tmp_path / "out")
    assert_failed_cleanly(status, err, tmp_path / "out", "no result file for class cat")
    status = main(["evaluate", str(results), "--voc-root", str(voc_root), "--classes", "dog"])
    assert status == 0


def test_empty_class_file_gives_ap_zero(tmp_path, capsys):
    voc_root, results = basic_case(tmp_path, cat_text="")
    out = tmp_path / "out"
    status, err = run_cli(capsys, voc_root, results, out)
    assert status == 0, err
    text = (out / "new.csv").read_text().splitlines()
    cat_row = next(r for r in text if r.startswith("cat,"))
    assert cat_row.split(",")[1:5] == ["0.0", "1", "0", "0"]


def test_bad_options_exit_2_with_one_line(tmp_path, capsys):
    voc_root, results = basic_case(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["evaluate", str(results), "--voc-root", str(voc_root), "--iou", "1.5"])
    assert stopped.value.code == 2
    assert "argument --iou: expected a number in (0, 1], not 1.5" in capsys.readouterr().err
    assert main(["evaluate", str(results), "--voc-root", str(tmp_path / "nowhere")]) == 2
    assert "VOC root folder not found" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "none"), "--voc-root", str(voc_root)]) == 2
    assert "detections folder not found" in capsys.readouterr().err
    assert main(["evaluate", str(results), "--annotations", str(voc_root)]) == 2
    assert "--annotations and --image-set-file go together" in capsys.readouterr().err
