"""`vocmap score --jobs 2` killed with -9: both workers stayed alive forever
(issue 10), blocked on a queue whose other end nobody would write again. Now each
worker watches its parent and leaves when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from fixture_paths import REPO
from run_builder import make_run

from vocmap.runs.contract import RunFolder

SCORER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {helpers!r})
    from run_builder import CLASSES
    import vocmap
    from vocmap.runs.scoring import ScoreSettings, score_run
    from vocmap.testing.synthetic import generate_annotations, generate_detections

    root = Path({root!r})
    objects = generate_annotations(root / "scratch", images=30, classes=CLASSES, seed=3)

    def slow_detect(run, step, settings):
        # Stands in for a model: slow, so the workers wait for work when killed.
        time.sleep(2.0)
        generate_detections(run.detection_dir(step), objects, detections_per_image=5, seed=step)

    gt = vocmap.read_voc(root / "VOC2007", cache=False)
    score_run(
        root / "run", gt, ScoreSettings(classes=CLASSES), jobs=2, progress=None,
        detect=slow_detect,
    )
    """
)


def children_of(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_leave_when_score_is_killed(tmp_path):
    _, run = make_run(tmp_path, steps=(100,), images=30)
    checkpoints = RunFolder(run).checkpoints_dir
    checkpoints.mkdir(parents=True)
    for step in range(200, 2000, 100):
        (checkpoints / f"step_{step:06d}.pt").write_bytes(b"x")
    script = SCORER.format(helpers=str(REPO / "tests" / "helpers"), root=str(tmp_path))
    scorer = subprocess.Popen(
        [sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    workers: set[int] = set()
    try:
        deadline = time.time() + 120
        # Wait until the workers exist and have evaluated a step (they are set up).
        while time.time() < deadline and scorer.poll() is None:
            workers = children_of(scorer.pid)
            if len(workers) >= 2 and RunFolder(run).evaluated():
                break
            time.sleep(0.1)
        assert scorer.poll() is None and len(workers) >= 2, "the workers never started"
        scorer.send_signal(signal.SIGKILL)
        scorer.wait()
        deadline = time.time() + 20
        while time.time() < deadline and any(alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not [pid for pid in workers if alive(pid)], "workers outlived the killed scorer"
    finally:
        if scorer.poll() is None:
            scorer.kill()
            scorer.wait()
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
