"""Fuzz: random bytes and random mutations of valid result files, COCO JSON, XML
annotations and image sets, fed to the readers.

Each example must end in the clean answer or an InputError naming the file and
the line: never another exception, never a hang (a 10-second alarm per example,
and a hard watchdog that kills the run rather than let it hang in native code).
Result files are also checked against a plain-Python reading of the format: the
same numbers when it accepts, an error on the same line when it refuses.
"""

from __future__ import annotations

import faulthandler
import json
import math
import re
import signal
from contextlib import contextmanager

import numpy as np
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth
from vocmap.io.coco_json import parse_coco_bytes
from vocmap.io.result_files import parse_result_bytes
from vocmap.io.voc import read_image_set
from vocmap.io.voc_xml import read_annotation_file
from vocmap.io.writers import VocObject, annotation_xml

IDS = ["000001", "000002", "2008_000003", "x", "\u00e91"]
GROUND_TRUTH = GroundTruth.from_arrays(IDS)
SOURCE = "fuzzed.txt"
FUZZ = settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class Hang(Exception):
    pass


@contextmanager
def no_hang(seconds: int = 10):
    def fire(signum, frame):
        raise Hang(f"a reader ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    faulthandler.dump_traceback_later(6 * seconds, exit=True)  # stuck in native code
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_error(error: InputError, source: str, file_level: tuple[str, ...] = ()) -> None:
    assert error.path == source, error
    if not (file_level and error.message.startswith(file_level)):
        assert isinstance(error.line, int) and error.line >= 1, error
    assert str(error).isprintable() and len(str(error)) < 3000


# --------------------------------------------------------------------------- #
# Mutations
# --------------------------------------------------------------------------- #

SNIPPETS = [
    b" ",
    b"\t",
    b"\n",
    b"\r\n",
    b"\x00",
    b"\x1b[31m",
    b"\x1c",
    b"\xc2\xa0",
    b"\xef\xbb\xbf",
    b"\xff",
    b"-",
    b"+",
    b".",
    b"e",
    b"E400",
    b"nan",
    b"inf",
    b"1e-400",
    b"0" * 30,
    b"9" * 400,
    b"_",
    b",",
    b"[",
    b"]",
    b"{",
    b"}",
    b'"',
    b":",
    b"<",
    b">",
    b"&",
    b"&#48;",
    b"&amp;",
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"]]>",
    b"</name>",
    b"<object>",
    b"</object>",
    b'<!DOCTYPE a [<!ENTITY e "0">]>',
    b"&e;",
    b"\xd9\xa2",
    b"x" * 5000,
]


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "flip", "duplicate"]))
        if action == "insert":
            data[position:position] = draw(st.sampled_from(SNIPPETS))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 20))]
        elif action == "replace" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif action == "flip" and position < len(data):
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "duplicate":
            stop = min(len(data), position + draw(st.integers(1, 200)))
            data[position:position] = data[position:stop]
    return bytes(data)


def inputs(valid: bytes):
    return st.one_of(st.binary(max_size=400), mutated(valid))


# --------------------------------------------------------------------------- #
# Result files, against a plain-Python reading of the format
# --------------------------------------------------------------------------- #

VALID_RESULTS = (
    "\ufeff000001 0.9 10 10 50 50\r\n"
    "000002 .5 1e1 2E+1 30.5 40\n\n"
    "  2008_000003\t0.25 -1 -2 3 4 \n"
    "\u00e91 1e-3 0 0 0.0000000000000000001 123456789012345678901\n"
    "x 7 1 1 2 2"
).encode()
_NUMBER = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_ID_BYTES = {i.encode(): k for k, i in enumerate(IDS)}


