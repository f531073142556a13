"""benchmarks/gpu_check.sh runs end to end on a CPU (smoke mode) and prints every figure."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fixture_paths import REPO


@pytest.mark.slow
def test_gpu_check_smoke_prints_every_figure():
    run = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "--smoke"],
        cwd=REPO,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    for figure in (
        "train step [reference]",
        "train step [fast]",
        "loader [reference]",
        "per worker",
        "short training [reference settings",
        "short training [fast settings",
        "detection [reference]",
        "detection [fast]",
        "mAP",
        "smoke mode, CPU: not GPU figures",
    ):
        assert figure in out, figure
