"""The command line: where it finds annotations, what it prints and writes, what it imports."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from fixture_paths import DEMO, REPO

from vocmap.cli import main

DEMO_ARGS = ["evaluate", str(DEMO / "results"), "--voc-root", str(DEMO / "VOC2007")]


def test_table_has_a_row_per_class_and_map_last(capsys):
    assert main(DEMO_ARGS) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "VOC2007 11-point AP at IoU >= 0.5"
    assert lines[1].split() == ["class", "AP", "gts", "dets", "TP", "FP", "recall"]
    assert [line.split()[0] for line in lines[2:]] == [
        *__import__("vocmap").VOC_CLASSES,
        "mAP",
    ]
    assert lines[-1].split() == ["mAP", "0.7863"]


def test_markdown_and_quiet(capsys):
    assert main([*DEMO_ARGS, "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| class | AP | gts | dets | TP | FP | recall |" in out
    assert "| mAP | 0.7863 |" in out
    assert main([*DEMO_ARGS, "--format", "map"]) == 0
    assert capsys.readouterr().out.strip() == "0.7863302603064434"


def test_csv_output(tmp_path):
    assert main([*DEMO_ARGS, "--csv", str(tmp_path / "r.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert rows[-1]["class"] == "mAP" and float(rows[-1]["ap"]) == 0.7863302603064434
    assert len(rows) == 21


def test_voc_root_from_environment_then_default_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VOC_ROOT", str(DEMO / "VOC2007"))
    assert main(["evaluate", str(DEMO / "results"), "--format", "map"]) == 0
    assert capsys.readouterr().out.strip() == "0.7863302603064434"
    monkeypatch.delenv("VOC_ROOT")
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", str(DEMO / "results")]) == 2
    assert "no annotations given" in capsys.readouterr().err
    (tmp_path / "VOCdevkit").mkdir()
    (tmp_path / "VOCdevkit" / "VOC2007").symlink_to(DEMO / "VOC2007")
    assert main(["evaluate", str(DEMO / "results"), "--format", "map"]) == 0


def test_annotations_and_imageset_instead_of_a_root(tmp_path):
    args = [
        "evaluate",
        str(DEMO / "results"),
        "--annotations",
        str(DEMO / "VOC2007" / "Annotations"),
        "--image-set-file",
        str(DEMO / "VOC2007" / "ImageSets" / "Main" / "test.txt"),
        "--classes",
        "dog,cat",
        "bird",
        "--csv",
        str(tmp_path / "r.csv"),
    ]
    assert main(args) == 0
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [r["class"] for r in rows] == [
        "dog",
        "cat",
        "bird",
        "mAP (3 classes)",
    ]  # a subset mean, said (issue 18)


def test_help_and_version():
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert main(["--version"]) == 0
    assert main([]) == 2


def test_console_script_runs_and_imports_no_heavy_modules(tmp_path):
    """`evaluate` must not import torch, matplotlib or pandas; --help not even numpy."""
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['vocmap'] + sys.argv[1:]\n"
        "from vocmap.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = sorted(m for m in ('torch', 'matplotlib', 'pandas', 'numpy') if m in sys.modules)\n"
        "print('HEAVY', ','.join(heavy))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, *DEMO_ARGS, "--format", "map"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert "HEAVY numpy" in run.stdout
    for argv in (["--help"], ["evaluate", "--help"], ["--version"]):
        help_probe = probe.replace(
            "code = main(sys.argv[1:])",
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass",
        )
        run = subprocess.run(
            [sys.executable, "-c", help_probe], capture_output=True, text=True, cwd=REPO
        )
        assert run.returncode == 0, run.stderr
        assert "usage: vocmap" in run.stdout or "vocmap " in run.stdout
        assert run.stdout.splitlines()[-1].rstrip() == "HEAVY", (argv, run.stdout[-200:])


def test_python_dash_m_entry_point():
    run = subprocess.run(
        [sys.executable, "-m", "vocmap", *DEMO_ARGS, "--format", "map"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and run.stdout.strip() == "0.7863302603064434"


def test_json_is_the_documented_shape(tmp_path):
    assert main([*DEMO_ARGS, "--json", str(tmp_path / "r.json")]) == 0
    data = json.loads((tmp_path / "r.json").read_text())
    assert {"metric", "iou", "classes", "map"} <= set(data)
    assert set(data["classes"]["dog"]) >= {"ap", "npos", "detections", "tp", "fp"}


def test_json_and_csv_to_stdout(capsys):
    assert main([*DEMO_ARGS, "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["map"] == 0.7863302603064434
    assert main([*DEMO_ARGS, "--csv", "-"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("mAP,0.7863302603064434")
