"""Property tests: the text-parsing kernels (numbers, result lines, the id table)
against Python's ``float`` and a plain line splitter.

Also run under ``NUMBA_DISABLE_JIT=1`` (see the Makefile).
"""

from __future__ import annotations

import math
import re
import struct

import numpy as np
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vocmap.io import text_kernels as kernels

SETTINGS = settings(
    max_examples=examples(2000), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SOME = examples(1000)


def bits(value: float) -> bytes:
    value = float(value)
    return b"nan" if math.isnan(value) else struct.pack("<d", value)


# --------------------------------------------------------------------------- #
# Number parsing
# --------------------------------------------------------------------------- #


def parse_token(text: str) -> tuple[int, float]:
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    return kernels._parse_float(raw, 0, raw.shape[0])


decimal_text = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-", "+"]),
    st.one_of(st.just(""), st.integers(0, 10**25).map(str), st.just("0000")),
    st.one_of(st.just(""), st.just("."), st.integers(0, 10**22).map(lambda v: f".{v}")),
    st.one_of(
        st.just(""),
        st.integers(-330, 330).map(lambda v: f"e{v}"),
        st.sampled_from(["E5", "e+07", "e-3"]),
    ),
)


@SETTINGS
@given(st.one_of(decimal_text, st.floats(allow_nan=False, allow_infinity=False).map(repr)))
def test_number_parser_agrees_with_python_float(text):
    status, value = parse_token(text)
    try:
        expected = float(text)
    except ValueError:
        assert status == 2, text
        return
    if status == 0:
        assert bits(value) == bits(expected), text
    else:
        # Left to Python (too many digits, or an exponent out of the exact range).
        assert status == 1, (text, status)


@settings(max_examples=SOME // 2, deadline=None)
@given(st.text(alphabet="0123456789.eE+-_xnaift ", min_size=1, max_size=12))
def test_number_parser_rejects_what_is_not_a_decimal(text):
    text = text.replace(" ", "")
    if not text:
        return
    status, value = parse_token(text)
    lowered = text.lower().lstrip("+-")
    if lowered in ("nan", "inf", "infinity"):
        assert status == 3
        return
    try:
        expected = float(text)
    except ValueError:
        assert status == 2, text
        return
    if "_" in text:  # Python accepts digit separators; a result file must not
        assert status == 2
    elif status == 0:
        assert bits(value) == bits(expected)
    else:
        assert status == 1


# --------------------------------------------------------------------------- #
# Result-file parsing, against a plain line splitter
# --------------------------------------------------------------------------- #

IDS = ["000001", "000002", "2008_000003", "x"]


def id_table():
    encoded = [i.encode() for i in IDS]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    id_bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    slots, duplicate = kernels.build_id_table(id_bytes, offsets)
    assert duplicate == -1
    return id_bytes, offsets, slots


number_text = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.integers(-1000, 1000).map(str),
    st.floats(0, 1, allow_nan=False).map(lambda v: f"{v:.6f}"),
    st.floats(0, 1, allow_nan=False).map(lambda v: f"{v:.3e}"),
    st.just("0.50000000000000001"),
)


@st.composite
def result_file(draw):
    lines = []
    expected = []
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 6)) == 0:
            lines.append(draw(st.sampled_from(["", "   ", "\t"])))
            continue
        image = draw(st.sampled_from([*IDS, "999999"]))
        numbers = [draw(number_text) for _ in range(5)]
        gaps = [draw(st.sampled_from([" ", "  ", "\t", " \t "])) for _ in range(5)]
        lead = draw(st.sampled_from(["", " "]))
        text = lead + image + "".join(g + n for g, n in zip(gaps, numbers))
        lines.append(text)
        expected.append(
            (IDS.index(image) if image in IDS else -1, [float(n) for n in numbers], len(lines))
        )
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    body = ending.join(lines) + (ending if draw(st.booleans()) else "")
    if draw(st.booleans()):
        body = "\ufeff" + body
    return body.encode(), expected


