"""Test set-up for ssd_ref: the real packages on sys.path, and the shared tiny run.

tests/conftest.py puts tests/ first on sys.path; run as ``.venv/bin/pytest``
(where the working directory is not on sys.path) the folders tests/ssd_ref and
tests/vocmap then shadow the installed packages as namespace packages, and
``vocmap/__init__.py`` (its lazy exports) never runs. A regular package found
anywhere on sys.path wins over namespace folders, so the repository root is
appended here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the helpers: tiny_run, ddp_worker
for _name in ("ssd_ref", "vocmap"):
    _module = sys.modules.get(_name)
    if _module is not None and getattr(_module, "__file__", None) is None:
        del sys.modules[_name]  # a namespace stand-in imported too early

from tiny_run import make_tiny_run  # noqa: E402


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A trained tiny run folder (see :func:`tiny_run.make_tiny_run`), made once per session."""
    return make_tiny_run(tmp_path_factory.mktemp("tiny_run"))
