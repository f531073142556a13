"""--voc-root names a VOC year folder or the VOCdevkit folder above it, in vocmap and
ssd_ref alike (issue 19 §1); an error names the year folders it found."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from vocmap.cli.options import ground_truth_paths
from vocmap.core.errors import InputError
from vocmap.io.voc_root import devkit_folder, year_folder


def make_year(root: Path, name: str, sets: tuple[str, ...] = ("test",)) -> Path:
    year = root / name
    (year / "Annotations").mkdir(parents=True)
    (year / "ImageSets" / "Main").mkdir(parents=True)
    for image_set in sets:
        (year / "ImageSets" / "Main" / f"{image_set}.txt").write_text("000001\n")
    return year


def args_for(voc_root: Path, image_set: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(
        voc_root=str(voc_root), image_set=image_set, annotations=None, image_set_file=None
    )


def test_the_year_folder_and_the_devkit_folder_give_the_same_paths(tmp_path):
    year = make_year(tmp_path / "synth", "SYNTH", ("test", "trainval"))
    expected = (year / "Annotations", year / "ImageSets" / "Main" / "test.txt")
    assert ground_truth_paths(args_for(year)) == expected
    assert ground_truth_paths(args_for(tmp_path / "synth")) == expected  # the example


def test_several_year_folders_pick_the_one_with_the_set(tmp_path):
    make_year(tmp_path, "VOC2012", ("trainval",))
    voc2007 = make_year(tmp_path, "VOC2007", ("test", "trainval"))
    assert year_folder(tmp_path, "test") == voc2007
    with pytest.raises(InputError) as error:
        year_folder(tmp_path, "trainval")
    message = str(error.value)
    assert "several year folders" in message
    assert str(voc2007) in message and str(tmp_path / "VOC2012") in message


def test_a_missing_set_names_the_year_folders_and_their_sets(tmp_path):
    make_year(tmp_path / "synth", "SYNTH", ("test", "trainval"))
    with pytest.raises(InputError) as error:
        ground_truth_paths(args_for(tmp_path / "synth", "val"))
    message = str(error.value)
    assert "ImageSets/Main/val.txt" in message
    assert str(tmp_path / "synth" / "SYNTH") in message and "sets: test, trainval" in message


def test_a_folder_without_any_year_folder_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a VOC year folder"):
        year_folder(tmp_path / "empty", "test")
    with pytest.raises(InputError, match="VOC root folder not found"):
        year_folder(tmp_path / "absent", "test")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="VOC root folder not found"):
        devkit_folder(tmp_path / "file", ["VOC2007"])


def test_devkit_folder_takes_the_devkit_or_one_of_its_year_folders(tmp_path):
    make_year(tmp_path / "devkit", "VOC2007")
    voc2012 = make_year(tmp_path / "devkit", "VOC2012")
    years = ["VOC2007", "VOC2012"]
    assert devkit_folder(tmp_path / "devkit", years) == tmp_path / "devkit"
    assert devkit_folder(voc2012, years) == (tmp_path / "devkit").absolute()
    with pytest.raises(InputError) as error:
        devkit_folder(tmp_path, years)  # one level too high
    assert "no year folder VOC2007, VOC2012" in str(error.value)
    assert f"{tmp_path / 'devkit'} holds them" in str(error.value)  # the folder it found
    with pytest.raises(InputError, match="itself a year folder"):
        devkit_folder(voc2012, ["SYNTH"])
