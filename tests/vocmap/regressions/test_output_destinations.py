"""Outputs that cannot be written: one line naming the file, exit 2, nothing partial.

Each of these was a Python traceback (issue 10): `--json` into a read-only
folder, onto a folder, under a path whose parent is a file, onto a full disk or
/dev/full, with a 250-character name; stdout closed or full; a broken pipe.
`--json ''` wrote nothing silently and `--json - --csv -` concatenated two
documents on stdout.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys

import pytest
from fixture_paths import DEMO, FIXTURES
from restricted import leftovers, one_error_line, permissions_apply, run_vocmap, vocmap_env

from vocmap.cli import main

DEMO_ARGS = ["evaluate", str(DEMO / "results"), "--voc-root", str(DEMO / "VOC2007")]
DEMO_MAP = "0.7863302603064434"
SEED_CSV_PATH = FIXTURES / "seed_summary" / "ap_by_step.csv"


def test_json_into_a_read_only_folder_is_one_line(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if not permissions_apply(folder):
        pytest.skip("cannot make a folder read-only for a child process here")
    target = folder / "r.json"
    run = run_vocmap([*DEMO_ARGS, "--json", str(target)], restrict=True)
    assert run.returncode == 2
    assert one_error_line(run.stderr) == f"vocmap: error: cannot write {target}: Permission denied"
    assert list(folder.iterdir()) == []
    assert run.stdout == ""  # files are written before stdout: the table never came


def test_json_onto_a_folder_is_refused(tmp_path, capsys):
    target = tmp_path / "out"
    target.mkdir()
    assert main([*DEMO_ARGS, "--json", str(target)]) == 2
    err = capsys.readouterr().err
    assert one_error_line(err) == f"vocmap: error: cannot write {target}: it is a folder"
    assert list(target.iterdir()) == []
    assert leftovers(tmp_path) == []


def test_json_under_a_parent_that_is_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("keep\n")
    target = tmp_path / "file" / "r.json"
    assert main([*DEMO_ARGS, "--json", str(target)]) == 2
    err = capsys.readouterr().err
    assert one_error_line(err) == (
        f"vocmap: error: cannot write {target}: a parent of it is not a folder"
    )
    assert (tmp_path / "file").read_text() == "keep\n"
    assert leftovers(tmp_path) == []


def test_json_onto_dev_full_is_one_line(capsys):
    assert main([*DEMO_ARGS, "--json", "/dev/full"]) == 2
    err = capsys.readouterr().err
    assert one_error_line(err) == ("vocmap: error: cannot write /dev/full: No space left on device")


def _limit_file_size() -> None:
    # A disk that fills up after 1,000 bytes: writes beyond fail (EFBIG), as ENOSPC would.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))


def test_full_disk_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old\n")
    run = subprocess.run(
        [sys.executable, "-m", "vocmap", *DEMO_ARGS, "--json", str(target)],
        env=vocmap_env(),
        preexec_fn=_limit_file_size,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert one_error_line(run.stderr) == f"vocmap: error: cannot write {target}: File too large"
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_a_250_character_name_is_written(tmp_path, capsys):
    for length in (250, 255):
        target = tmp_path / ("r" * (length - 5) + ".json")
        assert main([*DEMO_ARGS, "--json", str(target)]) == 0
        assert json.loads(target.read_text())["map"] == float(DEMO_MAP)
    assert leftovers(tmp_path) == []
    capsys.readouterr()


def test_empty_json_name_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main([*DEMO_ARGS, "--json", ""])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "argument --json: needs a file name, or - for stdout (got '')" in err
    assert list(tmp_path.iterdir()) == []


def test_two_documents_for_stdout_are_refused(capsys):
    assert main([*DEMO_ARGS, "--json", "-", "--csv", "-"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert one_error_line(err) == (
        "vocmap: error: --json and --csv both go to stdout: one document there at most "
        "(write the other to a file)"
    )
    assert main([*DEMO_ARGS, "--format", "csv", "--json", "-"]) == 2
    assert "--format and --json both go to stdout" in capsys.readouterr().err


def test_two_documents_for_one_file_are_refused(tmp_path, capsys):
    target = tmp_path / "r.json"
    assert main([*DEMO_ARGS, "--out", str(target), "--json", str(target)]) == 2
    assert "--out and --json both write" in one_error_line(capsys.readouterr().err)
    assert not target.exists()


def test_closed_stdout_is_one_line_and_files_still_work(tmp_path):
    closed = {"stdout": None, "preexec_fn": lambda: os.close(1)}
    run = subprocess.run(
        [sys.executable, "-m", "vocmap", *DEMO_ARGS],
        env=vocmap_env(),
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        **closed,
    )
    assert run.returncode == 2
    assert one_error_line(run.stderr) == (
        "vocmap: error: cannot write stdout: it is closed (give --out FILE)"
    )
    target = tmp_path / "r.txt"
    run = subprocess.run(
        [sys.executable, "-m", "vocmap", *DEMO_ARGS, "--out", str(target)],
        env=vocmap_env(),
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        **closed,
    )
    assert run.returncode == 0, run.stderr
    assert target.read_text().splitlines()[-1].split() == ["mAP", "0.7863"]
    assert leftovers(tmp_path) == []


def test_full_stdout_is_one_line():
    with open("/dev/full", "w") as full:
        run = subprocess.run(
            [sys.executable, "-m", "vocmap", *DEMO_ARGS],
            env=vocmap_env(),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert run.returncode == 2
    assert one_error_line(run.stderr) == (
        "vocmap: error: cannot write stdout: No space left on device"
    )


def test_broken_pipe_exits_quietly():
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before vocmap writes
    try:
        run = subprocess.run(
            [sys.executable, "-m", "vocmap", *DEMO_ARGS],
            env=vocmap_env(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert run.returncode == 141  # as a shell shows a command ended by SIGPIPE
    assert run.stderr == ""


def test_piped_into_head_shows_no_traceback():
    script = f"{sys.executable} -m vocmap {' '.join(DEMO_ARGS)} --format csv | head -n 1"
    run = subprocess.run(
        ["sh", "-c", script], env=vocmap_env(), capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0
    assert run.stdout == "class,ap,npos,detections,tp,fp,ignored,recall\n"
    assert run.stderr == ""


def test_table_out_onto_a_folder_and_into_a_read_only_folder(tmp_path, capsys):
    assert main(["table", str(SEED_CSV_PATH), "--out", str(tmp_path)]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"vocmap: error: cannot write {tmp_path}: it is a folder"
    )
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if not permissions_apply(folder):
        pytest.skip("cannot make a folder read-only for a child process here")
    run = run_vocmap(["table", str(SEED_CSV_PATH), "--out", str(folder / "t.md")], restrict=True)
    assert run.returncode == 2
    assert one_error_line(run.stderr) == (
        f"vocmap: error: cannot write {folder / 't.md'}: Permission denied"
    )
    assert list(folder.iterdir()) == []


def test_an_unreadable_input_is_one_line_naming_it(tmp_path):
    table = tmp_path / "ap.csv"
    table.write_text(SEED_CSV_PATH.read_text())
    table.chmod(0o000)
    probe = tmp_path / "probe"
    probe.mkdir(mode=0o555)
    if not permissions_apply(probe):
        table.chmod(0o644)
        pytest.skip("cannot make a file unreadable for a child process here")
    run = run_vocmap(["table", str(table)], restrict=True)
    table.chmod(0o644)
    assert run.returncode == 2
    assert one_error_line(run.stderr) == (f"vocmap: error: {table}: AP table: permission denied")
