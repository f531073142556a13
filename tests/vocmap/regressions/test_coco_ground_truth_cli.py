"""COCO-format ground truth in the CLI (``--ground-truth``) and its cache (issue 20
item 2): only the API took it; evaluate, diagnose, compare and score now do, and the
parsed json is cached on its content with the annotation cache's checks.

Bad input: exit 2 and one line naming the file or the option; a cache entry in
doubt is parsed again, never trusted.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from cli_check import expect_failure, within_seconds
from run_builder import make_run

import vocmap
from vocmap.cli import main
from vocmap.core.errors import InputError
from vocmap.io import coco_cache, coco_ground_truth
from vocmap.runs.contract import RunFolder

DOCUMENT = {
    "images": [{"id": 1, "file_name": "a/000001.jpg"}, {"id": 2, "file_name": "000002.jpg"}],
    "annotations": [
        {"image_id": 1, "category_id": 7, "bbox": [10, 10, 40, 40]},
        {"image_id": 2, "category_id": 3, "bbox": [100, 100, 50, 50], "iscrowd": 1},
        {"image_id": 2, "category_id": 3, "bbox": [200, 200, 50, 50]},
    ],
    "categories": [{"id": 7, "name": "cat"}, {"id": 3, "name": "dog"}],
}
RESULTS = [
    {"image_id": 1, "category_id": 7, "bbox": [10, 10, 40, 40], "score": 0.9},
    {"image_id": 2, "category_id": 3, "bbox": [200, 200, 50, 50], "score": 0.8},
    {"image_id": 2, "category_id": 3, "bbox": [0, 0, 50, 50], "score": 0.95},
]


@pytest.fixture
def files(tmp_path):
    gt = tmp_path / "instances.json"
    gt.write_text(json.dumps(DOCUMENT))
    results = tmp_path / "results.json"
    results.write_text(json.dumps(RESULTS))
    return gt, results


def run_json(capsys, tmp_path, *argv) -> dict:
    out = tmp_path / "out.json"
    assert main([*map(str, argv), "--json", str(out), "--quiet"]) == 0, capsys.readouterr().err
    return json.loads(out.read_text())


def test_evaluate_takes_coco_ground_truth_and_its_category_ids(tmp_path, capsys, files):
    gt_path, results = files
    got = run_json(capsys, tmp_path, "evaluate", results, "--ground-truth", gt_path)
    assert list(got["classes"]) == ["dog", "cat"]  # the json's categories, in id order
    gt = vocmap.read_coco_ground_truth(gt_path)
    api = vocmap.Evaluator(gt, ["dog", "cat"]).evaluate(vocmap.read_coco_results(results, gt))
    assert got["map"] == api.map
    assert {c: v["ap"] for c, v in got["classes"].items()} == {
        c: r.ap for c, r in api.classes.items()
    }
    assert api.classes["cat"].ap > 0.99 and 0.4 < api.classes["dog"].ap < 0.6


@pytest.mark.parametrize(
    "command",
    [
        ["diagnose"],
        ["compare", "--semantics", "mmdet"],
        ["evaluate", "--metric", "coco"],
    ],
)
def test_diagnose_and_compare_take_coco_ground_truth(tmp_path, capsys, files, command):
    gt_path, results = files
    argv = [command[0], str(results), *command[1:], "--ground-truth", str(gt_path), "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "dog" in out and "cat" in out


def test_score_takes_coco_ground_truth_with_file_stem_ids(tmp_path, capsys):
    voc_root, run_dir = make_run(tmp_path, steps=(100,), images=20)
    xml = vocmap.read_voc(voc_root, cache=False)
    names = sorted(xml.class_names)
    document = {
        "images": [{"id": k, "file_name": f"{i}.jpg"} for k, i in enumerate(xml.image_ids)],
        "annotations": [
            {
                "image_id": int(xml.object_image[r]),
                "category_id": 1 + names.index(xml.class_names[xml.object_class[r]]),
                "bbox": [b[0] - 1, b[1] - 1, b[2] - b[0] + 1, b[3] - b[1] + 1],
                "difficult": int(xml.difficult[r]),
            }
            for r, b in enumerate(xml.boxes.tolist())
        ],
        "categories": [{"id": 1 + k, "name": n} for k, n in enumerate(names)],
    }
    gt_path = tmp_path / "instances_test.json"
    gt_path.write_text(json.dumps(document))
    argv = ["score", str(run_dir), "--ground-truth", str(gt_path), "--coco-image-ids", "file_stem"]
    assert main([*argv, "--quiet"]) == 0, capsys.readouterr().err
    stored = json.loads(RunFolder(run_dir).eval_path(100, "voc07").read_text())
    direct = vocmap.evaluate_folder(
        RunFolder(run_dir).detection_dir(100), voc_root, classes=list(stored["classes"])
    )
    assert stored["map"] == direct.map
    assert {c: e["ap"] for c, e in stored["classes"].items()} == {
        c: r.ap for c, r in direct.classes.items()
    }


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (
            ["--voc-root", "x"],
            "--ground-truth names the annotations and the images: not with --voc-root",
        ),
        (["--image-set", "val"], "not with --image-set"),
        (["--annotations", "a", "--image-set-file", "b"], "not with --annotations"),
    ],
)
def test_ground_truth_with_voc_options_is_one_line(tmp_path, capsys, files, extra, fragment):
    gt_path, results = files
    expect_failure(capsys, tmp_path / "out", [results, "--ground-truth", gt_path, *extra], fragment)


def test_coco_image_ids_without_ground_truth_is_one_line(tmp_path, capsys, files):
    _, results = files
    expect_failure(
        capsys,
        tmp_path / "out",
        [results, "--voc-root", tmp_path, "--coco-image-ids", "id"],
        "--coco-image-ids goes with --ground-truth",
    )


def test_bad_option_values_are_one_line(tmp_path, capsys, files):
    gt_path, results = files
    for argv, words in (
        ([str(results), "--ground-truth", ""], ("--ground-truth", "needs a path")),
        (
            [str(results), "--ground-truth", str(gt_path), "--coco-image-ids", "x"],
            ("--coco-image-ids", "'x'"),
        ),
    ):
        with pytest.raises(SystemExit) as stop:  # the parser's one line
            main(["evaluate", *argv])
        assert stop.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and all(w in lines[0] for w in words), lines


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (None, ["missing.json: annotations JSON not found"]),
        ('{"images": [\n{"id": 1},\n]}', ["instances.json:3: malformed JSON"]),
        (b"\xff\xfe", ["instances.json: not UTF-8 text"]),
        ('{"images": [], "annotations": [{"image_id": 1}]}', ["no 'categories' list"]),
        (
            json.dumps(
                {
                    **DOCUMENT,
                    "annotations": [{"image_id": 1, "category_id": [7], "bbox": [0, 0, 1, 1]}],
                }
            ),
            ["annotation 0: category_id [7] is not an integer"],
        ),
        ("[]", ["expected a JSON object with 'images' and 'annotations'"]),
    ],
)
def test_bad_ground_truth_files_are_one_line_naming_the_file(
    tmp_path, capsys, files, content, fragments
):
    _, results = files
    gt_path = tmp_path / ("missing.json" if content is None else "instances.json")
    if isinstance(content, bytes):
        gt_path.write_bytes(content)
    elif content is not None:
        gt_path.write_text(content)
    expect_failure(capsys, tmp_path / "out", [results, "--ground-truth", gt_path], *fragments)


def test_a_fifo_or_a_folder_as_ground_truth_is_one_line_not_a_hang(tmp_path, capsys, files):
    _, results = files
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with within_seconds(10):
        expect_failure(capsys, tmp_path / "o1", [results, "--ground-truth", fifo], "a FIFO")
    expect_failure(capsys, tmp_path / "o2", [results, "--ground-truth", tmp_path], "a folder")


# --------------------------------------------------------------------------- #
# The cache
# --------------------------------------------------------------------------- #


def entries() -> list:
    return sorted(coco_cache.cache_dir().glob("coco-*.npz"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VOCMAP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def no_parse(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("parsed although a valid cache entry exists")

    monkeypatch.setattr(coco_ground_truth, "_parse", refuse)


def same(a: vocmap.GroundTruth, b: vocmap.GroundTruth) -> bool:
    return (
        a.image_ids == b.image_ids
        and a.class_names == b.class_names
        and a.categories == b.categories
        and a.source == b.source
        and all(
            np.asarray(getattr(a, n)).tobytes() == np.asarray(getattr(b, n)).tobytes()
            for n in ("object_image", "object_class", "boxes", "difficult")
        )
    )


def test_a_second_read_is_served_from_the_cache_equal_to_parsing(
    tmp_path, cache, files, monkeypatch
):
    gt_path, _ = files
    parsed = vocmap.read_coco_ground_truth(gt_path, cache=False)
    assert entries() == []
    first = vocmap.read_coco_ground_truth(gt_path)
    assert len(entries()) == 1
    no_parse(monkeypatch)
    cached = vocmap.read_coco_ground_truth(gt_path)
    assert same(cached, parsed) and same(first, parsed)


def test_changed_content_is_never_served_stale_even_with_the_same_times(
    tmp_path, cache, files, monkeypatch
):
    gt_path, _ = files
    vocmap.read_coco_ground_truth(gt_path)
    info = os.stat(gt_path)
    changed = json.dumps(DOCUMENT).replace('"bbox": [10, 10, 40, 40]', '"bbox": [10, 10, 40, 41]')
    assert len(changed) == info.st_size
    gt_path.write_text(changed)
    os.utime(gt_path, ns=(info.st_atime_ns, info.st_mtime_ns))  # same size, same mtime
    got = vocmap.read_coco_ground_truth(gt_path)
    assert got.boxes[0].tolist() == [11.0, 11.0, 50.0, 51.0]
    assert len(entries()) == 1  # the old entry replaced


def test_image_id_modes_are_cached_apart(tmp_path, cache, files):
    gt_path, _ = files
    assert vocmap.read_coco_ground_truth(gt_path).image_ids == ("1", "2")
    by_stem = vocmap.read_coco_ground_truth(gt_path, image_ids="file_stem")
    assert by_stem.image_ids == ("000001", "000002")
    assert vocmap.read_coco_ground_truth(gt_path).image_ids == ("1", "2")


def damage_flip(path):
    raw = bytearray(path.read_bytes())
    position = raw.find(b"\x00\x00\x00\x00\x00\x00\x26\x40")  # 11.0, a box corner
    assert position > 0
    raw[position + 7] ^= 0x01
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "damage",
    [
        damage_flip,
        lambda p: p.write_bytes(p.read_bytes()[:-100]),
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(b"not a zip"),
    ],
    ids=["flipped-bit", "truncated", "empty", "garbage"],
)
def test_a_damaged_entry_is_parsed_again_not_trusted(tmp_path, cache, files, damage):
    gt_path, _ = files
    parsed = vocmap.read_coco_ground_truth(gt_path, cache=False)
    vocmap.read_coco_ground_truth(gt_path)
    (entry,) = entries()
    damage(entry)
    assert same(vocmap.read_coco_ground_truth(gt_path), parsed)


def test_another_files_entry_planted_under_this_name_is_refused(tmp_path, cache, files):
    gt_path, _ = files
    other = tmp_path / "other.json"
    other_document = {**DOCUMENT, "annotations": DOCUMENT["annotations"][:1]}
    other.write_text(json.dumps(other_document))
    vocmap.read_coco_ground_truth(other)
    (planted,) = entries()
    key = coco_cache.content_key(gt_path.read_bytes(), "id")
    target, _ = coco_cache._entry_paths(gt_path, key)
    shutil.copy(planted, target)
    got = vocmap.read_coco_ground_truth(gt_path)
    assert got.object_image.size == 3


def test_a_folder_or_fifo_where_the_entry_goes_only_costs_speed(tmp_path, cache, files):
    gt_path, _ = files
    key = coco_cache.content_key(gt_path.read_bytes(), "id")
    target, _ = coco_cache._entry_paths(gt_path, key)
    target.mkdir(parents=True)
    assert vocmap.read_coco_ground_truth(gt_path).object_image.size == 3
    target.rmdir()
    os.mkfifo(target)
    with within_seconds(10):
        assert vocmap.read_coco_ground_truth(gt_path).object_image.size == 3
        assert vocmap.read_coco_ground_truth(gt_path).object_image.size == 3


def test_no_cache_neither_reads_nor_writes_an_entry(tmp_path, cache, files, capsys):
    gt_path, results = files
    argv = ["evaluate", str(results), "--ground-truth", str(gt_path), "--no-cache", "--quiet"]
    assert main(argv) == 0
    assert entries() == []


def test_an_unreadable_cache_folder_only_costs_speed(tmp_path, monkeypatch, files):
    gt_path, _ = files
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder goes")
    monkeypatch.setenv("VOCMAP_CACHE_DIR", str(blocker / "cache"))
    assert vocmap.read_coco_ground_truth(gt_path).object_image.size == 3


def test_bad_image_ids_argument_is_an_input_error(tmp_path, files):
    gt_path, _ = files
    for bad in ("stem", ["id"], None):
        with pytest.raises(InputError, match="image_ids must be 'id' or 'file_stem'"):
            vocmap.read_coco_ground_truth(gt_path, image_ids=bad)


def test_a_results_category_id_the_ground_truth_does_not_list_is_one_line(tmp_path, capsys, files):
    gt_path, _ = files
    results = tmp_path / "results.json"
    records = [*RESULTS, {"image_id": 1, "category_id": 8, "bbox": [0, 0, 5, 5], "score": 0.1}]
    results.write_text(json.dumps(records, indent=1))
    expect_failure(
        capsys,
        tmp_path / "out",
        [results, "--ground-truth", gt_path],
        "results.json:35: record 3: category_id 8 is not one of the ground truth's 2 category "
        "ids (3, 7); --ignore-unknown-categories",
    )
    argv = ["evaluate", str(results), "--ground-truth", str(gt_path), "--ignore-unknown-categories"]
    assert main(argv) == 0
    assert "1 record" in capsys.readouterr().err


def test_the_cache_keeps_cocos_area_crowd_and_image_order(tmp_path, monkeypatch):
    """A cached COCO ground truth must carry what COCO's metric reads (area, iscrowd,
    integer image ids): without them it would fall back to w*h, difficult-as-crowd
    and image-set order, and give other numbers with exit 0."""
    import json as json_module

    import numpy as np

    from vocmap.io.coco_ground_truth import read_coco_ground_truth
    from vocmap.testing.coco_cases import coco_case

    monkeypatch.setenv("VOCMAP_CACHE_DIR", str(tmp_path / "cache"))
    document, _ = coco_case(40, 5, 200, seed=3)
    path = tmp_path / "instances.json"
    path.write_text(json_module.dumps(document))
    parsed = read_coco_ground_truth(path, cache=False)
    read_coco_ground_truth(path)  # stores the entry
    cached = read_coco_ground_truth(path)
    assert list((tmp_path / "cache").glob("coco-*.npz"))
    assert parsed.iscrowd is not None and parsed.iscrowd.any()
    for name in ("area", "iscrowd", "coco_image_ids", "boxes", "difficult"):
        assert np.array_equal(getattr(cached, name), getattr(parsed, name)), name
    assert cached.categories == parsed.categories
