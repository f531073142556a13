"""Regressions: the annotation cache is checked before it is trusted (issue 10, item 6).

A planted entry with ``difficult`` as int64, or one of another data set, gave
wrong numbers; truncated, zero-byte, bit-flipped or non-npz entries gave a
traceback on every run until deleted by hand. Every doubtful entry is now parsed
again and replaced: exit 0, the right number, no traceback.
"""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest
from case_builder import cat, dog, make_case
from cli_check import evaluate, temporaries

import vocmap
from vocmap.io import cache as annotation_cache

RESULTS = {"dog": "000001 0.9 10 10 50 50\n000002 0.8 200 200 260 280\n"}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VOCMAP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(annotation_cache, "RACY_SECONDS", 0.0)
    return tmp_path / "cache"


@pytest.fixture
def case(tmp_path):
    """Two dogs, the second difficult: dog AP is 1 with npos 1 (the difficult
    dog's detection is ignored); read as not difficult, npos would be 2."""
    voc_root, results = make_case(
        tmp_path / "a",
        {"000001": [dog()], "000002": [cat(), dog((200, 200, 260, 280), difficult=True)]},
        RESULTS,
    )
    return voc_root, results


def the_entry(cache_dir):
    (entry,) = sorted(cache_dir.glob("*.npz"))
    return entry


def dog_result(capsys, voc_root, results):
    status, out, err = evaluate(
        capsys, results, "--voc-root", voc_root, "--classes", "dog", "--csv", "-"
    )
    assert status == 0, err
    assert "Traceback" not in err
    row = next(r for r in out.splitlines() if r.startswith("dog,"))
    return row.split(",")[1:5]  # ap, npos, detections, tp


RIGHT = ["1.0000000000000002", "1", "2", "1"]


def rewrite_entry(entry, **changes):
    """Rewrite an entry's arrays, with a checksum that matches them again (as a
    deliberate forger, or a bug in another version, would write it)."""
    with np.load(entry) as data:
        arrays = {name: data[name] for name in data.files}
    arrays.update(changes)
    key = str(arrays["key"])
    names = tuple(str(n) for n in arrays["class_names"])
    arrays["checksum"] = np.frombuffer(
        annotation_cache._checksum(key, int(arrays["image_count"]), names, arrays), np.uint8
    )
    with open(entry, "wb") as handle:
        np.savez(handle, **arrays)


def test_the_case_is_right_from_the_cache(cache, case, capsys):
    assert dog_result(capsys, *case) == RIGHT
    assert dog_result(capsys, *case) == RIGHT  # the second from the entry


def test_difficult_planted_as_int64_is_refused_and_reparsed(cache, case, capsys):
    vocmap.read_voc(case[0])
    entry = the_entry(cache)
    with np.load(entry) as data:
        difficult = data["difficult"].astype(np.int64)
    rewrite_entry(entry, difficult=difficult)
    assert dog_result(capsys, *case) == RIGHT
    with np.load(the_entry(cache)) as data:
        assert data["difficult"].dtype == np.bool_  # replaced


@pytest.mark.parametrize(
    "change",
    [
        {"boxes": np.zeros((2, 4), dtype=np.float32)},
        {"boxes": np.zeros((2, 2), dtype=np.float64)},
        {"object_image": np.array([1, 0], dtype=np.int64)},  # out of image-set order
        {"object_class": np.array([0, 7], dtype=np.int64)},  # no such class
        {"image_count": np.array(5, dtype=np.int64)},
        {"class_names": np.array(["dog", "dog"])},
        {"key": np.array("0" * 32)},
        {"object_image": np.array([0, 1], dtype=">i8")},  # another byte order
    ],
    ids=["float32", "shape", "order", "class", "count", "names", "key", "endian"],
)
def test_an_entry_of_wrong_dtype_shape_or_values_is_refused(cache, case, capsys, change):
    vocmap.read_voc(case[0])
    entry = the_entry(cache)
    rewrite_entry(entry, **change)
    assert dog_result(capsys, *case) == RIGHT


def test_an_entry_of_another_data_set_under_this_name_is_refused(tmp_path, cache, case, capsys):
    other_root, _ = make_case(
        tmp_path / "b", {"000001": [dog((1, 1, 5, 5))], "000002": [cat(), dog((7, 7, 9, 9))]}
    )
    vocmap.read_voc(other_root)
    other = the_entry(cache)
    other_bytes = other.read_bytes()
    other.unlink()
    vocmap.read_voc(case[0])
    entry = the_entry(cache)
    entry.write_bytes(other_bytes)
    assert dog_result(capsys, *case) == RIGHT


