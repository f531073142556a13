"""Run folders that gave tracebacks (issue 10): a step_N.json that is `{}`; a
non-UTF-8 or deeply nested config.json; a non-UTF-8 AP-table CSV or history.csv;
a CSV header `inf`; an empty or truncated checkpoint in `score`; and
`detections/step_99` found, then looked up as `step_000099`. Each is now one line
naming the file (and line), exit 2, and nothing half-made is left."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from run_builder import CLASSES, make_run

from vocmap.cli import main
from vocmap.core.errors import InputError
from vocmap.runs.contract import RunFolder
from vocmap.runs.history import read_history


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("vocmap: error: "), err
    return lines[0].removeprefix("vocmap: error: ")


@pytest.fixture
def scored(tmp_path):
    voc_root, run = make_run(tmp_path, steps=(100, 200), images=30)
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet", "--no-cache"]) == 0
    return voc_root, run


def test_empty_object_step_json_in_table_and_plot(scored, capsys):
    _, run = scored
    path = RunFolder(run).eval_path(200)
    path.write_text("{}")
    capsys.readouterr()
    assert main(["table", str(run)]) == 2
    assert error_line(capsys) == f"{path}: not a valid result: no 'classes'"
    if importlib.util.find_spec("matplotlib") is not None:
        assert main(["plot", str(run), "--out-dir", str(run / "p")]) == 2
        assert error_line(capsys) == f"{path}: not a valid result: no 'classes'"
        assert not (run / "p").exists() or not any((run / "p").iterdir())


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{\n"classes": ["caf\xe9"]}', ":2: not UTF-8 (byte 0xe9); fix it or give --classes"),
        (b"[" * 100_000 + b"]" * 100_000, ": nested too deeply to read; give --classes"),
        (b'{"classes": [', ":1: not valid JSON (Expecting value); fix it or give --classes"),
    ],
    ids=["not-utf8", "nested", "truncated"],
)
def test_bad_config_json_is_one_line_and_classes_get_around_it(scored, capsys, content, reason):
    voc_root, run = scored
    config = run / "config.json"
    config.write_bytes(content)
    args = ["score", str(run), "--voc-root", str(voc_root), "--quiet", "--no-cache"]
    assert main(args) == 2
    line = error_line(capsys)
    assert line == f"{config}{reason}"
    assert main([*args, "--classes", *CLASSES]) == 0


def test_non_utf8_ap_table_csv_names_the_line(tmp_path, capsys):
    path = tmp_path / "ap.csv"
    path.write_bytes(b"class,100\ndog AP,0.5\ncat\xff AP,0.2\n")
    assert main(["table", str(path)]) == 2
    assert error_line(capsys) == f"{path}:3: not UTF-8 (byte 0xff)"


def test_csv_header_inf_is_one_line(tmp_path, capsys):
    path = tmp_path / "ap.csv"
    for bad in ("inf", "nan", "1e3", "-100", "١٠٠", "2" * 17):
        path.write_text(f"class,100,{bad}\ndog,0.1,0.2\n")
        assert main(["table", str(path)]) == 2
        line = error_line(capsys)
        assert line.startswith(f"{path}:1: header cells after the first must be step numbers")
        assert line.endswith(f"not {bad!r}")


def test_non_utf8_history_csv_names_the_line(tmp_path, capsys):
    path = tmp_path / "history.csv"
    path.write_bytes(b"step,loss\n10,1.5\n20,\xe91.0\n")
    with pytest.raises(InputError, match=r"history.csv:3: not UTF-8 \(byte 0xe9\)"):
        read_history(path)
    if importlib.util.find_spec("matplotlib") is not None:
        _, run = make_run(tmp_path / "r", steps=(100,), images=20)
        (run / "history.csv").write_bytes(path.read_bytes())
        assert main(["plot", str(run), "--out-dir", str(tmp_path / "plots")]) == 2
        assert error_line(capsys) == f"{run / 'history.csv'}:3: not UTF-8 (byte 0xe9)"


def test_history_csv_bad_cell_line_counts_blank_lines(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("step,loss\n\n10,1.5\n\n20,abc\n")
    with pytest.raises(InputError, match=r"history.csv:5: column 'loss' is not a number: 'abc'"):
        read_history(path)


def test_empty_checkpoint_is_one_line_and_leaves_no_temporary(scored, capsys):
    voc_root, run = scored
    folder = RunFolder(run)
    folder.checkpoints_dir.mkdir()
    checkpoint = folder.checkpoints_dir / "step_000300.pt"
    checkpoint.write_bytes(b"")
    capsys.readouterr()
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet"]) == 2
    assert error_line(capsys) == (
        f"{checkpoint}: empty checkpoint (0 bytes): nothing to make detections from"
    )
    assert sorted(p.name for p in folder.detections_dir.iterdir()) == [
        "step_000100",
        "step_000200",
    ]


def test_truncated_checkpoint_is_one_line_and_leaves_no_temporary(scored, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("ssd_ref")
    voc_root, run = scored
    folder = RunFolder(run)
    folder.checkpoints_dir.mkdir()
    checkpoint = folder.checkpoints_dir / "step_000300.pt"
    checkpoint.write_bytes(b"PK\x03\x04 truncated checkpoint")
    capsys.readouterr()
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet", "--device", "cpu"]) == 2
    line = error_line(capsys)
    assert line.startswith(f"{checkpoint}: cannot make detections from this checkpoint (")
    assert line.endswith("is it truncated? (VOCMAP_DEBUG=1 shows the traceback)")
    assert sorted(p.name for p in folder.detections_dir.iterdir()) == [
        "step_000100",
        "step_000200",
    ]
    assert not folder.eval_path(300).exists()


def test_a_non_canonical_step_folder_is_an_error_not_a_wrong_lookup(scored, capsys):
    voc_root, run = scored
    folder = RunFolder(run)
    odd = folder.detections_dir / "step_99"
    folder.detection_dir(200).rename(odd)
    capsys.readouterr()
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet", "--force"]) == 2
    assert error_line(capsys) == (
        f"{odd}: not a step name vocmap reads: rename it to step_000099 "
        "(step_ and at least 6 digits)"
    )
    odd.rename(folder.detection_dir(200))
    # Other names are not steps and are left alone.
    (folder.detections_dir / "notes").mkdir()
    (folder.detections_dir / "step_100_old").mkdir()
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet"]) == 0
    eval_odd = folder.eval_dir() / "step_0000100.json"
    eval_odd.write_text(folder.eval_path(100).read_text())
    capsys.readouterr()
    assert main(["table", str(run)]) == 2
    assert error_line(capsys) == (
        f"{eval_odd}: not a step name vocmap reads: rename it to step_000100.json "
        "(step_ and at least 6 digits)"
    )


def test_checkpoint_without_torch_installed_is_one_line_naming_the_extra(
    scored, capsys, monkeypatch
):
    # A user who installed vocmap alone scores a run that still needs detections.
    for name in [name for name in sys.modules if name.split(".")[0] == "ssd_ref"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)  # "import torch" raises ImportError
    voc_root, run = scored
    folder = RunFolder(run)
    folder.checkpoints_dir.mkdir()
    (folder.checkpoints_dir / "step_000300.pt").write_bytes(b"PK\x03\x04 a checkpoint")
    capsys.readouterr()
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet"]) == 2
    line = error_line(capsys)
    assert line == (
        "making detections from checkpoints: ssd_ref needs torch: install vocmap[train] "
        "(pip install 'vocmap[train]'; bring the torch build that fits your machine); "
        "or score a run whose detections/step_N/ folders already exist"
    )
    assert not folder.detection_dir(300).exists()
    assert not folder.eval_path(300).exists()


def test_score_under_torchrun_is_refused_before_any_rank_publishes(scored, capsys, monkeypatch):
    # Each rank would detect, publish and store the same steps at once.
    monkeypatch.setenv("WORLD_SIZE", "2")
    voc_root, run = scored
    folder = RunFolder(run)
    before = sorted(p.name for p in folder.root.rglob("*"))
    assert main(["score", str(run), "--voc-root", str(voc_root), "--force", "--quiet"]) == 2
    assert error_line(capsys).startswith(
        "vocmap score runs in one process, not under torchrun (WORLD_SIZE > 1)"
    )
    assert sorted(p.name for p in folder.root.rglob("*")) == before


@pytest.mark.parametrize("value", ["two", "2x", "-3", "\x1b[31m"])
def test_score_with_a_malformed_world_size_says_so_in_one_line(scored, capsys, monkeypatch, value):
    monkeypatch.setenv("WORLD_SIZE", value)
    voc_root, run = scored
    folder = RunFolder(run)
    before = sorted(p.name for p in folder.root.rglob("*"))
    assert main(["score", str(run), "--voc-root", str(voc_root), "--force", "--quiet"]) == 2
    line = error_line(capsys)
    assert line.startswith("WORLD_SIZE is ") and "not a number of processes" in line
    assert "\x1b" not in line
    assert sorted(p.name for p in folder.root.rglob("*")) == before


@pytest.mark.parametrize("link", ["step folder", "detections folder"])
def test_detections_linked_from_outside_the_run_are_refused_without_follow_symlinks(
    tmp_path, capsys, link
):
    """Issue 18: a detections folder that is a link leading out of the run folder was
    read and scored. Now refused as result files are, unless --follow-symlinks."""
    import shutil

    voc_root, run = make_run(tmp_path, steps=(100,), images=20)
    outside = tmp_path / "elsewhere"
    if link == "step folder":
        shutil.move(run / "detections" / "step_000100", outside)
        (run / "detections" / "step_000100").symlink_to(outside)
        shown = run / "detections" / "step_000100"
    else:
        shutil.move(run / "detections", outside)
        (run / "detections").symlink_to(outside)
        shown = run / "detections" / "step_000100"
    argv = ["score", str(run), "--voc-root", str(voc_root), "--quiet", "--no-cache"]
    capsys.readouterr()
    assert main(argv) == 2
    line = error_line(capsys)
    assert line.startswith(f"{shown}: detections folder is a symbolic link that leads outside")
    assert "--follow-symlinks" in line
    assert not RunFolder(run).eval_dir().exists() or not any(RunFolder(run).eval_dir().iterdir())
    assert main([*argv, "--follow-symlinks"]) == 0
    assert RunFolder(run).eval_path(100).is_file()


def test_a_checkpoint_linked_from_outside_the_run_is_not_read(tmp_path, capsys):
    """Issue 18: a checkpoint that is a link leading out of the run folder was read."""
    voc_root, run = make_run(tmp_path, steps=(100,), images=20)
    import shutil

    shutil.rmtree(run / "detections")
    secret = tmp_path / "secret.pt"
    secret.write_bytes(b"not for vocmap to read")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "step_000100.pt").symlink_to(secret)
    capsys.readouterr()
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet", "--no-cache"]) == 2
    line = error_line(capsys)
    assert line == (
        f"{run / 'checkpoints' / 'step_000100.pt'}: checkpoint is a symbolic link that leads "
        "outside the run folder; it is not followed (--follow-symlinks reads it)"
    )
    assert not (run / "detections" / "step_000100").exists()


@pytest.mark.parametrize(
    ("inner", "command"),
    [("history.csv", "plot"), ("eval/voc07/step_000200.json", "table"), ("config.json", "score")],
)
def test_a_fifo_inside_a_run_folder_never_hangs(scored, tmp_path, capsys, inner, command):
    """Issue 18: files of a run folder were read with read_bytes/open: a FIFO hung
    (plot's history.csv). They are opened through vocmap.io.files now: refused at once
    and named, or (a step's result, config.json) passed over as not a file."""
    import os

    from cli_check import within_seconds

    voc_root, run = scored
    (run / inner).unlink(missing_ok=True)
    os.mkfifo(run / inner)
    argv = {
        "plot": ["plot", str(run), "--out-dir", str(tmp_path / "plots"), "--step", "100"],
        "table": ["table", str(run)],
        "score": ["score", str(run), "--voc-root", str(voc_root), "--quiet", "--no-cache",
                  "--classes", *CLASSES],
    }[command]  # fmt: skip
    capsys.readouterr()
    with within_seconds(20):
        status = main(argv)
    if command == "plot":
        assert status == 2
        line = error_line(capsys)
        assert line.startswith(f"{run / inner}: ") and "a FIFO" in line, line
    else:
        assert status == 0, capsys.readouterr().err
