"""Shared test set-up: importable helpers, and a private annotation cache per session."""

from __future__ import annotations

import importlib.util
import os
import shutil
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

from shared_cache import cache_root  # noqa: E402

#: A folder of compiled kernels left alone this long is removed.
STALE_KERNEL_FOLDER_DAYS = 7


def _share_compiled_kernels() -> None:
    """numba's compiled kernels kept across clones and sessions, under the shared
    cache folder, in a folder named by a hash of the kernels' sources
    (vocmap/testing/numba_cache.py): a fresh clone does not compile them again.
    Runs before any test module imports numba; child processes inherit it."""
    root = cache_root()
    if root is None or "NUMBA_CACHE_LOCATOR_CLASSES" in os.environ:
        return  # nothing kept, or the caller chose numba's locators
    import time

    from vocmap.testing.numba_cache import FOLDER_VARIABLE, LOCATORS, kernel_sources_key

    folder = root / f"numba-{kernel_sources_key(Path(__file__).resolve().parents[1])}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)
        for other in root.glob("numba-*"):
            age = time.time() - other.stat().st_mtime
            if other != folder and age > STALE_KERNEL_FOLDER_DAYS * 86400:
                shutil.rmtree(other, ignore_errors=True)
    except OSError:
        return  # not writable: numba's own cache, beside the sources
    os.environ[FOLDER_VARIABLE] = str(folder)
    os.environ["NUMBA_CACHE_LOCATOR_CLASSES"] = LOCATORS
    from numba.core import config  # imported above, before the variable was set

    config.CACHE_LOCATOR_CLASSES = LOCATORS


_share_compiled_kernels()


#: Test files that run longest, started first under pytest-xdist (so that none of them
#: is left running alone at the end); the shared trained run's tests go before all.
LONG_FIRST = (
    "tests/ssd_ref/test_training.py",
    "tests/ssd_ref/test_end_to_end.py",
    "tests/test_kernels_without_jit.py",
    "tests/test_notebook.py",
    "tests/test_wheel_install.py",
)


def _shares_a_fixture(item) -> bool:
    definitions = getattr(item, "_fixtureinfo", None)
    if definitions is None:
        return False
    return any(
        d.scope in ("class", "module", "package")
        for defs in definitions.name2fixturedefs.values()
        for d in defs
    )


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups
def pytest_collection_modifyitems(config, items) -> None:
    """Groups for pytest-xdist's ``--dist loadgroup`` (``make test``): the tests of a file
    that use a module- or class-scoped fixture run on one worker (it is made once), every
    test of the shared trained run on one worker (trained or copied once), any other
    test wherever a worker is free; the longest start first, the groups before the
    single tests."""
    for item in items:
        if "trained_run" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group("trained_run"))
        elif _shares_a_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))

    def rank(item) -> int:
        if "trained_run" in item.fixturenames:
            return 0
        path = item.nodeid.split("::")[0]
        if path in LONG_FIRST:
            return 1 + LONG_FIRST.index(path)
        # Then the other groups (each goes to one worker whole), then the single
        # tests, which fill whichever worker is free at the end.
        grouped = item.get_closest_marker("xdist_group") is not None
        return len(LONG_FIRST) + (1 if grouped else 2)

    items.sort(key=rank)  # stable: the order within a rank stays


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
