"""How many hypothesis examples a property test runs.

``examples(n)``: ``n`` is the thorough count (``VOCMAP_THOROUGH_TESTS=1``, ``make
test-thorough``). ``make test`` runs a quarter of it (it must stay within its
four minutes; the examples are the same on every run, so a quarter is a fixed
subset, not a coin toss); a hundredth when the kernels run as plain Python
(``NUMBA_DISABLE_JIT=1``, where each case is 100x slower: that pass checks the
Python meaning of each kernel line, which a few examples exercise); a fortieth
under ``make test-fast`` (``VOCMAP_FAST_TESTS=1``). Never fewer than 10.
"""

from __future__ import annotations

import os

NO_JIT = os.environ.get("NUMBA_DISABLE_JIT") == "1"
FAST = os.environ.get("VOCMAP_FAST_TESTS") == "1"
THOROUGH = os.environ.get("VOCMAP_THOROUGH_TESTS") == "1"


def examples(thorough: int) -> int:
    """The example count for a property that runs ``thorough`` examples when thorough."""
    if NO_JIT:
        divisor = 100
    elif FAST:
        divisor = 40
    elif THOROUGH:
        divisor = 1
    else:
        divisor = 4
    return max(10, thorough // divisor)
