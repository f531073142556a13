"""An on-disk cache of parsed annotations that cannot be served stale.

py-faster-rcnn keeps ``annots.pkl`` keyed by the image-set name only, so a
changed XML file or image set silently reuses old ground truth. Here the key is
a hash of:

* the cache format version and the absolute annotations folder;
* the image set's ids (its content, not its name or time);
* for each image's XML file: size, mtime, ctime and inode (nanoseconds).

Any write to a file changes its ctime, which no tool can set back, so a changed
file gives a new key; a removed file fails to stat (an error, as without the
cache); an added file only matters once the image set names it, which changes
the key. A file whose times are within ``RACY_SECONDS`` of now might still be
changed within the file system's timestamp resolution, so no entry is written
while such files exist (git's "racy clean" rule).

The cache lives in ``$VOCMAP_CACHE_DIR``, else ``$XDG_CACHE_HOME/vocmap``, else
``~/.cache/vocmap``; one entry is kept per (folder, image-set file) pair.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vocmap.core.atomic import atomic_open
from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth

FORMAT_VERSION = 1
RACY_SECONDS = 2.0


def cache_dir() -> Path:
    """Where cache entries are kept."""
    explicit = os.environ.get("VOCMAP_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vocmap"


def _file_signatures(annotations_dir: Path, image_ids: list[str]) -> np.ndarray:
    """(n, 4) int64: size, mtime_ns, ctime_ns, inode of each image's XML file."""
    signatures = np.empty((len(image_ids), 4), dtype=np.int64)
    folder = os.fspath(annotations_dir)
    for i, image_id in enumerate(image_ids):
        path = os.path.join(folder, f"{image_id}.xml")
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise InputError(
                f'annotation file not found (image "{image_id}" of the image set)', path
            ) from None
        signatures[i] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return signatures


def _entry_paths(annotations_dir: Path, image_set_file: Path, key: str) -> tuple[Path, str]:
    place = f"{annotations_dir.resolve()}\0{image_set_file.resolve()}"
    prefix = "gt-" + hashlib.sha256(place.encode()).hexdigest()[:16]
    return cache_dir() / f"{prefix}-{key}.npz", prefix


def load_or_parse(
    annotations_dir: Path,
    image_set_file: Path,
    image_ids: list[str],
    parse: Callable[[Path, list[str]], GroundTruth],
) -> GroundTruth:
    """The GroundTruth for these files: from the cache when it is provably current,
    else ``parse(annotations_dir, image_ids)`` (stored for next time)."""
    signatures = _file_signatures(annotations_dir, image_ids)
    digest = hashlib.sha256()
    digest.update(f"vocmap-gt-v{FORMAT_VERSION}\0{annotations_dir.resolve()}\0".encode())
    digest.update("\n".join(image_ids).encode("utf-8"))
    digest.update(signatures.tobytes())
    entry, prefix = _entry_paths(annotations_dir, image_set_file, digest.hexdigest()[:32])
    if entry.exists():
        try:
            return _load(entry, image_ids, annotations_dir)
        except (OSError, ValueError, KeyError):
            pass  # unreadable entry: parse again and replace it
    ground_truth = parse(annotations_dir, image_ids)
    newest = int(signatures[:, 1:3].max()) if len(signatures) else 0
    if newest < (time.time() - RACY_SECONDS) * 1e9:
        _store(entry, prefix, ground_truth)
    return ground_truth


def _load(entry: Path, image_ids: list[str], annotations_dir: Path) -> GroundTruth:
    with np.load(entry, allow_pickle=False) as data:
        class_names = tuple(str(n) for n in data["class_names"])
        return GroundTruth(
            image_ids=tuple(image_ids),
            class_names=class_names,
            object_image=data["object_image"],
            object_class=data["object_class"],
            boxes=data["boxes"],
            difficult=data["difficult"],
            source=os.fspath(annotations_dir),
            truncated=data["truncated"],  # an entry written before it existed: KeyError, parse
        )


def _store(entry: Path, prefix: str, ground_truth: GroundTruth) -> None:
    try:
        with atomic_open(entry, "wb") as handle:
            np.savez(
                handle,
                class_names=np.array(ground_truth.class_names, dtype=str),
                object_image=ground_truth.object_image,
                object_class=ground_truth.object_class,
                boxes=ground_truth.boxes,
                difficult=ground_truth.difficult,
                truncated=_flags(ground_truth.truncated, ground_truth.difficult),
            )
        for old in entry.parent.glob(f"{prefix}-*.npz"):
            if old != entry:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only or full cache folder only costs speed


def _flags(values: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """A flag column to store (all false when not known)."""
    return np.zeros_like(like) if values is None else values
