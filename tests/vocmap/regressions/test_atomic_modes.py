"""Atomic writes and file modes (issue 10): an existing 0600 file became 0644 and
the umask was ignored (the writer chmod-ed 0644); `--json` onto a symlink replaced
the link. Now: a replaced file keeps its mode, a new one follows the umask, and a
symlink is written through (the link stays, the file it names gets the content)."""

from __future__ import annotations

import json
import os
import stat

import pytest
from fixture_paths import DEMO
from restricted import leftovers

from vocmap.cli import main
from vocmap.core.atomic import OutputError, atomic_open, atomic_write_text

DEMO_ARGS = ["evaluate", str(DEMO / "results"), "--voc-root", str(DEMO / "VOC2007")]


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Set a umask for the test; the old one is restored."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda value: os.umask(value)
    os.umask(old)


def test_existing_0600_file_keeps_its_mode(tmp_path, capsys):
    target = tmp_path / "r.json"
    target.write_text("old")
    target.chmod(0o600)
    assert main([*DEMO_ARGS, "--json", str(target)]) == 0
    capsys.readouterr()
    assert mode(target) == 0o600
    assert json.loads(target.read_text())["map"] == 0.7863302603064434
    target.chmod(0o640)
    atomic_write_text(target, "new\n")
    assert mode(target) == 0o640 and target.read_text() == "new\n"


def test_new_files_follow_the_umask(tmp_path, umask):
    for mask, expected in ((0o077, 0o600), (0o027, 0o640), (0o022, 0o644), (0o002, 0o664)):
        umask(mask)
        target = tmp_path / f"new-{mask:o}.txt"
        atomic_write_text(target, "x\n")
        assert mode(target) == expected, oct(mask)


def test_set_id_bits_are_not_carried_over(tmp_path):
    target = tmp_path / "tool"
    target.write_text("old")
    target.chmod(0o4755)
    atomic_write_text(target, "new")
    assert mode(target) == 0o755


def test_json_onto_a_symlink_writes_through_it(tmp_path, capsys):
    real = tmp_path / "results" / "run1.json"
    real.parent.mkdir()
    real.write_text("old")
    real.chmod(0o600)
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    assert main([*DEMO_ARGS, "--json", str(link)]) == 0
    capsys.readouterr()
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads(real.read_text())["map"] == 0.7863302603064434
    assert mode(real) == 0o600
    assert leftovers(tmp_path) == [] and leftovers(real.parent) == []


def test_a_dangling_symlink_creates_the_file_it_names(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "target.txt")
    atomic_write_text(link, "hello\n")
    assert link.is_symlink() and (tmp_path / "target.txt").read_text() == "hello\n"


def test_a_failing_body_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "r.txt"
    target.write_text("old")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), atomic_open(target) as handle:
        handle.write("partial")
        raise Boom
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_output_error_is_also_an_oserror_with_its_code(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError) as error:
        atomic_write_text(tmp_path / "file" / "x", "y")
    assert isinstance(error.value, OutputError)
    assert (
        str(error.value)
        == f"cannot write {tmp_path / 'file' / 'x'}: a parent of it is not a folder"
    )
    assert error.value.errno is not None
