"""numba's compiled kernels kept across clones, for test sessions only.

numba caches a kernel beside its source (``__pycache__``), so a fresh clone
compiles every kernel again: about a minute of CPU in ``make test``, on every
CI run. The test session (``tests/conftest.py``) names
:class:`SharedTestCacheLocator` in ``NUMBA_CACHE_LOCATOR_CLASSES`` (numba's own
setting; its child processes inherit it) and a folder in ``VOCMAP_TEST_NUMBA_CACHE``
whose name is :func:`kernel_sources_key`: a hash of every kernel module's source,
of every vocmap and ssd_ref module they import (numba freezes imported constants
and inlines imported kernels, which numba's own check, a hash of the kernel's
file alone, does not see), and of the versions of Python, numba, llvmlite and
NumPy. A clone with the same kernels finds them compiled; a changed kernel or
constant gets a new folder. numba still checks each file's hash, and the CPU.

vocmap's users never meet this: without the variable it declines, and numba's
own locators serve.
"""

from __future__ import annotations

import ast
import hashlib
import os
import platform
from pathlib import Path

from numba.core.caching import InTreeCacheLocator

#: The environment variable holding the session's cache folder.
FOLDER_VARIABLE = "VOCMAP_TEST_NUMBA_CACHE"
#: The value of ``NUMBA_CACHE_LOCATOR_CLASSES`` that puts this locator first.
LOCATORS = f"{__name__}.SharedTestCacheLocator,InTreeCacheLocator,UserWideCacheLocator"


class SharedTestCacheLocator(InTreeCacheLocator):
    """Caches ``<folder>/<package>_<subpackage>/`` (``vocmap_core``, ``ssd_ref_modeling``),
    ``<folder>`` from ``$VOCMAP_TEST_NUMBA_CACHE``; declines when that is unset."""

    def __init__(self, py_func, py_file) -> None:
        super().__init__(py_func, py_file)
        parts = os.path.dirname(os.path.abspath(py_file)).split(os.sep)[-2:]
        self._cache_path = os.path.join(os.environ[FOLDER_VARIABLE], "_".join(parts))

    @classmethod
    def from_function(cls, py_func, py_file):
        if not os.environ.get(FOLDER_VARIABLE):
            return None
        return super().from_function(py_func, py_file)


def _imported_files(path: Path, root: Path) -> set[Path]:
    """The vocmap and ssd_ref modules ``path`` imports (package ``__init__`` files left out)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name.split(".")[0] in ("vocmap", "ssd_ref"):
                module = root.joinpath(*name.split(".")).with_suffix(".py")
                if module.is_file():
                    found.add(module)
    return found


def kernel_sources_key(root: str | os.PathLike) -> str:
    """A hash of the kernel modules under ``root`` (the repository: ``vocmap/``,
    ``ssd_ref/``), everything of ours they import, transitively, and the versions
    that shape compiled code. 16 hex digits."""
    import llvmlite
    import numba
    import numpy

    root = Path(root)
    pending = [
        path
        for package in ("vocmap", "ssd_ref")
        for path in sorted((root / package).rglob("*.py"))
        if b"njit" in path.read_bytes()
    ]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path not in seen:
            seen.add(path)
            pending.extend(_imported_files(path, root) - seen)
    digest = hashlib.sha256()
    versions = (platform.python_version(), platform.machine(), numba.__version__,
                llvmlite.__version__, numpy.__version__)  # fmt: skip
    digest.update(repr(versions).encode())
    for path in sorted(seen):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
