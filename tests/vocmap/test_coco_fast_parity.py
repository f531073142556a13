"""Property tests: the fast results-JSON reader (one numba pass, vocmap.io.coco_fast)
against the exact reader (Python's ``json``, ``coco_json.parse_exact``), its twin.

Either the fast path hands the file to the exact reader (None), or both give the
same arrays, bit for bit; through ``parse_coco_bytes`` both give the same arrays
or the same error. Inputs: records of every shape frameworks write and of many
they do not (escapes, nesting, duplicate keys, NaN literals, a BOM, numbers in
every notation, valid or not), laid out with any blank space, read in one piece
and in several. Also run under ``NUMBA_DISABLE_JIT=1`` (see the Makefile).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vocmap
from vocmap.core.errors import InputError
from vocmap.io import coco_fast, coco_json
from vocmap.io.coco_categories import category_map

SETTINGS = settings(
    max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

IMAGE_IDS = ["000001", "000002", "2", "10", "x y", "0003", "a-b"]  # 2 and 000002 clash
VOC_GT = vocmap.GroundTruth.from_arrays(IMAGE_IDS)
COCO_GT = dataclasses.replace(
    vocmap.GroundTruth.from_arrays(IMAGE_IDS),
    categories=((7, "cat"), (3, "dog"), (12, "person")),
)


def digits(min_size: int = 1, max_size: int = 20) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=min_size, max_size=max_size)


@st.composite
def decimal_number(draw) -> str:
    """Any JSON number (and now and then one that JSON's grammar refuses)."""
    sign = draw(st.sampled_from(["", "", "-"]))
    whole = draw(st.one_of(st.just("0"), digits(1, 3).map(lambda d: "1" + d), digits(1, 22)))
    if whole != "0":
        whole = whole.lstrip("0") or "0"
    fraction = "." + draw(digits(1, 20)) if draw(st.booleans()) else ""
    exponent = ""
    if rarely(draw, 4):
        big = rarely(draw, 10)
        exponent = (
            draw(st.sampled_from("eE"))
            + draw(st.sampled_from(["", "+", "-"]))
            + str(draw(st.integers(0, 400 if big else 30)))
        )
    return sign + whole + fraction + exponent


VALID_NUMBER = st.one_of(
    decimal_number(),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.floats(0, 1000).map(lambda v: f"{v:.1f}"),
    st.integers(-(10**25), 10**25).map(str),
    st.sampled_from(["-0", "-0.0", "0", "9007199254740993", "1e22", "1e23", "5e-324"]),
)
ODD_NUMBER = st.sampled_from(
    ["1e400", "-1e400", "1E-400", "01", "+1", ".5", "1.", "NaN", "Infinity", "-Infinity",
     "1e", "0x10", "1.5.2", "--1", "2e+", "123456789012345678901234"]
)  # fmt: skip
STRING = st.one_of(
    st.sampled_from(IMAGE_IDS).map(json.dumps),
    st.sampled_from(["cat", "dog", "person", "Dog", "", "x\u00e9", "a\\b"]).map(
        lambda s: json.dumps(s, ensure_ascii=False)
    ),
    st.sampled_from(['"\\u0030"', '"0\\n1"', '"\x01"', '"unterminated']),
)
SCALAR = st.one_of(VALID_NUMBER, ODD_NUMBER, STRING, st.sampled_from(["true", "false", "null"]))
NESTED = st.sampled_from(["[]", "{}", "[[1, 2]]", '{"a": 1}', "[1, [2]]"])


def rarely(draw, n: int) -> bool:
    """True about once in ``n`` draws (a value inside the range: hypothesis favours
    the ends of ranges)."""
    return draw(st.integers(0, n - 1)) == n // 2 + 1


def usually(draw, valid, odd):
    """``valid`` 29 times in 30, else ``odd``."""
    return draw(odd if rarely(draw, 30) else valid)


@st.composite
def number(draw) -> str:
    return usually(draw, VALID_NUMBER, ODD_NUMBER)


@st.composite
def record(draw) -> list[tuple[str, str]]:
    """A record as (key text, value text) pairs, in the order written."""
    fields: list[tuple[str, str]] = []
    image = st.one_of(
        st.sampled_from(IMAGE_IDS).map(json.dumps),
        st.sampled_from(["1", "2", "3", "10", "-0", "000", "7", "-1", "99"]),
    )
    fields.append(('"image_id"', usually(draw, image, SCALAR)))
    category = draw(st.sampled_from(["id"] * 8 + ["name"] * 4 + ["both", "none"]))
    if category in ("id", "both"):
        ids = st.sampled_from(["7", "3", "12", "1", "2", "8", "12", "15", "20", "99"])
        fields.append(('"category_id"', usually(draw, ids, SCALAR)))
    if category in ("name", "both"):
        names = st.sampled_from(["cat", "dog", "person", "bus", "Dog"]).map(json.dumps)
        fields.append(('"category"', usually(draw, names, SCALAR)))
    length = draw(st.sampled_from([4] * 30 + [3, 5]))
    bbox = "[" + ", ".join(draw(number()) for _ in range(length)) + "]"
    fields.append(('"bbox"', usually(draw, st.just(bbox), st.one_of(SCALAR, NESTED))))
    fields.append(('"score"', usually(draw, number(), SCALAR)))
    for _ in range(draw(st.sampled_from([0] * 6 + [1, 2]))):
        key = draw(st.sampled_from(['"area"', '"id"', '"note"', '"segmentation"', '"b\\u0062ox"']))
        fields.append((key, usually(draw, SCALAR, NESTED)))
    if rarely(draw, 30):
        fields.append(draw(st.sampled_from(fields)))  # a duplicate key
    if rarely(draw, 30):
        fields.pop(draw(st.integers(0, len(fields) - 1)))  # a key missing
    return draw(st.permutations(fields))


VALID_BLANK = st.sampled_from(["", "", "", " ", "\n", "\r\n", "\t", "  \n  "])
ODD_BLANK = st.sampled_from(["\u00a0", "\x0b", "\x0c"])  # not JSON's blank space


@st.composite
def blank(draw) -> str:
    return draw(ODD_BLANK if rarely(draw, 200) else VALID_BLANK)


BLANK = blank()


@st.composite
def document(draw) -> bytes:
    records = draw(st.lists(record(), max_size=8))
    parts = []
    for fields in records:
        body = ",".join(
            draw(BLANK) + key + draw(BLANK) + ":" + draw(BLANK) + value + draw(BLANK)
            for key, value in fields
        )
        parts.append(draw(BLANK) + "{" + body + "}" + draw(BLANK))
    text = draw(BLANK) + "[" + ",".join(parts) + "]" + draw(BLANK)
    damage = draw(st.integers(0, 59)) - 30
    if damage == 0:
        text = "\ufeff" + text
    elif damage == 1:
        text = text.replace("]", ",]", 1) if parts else text
    elif damage == 2:
        text = "{" + text[1:]
    elif damage == 3:
        text = text + " x"
    elif damage == 4 and len(text) > 2:
        text = text[: draw(st.integers(1, len(text) - 1))]
    return text.encode("utf-8")


def outcome(read) -> tuple:
    """``("ok", arrays...)`` or ``("error", message)``."""
    try:
        detections = read()
    except InputError as error:
        return ("error", str(error))
    return ("ok", *flatten(detections))


def flatten(detections) -> list:
    out = [detections.dropped_unknown, detections.dropped_categories]
    for name, d in detections.by_class.items():
        out.append(name)
        for array in (d.image_index, d.scores, d.boxes, d.line_numbers):
            out.append(
                (np.asarray(array).dtype.str, np.asarray(array).shape, np.asarray(array).tobytes())
            )
    return out


CASES = st.tuples(
    document(),
    st.sampled_from([VOC_GT, COCO_GT]),
    st.sampled_from([["dog", "cat"], ["cat", "dog", "person", "bus"], ["person"]]),
    st.booleans(),
    st.booleans(),
)


@SETTINGS
@given(CASES, st.sampled_from([1, 2, 3]))
def test_the_fast_path_gives_the_exact_readers_arrays_or_hands_the_file_over(case, threads):
    raw, gt, classes, ignore_images, ignore_categories = case
    mapping = category_map(gt, classes)
    flags = {"ignore_unknown_images": ignore_images, "ignore_unknown_categories": ignore_categories}
    original = coco_fast.PIECE_BYTES
    coco_fast.PIECE_BYTES = 0  # read even tiny files in pieces
    try:
        fast = coco_fast.read_fast([raw], "r.json", gt, classes, mapping, threads=threads, **flags)
    finally:
        coco_fast.PIECE_BYTES = original
    exact = outcome(lambda: coco_json.parse_exact(raw, "r.json", gt, classes, mapping, **flags))
    if fast is not None:
        assert exact[0] == "ok", exact  # never a number from a file the exact reader refuses
        assert ("ok", *flatten(fast)) == exact
    both = outcome(lambda: coco_json.parse_coco_bytes(raw, "r.json", gt, classes, **flags))
    assert both == exact


@SETTINGS
@given(st.lists(st.tuples(*[st.one_of(VALID_NUMBER, ODD_NUMBER)] * 5), min_size=1, max_size=6))
def test_numbers_in_any_notation_read_to_pythons_doubles(rows):
    records = [
        f'{{"image_id": "000001", "category_id": 8, "bbox": [{x}, {y}, {w}, {h}], "score": {s}}}'
        for s, x, y, w, h in rows
    ]
    raw = ("[" + ", ".join(records) + "]").encode()
    mapping = category_map(VOC_GT, ["cat"])
    flags = {"ignore_unknown_images": False, "ignore_unknown_categories": False}
    fast = coco_fast.read_fast([raw], "r.json", VOC_GT, ["cat"], mapping, **flags)
    exact = outcome(lambda: coco_json.parse_exact(raw, "r.json", VOC_GT, ["cat"], mapping, **flags))
    if fast is not None:
        assert ("ok", *flatten(fast)) == exact
    else:  # handed over only for a number outside JSON, not finite, or a long integer
        assert any(
            not _plain_json_number(v) or not np.isfinite(float(v)) or _long_integer(v)
            for row in rows
            for v in row
        )


def _plain_json_number(text: str) -> bool:
    import re

    return re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?", text) is not None


def _long_integer(text: str) -> bool:
    return _plain_json_number(text) and text.lstrip("-").isdigit() and abs(int(text)) > 2**53


FRAMEWORK_SHAPES = {
    "mmdet": '[{"image_id": 1, "bbox": [1.5, 2.25, 30.0, 40.0], "score": 0.9, "category_id": 8}]',
    "indented": json.dumps(
        [{"image_id": "000001", "category_id": 8, "bbox": [1, 2, 3, 4], "score": 0.5}], indent=4
    ),
    "crlf and tabs": '[\r\n\t{"score":1e-1,\t"bbox":[0,0,1E+1,2e1],"category":"cat",\r\n"image_id":"x y"}\r\n]',
    "extra scalar keys": '[{"image_id": 10, "category_id": 8, "bbox": [0, 0, 1, 1], "score": 0.5, '
    '"id": 3, "area": 1.0, "note": "ok", "iscrowd": false, "x": null}]',
    "negative zero": '[{"image_id": 1, "category_id": 8, "bbox": [-0, -0.0, 1, 1], "score": -0}]',
    "empty": "[]",
    "17 digits": '[{"image_id": 1, "category_id": 8, "bbox": [12.345678329467773, 0.1, 1, 1], '
    '"score": 0.87654322385787964}]',
}


@pytest.mark.parametrize("shape", sorted(FRAMEWORK_SHAPES))
def test_the_shapes_frameworks_write_take_the_fast_path(shape):
    raw = FRAMEWORK_SHAPES[shape].encode()
    mapping = category_map(VOC_GT, ["cat"])
    flags = {"ignore_unknown_images": False, "ignore_unknown_categories": False}
    fast = coco_fast.read_fast([raw], "r.json", VOC_GT, ["cat"], mapping, **flags)
    assert fast is not None
    exact = coco_json.parse_exact(raw, "r.json", VOC_GT, ["cat"], mapping, **flags)
    assert flatten(fast) == flatten(exact)
    if shape == "negative zero":  # json's int -0 is 0 (+0.0); the float -0.0 stays signed
        assert np.signbit(fast["cat"].scores[0]) == False  # noqa: E712
        assert fast["cat"].boxes[0].tolist() == [1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "text",
    [
        '\ufeff[{"image_id": 1, "category_id": 8, "bbox": [0, 0, 1, 1], "score": 0.5}]',
        '[{"image_id": "\\u0030", "category_id": 8, "bbox": [0, 0, 1, 1], "score": 0.5}]',
        '[{"image_id": 1, "category_id": 8, "bbox": [0, 0, 1, 1], "score": NaN}]',
        '[{"image_id": 1, "image_id": 2, "category_id": 8, "bbox": [0, 0, 1, 1], "score": 1}]',
        '[{"image_id": 1, "category_id": 8, "bbox": [0, 0, 1, 1], "score": 1, "s": [[0]]}]',
        '[{"image_id": 1, "category_id": 8, "bbox": [0, 0, 1, 1], "score": 1e999}]',
        '[{"image_id": 1, "category_id": 8, "bbox": [0, 0, 1, 1], "score": 1},]',
    ],
    ids=["bom", "escape", "nan", "duplicate", "nesting", "overflow", "trailing comma"],
)
def test_what_is_outside_the_fast_shape_is_handed_to_the_exact_reader(text):
    mapping = category_map(VOC_GT, ["cat"])
    flags = {"ignore_unknown_images": False, "ignore_unknown_categories": False}
    assert coco_fast.read_fast([text.encode()], "r.json", VOC_GT, ["cat"], mapping, **flags) is None


def test_a_piece_guessed_inside_a_string_falls_back_to_one_piece(monkeypatch):
    record = (
        '{"image_id": "000001", "category_id": 8, "bbox": [0, 0, 1, 1], "score": 0.5, "n": "}, {"}'
    )
    raw = ("[" + ", ".join([record] * 200) + "]").encode()
    monkeypatch.setattr(coco_fast, "PIECE_BYTES", 0)
    starts = coco_fast._piece_starts(raw, 7)
    assert starts  # some guesses are inside the "n" strings
    mapping = category_map(VOC_GT, ["cat"])
    flags = {"ignore_unknown_images": False, "ignore_unknown_categories": False}
    fast = coco_fast.read_fast([raw], "r.json", VOC_GT, ["cat"], mapping, threads=7, **flags)
    exact = coco_json.parse_exact(raw, "r.json", VOC_GT, ["cat"], mapping, **flags)
    assert fast is not None and flatten(fast) == flatten(exact)
    assert fast["cat"].line_numbers.tolist() == list(range(200))
