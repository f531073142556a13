"""The folder where test sessions keep what outlives them: the trained run
(tests/ssd_ref/trained_run.py) and numba's compiled kernels (tests/conftest.py).

``$VOCMAP_TEST_CACHE``, else ``$XDG_CACHE_HOME/vocmap-tests``, else
``~/.cache/vocmap-tests``; ``VOCMAP_TEST_CACHE=off``: nothing is kept (None).
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path | None:
    chosen = os.environ.get("VOCMAP_TEST_CACHE")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vocmap-tests"
