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
def trained_run(tmp_path_factory, request) -> Path:
    """A trained run folder (see :func:`trained_run.make_trained_run`), made once: cached
    across sessions and pytest-xdist's workers. While it trains, progress lines reach
    the terminal (pytest's capture is suspended for each line)."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def say(line: str) -> None:
        with capture.global_and_fixture_disabled():
            sys.stderr.write(f"\n[trained run] {line}\n")
            sys.stderr.flush()

    return make_trained_run(tmp_path_factory.mktemp("trained_run"), say)
