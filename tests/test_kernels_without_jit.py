"""The parity tests again with numba's compiler off (``NUMBA_DISABLE_JIT=1``), in a
child pytest: every kernel, run as the plain Python it is written in, still agrees
with its twin. (Python's and numba's semantics differ in places, integer overflow
and 0/0 among them; the kernels must mean the same under both.) The child runs
while the other worker goes on, instead of as a second pass after the suite."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fixture_paths import REPO

#: The property tests that compare a kernel with a plain-Python twin.
PARITY_TESTS = (
    "tests/vocmap/test_kernels_parity.py",
    "tests/vocmap/test_text_kernels_parity.py",
    "tests/vocmap/test_diagnose_kernels_parity.py",
    "tests/vocmap/test_coco_parity.py",
    "tests/vocmap/test_bootstrap_parity.py",
    "tests/vocmap/test_coco_fast_parity.py",
)


@pytest.mark.slow
def test_the_parity_tests_pass_with_the_jit_off():
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("this session already runs without the JIT")
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    done = subprocess.run(
        [*command, *PARITY_TESTS], cwd=REPO, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1] and "skipped" not in done.stdout, done.stdout
