"""Regressions: COCO-style results JSON (issue 10, item 4, and its tracebacks).

Unknown categories were dropped silently (dog AP 0.0, exit 0); ``x + w``
overflowing to inf passed the finite check; a list as category, huge integers
and deep nesting gave tracebacks. Each is now one line, exit 2, naming the file,
the line and the record; dropping unknown categories is asked for and counted.
"""

from __future__ import annotations

import json

import pytest
from case_builder import cat, dog, make_case
from cli_check import PERFECT_AP, expect_failure, expect_success

GOOD_DOG = {"image_id": "000001", "category": "dog", "bbox": [9, 9, 41, 41], "score": 0.9}
GOOD_CAT = {"image_id": "000002", "category": "cat", "bbox": [99, 99, 51, 51], "score": 0.8}


@pytest.fixture
def voc_root(tmp_path):
    root, _ = make_case(tmp_path / "case", {"000001": [dog()], "000002": [cat()]})
    return root


def write_records(tmp_path, records, text=None):
    path = tmp_path / "results.json"
    path.write_text(text if text is not None else json.dumps(records, indent=1))
    return path


def args(path, voc_root, *extra):
    return [path, "--voc-root", voc_root, "--classes", "dog", "cat", "--no-cache", *extra]


def line_of_record(path, number):
    """The line on which record ``number`` starts in json.dumps(indent=1) output."""
    starts = [k for k, text in enumerate(path.read_text().splitlines(), 1) if text == " {"]
    return starts[number]


@pytest.mark.parametrize(
    ("category", "hint"),
    [("Dog", "did you mean 'dog'?"), ("airplane", None), ("hotdog", None)],
)
def test_an_unknown_category_is_an_error_not_a_dropped_record(
    tmp_path, capsys, voc_root, category, hint
):
    records = [GOOD_DOG, GOOD_CAT, {**GOOD_DOG, "category": category}]
    path = write_records(tmp_path, records)
    fragments = [
        f"results.json:{line_of_record(path, 2)}: record 2: category {category!r} is not a "
        "known class",
        "--ignore-unknown-categories",
    ]
    if hint:
        fragments.append(hint)
    expect_failure(capsys, tmp_path / "out", args(path, voc_root), *fragments)


def test_airplane_is_pointed_to_vocs_spelling(tmp_path, capsys):
    root, _ = make_case(tmp_path / "c", {"000001": [dog()]})
    record = {**GOOD_DOG, "category": "airplane"}
    path = write_records(tmp_path, [record])
    expect_failure(
        capsys,
        tmp_path / "out",
        [path, "--voc-root", root, "--no-cache"],
        "category 'airplane' is not a known class (VOC calls it 'aeroplane')",
    )


def test_unknown_categories_are_dropped_with_a_count_when_asked(tmp_path, capsys, voc_root):
    records = [
        {**GOOD_DOG, "category": "Dog", "bbox": [299, 299, 10, 10], "score": 0.99},
        GOOD_DOG,
        GOOD_CAT,
        {**GOOD_DOG, "category_id": 99, "score": 0.95},
        {**GOOD_DOG, "category": "person"},  # a VOC class not evaluated: skipped, not counted
    ]
    del records[3]["category"]
    path = write_records(tmp_path, records)
    data, err = expect_success(
        capsys, tmp_path / "out", args(path, voc_root, "--ignore-unknown-categories")
    )
    assert data["classes"]["dog"]["ap"] == PERFECT_AP  # the dropped "Dog" record was no FP
    assert data["classes"]["cat"]["ap"] == PERFECT_AP
    assert "vocmap: 2 record(s) whose category is not a known class dropped" in err


@pytest.mark.parametrize(
    ("bbox", "fragment"),
    [
        ([1e308, 9, 1e308, 41], "x + w or y + h overflows"),
        ([9, 1.7e308, 41, 1.7e308], "x + w or y + h overflows"),
        ([9, 9, 1e309, 41], "NaN or infinite"),
    ],
)
def test_a_box_corner_overflowing_to_inf_is_refused(tmp_path, capsys, voc_root, bbox, fragment):
    path = write_records(tmp_path, [GOOD_CAT, {**GOOD_DOG, "bbox": bbox}])
    expect_failure(
        capsys, tmp_path / "out", args(path, voc_root), f":{line_of_record(path, 1)}: record 1"
    )
    expect_failure(capsys, tmp_path / "out", args(path, voc_root), fragment)


@pytest.mark.parametrize(
    "category",
    [["dog"], {"name": "dog"}, 3, None, True],
    ids=["list", "object", "int", "null", "bool"],
)
def test_a_category_that_is_not_a_string_is_one_clear_error(tmp_path, capsys, voc_root, category):
    path = write_records(tmp_path, [{**GOOD_DOG, "category": category}])
    expect_failure(
        capsys,
        tmp_path / "out",
        args(path, voc_root),
        "results.json:2: record 0: category must be a class name (a string)",
    )


@pytest.mark.parametrize("digits", [400, 5000])
@pytest.mark.parametrize("field", ["score", "bbox", "image_id", "category_id"])
def test_integers_of_hundreds_of_digits_are_one_clear_error(
    tmp_path, capsys, voc_root, digits, field
):
    huge = "9" * digits
    if field == "bbox":
        text = f'[\n{{"image_id": "000001", "category": "dog", "bbox": [1, 2, {huge}, 4], "score": 1}}]'
    elif field == "score":
        text = f'[\n{{"image_id": "000001", "category": "dog", "bbox": [1, 2, 3, 4], "score": {huge}}}]'
    elif field == "image_id":
        text = f'[\n{{"image_id": {huge}, "category": "dog", "bbox": [1, 2, 3, 4], "score": 1}}]'
    else:
        text = (
            f'[\n{{"image_id": "000001", "category_id": {huge}, "bbox": [1, 2, 3, 4], "score": 1}}]'
        )
    path = write_records(tmp_path, None, text)
    line = expect_failure(
        capsys,
        tmp_path / "out",
        args(path, voc_root),
        f"results.json:2: an integer of {digits:,} digits (at most 20 are read)",
    )
    assert len(line) < 300


def test_nesting_100000_deep_is_one_clear_error(tmp_path, capsys, voc_root):
    path = write_records(tmp_path, None, "[\n" + "[" * 100_000 + "]" * 100_000 + "]")
    expect_failure(
        capsys, tmp_path / "out", args(path, voc_root), "results.json:2: JSON nested too deeply"
    )


def test_category_and_category_id_that_disagree_are_an_error(tmp_path, capsys, voc_root):
    cat_id = 8  # VOC's order: cat is the 8th class
    path = write_records(tmp_path, [{**GOOD_DOG, "category_id": cat_id}])
    expect_failure(
        capsys,
        tmp_path / "out",
        args(path, voc_root),
        "record 0: category 'dog' and category_id 8 ('cat') disagree",
    )


def test_not_utf8_and_not_a_list_name_a_line(tmp_path, capsys, voc_root):
    path = tmp_path / "results.json"
    path.write_bytes(b'[\n{"image_id": "0\xff"}]')
    expect_failure(capsys, tmp_path / "o1", args(path, voc_root), "results.json:2: not UTF-8")
    path.write_text('{"image_id": 1}')
    expect_failure(
        capsys, tmp_path / "o2", args(path, voc_root), "results.json:1: expected a JSON list"
    )