def reference_read(raw: bytes):
    """``(rows, None)`` or ``(None, error_line)``: the format read line by line."""
    rows, unknown_line = [], None
    for number, line in enumerate(raw.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 6 or not all(_NUMBER.match(f) for f in fields[1:]):
            return None, number
        values = [float(f) for f in fields[1:]]
        if not all(math.isfinite(v) for v in values):
            return None, number
        if fields[0] not in _ID_BYTES and unknown_line is None:
            unknown_line = number
        rows.append((_ID_BYTES.get(fields[0], -1), values, number))
    if unknown_line is not None:
        return None, unknown_line
    return rows, None


@FUZZ
@given(inputs(VALID_RESULTS))
def test_result_files_read_the_same_or_fail_on_the_same_line(raw):
    want, want_line = reference_read(raw)
    with no_hang():
        try:
            detections, dropped = parse_result_bytes(raw, SOURCE, GROUND_TRUTH)
        except InputError as error:
            check_error(error, SOURCE)
            assert want is None and error.line == want_line, (raw, error, want_line)
            return
    assert want is not None, (raw, want_line)
    assert dropped == 0 and len(detections) == len(want)
    assert detections.image_index.tolist() == [r[0] for r in want]
    assert detections.line_numbers.tolist() == [r[2] for r in want]
    got = np.column_stack([detections.scores, detections.boxes]) if want else np.zeros((0, 5))
    assert got.tolist() == [r[1] for r in want]


# --------------------------------------------------------------------------- #
# COCO-style results JSON
# --------------------------------------------------------------------------- #

VALID_JSON = json.dumps(
    [
        {"image_id": "000001", "category": "dog", "bbox": [9, 9, 41, 41], "score": 0.9},
        {"image_id": 2, "category_id": 12, "bbox": [1.5, 2, 3e1, 4], "score": 1},
        {"image_id": "x", "category": "cat", "bbox": [0, 0, 1, 1], "score": -0.5},
    ],
    indent=1,
).encode()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
records = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "image_id": st.sampled_from(["000001", "x", 1, 2, "nope", 10**30]) | json_values,
            "category": st.sampled_from(["dog", "cat", "Dog", "person"]) | json_values,
            "category_id": st.integers(-2, 25) | json_values,
            "bbox": st.lists(st.floats() | st.integers(), min_size=3, max_size=5) | json_values,
            "score": st.floats() | st.integers() | json_values,
        },
    ),
    max_size=6,
).map(lambda r: json.dumps(r).encode())


@FUZZ
@given(st.one_of(inputs(VALID_JSON), records))
def test_coco_json_is_read_or_refused_with_a_line(raw):
    with no_hang():
        try:
            detections = parse_coco_bytes(raw, "fuzzed.json", GROUND_TRUTH, ["dog", "cat"])
        except InputError as error:
            check_error(error, "fuzzed.json")
            return
    for cls in ("dog", "cat"):
        found = detections[cls]
        assert np.isfinite(found.scores).all() and np.isfinite(found.boxes).all()
        assert ((found.image_index >= 0) & (found.image_index < len(IDS))).all()


# --------------------------------------------------------------------------- #
# Annotation XML and image sets (files on disk, as the readers open them)
# --------------------------------------------------------------------------- #

VALID_XML = annotation_xml(
    "000001.jpg",
    500,
    375,
    [VocObject("dog", (10, 10, 50, 50)), VocObject("traffic light", (1, 2, 3.5, 4), True)],
).encode()


@FUZZ
@given(inputs(VALID_XML))
def test_annotation_xml_is_read_or_refused_with_a_line(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("xml") / "000001.xml"
    path.write_bytes(raw)
    with no_hang():
        try:
            objects = read_annotation_file(path)
        except InputError as error:
            check_error(error, str(path))
            return
    for name, difficult, box, truncated in objects:
        assert name and name == name.strip() and name.isprintable()
        assert difficult in (True, False) and truncated in (True, False)
        assert len(box) == 4 and all(math.isfinite(v) for v in box)


VALID_SET = b"\xef\xbb\xbf000001\n000002  1\r\n\n2008_000003 -1\n"


@FUZZ
@given(inputs(VALID_SET))
def test_image_sets_are_read_or_refused_with_a_line(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("set") / "test.txt"
    path.write_bytes(raw)
    with no_hang():
        try:
            ids = read_image_set(path)
        except InputError as error:
            check_error(error, str(path), file_level=("image set is empty",))
            return
    assert ids and len(set(ids)) == len(ids)
    assert all(i.isprintable() and "/" not in i and i not in (".", "..") for i in ids)