@pytest.mark.parametrize(
    "damage",
    ["zero bytes", "truncated", "half", "text", "npy", "pickle", "compressed", "extra member"],
)
def test_a_damaged_entry_is_reparsed_and_replaced(cache, case, capsys, damage):
    vocmap.read_voc(case[0])
    entry = the_entry(cache)
    good = entry.read_bytes()
    if damage == "zero bytes":
        entry.write_bytes(b"")
    elif damage == "truncated":
        entry.write_bytes(good[:-7])
    elif damage == "half":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "text":
        entry.write_text("garbage\n")
    elif damage == "npy":
        buffer = io.BytesIO()
        np.save(buffer, np.arange(3))
        entry.write_bytes(buffer.getvalue())
    elif damage == "pickle":
        with np.load(entry) as data:
            arrays = {name: data[name] for name in data.files}
        arrays["boxes"] = np.array([object()], dtype=object)
        with open(entry, "wb") as handle:
            np.savez(handle, **arrays)
    elif damage == "compressed":
        with np.load(entry) as data:
            arrays = {name: data[name] for name in data.files}
        with open(entry, "wb") as handle:
            np.savez_compressed(handle, **arrays)
    else:
        with zipfile.ZipFile(entry, "a") as archive:
            archive.writestr("more.npy", b"x")
    assert dog_result(capsys, *case) == RIGHT
    assert the_entry(cache).read_bytes() == good  # replaced by a sound entry
    with np.load(the_entry(cache)) as data:
        assert set(data.files) == set(annotation_cache._MEMBERS)
    assert temporaries(cache) == []


def test_a_flipped_bit_anywhere_never_gives_a_wrong_number(cache, case):
    voc_root, _ = case
    truth = vocmap.read_voc(voc_root, cache=False)
    vocmap.read_voc(voc_root)
    entry = the_entry(cache)
    good = entry.read_bytes()
    for position in range(0, len(good), max(1, len(good) // 150)):
        damaged = bytearray(good)
        damaged[position] ^= 1 << (position % 8)
        entry.write_bytes(bytes(damaged))
        ground_truth = vocmap.read_voc(voc_root)
        assert ground_truth.class_names == truth.class_names, position
        for name in ("object_image", "object_class", "boxes", "difficult"):
            got, want = getattr(ground_truth, name), getattr(truth, name)
            assert got.dtype == want.dtype and got.tolist() == want.tolist(), (position, name)


@pytest.mark.parametrize("kind", ["folder", "fifo", "symlink"])
def test_a_non_file_at_the_entry_path_neither_hangs_nor_breaks(tmp_path, cache, case, capsys, kind):
    vocmap.read_voc(case[0])
    entry = the_entry(cache)
    entry.unlink()
    if kind == "folder":
        entry.mkdir()
    elif kind == "fifo":
        os.mkfifo(entry)
    else:
        (tmp_path / "elsewhere.npz").write_bytes(b"not an entry")
        entry.symlink_to(tmp_path / "elsewhere.npz")
    assert dog_result(capsys, *case) == RIGHT
    assert dog_result(capsys, *case) == RIGHT
    assert kind != "symlink" or (tmp_path / "elsewhere.npz").read_bytes() == b"not an entry"


KILLED_DURING_RENAME = """
import os, sys, time
sys.path.insert(0, {repo!r})
from vocmap.io import cache
cache.RACY_SECONDS = 0.0
def stuck(source, target):  # the kill lands between the write and the rename
    print("renaming", flush=True)
    time.sleep(60)
os.replace = stuck
import vocmap
vocmap.read_voc({voc_root!r}, "test")
"""


def test_a_temporary_entry_of_a_process_killed_in_the_rename_is_removed(
    tmp_path, cache, case, capsys
):
    """Issue 18: a kill -9 during the entry's rename left its temporary forever (the next
    run found its entry, hit the cache and never wrote that name again)."""
    import signal
    import subprocess
    import sys

    from fixture_paths import REPO

    voc_root, results = case
    script = KILLED_DURING_RENAME.format(repo=str(REPO), voc_root=str(voc_root))
    env = {**os.environ, "VOCMAP_CACHE_DIR": str(cache)}
    writer = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert writer.stdout.readline() == "renaming\n"
        assert len(temporaries(cache)) == 1  # written, not yet renamed
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
    assert len(temporaries(cache)) == 1 and list(cache.glob("*.npz")) == []
    annotation_cache._SWEPT.clear()  # as a new process
    assert dog_result(capsys, voc_root, results) == RIGHT  # parses, stores the entry
    assert temporaries(cache) == []
    # A cache hit sweeps too: plant another killed writer's temporary, then hit.
    stale = cache / temporaries_name(cache)
    stale.write_bytes(b"half an entry")
    annotation_cache._SWEPT.clear()
    assert dog_result(capsys, voc_root, results) == RIGHT
    assert not stale.exists() and len(list(cache.glob("*.npz"))) == 1


def temporaries_name(cache_dir) -> str:
    """A temporary's name for the cache's entry, as a writer that is gone would leave it."""
    import subprocess

    from vocmap.core.atomic import HOST_TAG

    child = subprocess.Popen(["true"])
    child.wait()
    return f".{the_entry(cache_dir).name}.{HOST_TAG}-{child.pid}-0123abcd.tmp"
