"""Regressions: FIFOs, devices and folders where a file is read (issue 10).

A class's result file, an image set or an XML file that was a FIFO made vocmap
wait forever. Only regular files are read now: anything else is one line, exit
2, at once (each case runs under a 10-second alarm).
"""

from __future__ import annotations

import os

import pytest
from case_builder import cat, dog, make_case
from cli_check import expect_failure, within_seconds

RESULTS = {"dog": "000001 0.9 10 10 50 50\n", "cat": "000002 0.8 100 100 150 150\n"}


@pytest.fixture
def case(tmp_path, monkeypatch):
    monkeypatch.setenv("VOCMAP_CACHE_DIR", str(tmp_path / "cache"))
    return make_case(tmp_path / "case", {"000001": [dog()], "000002": [cat()]}, RESULTS)


def replace_with(path, kind):
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        path.symlink_to("/dev/zero")


def cli(voc_root, results, *extra):
    return [results, "--voc-root", voc_root, "--classes", "dog", "cat", *extra]


KINDS = [("fifo", "a FIFO"), ("folder", "a folder")]


@pytest.mark.parametrize(("kind", "words"), KINDS)
@pytest.mark.parametrize("cached", [False, True], ids=["parsed", "cached path"])
def test_an_xml_file_that_is_not_a_regular_file_is_refused(
    tmp_path, capsys, case, kind, words, cached
):
    voc_root, results = case
    xml = voc_root / "Annotations" / "000002.xml"
    replace_with(xml, kind)
    with within_seconds(10):
        expect_failure(
            capsys,
            tmp_path / "out",
            cli(voc_root, results, *([] if cached else ["--no-cache"])),
            f"000002.xml: annotation file is not a regular file ({words})",
        )


@pytest.mark.parametrize(("kind", "words"), KINDS)
def test_an_image_set_that_is_not_a_regular_file_is_refused(tmp_path, capsys, case, kind, words):
    voc_root, results = case
    replace_with(voc_root / "ImageSets" / "Main" / "test.txt", kind)
    with within_seconds(10):
        expect_failure(
            capsys,
            tmp_path / "out",
            cli(voc_root, results),
            f"test.txt: image set file is not a regular file ({words})",
        )


@pytest.mark.parametrize(("kind", "words"), KINDS)
def test_a_result_file_that_is_not_a_regular_file_is_refused(tmp_path, capsys, case, kind, words):
    voc_root, results = case
    replace_with(results / "comp4_det_test_dog.txt", kind)
    with within_seconds(10):
        expect_failure(
            capsys,
            tmp_path / "out",
            cli(voc_root, results, "--no-cache"),
            f"comp4_det_test_dog.txt: result file is not a regular file ({words})",
        )


def test_a_device_is_refused_even_through_an_allowed_link(tmp_path, capsys, case):
    voc_root, results = case
    replace_with(results / "comp4_det_test_dog.txt", "device")
    with within_seconds(10):
        expect_failure(
            capsys,
            tmp_path / "out",
            cli(voc_root, results, "--no-cache", "--follow-symlinks"),
            "result file is not a regular file (a character device)",
        )


def test_a_fifo_named_json_is_refused(tmp_path, capsys, case):
    voc_root, _ = case
    fifo = tmp_path / "results.json"
    os.mkfifo(fifo)
    with within_seconds(10):
        expect_failure(
            capsys,
            tmp_path / "out",
            [fifo, "--voc-root", voc_root, "--no-cache"],
            "results.json: detections must be a folder or a regular .json file",
        )


def test_the_api_refuses_a_fifo_result_file_too(tmp_path, case):
    import vocmap

    voc_root, _ = case
    fifo = tmp_path / "dog.txt"
    os.mkfifo(fifo)
    gt = vocmap.read_voc(voc_root, cache=False)
    with (
        within_seconds(10),
        pytest.raises(vocmap.InputError, match=r"not a regular file \(a FIFO\)"),
    ):
        vocmap.read_result_file(fifo, gt)
