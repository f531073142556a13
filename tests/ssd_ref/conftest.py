"""Test set-up for ssd_ref: the helper modules on sys.path, and the shared tiny run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the helpers: tiny_run, ddp_worker

from tiny_run import make_tiny_run  # noqa: E402


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A trained tiny run folder (see :func:`tiny_run.make_tiny_run`), made once per session."""
    return make_tiny_run(tmp_path_factory.mktemp("tiny_run"))
