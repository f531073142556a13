"""The test sessions' shared numba cache (vocmap/testing/numba_cache.py): its folder
name changes with every kernel and everything of ours a kernel imports, and only then."""

from __future__ import annotations

import os

from vocmap.testing.numba_cache import FOLDER_VARIABLE, SharedTestCacheLocator, kernel_sources_key

KERNELS = "from numba import njit\nfrom vocmap.core.constants import LIMIT\n\n@njit\ndef f(x):\n    return x < LIMIT\n"


def tree(root, limit: int = 3, other: str = "A = 1\n", kernels: str = KERNELS):
    for package in ("vocmap", "vocmap/core", "vocmap/report", "ssd_ref"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    (root / "vocmap/core/kernels.py").write_text(kernels)
    (root / "vocmap/core/constants.py").write_text(f"LIMIT = {limit}\n")
    (root / "vocmap/report/other.py").write_text(other)
    return root


def test_the_key_follows_the_kernels_and_what_they_import(tmp_path):
    base = kernel_sources_key(tree(tmp_path / "a"))
    assert kernel_sources_key(tree(tmp_path / "b")) == base  # another clone, same sources
    assert kernel_sources_key(tree(tmp_path / "c", limit=4)) != base  # an imported constant
    kernel_edit = KERNELS.replace("x < LIMIT", "x <= LIMIT")
    assert kernel_sources_key(tree(tmp_path / "d", kernels=kernel_edit)) != base
    assert kernel_sources_key(tree(tmp_path / "e", other="A = 2\n")) == base  # not imported


def test_the_locator_declines_without_its_folder(tmp_path, monkeypatch):
    source = tree(tmp_path / "a") / "vocmap/core/kernels.py"

    def f():
        return 1

    monkeypatch.delenv(FOLDER_VARIABLE, raising=False)
    assert SharedTestCacheLocator.from_function(f, str(source)) is None
    monkeypatch.setenv(FOLDER_VARIABLE, str(tmp_path / "cache"))
    locator = SharedTestCacheLocator.from_function(f, str(source))
    assert locator.get_cache_path() == os.path.join(tmp_path / "cache", "vocmap_core")
    assert os.path.isdir(locator.get_cache_path())
