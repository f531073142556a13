"""Regressions: which result file is read for which class (issue 10, item 1).

Each bad case exits 2 with one line naming the folder and what to do, and leaves
no output; each good case gives the number of the right file.
"""

from __future__ import annotations

import pytest
from case_builder import cat, dog, make_case
from cli_check import PERFECT_AP, expect_failure, expect_success

from vocmap.io.result_names import find_result_files, parse_result_name
from vocmap.io.writers import VocObject, write_image_set

PERFECT_LIGHT = "000001 0.9 10 10 50 50\n"
WRONG_PLACE = "000001 0.9 300 300 350 350\n"


def lights_case(tmp_path, files: dict[str, str]):
    objects = {"000001": [VocObject("light", (10, 10, 50, 50))]}
    objects["000002"] = [VocObject("traffic_light", (100, 100, 150, 150))]
    voc_root, results = make_case(tmp_path / "case", objects)
    for name, text in files.items():
        (results / name).write_text(text)
    return voc_root, results


def test_class_light_is_not_read_from_traffic_lights_file(tmp_path, capsys):
    voc_root, results = lights_case(tmp_path, {"comp4_det_test_traffic_light.txt": WRONG_PLACE})
    expect_failure(
        capsys,
        tmp_path / "out",
        [results, "--voc-root", voc_root, "--classes", "light", "traffic_light", "--no-cache"],
        str(results),
        "no result file for class light",
    )


def test_light_and_traffic_light_each_get_their_own_file(tmp_path, capsys):
    voc_root, results = lights_case(
        tmp_path,
        {
            "comp4_det_test_traffic_light.txt": WRONG_PLACE,
            "comp4_det_test_light.txt": PERFECT_LIGHT,
        },
    )
    data, _ = expect_success(
        capsys,
        tmp_path / "out",
        [results, "--voc-root", voc_root, "--classes", "light", "traffic_light", "--no-cache"],
    )
    assert data["classes"]["light"]["ap"] == PERFECT_AP
    assert data["classes"]["traffic_light"]["ap"] == 0.0


@pytest.mark.parametrize(
    ("name", "image_set", "prefix", "set_name", "class_name"),
    [
        ("comp4_det_test_traffic_light.txt", "test", "comp4", "test", "traffic_light"),
        ("comp4_det_test_traffic_light.txt", "val", "comp4", "test", "traffic_light"),
        ("comp4_det_test_traffic_light.txt", None, "comp4", "test", "traffic_light"),
        ("my_run_det_my_set_dog.txt", "my_set", "my_run", "my_set", "dog"),
        ("comp4_det_test_dog.txt", "test_dog", "comp4", "test", "dog"),
        ("traffic_light.txt", "test", None, None, "traffic_light"),
    ],
)
def test_a_name_is_split_without_looking_at_the_classes(
    name, image_set, prefix, set_name, class_name
):
    parsed = parse_result_name(name, image_set)
    assert (parsed.prefix, parsed.image_set, parsed.class_name) == (prefix, set_name, class_name)


def mixed_case(tmp_path, cat_name="comp3_det_test_cat.txt", extra=None):
    voc_root, results = make_case(
        tmp_path / "case",
        {"000001": [dog()], "000002": [cat()]},
        {"dog": "000001 0.9 10 10 50 50\n"},
    )
    (results / cat_name).write_text("000002 0.8 100 100 150 150\n")
    for name, text in (extra or {}).items():
        (results / name).write_text(text)
    return voc_root, results


def test_files_of_two_runs_in_one_folder_are_an_error(tmp_path, capsys):
    voc_root, results = mixed_case(tmp_path)
    expect_failure(
        capsys,
        tmp_path / "out",
        [results, "--voc-root", voc_root, "--classes", "dog", "cat", "--no-cache"],
        "result files of 2 runs are mixed",
        "comp4_det_test_<class>.txt (1 class: dog)",
        "comp3_det_test_<class>.txt (1 class: cat)",
        "--prefix",
    )


def test_prefix_chooses_one_run_and_its_numbers(tmp_path, capsys):
    voc_root, results = mixed_case(
        tmp_path, extra={"comp3_det_test_dog.txt": "000001 0.9 300 300 350 350\n"}
    )
    args = [results, "--voc-root", voc_root, "--classes", "dog", "cat", "--no-cache"]
    expect_failure(capsys, tmp_path / "o1", args, "several result files for class 'dog'")
    comp3, _ = expect_success(capsys, tmp_path / "o2", [*args, "--prefix", "comp3"])
    assert comp3["classes"]["dog"]["ap"] == 0.0 and comp3["classes"]["cat"]["ap"] == PERFECT_AP
    expect_failure(
        capsys, tmp_path / "o3", [*args, "--prefix", "comp4"], "no result file for class cat"
    )


def test_plain_class_files_and_a_runs_files_are_not_mixed(tmp_path):
    _, results = mixed_case(tmp_path, cat_name="cat.txt")
    with pytest.raises(Exception, match="runs are mixed"):
        find_result_files(results, ["dog", "cat"], image_set="test")


def test_test_files_against_the_val_set_say_which_set_they_are_for(tmp_path, capsys):
    voc_root, results = make_case(
        tmp_path / "case", {"000001": [dog()]}, {"dog": "000001 0.9 10 10 50 50\n"}
    )
    write_image_set(voc_root / "ImageSets" / "Main" / "val.txt", ["000001"])
    args = [results, "--voc-root", voc_root, "--image-set", "val", "--classes", "dog"]
    expect_failure(
        capsys,
        tmp_path / "out",
        [*args, "--no-cache"],
        "named for image set 'test' (comp4_det_test_dog.txt)",
        "the image set evaluated is 'val'",
        "--image-set test",
    )
    data, _ = expect_success(
        capsys, tmp_path / "o2", [*args, "--no-cache", "--prefix", "comp4_det_test"]
    )
    assert data["classes"]["dog"]["ap"] == PERFECT_AP


def test_a_custom_image_set_with_unknown_images_names_the_files_set(tmp_path, capsys):
    voc_root, results = make_case(
        tmp_path / "case",
        {"000001": [dog()], "000002": [cat()]},
        {"dog": "000001 0.9 10 10 50 50\n000002 0.5 1 1 9 9\n"},
    )
    subset = tmp_path / "subset.txt"
    subset.write_text("000001\n")
    expect_failure(
        capsys,
        tmp_path / "out",
        [
            results,
            "--annotations",
            voc_root / "Annotations",
            "--image-set-file",
            subset,
            "--classes",
            "dog",
            "--no-cache",
        ],
        'comp4_det_test_dog.txt:2: image "000002" is not in the image set',
        "named for image set 'test', the image set evaluated is 'subset'",
    )


def test_a_missing_class_file_says_what_the_folder_has(tmp_path, capsys):
    voc_root, results = make_case(
        tmp_path / "case", {"000001": [dog()]}, {"dog": "000001 0.9 10 10 50 50\n"}
    )
    (results / "comp4_det_test_dog.txt").rename(results / "run_det_my_set_dog.txt")
    expect_failure(
        capsys,
        tmp_path / "out",
        [results, "--voc-root", voc_root, "--classes", "dog", "--no-cache"],
        "no result file for class dog",
        "the folder has run_det_my_<class>.txt (1 class: set_dog)",
    )
