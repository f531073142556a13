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
        timeout=360,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    for figure in (
        "data: 4 synthetic small images and their cache",
        "train step [reference] batch 2, fixed batch",
        "train step [fast] batch 2, fixed batch",
        "fed by the cpu pipeline",
        "fed by the batched pipeline",
        "the pipeline alone",
        "peak GPU memory [reference]",
        "peak GPU memory [fast]",
        "detection [reference] 4 images",
        "detection [fast] 4 images",
        "short training [fast, SSD300 at 0.0625 width, batched pipeline] step 2: loss",
        "short training [fast, SSD300 at 0.0625 width]: 2 steps",
        "smoke mode, CPU: not GPU figures",
    ):
        assert figure in out, figure
    assert all(line.startswith("gpu_check: ") for line in out.splitlines())
    assert out.count("fed by the batched pipeline") == 2
