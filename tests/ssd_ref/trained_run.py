"""Train the ``small`` preset (the tiny SSD) on the synthetic set once; hand out copies of the run.

``make_trained_run(tmp_dir) -> Path`` returns ``tmp_dir/run``, a run folder with
``config.json``, ``history.csv`` and ``checkpoints/step_000100.pt`` ..
``step_000400.pt`` (no ``detections/``). Training takes about 1.5-2 minutes on two
idle CPU cores, so the run is kept in a cache folder shared by test sessions and by
pytest-xdist's workers: ``$VOCMAP_TEST_CACHE``, else ``$XDG_CACHE_HOME/vocmap-tests``,
else ``~/.cache/vocmap-tests``. Its name holds a hash of everything that shapes the
run (ssd_ref's and this file's sources, the versions of Python, torch, numpy and
OpenCV), so a changed trainer trains anew; a file lock makes concurrent sessions and
workers train it once, and a run without its ``complete`` mark (a killed session's)
is trained again.
``VOCMAP_TEST_CACHE=off`` trains into the session's temporary folder instead.
Each caller gets a copy, so it may write into its own folder freely. The run's
synthetic data set is at :func:`trained_run_voc_root` (``config.json``'s
``data.voc_root`` / ``SYNTH``; images of ``ImageSets/Main/test.txt`` are held out
from training).

From a test outside tests/ssd_ref::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ssd_ref"))
    from trained_run import make_trained_run, trained_run_voc_root
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from shared_cache import cache_root  # tests/helpers

from ssd_ref.config import SSDConfig, apply_overrides, small_config

#: The synthetic set: generator seed and sizes; the training seed.
SYNTHETIC_SEED = 0
NUM_TRAINVAL = 240
NUM_TEST = 100
TRAIN_SEED = 0
SYNTHETIC_FOLDER = "SYNTH"

_trained: dict[str, Path] = {}


def trained_run_config(data_root: str | os.PathLike, seed: int = TRAIN_SEED) -> SSDConfig:
    """The small preset pointed at ``data_root`` (it checkpoints every 100 of its 400 steps)."""
    return apply_overrides(
        small_config(), [f"data.voc_root={json.dumps(str(data_root))}", f"run.seed={seed}"]
    )


def train_shared_run(
    base: Path, synthetic_seed: int = SYNTHETIC_SEED, seed: int = TRAIN_SEED
) -> Path:
    """Generate the synthetic set under ``base/data`` and train into ``base/run``."""
    from ssd_ref.data.synthetic import make_synthetic_voc
    from ssd_ref.engine.trainer import train

    make_synthetic_voc(
        base / "data", seed=synthetic_seed, num_trainval=NUM_TRAINVAL, num_test=NUM_TEST,
        folder=SYNTHETIC_FOLDER,
    )  # fmt: skip
    train(trained_run_config(base / "data", seed), base / "run")
    return base / "run"


def _cache_key() -> str:
    """A hash of what shapes the trained run: sources, versions, the settings above."""
    import cv2
    import numpy
    import torch

    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[2]
    sources = [*sorted((root / "ssd_ref").rglob("*.py")), Path(__file__).resolve()]
    for path in sources:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    versions = (platform.python_version(), torch.__version__, numpy.__version__, cv2.__version__)
    digest.update(repr(versions).encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` (created), released on exit."""
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_trained_run(fallback: Path, say: Callable[[str], None] = lambda _: None) -> Path:
    """The trained run, from the cache when there (trained into it first when not).

    ``fallback``: where to train when the cache is off or cannot be written.
    ``say``: where progress lines go while training.
    """
    if "run" in _trained:
        return _trained["run"]
    root = cache_root()
    if root is not None:
        try:
            root.mkdir(parents=True, exist_ok=True)
            final = root / f"trained-run-{_cache_key()}"
            with _locked(root / f"{final.name}.lock"):
                if not (final / "complete").is_file():  # absent, or a killed session's half
                    shutil.rmtree(final, ignore_errors=True)
                    _train_saying(final, say)
                    (final / "complete").write_text("trained\n")
            _trained["run"] = final / "run"
            return _trained["run"]
        except OSError as error:
            say(f"trained-run cache not usable ({error}); training in the session's folder")
    _trained["run"] = _train_saying(fallback, say)
    return _trained["run"]


def _train_saying(base: Path, say: Callable[[str], None]) -> Path:
    import logging
    import time

    started = time.monotonic()
    say("training the shared run (the small preset, 400 steps; about 2 minutes, once)")

    class Relay(logging.Handler):
        """The trainer's log lines, one every 10 s at most."""

        last = started

        def emit(self, record: logging.LogRecord) -> None:
            line = record.getMessage().strip().splitlines()
            now = time.monotonic()
            if line and now - Relay.last >= 10:
                Relay.last = now
                say(f"{now - started:4.0f} s: {line[0][:100]}")

    relay = Relay(logging.INFO)
    trainer_log = logging.getLogger("ssd_ref")
    old_level = trainer_log.level
    trainer_log.addHandler(relay)
    trainer_log.setLevel(logging.INFO)
    try:
        run = train_shared_run(base)
    finally:
        trainer_log.removeHandler(relay)
        trainer_log.setLevel(old_level)
    say(f"shared run trained in {time.monotonic() - started:.0f} s")
    return run


def make_trained_run(tmp_dir: str | os.PathLike, say: Callable[[str], None] | None = None) -> Path:
    """A copy of the trained run at ``tmp_dir/run`` (trained on first use)."""
    tmp_dir = Path(tmp_dir)
    source = shared_trained_run(tmp_dir / "trained_run_cache", say or _stderr)
    target = tmp_dir / "run"
    if not target.exists():
        shutil.copytree(source, target)
    return target


def _stderr(line: str) -> None:
    print(f"[trained run] {line}", file=sys.stderr, flush=True)


def trained_run_voc_root(run_dir: str | os.PathLike) -> Path:
    """The VOC year folder (Annotations/, JPEGImages/, ImageSets/Main/) the run was trained on."""
    config = json.loads((Path(run_dir) / "config.json").read_text())
    return Path(config["data"]["voc_root"]) / SYNTHETIC_FOLDER
