"""Temporaries left by a killed writer were never cleaned up (issue 10). Now the
next write of the same file removes them, and only provably stale ones of ours:
our naming, our user, this host's tag, a process that is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from fixture_paths import REPO
from restricted import leftovers

from vocmap.core.atomic import HOST_TAG, atomic_write_text, remove_stale_temporaries
from vocmap.runs.contract import publish_folder
from vocmap.runs.contract import remove_stale_temporaries as remove_stale_folders

KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {repo!r})
    from vocmap.core.atomic import atomic_open
    with atomic_open({target!r}) as handle:
        handle.write("half")
        handle.flush()
        print("writing", flush=True)
        time.sleep(60)
    """
)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_temporary_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "r.json"
    script = KILLED_WRITER.format(repo=str(REPO), target=str(target))
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "writing\n"
    left = leftovers(tmp_path)
    assert len(left) == 1 and left[0].startswith(".r.json.") and left[0].endswith(".tmp")
    # While the writer lives, its temporary is not ours to delete.
    assert remove_stale_temporaries(tmp_path) == []
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    assert not target.exists() and leftovers(tmp_path) == left  # killed: the temporary stays
    atomic_write_text(target, "whole\n")
    assert target.read_text() == "whole\n"
    assert leftovers(tmp_path) == []


def test_only_stale_temporaries_of_ours_are_removed(tmp_path):
    gone = dead_pid()
    alive = subprocess.Popen(["sleep", "30"])
    try:
        names = {
            "stale": f".r.json.{HOST_TAG}-{gone}-0123abcd.tmp",
            "live writer": f".r.json.{HOST_TAG}-{alive.pid}-0123abcd.tmp",
            "this process": f".r.json.{HOST_TAG}-{os.getpid()}-0123abcd.tmp",
            "other host": f".r.json.{'0' * 8 if HOST_TAG != '0' * 8 else '1' * 8}-{gone}-0123abcd.tmp",
            "other file": f".other.json.{HOST_TAG}-{gone}-0123abcd.tmp",
            "not our naming": f".r.json.{gone}.tmp",
            "a user's file": "r.json.tmp",
        }
        for name in names.values():
            (tmp_path / name).write_text("x")
        link = tmp_path / f".r.json.{HOST_TAG}-{gone}-feedf00d.tmp"
        link.symlink_to(tmp_path / "a user's file")
        atomic_write_text(tmp_path / "r.json", "new\n")
        remaining = {p.name for p in tmp_path.iterdir()}
        assert names["stale"] not in remaining
        assert {n for k, n in names.items() if k != "stale"} <= remaining
        assert link.is_symlink()  # a link is never ours to delete
        # Without a name, every stale temporary of the folder goes (the other file's too).
        removed = {p.name for p in remove_stale_temporaries(tmp_path)}
        assert removed == {names["other file"]}
    finally:
        alive.kill()
        alive.wait()


def test_a_killed_scorers_temporary_folder_is_removed(tmp_path):
    detections = tmp_path / "detections"
    detections.mkdir()
    gone = dead_pid()
    stale = detections / f".step_000100.tmp-{HOST_TAG}-{gone}"
    old_style = detections / f".step_000200.tmp-{gone}"  # before the host tag
    other_host = (
        detections / f".step_000300.tmp-{'0' * 8 if HOST_TAG != '0' * 8 else '1' * 8}-{gone}"
    )
    live = detections / f".step_000400.tmp-{HOST_TAG}-{os.getpid()}"
    for folder in (stale, old_style, other_host, live):
        folder.mkdir()
        (folder / "comp4_det_test_dog.txt").write_text("")
    removed = set(remove_stale_folders(detections))
    assert removed == {stale, old_style}
    assert other_host.is_dir() and live.is_dir()


def test_published_folder_appears_whole(tmp_path):
    final = tmp_path / "step_000100"
    with publish_folder(final) as temporary:
        (temporary / "a.txt").write_text("a")
        assert not final.exists()
        assert temporary.name == f".step_000100.tmp-{HOST_TAG}-{os.getpid()}"
    assert (final / "a.txt").read_text() == "a"
    assert leftovers(tmp_path) == []
