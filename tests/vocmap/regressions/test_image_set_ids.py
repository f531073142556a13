"""Regressions: image-set ids are plain file names (issue 10, tracebacks and security).

An id with a NUL byte or 300 characters gave a traceback on the cached path; an
id like ``../../../../x`` or ``/abs/path`` opened (and quoted) files outside
``Annotations/``. Each is now an error naming the image-set file and line, on
both the parsed and the cached path, and the file outside is never opened.
"""

from __future__ import annotations

import pytest
from case_builder import cat, dog, make_case
from cli_check import expect_failure

from vocmap.io import voc
from vocmap.io.writers import annotation_xml

RESULTS = {"dog": "000001 0.9 10 10 50 50\n", "cat": "000002 0.8 100 100 150 150\n"}


@pytest.fixture
def case(tmp_path, monkeypatch):
    monkeypatch.setenv("VOCMAP_CACHE_DIR", str(tmp_path / "cache"))
    return make_case(tmp_path / "case", {"000001": [dog()], "000002": [cat()]}, RESULTS)


def set_ids(voc_root, *ids: str):
    path = voc_root / "ImageSets" / "Main" / "test.txt"
    path.write_bytes("".join(f"{i}\n" for i in ids).encode("utf-8", "surrogateescape"))


def cli(voc_root, results, cached):
    return [results, "--voc-root", voc_root, "--classes", "dog", "cat"] + (
        [] if cached else ["--no-cache"]
    )


BAD_IDS = [
    ("0000\x002", "contains U+0000 (NUL)"),
    ("7" * 300, "is too long for a file name (300 characters; at most 255 bytes)"),
    ("../../../../outside", "contains a path separator"),
    ("/abs/outside", "contains a path separator"),
    ("sub\\outside", "contains a path separator"),
    ("..", "is not a file name"),
    ("000002\u00a0", "contains U+00A0 (NO-BREAK SPACE)"),
    ("\ufeff000002", "contains U+FEFF (a byte-order mark"),
    ("0000\x1b]0;owned\x072", "contains U+001B (ESCAPE)"),
    ("0000\x1c02", "contains U+001C (INFORMATION SEPARATOR FOUR)"),
]


@pytest.mark.parametrize(("image_id", "problem"), BAD_IDS, ids=[p for _, p in BAD_IDS])
@pytest.mark.parametrize("cached", [False, True], ids=["parsed", "cached path"])
def test_an_id_that_is_not_a_plain_file_name_is_an_error(
    tmp_path, capsys, case, monkeypatch, image_id, problem, cached
):
    voc_root, results = case
    set_ids(voc_root, "000001", image_id, "000002")
    opened = []
    original = voc.read_annotation_file
    monkeypatch.setattr(
        voc, "read_annotation_file", lambda p, *a, **k: opened.append(p) or original(p, *a, **k)
    )
    line = expect_failure(
        capsys, tmp_path / "out", cli(voc_root, results, cached), "test.txt:2: image id", problem
    )
    assert opened == []  # not even the valid ids: the set is checked first
    assert len(line) < 500


def test_an_id_leading_out_of_annotations_never_reads_or_quotes_the_file(tmp_path, capsys, case):
    voc_root, results = case
    secret = tmp_path / "secret.xml"
    secret.write_text("<annotation><object><name>TOPSECRET</nam></object></annotation>")
    relative = "../../../secret"
    assert (voc_root / "Annotations" / f"{relative}.xml").resolve() == secret.resolve()
    set_ids(voc_root, "000001", relative)
    line = expect_failure(
        capsys, tmp_path / "out", cli(voc_root, results, False), "contains a path separator"
    )
    assert "TOPSECRET" not in line


def test_an_absolute_id_never_reads_the_file(tmp_path, capsys, case):
    voc_root, results = case
    secret = tmp_path / "abs"
    secret.with_suffix(".xml").write_text(annotation_xml("a.jpg", 5, 5, [dog()]))
    set_ids(voc_root, "000001", str(secret))
    expect_failure(
        capsys, tmp_path / "out", cli(voc_root, results, True), "contains a path separator"
    )


def test_a_second_column_and_blank_lines_are_still_fine(tmp_path, capsys, case):
    from cli_check import PERFECT_AP, expect_success

    voc_root, results = case
    (voc_root / "ImageSets" / "Main" / "test.txt").write_text(
        "\ufeff000001  1\r\n\r\n\t000002\t-1\n"
    )
    data, _ = expect_success(capsys, tmp_path / "out", cli(voc_root, results, True))
    assert data["classes"]["dog"]["ap"] == PERFECT_AP == data["classes"]["cat"]["ap"]


def test_an_image_set_name_with_a_path_is_refused_by_read_voc(case):
    import vocmap

    voc_root, _ = case
    with pytest.raises(vocmap.InputError, match="contains a path separator"):
        vocmap.read_voc(voc_root, image_set="../../test")
