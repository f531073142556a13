"""How many hypothesis examples a property test runs.

Thousands when the kernels are compiled (``make test``); a tenth when they run as
plain Python (``NUMBA_DISABLE_JIT=1``, where each case is 100x slower); a
fortieth under ``make test-fast`` (``VOCMAP_FAST_TESTS=1``).
"""

from __future__ import annotations

import os

NO_JIT = os.environ.get("NUMBA_DISABLE_JIT") == "1"
FAST = os.environ.get("VOCMAP_FAST_TESTS") == "1"


def examples(compiled: int) -> int:
    """The example count for a property that runs ``compiled`` examples in ``make test``."""
    if FAST:
        return max(10, compiled // 40)
    if NO_JIT:
        return max(10, compiled // 10)
    return compiled
