"""Running vocmap in a subprocess, optionally where file permissions apply even to root.

Tests of read-only folders and installations need a process that a mode of 0555
stops. Root ignores modes (CAP_DAC_OVERRIDE); :func:`restricted` returns a
``preexec_fn`` that drops that capability (and CAP_DAC_READ_SEARCH, CAP_FOWNER)
from the child's bounding set, so the exec'd process is root without the
override. As another user nothing needs dropping.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

from fixture_paths import REPO

_PR_CAPBSET_DROP = 24
_CAPS = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER


def _drop_override() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in _CAPS:
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            os._exit(99)


def restricted():
    """A preexec_fn under which permissions apply (None when not root)."""
    return _drop_override if os.geteuid() == 0 else None


def permissions_apply(folder: Path) -> bool:
    """True if a restricted child cannot write into the read-only ``folder``."""
    probe = subprocess.run(
        ["sh", "-c", f"touch '{folder}/.probe' 2>/dev/null"], preexec_fn=restricted()
    )
    if probe.returncode == 0:
        (folder / ".probe").unlink()
        return False
    return probe.returncode != 99


def vocmap_env(**extra: str) -> dict[str, str]:
    """The environment for ``python -m vocmap`` from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.update(extra)
    return env


def run_vocmap(
    args: list[str], *, restrict: bool = False, env: dict | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """``python -m vocmap ARGS`` (text output captured unless told otherwise)."""
    kwargs.setdefault("capture_output", "stdout" not in kwargs and "stderr" not in kwargs)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 120)
    return subprocess.run(
        [sys.executable, "-m", "vocmap", *args],
        env=env or vocmap_env(),
        preexec_fn=restricted() if restrict else None,
        **kwargs,
    )


def one_error_line(stderr: str) -> str:
    """The single ``vocmap: error:`` line of ``stderr`` (asserting there is no traceback)."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("vocmap: error: "), stderr
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    """Names in ``folder`` that look like temporaries (``.*.tmp``, ``.*.tmp-*``)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and ".tmp" in p.name)
