"""Where numba keeps the compiled kernels, when the package folder is read-only.

The kernels are ``@njit(cache=True)``. numba caches them beside the source
(``vocmap/core/__pycache__``), else in ``$NUMBA_CACHE_DIR``, else in
``~/.cache/numba``; when none is writable (a read-only installation and
``$HOME``, as in containers) it refuses to compile at import ("cannot cache
function ...: no locator available"). :func:`ensure_writable_cache` runs before
any kernel is imported (``vocmap/__init__.py`` calls it) and, only in that case,
points ``NUMBA_CACHE_DIR`` at a private folder under the temporary directory,
``vocmap-numba-<uid>`` (created 0700, used only if it is ours and not a link),
saying so once on stderr when it creates it. If even that is impossible, a fresh
private temporary folder serves this process (compiled, not kept).
"""

from __future__ import annotations

import os
import stat
import sys

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Folders holding ``*kernels.py`` modules (numba writes ``__pycache__`` there).
_KERNEL_FOLDERS = ("core", "io")


def _writable_folder(path: str) -> bool:
    """True if ``path`` is (or can be created as) a writable folder."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            return False
        probe = parent
    return os.path.isdir(probe) and os.access(probe, os.W_OK | os.X_OK)


def _user_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "numba")


def numba_can_cache(other_folders: tuple[str, ...] = ()) -> bool:
    """True if numba finds a writable place for vocmap's kernels (and for those of
    ``other_folders``, another package's ``__pycache__`` folders) by itself."""
    explicit = os.environ.get("NUMBA_CACHE_DIR")
    if explicit and _writable_folder(explicit):
        return True
    folders = [os.path.join(_PACKAGE, f, "__pycache__") for f in _KERNEL_FOLDERS]
    in_tree = all(_writable_folder(f) for f in [*folders, *other_folders])
    return in_tree or _writable_folder(_user_cache())


def _private_folder(path: str) -> bool:
    """Create ``path`` 0700, or accept it if it exists, is ours, is no link, and is
    writable by nobody else (numba's cache holds pickles: never trust another's)."""
    try:
        os.mkdir(path, 0o700)
        return True
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & 0o022
        and os.access(path, os.W_OK | os.X_OK)
    )


def ensure_writable_cache(other_folders: tuple[str, ...] = ()) -> str | None:
    """Give numba a writable cache folder if it has none; return it (None: not needed).

    ``other_folders``: the ``__pycache__`` folders of another package's kernels
    (ssd_ref's CPU NMS), checked like vocmap's own."""
    if numba_can_cache(other_folders):
        return None
    import tempfile  # only here: ``import vocmap`` stays cheap

    folder = os.path.join(tempfile.gettempdir(), f"vocmap-numba-{os.getuid()}")
    created = not os.path.exists(folder)
    if not _private_folder(folder):
        try:
            folder = tempfile.mkdtemp(prefix="vocmap-numba-")
        except OSError:
            return None  # nothing writable at all: numba's own error will say so
        created = True
    os.environ["NUMBA_CACHE_DIR"] = folder
    config = sys.modules.get("numba.core.config")
    if config is not None:  # numba already imported: it read the variable then
        config.CACHE_DIR = folder  # type: ignore[attr-defined]
    if created:
        print(
            "vocmap: the package folder and ~/.cache are not writable; numba's compiled "
            f"kernels are cached in {folder} (set NUMBA_CACHE_DIR to choose)",
            file=sys.stderr,
        )
    return folder
