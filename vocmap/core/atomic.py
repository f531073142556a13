"""Write files so that readers see the old file or the whole new one, never a part.

Every output of vocmap goes through here: the data is written to a temporary
name in the target's folder, flushed, then renamed over the target.

* A failure (no permission, a parent that is a file, a full disk, a name too
  long, a target that is a folder) is an :class:`OutputError` naming the target;
  the temporary is removed and the target is untouched.
* Modes: a file that is replaced keeps its permission bits (a 0600 file stays
  0600; set-id bits are not carried over); a new file gets ``0666`` minus the
  umask, as ``open()`` would give it.
* A symlink is written through: the file it points to is replaced (atomically,
  in that file's folder) and the link stays a link, as ``echo > link`` does.
* A device or FIFO (``/dev/stdout``, ``/dev/full``) is written directly.
* Temporaries are ``.<name>.<host>-<pid>-<random>.tmp`` (``<name>`` shortened so
  that the whole name fits in 255 bytes). One left behind by a killed process is
  deleted the next time the same file is written, when it is provably stale:
  same user, same host tag, and no process with its pid alive.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import os
import re
import stat
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from vocmap.core.errors import VocmapError

#: The longest file name (in bytes) most file systems take.
NAME_MAX = 255
_TEMP_OVERHEAD = len(".") + len(".") + 8 + len("-") + 10 + len("-") + 8 + len(".tmp")
#: Eight hex digits naming this host in temporaries (a pid means nothing elsewhere).
HOST_TAG = f"{zlib.crc32(os.uname().nodename.encode()):08x}"
_TEMP_PATTERN = re.compile(r"^\.(?P<stem>.*)\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")


class OutputError(VocmapError, OSError):
    """An output that could not be written: ``cannot write PATH: reason``.

    Also an ``OSError`` (code in ``errno``: ``EPIPE`` for a closed pipe,
    ``ENOSPC`` for a full disk), so callers that tolerate a failed write (the
    annotation cache) keep catching ``OSError``.
    """

    def __new__(cls, path: str | os.PathLike, reason: str, errno: int | None = None):
        return OSError.__new__(cls, errno, f"cannot write {shown(os.fspath(path))}: {reason}")

    def __init__(self, path: str | os.PathLike, reason: str, errno: int | None = None) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        self.message = f"cannot write {shown(self.path)}: {reason}"

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (type(self), (self.path, self.reason, self.errno))


def shown(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), for a message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _reason(error: OSError) -> str:
    if isinstance(error, (FileExistsError, NotADirectoryError)):
        return "a parent of it is not a folder"
    return error.strerror or str(error)


def _temporary_stem(name: str) -> str:
    """``name`` cut (at a character boundary) so that its temporary fits NAME_MAX."""
    room = NAME_MAX - _TEMP_OVERHEAD
    encoded = os.fsencode(name)
    if len(encoded) <= room:
        return name
    return os.fsdecode(encoded[:room])  # a cut character stays valid bytes (surrogateescape)


def _temporary_name(name: str) -> str:
    return f".{_temporary_stem(name)}.{HOST_TAG}-{os.getpid()}-{os.urandom(4).hex()}.tmp"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` may still run (when in doubt: yes, keep its files)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OSError:
        return True  # cannot tell: keep the file
    return True


def remove_stale_temporaries(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Delete the stale temporaries of ``name`` (or of every file) in ``folder``.

    Stale means: our naming, a regular file owned by this user, made on this host
    (its tag), by a process that is no longer alive (and not this one). Anything
    else is left alone. Returns what was deleted; errors only cost the clean-up.
    """
    stem = None if name is None else _temporary_stem(name)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(os.fspath(folder)))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_PATTERN.match(entry.name)
        if match is None or match["host"] != HOST_TAG:
            continue
        if stem is not None and match["stem"] != stem:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or process_alive(pid):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _resolve(target: Path) -> Path:
    """The file a path names: a symlink's destination (written through), else itself."""
    if os.path.islink(target):
        return Path(os.path.realpath(target))
    return target


@contextlib.contextmanager
def _write_through(target: Path, shown_as: Path, mode: str, **kwargs) -> Iterator[IO]:
    """A device or FIFO: no rename is possible, write it directly."""
    try:
        handle = open(target, mode, **kwargs)  # noqa: SIM115
    except OSError as error:
        raise OutputError(shown_as, _reason(error), error.errno) from None
    try:
        with handle:
            yield handle
    except OSError as error:
        raise OutputError(shown_as, _reason(error), error.errno) from None


def _create_temporary(folder: Path, name: str, old: os.stat_result | None) -> tuple[int, Path]:
    """Open a new temporary beside the target: the target's permission bits if it
    exists, else 0666 minus the umask (the kernel applies it)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temporary = folder / _temporary_name(name)
        try:
            fd = os.open(temporary, flags, 0o600 if old is not None else 0o666)
        except FileExistsError:
            continue
        if old is not None:
            try:
                os.fchmod(fd, stat.S_IMODE(old.st_mode) & 0o777)
                if (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
                    with contextlib.suppress(OSError):
                        os.fchown(fd, old.st_uid, old.st_gid)
            except BaseException:
                os.close(fd)
                os.unlink(temporary)
                raise
        return fd, temporary
    raise FileExistsError(errno_codes.EEXIST, "no free temporary name", os.fspath(folder))


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "w", durable: bool = False, **kwargs
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on clean exit rename it to ``path``.

    If the body raises, the temporary file is removed and ``path`` is untouched; an
    ``OSError`` (of the body's writes or of the file system) becomes an
    :class:`OutputError` naming ``path``. ``durable=True`` also fsyncs the file
    before the rename and the folder after it (survives a power cut).
    """
    if os.fspath(path) == "":
        raise OutputError("''", "an empty file name")
    shown_as = Path(path)
    target = _resolve(shown_as)
    try:
        old: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        old = None
    except OSError as error:
        raise OutputError(shown_as, _reason(error), error.errno) from None
    if old is not None and stat.S_ISDIR(old.st_mode):
        raise OutputError(shown_as, "it is a folder", errno_codes.EISDIR)
    if old is not None and not stat.S_ISREG(old.st_mode):
        with _write_through(target, shown_as, mode, **kwargs) as handle:
            yield handle
        return
    temporary = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target.parent, target.name)
        fd, temporary = _create_temporary(target.parent, target.name, old)
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temporary, target)
        temporary = None
        if durable:
            _sync_folder(target.parent)
    except OSError as error:
        raise OutputError(shown_as, _reason(error), error.errno) from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
