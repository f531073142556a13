"""Regressions: nothing outside the data set is read or shown (issue 10, Security).

XML parse errors quoted the file's text, and through a symbolic link that was a
secret file's; control characters from files reached the terminal raw. Now
annotation and result files that are links leading out of their folder are not
followed unless asked (``--follow-symlinks``), a parser's message is quoted only
in a short excerpt, and every message is escaped.
"""

from __future__ import annotations

import os

import pytest
from case_builder import cat, dog, make_case
from cli_check import PERFECT_AP, evaluate, expect_failure, expect_success

import vocmap
from vocmap.core.errors import InputError, VocmapError, display_text
from vocmap.io.writers import annotation_xml

RESULTS = {"dog": "000001 0.9 10 10 50 50\n", "cat": "000002 0.8 100 100 150 150\n"}
SECRET = "root:TOPSECRET:0:0"


@pytest.fixture
def case(tmp_path, monkeypatch):
    monkeypatch.setenv("VOCMAP_CACHE_DIR", str(tmp_path / "cache"))
    return make_case(tmp_path / "case", {"000001": [dog()], "000002": [cat()]}, RESULTS)


def cli(voc_root, results, *extra):
    return [results, "--voc-root", voc_root, "--classes", "dog", "cat", *extra]


@pytest.mark.parametrize("cached", [False, True], ids=["parsed", "cached path"])
def test_an_annotation_linked_to_a_secret_outside_is_not_read(tmp_path, capsys, case, cached):
    voc_root, results = case
    secret = tmp_path / "secret"
    secret.write_text(f"<{SECRET}>\n")
    xml = voc_root / "Annotations" / "000002.xml"
    xml.unlink()
    xml.symlink_to(secret)
    line = expect_failure(
        capsys,
        tmp_path / "out",
        cli(voc_root, results, *([] if cached else ["--no-cache"])),
        "000002.xml: annotation file is a symbolic link that leads outside",
        "--follow-symlinks",
    )
    assert "TOPSECRET" not in line and str(secret) not in line


def test_a_link_outside_is_read_when_asked(tmp_path, capsys, case):
    voc_root, results = case
    elsewhere = tmp_path / "elsewhere.xml"
    elsewhere.write_text(annotation_xml("000002.jpg", 500, 375, [cat()]))
    xml = voc_root / "Annotations" / "000002.xml"
    xml.unlink()
    xml.symlink_to(elsewhere)
    for extra in ([], ["--no-cache"]):
        data, _ = expect_success(
            capsys, tmp_path / "out", cli(voc_root, results, "--follow-symlinks", *extra)
        )
        assert data["classes"]["cat"]["ap"] == PERFECT_AP


def test_a_link_inside_the_folder_is_fine(tmp_path, capsys, case):
    voc_root, results = case
    annotations = voc_root / "Annotations"
    (annotations / "real").mkdir()
    (annotations / "000002.xml").rename(annotations / "real" / "000002.xml")
    (annotations / "000002.xml").symlink_to(annotations / "real" / "000002.xml")
    data, _ = expect_success(capsys, tmp_path / "out", cli(voc_root, results, "--no-cache"))
    assert data["classes"]["cat"]["ap"] == PERFECT_AP


def test_an_annotations_folder_that_is_itself_a_link_is_fine(tmp_path, capsys, case):
    voc_root, results = case
    moved = tmp_path / "stored_annotations"
    (voc_root / "Annotations").rename(moved)
    (voc_root / "Annotations").symlink_to(moved)
    data, _ = expect_success(capsys, tmp_path / "out", cli(voc_root, results))
    assert data["classes"]["dog"]["ap"] == PERFECT_AP


def test_a_result_file_linked_outside_the_folder_is_not_read(tmp_path, capsys, case):
    voc_root, results = case
    secret = tmp_path / "secret.txt"
    secret.write_text(f"000001 {SECRET} 1 1 2 2\n")
    (results / "comp4_det_test_dog.txt").unlink()
    (results / "comp4_det_test_dog.txt").symlink_to(secret)
    line = expect_failure(
        capsys,
        tmp_path / "out",
        cli(voc_root, results, "--no-cache"),
        "comp4_det_test_dog.txt: result file is a symbolic link that leads outside",
    )
    assert "TOPSECRET" not in line
    # asked for, it is read (and its bad line reported)
    expect_failure(
        capsys,
        tmp_path / "o2",
        cli(voc_root, results, "--no-cache", "--follow-symlinks"),
        "field 2 (score) is not a number",
    )


def test_a_parse_error_quotes_only_a_short_excerpt(tmp_path, capsys, case):
    voc_root, results = case
    xml = voc_root / "Annotations" / "000002.xml"
    long_tag = "s" + "ecret" * 3000
    xml.write_text(f"<annotation><{long_tag}>x</other></annotation>")
    line = expect_failure(
        capsys, tmp_path / "out", cli(voc_root, results, "--no-cache"), "malformed XML"
    )
    assert len(line) < 400, len(line)


ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31m\x00\u202e\r\n"


def test_control_characters_from_a_result_file_are_escaped(tmp_path, capsys, case):
    voc_root, results = case
    (results / "comp4_det_test_dog.txt").write_bytes(
        f"000001 0.9 10 10 50 50\n0000{ESCAPES}01 0.5 1 1 2 2\n".replace("\r\n", "").encode()
    )
    line = expect_failure(capsys, tmp_path / "out", cli(voc_root, results, "--no-cache"))
    assert "\\x1b]0;owned\\x07\\x1b[2J" in line and "\\x00" in line and "\\u202e" in line


def test_control_characters_in_a_path_are_escaped(tmp_path, capsys, case):
    voc_root, _ = case
    status, out, err = evaluate(capsys, tmp_path / "no\x1b[2Jwhere", "--voc-root", voc_root)
    assert status == 2 and out == ""
    assert err.rstrip("\n").isprintable() and "no\\x1b[2Jwhere" in err


def test_every_error_is_escaped_centrally():
    assert str(InputError(f"bad {ESCAPES}", f"/x/{ESCAPES}", 3)).isprintable()
    assert str(VocmapError(f"option {ESCAPES}")).isprintable()
    assert display_text("a\udcffb") == "a\\xffb"  # an undecodable byte of a file name
    assert display_text("tab\there") == "tab\\there"


def test_an_undecodable_path_is_shown_escaped(tmp_path, case):
    voc_root, _ = case
    name = os.fsdecode(b"caf\xe9")
    with pytest.raises(vocmap.InputError) as caught:
        vocmap.read_voc(voc_root / name)
    assert "caf\\xe9" in str(caught.value)
