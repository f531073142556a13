"""The annotation cache is used when current and never serves stale ground truth."""

from __future__ import annotations

import os

import pytest
from case_builder import cat, dog, make_case

import vocmap
from vocmap.io import cache as annotation_cache
from vocmap.io import voc
from vocmap.io.writers import write_annotation, write_image_set


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VOCMAP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(annotation_cache, "RACY_SECONDS", 0.0)
    return tmp_path / "cache"


def entries(cache_dir):
    return sorted(cache_dir.glob("*.npz")) if cache_dir.exists() else []


def forbid_parsing(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("parsed although the cache was current")

    monkeypatch.setattr(voc, "parse_annotations", fail)


def test_second_read_comes_from_the_cache(tmp_path, cache, monkeypatch):
    voc_root, _ = make_case(tmp_path / "case", {"000001": [dog()], "000002": [cat()]})
    first = vocmap.read_voc(voc_root)
    assert len(entries(cache)) == 1
    forbid_parsing(monkeypatch)
    second = vocmap.read_voc(voc_root)
    assert second.boxes.tolist() == first.boxes.tolist()
    assert second.class_names == first.class_names
    assert second.difficult.tolist() == first.difficult.tolist()


def test_a_changed_file_of_the_same_size_and_mtime_is_read_again(tmp_path, cache):
    voc_root, _ = make_case(tmp_path / "case", {"000001": [dog((10, 10, 50, 50))]})
    assert vocmap.read_voc(voc_root).boxes.tolist() == [[10, 10, 50, 50]]
    xml = voc_root / "Annotations" / "000001.xml"
    stat = xml.stat()
    xml.write_text(xml.read_text().replace("<xmax>50</xmax>", "<xmax>51</xmax>"))
    os.utime(xml, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # put the mtime back
    assert xml.stat().st_size == stat.st_size
    assert vocmap.read_voc(voc_root).boxes.tolist() == [[10, 10, 51, 50]]
    assert len(entries(cache)) == 1  # the old entry was replaced


def test_an_image_added_to_the_set_is_seen(tmp_path, cache):
    voc_root, _ = make_case(tmp_path / "case", {"000001": [dog()]})
    assert vocmap.read_voc(voc_root).num_images == 1
    write_annotation(voc_root / "Annotations", "000002", 500, 375, [cat()])
    write_image_set(voc_root / "ImageSets" / "Main" / "test.txt", ["000001", "000002"])
    gt = vocmap.read_voc(voc_root)
    assert gt.image_ids == ("000001", "000002") and gt.npos("cat") == 1


def test_a_removed_file_is_an_error_not_a_cached_answer(tmp_path, cache):
    voc_root, _ = make_case(tmp_path / "case", {"000001": [dog()], "000002": [cat()]})
    vocmap.read_voc(voc_root)
    (voc_root / "Annotations" / "000002.xml").unlink()
    with pytest.raises(vocmap.InputError, match=r"000002\.xml: annotation file not found"):
        vocmap.read_voc(voc_root)


def test_a_changed_image_set_is_seen(tmp_path, cache):
    voc_root, _ = make_case(tmp_path / "case", {"000001": [dog()], "000002": [cat()]})
    vocmap.read_voc(voc_root)
    write_image_set(voc_root / "ImageSets" / "Main" / "test.txt", ["000002"])
    gt = vocmap.read_voc(voc_root)
    assert gt.image_ids == ("000002",) and gt.npos("dog") == 0


def test_no_cache_neither_reads_nor_writes(tmp_path, cache, monkeypatch):
    voc_root, _ = make_case(tmp_path / "case", {"000001": [dog()]})
    vocmap.read_voc(voc_root, cache=False)
    assert entries(cache) == []
    vocmap.read_voc(voc_root)
    called = []
    original = voc.parse_annotations
    monkeypatch.setattr(
        voc, "parse_annotations", lambda *a, **k: called.append(1) or original(*a, **k)
    )
    vocmap.read_voc(voc_root, cache=False)
    assert called == [1]


def test_files_written_just_now_are_not_cached(tmp_path, monkeypatch):
    """Git's racy-clean rule: a file may still change within the timestamp resolution."""
    monkeypatch.setenv("VOCMAP_CACHE_DIR", str(tmp_path / "cache"))
    voc_root, _ = make_case(tmp_path / "case", {"000001": [dog()]})
    vocmap.read_voc(voc_root)
    assert entries(tmp_path / "cache") == []


def test_a_corrupt_entry_is_replaced(tmp_path, cache):
    voc_root, _ = make_case(tmp_path / "case", {"000001": [dog()]})
    vocmap.read_voc(voc_root)
    (entry,) = entries(cache)
    entry.write_bytes(b"garbage")
    assert vocmap.read_voc(voc_root).npos("dog") == 1
    assert entries(cache)[0].read_bytes() != b"garbage"
