"""The hostile-input suite's workspace and verdicts (see registry.py).

``workspace``: once per session (per xdist worker), a small VOC set, two folders of
devkit result files, a scored run folder, a result JSON and a diagnosis JSON, the
special files the mutators use, and a ``secret`` file outside every input: no entry
may open it (an audit hook watches every ``open`` while a case runs).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # registry, mutators

SECRET = "SECRET-CONTENT-7f3a"


class _OpenWatch:
    """Records whether the watched file was opened (``sys.addaudithook``: one hook a
    process, switched on only while a case runs)."""

    def __init__(self) -> None:
        self.target: str | None = None
        self.opened: list[str] = []
        self.lock = threading.Lock()
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if self.target is None or event != "open" or not args:
            return
        flags = args[2] if len(args) > 2 else None
        if isinstance(flags, int) and flags & getattr(os, "O_NOFOLLOW", 0):
            return  # a link is not followed: the open fails (io.files then checks it)
        path = args[0]
        if isinstance(path, int) or path is None:
            return
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return
        if real == self.target:
            with self.lock:
                self.opened.append(os.fsdecode(path))


_WATCH: _OpenWatch | None = None


def open_watch() -> _OpenWatch:
    global _WATCH
    if _WATCH is None:
        _WATCH = _OpenWatch()
    return _WATCH


@dataclass(frozen=True)
class Workspace:
    root: Path
    voc: Path
    results: Path
    results_b: Path
    run: Path
    result_json: Path
    diagnosis_json: Path
    table_csv: Path
    secret: Path
    fifo: Path
    empty_file: Path
    empty_folder: Path
    garbage: Path
    a_file: Path
    yolo: Path  # images/, labels/, pred/, data.yaml (tests/helpers/yolo_case.py)
    coco: Path  # instances.json and results.json (vocmap.testing.coco_cases)

    def fill(self, text: str, out: Path, run: Path | None = None) -> str:
        """A baseline argument with its placeholders replaced."""
        return text.format(
            voc=self.voc,
            results=self.results,
            results_b=self.results_b,
            run=run or self.run,
            result_json=self.result_json,
            diagnosis_json=self.diagnosis_json,
            table_csv=self.table_csv,
            yolo=self.yolo,
            coco=self.coco,
            out=out,
        )


def _quiet_main(argv: list[str]) -> int:
    from vocmap.cli import main

    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    try:
        status = main(argv)
    finally:
        err = sys.stderr.getvalue()
        sys.stdout, sys.stderr = saved
    assert status == 0, (argv, err)
    return status


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Workspace:
    from run_builder import make_run
    from yolo_case import make_split

    from vocmap.testing.coco_cases import coco_case

    root = tmp_path_factory.mktemp("hostile")
    voc, run = make_run(root / "data", steps=(100, 200), images=12)
    results = root / "results"
    shutil.copytree(run / "detections" / "step_000100", results)
    results_b = root / "results_b"
    shutil.copytree(run / "detections" / "step_000200", results_b)
    _quiet_main(["score", str(run), "--voc-root", str(voc), "--quiet"])
    result_json = root / "result.json"
    _quiet_main(["evaluate", str(results), "--voc-root", str(voc), "--json", str(result_json)])
    diagnosis_json = root / "diagnosis.json"
    _quiet_main(
        [
            "diagnose",
            str(results),
            "--voc-root",
            str(voc),
            "--top",
            "3",
            "--format",
            "json",
            "--out",
            str(diagnosis_json),
        ]
    )
    table_csv = root / "table.csv"
    _quiet_main(["table", str(run), "--format", "csv", "--out", str(table_csv)])
    special = root / "special"
    special.mkdir()
    secret_dir = root / "outside"
    secret_dir.mkdir()
    secret = secret_dir / "secret.txt"
    secret.write_text(SECRET + "\n")
    fifo = special / "fifo"
    os.mkfifo(fifo)
    empty_file = special / "empty.txt"
    empty_file.write_bytes(b"")
    empty_folder = special / "empty_folder"
    empty_folder.mkdir()
    garbage = special / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 8 + b"<script>alert(1)</script>\x1b]0;title\x07")
    a_file = special / "a_file.txt"
    a_file.write_text("not a folder\n")
    yolo = root / "yolo"
    yolo.mkdir()
    make_split(yolo, np.random.default_rng(4), images=6)
    coco = root / "coco"
    coco.mkdir()
    ground_truth, detections = coco_case(12, 3, 60, seed=5)
    (coco / "instances.json").write_text(json.dumps(ground_truth))
    (coco / "results.json").write_text(json.dumps(detections))
    watch = open_watch()
    watch.target = None
    return Workspace(
        root,
        voc,
        results,
        results_b,
        run,
        result_json,
        diagnosis_json,
        table_csv,
        secret,
        fifo,
        empty_file,
        empty_folder,
        garbage,
        a_file,
        yolo,
        coco,
    )