@settings(max_examples=SOME, deadline=None)
@given(result_file())
def test_result_parser_agrees_with_line_splitting(data):
    raw, expected = data
    id_bytes, offsets, slots = id_table()
    count, image, scores, boxes, line_no, slow, slow_count, _, err_code, _ = (
        kernels.parse_result_lines(np.frombuffer(raw, dtype=np.uint8), id_bytes, offsets, slots)
    )
    values = np.column_stack([scores, boxes]) if count else np.zeros((0, 5))
    assert err_code == kernels.LINE_OK
    assert count == len(expected)
    slow_cells = {(int(d), int(f)) for d, f, _ in slow[:slow_count]}
    for k, (want_image, want_values, want_line) in enumerate(expected):
        assert image[k] == want_image
        assert line_no[k] == want_line
        for f in range(5):
            if (k, f) not in slow_cells:
                assert bits(values[k, f]) == bits(want_values[f])


def test_duplicate_ids_are_reported_by_the_table():
    encoded = [b"a", b"b", b"a"]
    offsets = np.array([0, 1, 2, 3], dtype=np.int64)
    _, duplicate = kernels.build_id_table(np.frombuffer(b"".join(encoded), np.uint8), offsets)
    assert duplicate == 2


@settings(max_examples=SOME // 2, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["000001", "0.5", "1e3", "-2", "x", "1..2", "nan", "3"]), max_size=8
        ),
        min_size=1,
        max_size=6,
    )
)
def test_parser_stops_at_the_first_bad_line_like_a_line_splitter(rows):
    """The kernel reports the first line a line splitter would reject.

    (Which problem it names on that line may differ: it reads left to right, so
    "000001 x" stops at the number; the caller rebuilds the message from the line,
    field count first.)"""
    raw = "\n".join(" ".join(r) for r in rows).encode()
    id_bytes, offsets, slots = id_table()
    *_, err_line, err_code, _ = kernels.parse_result_lines(
        np.frombuffer(raw, dtype=np.uint8), id_bytes, offsets, slots
    )
    expected_line = 0
    for number, fields in enumerate(rows, start=1):
        if fields and (len(fields) != 6 or any(f in ("x", "1..2", "nan") for f in fields[1:])):
            expected_line = number
            break
    assert err_line == expected_line
    assert (err_code == kernels.LINE_OK) == (expected_line == 0)


# --------------------------------------------------------------------------- #
# Field separators: only ASCII blank space, as bytes.split() splits
# --------------------------------------------------------------------------- #

_STRICT_NUMBER = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
SEPARATORS = [b" ", b"\t", b"\x0b", b"\x0c", b"\r", b"  \t"]
LOOK_ALIKES = [b"\xc2\xa0", b"\x1c", b"\x1f", b"\xef\xbb\xbf", b"\xe2\x80\x83", b"\x00", b"\x85"]


def first_bad_line(raw: bytes) -> int:
    """The plain-Python twin: the first line bytes.split() does not read as six
    fields of an id and five finite decimal numbers (0 if none)."""
    for number, line in enumerate(raw.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 6 or not all(_STRICT_NUMBER.match(f) for f in fields[1:]):
            return number
        if not all(math.isfinite(float(f)) for f in fields[1:]):
            return number
    return 0


@settings(max_examples=SOME, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["000001", "x", "0.5", "12", "-3e2", "7."]),
                st.sampled_from(SEPARATORS + LOOK_ALIKES),
            ),
            min_size=1,
            max_size=8,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_only_ascii_blank_space_separates_fields(rows):
    """U+00A0, U+001C-U+001F, a BOM, U+2003, NUL and U+0085 are never separators
    (Python's str.split treats most of them as blank space; the kernel must not)."""
    raw = b"\n".join(b"".join(t.encode() + s for t, s in row) for row in rows)
    id_bytes, offsets, slots = id_table()
    *_, err_line, err_code, _ = kernels.parse_result_lines(
        np.frombuffer(raw, dtype=np.uint8), id_bytes, offsets, slots
    )
    assert err_line == first_bad_line(raw), raw
    assert (err_code == kernels.LINE_OK) == (err_line == 0)
