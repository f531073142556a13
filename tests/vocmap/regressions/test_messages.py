"""Regressions: messages that flooded or misled (issue 10, tracebacks and messages).

A 100 MB token was printed whole; a no-break space between fields read
"expected 6 fields, found 6"; a 0x1C separator was blamed on the valid token
before it; a byte-order mark inside a file was invisible. Each message now names
the field, the token (abbreviated) and the character, on one short line.
"""

from __future__ import annotations

import json

import pytest
from case_builder import cat, dog, make_case
from cli_check import expect_failure

GOOD = "000001 0.9 10 10 50 50\n"


@pytest.fixture
def case(tmp_path):
    return make_case(
        tmp_path / "case", {"000001": [dog()], "000002": [cat()]}, {"cat": "", "dog": GOOD}
    )


def fails_with(tmp_path, capsys, case, dog_bytes: bytes, *fragments: str) -> str:
    voc_root, results = case
    (results / "comp4_det_test_dog.txt").write_bytes(dog_bytes)
    return expect_failure(
        capsys,
        tmp_path / "out",
        [results, "--voc-root", voc_root, "--classes", "dog", "cat", "--no-cache"],
        *fragments,
    )


@pytest.mark.parametrize(("field", "size"), [(0, 100_000_000), (1, 1_000_000), (5, 1_000_000)])
def test_a_100_mb_token_is_abbreviated(tmp_path, capsys, case, field, size):
    fields = ["000001", "0.9", "10", "10", "50", "50"]
    fields[field] = "7" * 50 + "x" * size
    line = fails_with(
        tmp_path,
        capsys,
        case,
        (GOOD + " ".join(fields) + "\n").encode(),
        "comp4_det_test_dog.txt:2:",
        f"[{size + 50:,} bytes]",
    )
    assert len(line) < 600, len(line)


def test_a_100_mb_image_id_in_json_is_abbreviated(tmp_path, capsys, case):
    voc_root, _ = case
    path = tmp_path / "r.json"
    record = {"image_id": "x" * 10_000_000, "category": "dog", "bbox": [1, 1, 2, 2], "score": 1}
    path.write_text(json.dumps([record]))
    line = expect_failure(
        capsys,
        tmp_path / "out",
        [path, "--voc-root", voc_root, "--no-cache", "--classes", "dog"],
        "record 0: image 'xxx",
        "[10,000,002 characters]",
    )
    assert len(line) < 600


@pytest.mark.parametrize(
    ("bad_line", "fragments"),
    [
        (
            "000002 0.8\u00a0100 100 150 150",
            [
                ":2: field 2 (score) '0.8\\xa0100' contains U+00A0 (NO-BREAK SPACE), which is "
                "not a field separator"
            ],
        ),
        (
            "000002 0.8 100\x1c100 150 150",
            [":2: field 3 (xmin) '100\\x1c100' contains U+001C (INFORMATION SEPARATOR FOUR)"],
        ),
        (
            "000002 0.8 100 100 150 150\u2003",
            [":2: field 6 (ymax) '150\\u2003' contains U+2003 (EM SPACE)"],
        ),
        (
            "000002 0.8 100 100 150\ufeff 150",
            [
                ":2: field 5 (xmax) '150\\ufeff' contains U+FEFF (a byte-order mark; one is "
                "allowed only at the very start of a file)"
            ],
        ),
        (
            "\ufeff000002 0.8 100 100 150 150",
            [':2: image "\\ufeff000002" is not in the image set; it contains U+FEFF'],
        ),
        (
            "000002\u00a0 0.8 100 100 150 150",
            [':2: image "000002\\xa0" is not in the image set; it contains U+00A0'],
        ),
        ("000002 0.8 1OO 100 150 150", [":2: field 3 (xmin) is not a number: '1OO'"]),
        ("000002 0.8 100 100 150", [":2: expected 6 fields", "found 5"]),
    ],
)
def test_a_look_alike_separator_is_named_not_a_neighbour(
    tmp_path, capsys, case, bad_line, fragments
):
    line = fails_with(tmp_path, capsys, case, (GOOD + bad_line + "\n").encode(), *fragments)
    assert "found 6" not in line


def test_a_bom_at_the_very_start_is_still_fine(tmp_path, capsys, case):
    from cli_check import PERFECT_AP, expect_success

    voc_root, results = case
    (results / "comp4_det_test_dog.txt").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    data, _ = expect_success(
        capsys, tmp_path / "out", [results, "--voc-root", voc_root, "--classes", "dog", "cat"]
    )
    assert data["classes"]["dog"]["ap"] == PERFECT_AP


def test_bytes_that_are_not_utf8_are_shown_as_escapes(tmp_path, capsys, case):
    fails_with(
        tmp_path, capsys, case, GOOD.encode() + b"0000\xff\xfe 0.5 1 1 2 2\n", '"0000\\xff\\xfe"'
    )


def test_the_first_bad_line_is_named_even_when_it_has_a_very_long_number(tmp_path, capsys, case):
    """Found by the fuzz test: a number out of double range on line 2 was reported
    after a bad line 3 (the long number is read after the fast pass)."""
    text = GOOD + "000001 0.9 1" + "0" * 400 + " 10 50 50\n000001 0.9 10 10 50\n"
    fails_with(
        tmp_path,
        capsys,
        case,
        text.encode(),
        "comp4_det_test_dog.txt:2: field 3 (xmin) is out of range: '1000",
    )
