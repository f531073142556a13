"""Write files so that readers see the old file or the whole new one, never a part.

Every output of vocmap goes through here: the data is written to a temporary
name in the target's folder, flushed, then renamed over the target.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "w", durable: bool = False, **kwargs
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on clean exit rename it to ``path``.

    If the body raises, the temporary file is removed and ``path`` is untouched.
    ``durable=True`` also fsyncs before the rename (survives a power cut).
    """
    target = Path(path)
    if target.exists() and not target.is_file():
        # A device or pipe (/dev/stdout, a FIFO): nothing to replace, write through.
        with open(target, mode, **kwargs) as handle:
            yield handle
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
