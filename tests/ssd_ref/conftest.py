"""Test set-up for ssd_ref: the helper modules on sys.path, and the shared trained run
(the ``small`` preset)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the helpers: trained_run, ddp_worker

from trained_run import make_trained_run  # noqa: E402


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A trained run folder (see :func:`trained_run.make_trained_run`), made once per session."""
    return make_trained_run(tmp_path_factory.mktemp("trained_run"))
