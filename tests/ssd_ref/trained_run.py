"""Train the ``small`` preset (the tiny SSD) on the synthetic set once per test session;
hand out copies of the run.

``make_trained_run(tmp_dir) -> Path`` returns ``tmp_dir/run``, a run folder with
``config.json``, ``history.csv`` and ``checkpoints/step_000100.pt`` ..
``step_000400.pt`` (no ``detections/``). The first call in a process trains
(about 1.5-2 minutes on two idle CPU cores); later calls copy that run, so
each caller may write into its own folder freely. The run's synthetic data
set is at :func:`trained_run_voc_root` (``config.json``'s ``data.voc_root`` /
``SYNTH``; images of ``ImageSets/Main/test.txt`` are held out from training).

From a test outside tests/ssd_ref::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ssd_ref"))
    from trained_run import make_trained_run, trained_run_voc_root
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

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


def make_trained_run(tmp_dir: str | os.PathLike) -> Path:
    """A copy of the session's trained run at ``tmp_dir/run`` (trained on first use)."""
    tmp_dir = Path(tmp_dir)
    if "run" not in _trained:
        _trained["run"] = train_shared_run(tmp_dir / "trained_run_cache")
    target = tmp_dir / "run"
    if not target.exists():
        shutil.copytree(_trained["run"], target)
    return target


def trained_run_voc_root(run_dir: str | os.PathLike) -> Path:
    """The VOC year folder (Annotations/, JPEGImages/, ImageSets/Main/) the run was trained on."""
    config = json.loads((Path(run_dir) / "config.json").read_text())
    return Path(config["data"]["voc_root"]) / SYNTHETIC_FOLDER
