"""Shared test set-up: importable helpers, and a private annotation cache per session."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# The property tests draw the same examples on every run, so CI is repeatable;
# VOCMAP_HYPOTHESIS_EXPLORE=1 draws new ones (and keeps failures in .hypothesis/).
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(
    "explore" if os.environ.get("VOCMAP_HYPOTHESIS_EXPLORE") == "1" else "repeatable"
)

# A core-only install (numpy, numba, lxml, pytest, hypothesis) runs the
# evaluator's tests; the trainer's need the train extra (torch, OpenCV).
TRAIN_EXTRA = all(importlib.util.find_spec(m) is not None for m in ("torch", "cv2"))
collect_ignore = [] if TRAIN_EXTRA else ["ssd_ref"]


def pytest_report_header(config) -> str | None:
    if not TRAIN_EXTRA:
        return "torch or OpenCV missing (the train extra): tests/ssd_ref are not collected"
    return None


# Helpers the tests import (fixture_paths, reference_devkit, case_builder, run_builder).
# Only this folder goes on sys.path: putting tests/ there would let the folders
# tests/vocmap and tests/ssd_ref shadow the real packages as namespace packages.
sys.path.insert(0, str(Path(__file__).resolve().parent / "helpers"))


@pytest.fixture(autouse=True, scope="session")
def _private_annotation_cache(tmp_path_factory):
    """Keep the annotation cache of the tests out of the user's ~/.cache."""
    old = os.environ.get("VOCMAP_CACHE_DIR")
    os.environ["VOCMAP_CACHE_DIR"] = str(tmp_path_factory.mktemp("vocmap-cache"))
    yield
    if old is None:
        os.environ.pop("VOCMAP_CACHE_DIR", None)
    else:
        os.environ["VOCMAP_CACHE_DIR"] = old
