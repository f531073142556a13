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

An entry is trusted only after every check passes; on any doubt the files are
parsed again and the entry replaced, never a traceback, never a wrong number:

* it is a regular file holding an uncompressed ``.npz`` (no pickles) with exactly
  the expected arrays, each of the expected dtype (native byte order) and shape;
* it names the key it was stored under (the data set's folder, ids and file
  signatures), so an entry of another data set, copied or planted under this
  name, is refused; its object count, class count and image count agree;
* a SHA-256 over the key and every array matches (a flipped bit, a truncated
  or zero-byte file fails here or earlier);
* the values make sense: object images in range and in image-set order, classes
  in range, names unique and printable, boxes finite.

A temporary entry left by a process killed while writing (kill -9 between the
write and the rename) is deleted by the next process that uses the cache, hit or
miss, when provably stale (:func:`vocmap.core.atomic.remove_stale_temporaries`).

The checksum is not a signature: whoever can write the cache folder can also
write a consistent entry (as they could edit the XML files).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vocmap.core.atomic import atomic_open, remove_stale_temporaries
from vocmap.core.errors import InputError
from vocmap.core.ground_truth import GroundTruth
from vocmap.io.files import read_input_file, regular_file_status

FORMAT_VERSION = 3  # 3: the truncated column
RACY_SECONDS = 2.0

#: name: (dtype, number of dimensions) of the arrays of an entry besides the names.
_ARRAYS = {
    "object_image": (np.dtype(np.int64), 1),
    "object_class": (np.dtype(np.int64), 1),
    "boxes": (np.dtype(np.float64), 2),
    "difficult": (np.dtype(np.bool_), 1),
    "truncated": (np.dtype(np.bool_), 1),
}
_MEMBERS = frozenset([*_ARRAYS, "class_names", "key", "image_count", "checksum"])


#: Cache folders whose stale temporaries this process has already removed.
_SWEPT: set[str] = set()


def _sweep(folder: Path) -> None:
    """Remove the stale temporaries of killed writers from ``folder``, once a process."""
    name = os.fspath(folder)
    if name not in _SWEPT:
        _SWEPT.add(name)
        remove_stale_temporaries(folder)


class _Doubt(Exception):
    """An entry failed a check: parse again."""


