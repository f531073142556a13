"""Opening input files: regular files only, never a hang, nothing outside the data set.

Every reader opens its files through here:

* A FIFO, a device, a socket or a folder where a file is expected is an error
  (opening uses ``O_NONBLOCK``, so a FIFO without a writer cannot block, and the
  type is checked on the open descriptor, so nothing can swap it in between).
* A file read on behalf of a folder (``Annotations/<id>.xml``, a result file of a
  detections folder) may be a symbolic link only if it resolves inside that
  folder; a link leading elsewhere is refused unless ``follow_symlinks``. So a
  planted ``Annotations/000001.xml -> ~/.ssh/id_rsa`` is never read, and no part
  of it can appear in an error message.
* A name that is not a plain file name (``../x``, ``/abs``, NUL, too long) never
  reaches ``open``: see :func:`file_name_problem`.
"""

from __future__ import annotations

import errno
import os
import stat
from functools import lru_cache
from typing import BinaryIO

from vocmap.core.errors import InputError
from vocmap.io.characters import character_name, first_odd_character

#: The longest file name most file systems take (bytes).
NAME_MAX = 255

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a plain file")


def file_name_problem(name: str, suffix: str = "") -> str | None:
    """Why ``name + suffix`` cannot be a plain file name inside a folder, or None.

    Refused: empty, ``.`` and ``..``, a ``/`` or ``\\``, blank space at either
    end, a character that is not printable (NUL, controls, U+00A0, U+FEFF), more
    than NAME_MAX bytes in UTF-8.
    """
    if not isinstance(name, str):
        return f"is not a string ({type(name).__name__})"
    if not name:
        return "is empty"
    if name in (".", ".."):
        return "is not a file name"
    if "/" in name or "\\" in name:
        return "contains a path separator (an id is a file name, not a path)"
    odd = first_odd_character(name)
    if odd is not None:
        return f"contains {character_name(odd)}"
    if len(name.encode("utf-8", "surrogateescape")) + len(suffix) > NAME_MAX:
        return f"is too long for a file name ({len(name):,} characters; at most {NAME_MAX} bytes)"
    return None


@lru_cache(maxsize=64)
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)


def _inside(path: str, folder: str) -> bool:
    """True if ``path`` resolves to a file inside ``folder`` (resolved too)."""
    base = _real_folder(folder)
    target = os.path.realpath(path)
    return os.path.dirname(target) == base or target.startswith(base.rstrip(os.sep) + os.sep)


def _outside_error(path: str, what: str, folder: str) -> InputError:
    return InputError(
        f"{what} is a symbolic link that leads outside {os.fsdecode(folder)}; it is not "
        "followed (--follow-symlinks, or follow_symlinks=True, reads it)",
        path,
    )


def _open_error(error: OSError, path: str, what: str) -> InputError:
    if error.errno == errno.ENOENT:
        return InputError(f"{what} not found", path)
    if error.errno in (errno.EACCES, errno.EPERM):
        return InputError(f"{what}: permission denied", path)
    if error.errno == errno.ENOTDIR:
        return InputError(f"{what} not found (a part of its path is not a folder)", path)
    if error.errno == errno.ENAMETOOLONG:
        return InputError(f"{what}: file name too long", path)
    if error.errno == errno.ELOOP:
        return InputError(f"{what}: too many levels of symbolic links", path)
    return InputError(f"cannot read {what}: {error.strerror or error}", path)


def _open_regular(
    path: str | os.PathLike,
    what: str,
    folder: str | os.PathLike | None,
    follow_symlinks: bool,
) -> int:
    """A descriptor of the regular file ``path``, opened by the rules above."""
    name = os.fspath(path)
    guard = folder is not None and not follow_symlinks
    try:
        try:
            fd = os.open(name, _FLAGS | (_NOFOLLOW if guard else 0))
        except OSError as error:
            if not (guard and error.errno == errno.ELOOP and os.path.islink(name)):
                raise
            assert folder is not None
            if not _inside(name, os.fspath(folder)):
                raise _outside_error(name, what, os.fspath(folder)) from None
            fd = os.open(name, _FLAGS)
    except ValueError:  # an embedded NUL
        raise InputError(f"{what}: the file name contains a NUL byte", path) from None
    except OSError as error:
        raise _open_error(error, name, what) from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as error:
        os.close(fd)
        raise _open_error(error, name, what) from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(f"{what} is not a regular file ({_kind(mode)})", path)
    return fd


def read_input_file(
    path: str | os.PathLike,
    what: str,
    *,
    folder: str | os.PathLike | None = None,
    follow_symlinks: bool = False,
) -> bytes:
    """The bytes of the regular file ``path``; InputError for anything else.

    ``what`` names the file in messages ("result file"). With ``folder`` (the
    folder ``path`` lies in), a symbolic link that resolves outside it is
    refused unless ``follow_symlinks``.
    """
    with open_input_file(path, what, folder=folder, follow_symlinks=follow_symlinks) as handle:
        try:
            return handle.read()
        except OSError as error:
            raise _open_error(error, os.fspath(path), what) from None


def open_input_file(
    path: str | os.PathLike,
    what: str,
    *,
    folder: str | os.PathLike | None = None,
    follow_symlinks: bool = False,
) -> BinaryIO:
    """The regular file ``path`` open for reading in binary (a context manager),
    by :func:`read_input_file`'s rules; for readers that need only its head."""
    return os.fdopen(_open_regular(path, what, folder, follow_symlinks), "rb")


def regular_file_status(
    path: str,
    what: str,
    *,
    folder: str | None = None,
    follow_symlinks: bool = False,
) -> os.stat_result:
    """``os.stat`` of the regular file ``path``, with read_input_file's rules
    (one ``lstat`` for a plain file; a link is resolved and checked)."""
    try:
        status = os.lstat(path)
        if stat.S_ISLNK(status.st_mode):
            if folder is not None and not follow_symlinks and not _inside(path, folder):
                raise _outside_error(path, what, folder)
            status = os.stat(path)
    except ValueError:
        raise InputError(f"{what}: the file name contains a NUL byte", path) from None
    except OSError as error:
        raise _open_error(error, path, what) from None
    if not stat.S_ISREG(status.st_mode):
        raise InputError(f"{what} is not a regular file ({_kind(status.st_mode)})", path)
    return status