def cache_dir() -> Path:
    """Where cache entries are kept."""
    explicit = os.environ.get("VOCMAP_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vocmap"


def _file_signatures(
    annotations_dir: Path, image_ids: list[str], follow_symlinks: bool = False
) -> np.ndarray:
    """(n, 4) int64: size, mtime_ns, ctime_ns, inode of each image's XML file
    (checked as parsing would check it: a regular file, no link out of the folder)."""
    signatures = np.empty((len(image_ids), 4), dtype=np.int64)
    folder = os.fspath(annotations_dir)
    for i, image_id in enumerate(image_ids):
        path = os.path.join(folder, f"{image_id}.xml")
        try:
            st = os.lstat(path)  # the common case in one call: a plain regular file
            plain = stat.S_ISREG(st.st_mode)
        except (OSError, ValueError):
            plain = False
        if not plain:  # a link, another kind of file, or an error: the full rules
            try:
                st = regular_file_status(
                    path, "annotation file", folder=folder, follow_symlinks=follow_symlinks
                )
            except InputError as error:
                if error.message == "annotation file not found":
                    raise InputError(
                        f'annotation file not found (image "{image_id}" of the image set)', path
                    ) from None
                raise
        signatures[i] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return signatures


def _entry_paths(annotations_dir: Path, image_set_file: Path, key: str) -> tuple[Path, str]:
    place = f"{annotations_dir.resolve()}\0{image_set_file.resolve()}"
    prefix = "gt-" + hashlib.sha256(place.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return cache_dir() / f"{prefix}-{key}.npz", prefix


def load_or_parse(
    annotations_dir: Path,
    image_set_file: Path,
    image_ids: list[str],
    parse: Callable[[Path, list[str]], GroundTruth],
    *,
    follow_symlinks: bool = False,
) -> GroundTruth:
    """The GroundTruth for these files: from the cache when it is provably current
    and intact, else ``parse(annotations_dir, image_ids)`` (stored for next time)."""
    signatures = _file_signatures(annotations_dir, image_ids, follow_symlinks)
    digest = hashlib.sha256()
    place = f"vocmap-gt-v{FORMAT_VERSION}\0{annotations_dir.resolve()}\0"
    digest.update(place.encode("utf-8", "surrogateescape"))
    digest.update("\n".join(image_ids).encode("utf-8", "surrogateescape"))
    digest.update(signatures.tobytes())
    key = digest.hexdigest()[:32]
    entry, prefix = _entry_paths(annotations_dir, image_set_file, key)
    _sweep(entry.parent)
    try:
        return _load(entry, key, image_ids, annotations_dir)
    except _Doubt:
        pass
    ground_truth = parse(annotations_dir, image_ids)
    newest = int(signatures[:, 1:3].max()) if len(signatures) else 0
    if newest < (time.time() - RACY_SECONDS) * 1e9:
        _store(entry, prefix, key, ground_truth)
    return ground_truth


def _checksum(key: str, image_count: int, class_names: tuple[str, ...], arrays: dict) -> bytes:
    digest = hashlib.sha256()
    digest.update(f"{key}\0{image_count}\0".encode())
    digest.update("\0".join(class_names).encode("utf-8", "surrogateescape"))
    for name in _ARRAYS:
        array = arrays[name]
        digest.update(f"\0{name}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.digest()


def _read_members(entry: Path, expected: frozenset[str] = _MEMBERS) -> dict:
    """The arrays of an entry (exactly the members ``expected``), or _Doubt. Only
    uncompressed members no larger than the file are read (so a planted entry
    cannot make us allocate much)."""
    try:
        raw = read_input_file(entry, "cache entry")
    except InputError:
        raise _Doubt from None
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
            if {info.filename.removesuffix(".npy") for info in infos} != expected or len(
                infos
            ) != len(expected):
                raise _Doubt
            if any(
                info.compress_type != zipfile.ZIP_STORED or info.file_size > len(raw)
                for info in infos
            ):
                raise _Doubt
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            return {name: data[name] for name in expected}
    except _Doubt:
        raise
    except Exception:  # whatever a damaged file makes zipfile or numpy raise
        raise _Doubt from None


def _load(entry: Path, key: str, image_ids: list[str], annotations_dir: Path) -> GroundTruth:
    """The entry's GroundTruth if every check passes (module docstring), else _Doubt."""
    members = _read_members(entry)
    for name, (dtype, ndim) in _ARRAYS.items():
        array = members[name]
        if array.dtype != dtype or array.ndim != ndim:
            raise _Doubt
    names, stored_key, count, checksum = (
        members["class_names"],
        members["key"],
        members["image_count"],
        members["checksum"],
    )
    if names.dtype.kind != "U" or names.ndim != 1 or stored_key.dtype.kind != "U":
        raise _Doubt
    if stored_key.shape != () or str(stored_key) != key:
        raise _Doubt  # another data set's entry, or one of other files
    if count.dtype != np.int64 or count.shape != () or int(count) != len(image_ids):
        raise _Doubt
    class_names = tuple(str(n) for n in names)
    m = members["object_image"].shape[0]
    if (
        members["object_class"].shape != (m,)
        or members["boxes"].shape != (m, 4)
        or members["difficult"].shape != (m,)
        or members["truncated"].shape != (m,)
    ):
        raise _Doubt
    if checksum.dtype != np.uint8 or checksum.tobytes() != _checksum(
        key, len(image_ids), class_names, members
    ):
        raise _Doubt
    check_objects(members, len(image_ids), class_names)
    image, cls = members["object_image"], members["object_class"]
    return GroundTruth(
        image_ids=tuple(image_ids),
        class_names=class_names,
        object_image=image,
        object_class=cls,
        boxes=members["boxes"],
        difficult=members["difficult"],
        source=os.fspath(annotations_dir),
        truncated=members["truncated"],
    )


def check_objects(members: dict, image_count: int, class_names: Sequence[str]) -> None:
    """_Doubt unless an entry's objects make sense: images in range and in
    image-set order, classes in range, boxes finite, class names unique and printable."""
    image, cls = members["object_image"], members["object_class"]
    if image.shape[0] and (
        image[0] < 0
        or image[-1] >= image_count
        or np.any(np.diff(image) < 0)
        or cls.min() < 0
        or cls.max() >= len(class_names)
        or not np.isfinite(members["boxes"]).all()
    ):
        raise _Doubt
    if len(set(class_names)) != len(class_names) or not all(
        n and n.isprintable() for n in class_names
    ):
        raise _Doubt


def _store(entry: Path, prefix: str, key: str, ground_truth: GroundTruth) -> None:
    arrays = {name: getattr(ground_truth, name) for name in _ARRAYS}
    if arrays["truncated"] is None:  # not known: stored as all false
        arrays["truncated"] = np.zeros_like(ground_truth.difficult)
    image_count = len(ground_truth.image_ids)
    checksum = _checksum(key, image_count, ground_truth.class_names, arrays)
    write_entry(
        entry,
        prefix,
        {
            "class_names": np.array(ground_truth.class_names, dtype=str),
            "key": np.array(key),
            "image_count": np.array(image_count, dtype=np.int64),
            "checksum": np.frombuffer(checksum, dtype=np.uint8),
            **arrays,
        },
    )


def write_entry(entry: Path, prefix: str, members: dict[str, Any]) -> None:
    """Write ``members`` as the uncompressed ``.npz`` ``entry`` (atomically) and
    remove the other entries named ``<prefix>-*.npz``; a cache folder that cannot
    be written only costs speed. Never writes through a link or special file."""
    try:
        try:
            mode = os.lstat(entry).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            if stat.S_ISDIR(mode):
                return  # a folder where the entry goes: leave it, only speed is lost
            os.unlink(entry)  # a FIFO, link or device: never write through it
        with atomic_open(entry, "wb") as handle:
            np.savez(handle, **members)
        for old in entry.parent.glob(f"{prefix}-*.npz"):
            if old != entry:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only or full cache folder only costs speed
