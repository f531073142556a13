"""The on-disk cache of parsed COCO-format ground truth, keyed on the file's content.

The key is a SHA-256 of the cache format, the reading options (``image_ids``)
and every byte of the json file: a changed file, however its times were set,
gives a new key, so an entry can never be served stale. Hashing costs a few
milliseconds where parsing 36k objects costs a third of a second.

Entries live beside the annotation cache's (:func:`vocmap.io.cache.cache_dir`),
one per json file (named by a hash of its resolved path). An entry is trusted
only after every check of :mod:`vocmap.io.cache` passes, on any doubt the file
is parsed again and the entry replaced:

* a regular, uncompressed ``.npz`` (no pickles) with exactly the expected
  members, each of the expected dtype and number of dimensions;
* it names the key it was stored under (another file's entry, copied or planted
  under this name, is refused), and a SHA-256 over the key and every member
  matches (a flipped bit or a truncated file fails);
* the values make sense: object images in range and in image order, classes in
  range, boxes finite, image ids non-empty and unique, class names unique,
  printable and among the categories, category ids and names unique.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vocmap.core.ground_truth import GroundTruth
from vocmap.io.cache import _Doubt, _read_members, cache_dir, check_objects, write_entry

FORMAT_VERSION = 2

#: name: (dtype, number of dimensions) of the numeric members.
_ARRAYS = {
    "object_image": (np.dtype(np.int64), 1),
    "object_class": (np.dtype(np.int64), 1),
    "boxes": (np.dtype(np.float64), 2),
    "difficult": (np.dtype(np.bool_), 1),
    "category_ids": (np.dtype(np.int64), 1),
    # COCO's metric's columns (GroundTruth.area, .iscrowd, .coco_image_ids), each
    # stored empty when None, with "present" saying which are there
    "area": (np.dtype(np.float64), 1),
    "iscrowd": (np.dtype(np.bool_), 1),
    "coco_image_ids": (np.dtype(np.int64), 1),
    "present": (np.dtype(np.bool_), 1),
}
#: The optional columns, in the order of the "present" flags.
_OPTIONAL = ("area", "iscrowd", "coco_image_ids")
#: The members holding names (unicode arrays, one dimension).
_NAMES = ("image_ids", "class_names", "category_names")
_MEMBERS = frozenset([*_ARRAYS, *_NAMES, "key", "checksum"])


def content_key(raw: bytes, variant: str) -> str:
    """The key of a json file's bytes read with options ``variant`` (32 hex digits)."""
    digest = hashlib.sha256(f"vocmap-coco-gt-v{FORMAT_VERSION}\0{variant}\0".encode())
    digest.update(raw)
    return digest.hexdigest()[:32]


def _entry_paths(path: Path, key: str) -> tuple[Path, str]:
    place = os.fspath(path.resolve())
    prefix = "coco-" + hashlib.sha256(place.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return cache_dir() / f"{prefix}-{key}.npz", prefix


def load_or_parse(
    path: Path, raw: bytes, variant: str, parse: Callable[[], GroundTruth]
) -> GroundTruth:
    """The GroundTruth of ``raw`` (the bytes of ``path``): from the cache when an
    intact entry of exactly these bytes exists, else ``parse()`` (stored for next time)."""
    key = content_key(raw, variant)
    entry, prefix = _entry_paths(path, key)
    try:
        return _load(entry, key, os.fspath(path))
    except _Doubt:
        pass
    ground_truth = parse()
    names = [*ground_truth.image_ids, *(n for _, n in ground_truth.categories or ())]
    if ground_truth.categories is not None and not any("\0" in n for n in names):
        # (numpy's unicode arrays drop trailing NULs: such names are not stored)
        write_entry(entry, prefix, _members(key, ground_truth))
    return ground_truth


def _checksum(key: str, members: dict) -> bytes:
    digest = hashlib.sha256(f"{key}\0".encode())
    for name in (*_NAMES, *_ARRAYS):
        array = members[name]
        digest.update(f"\0{name}{array.dtype.str}{array.shape}\0".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.digest()


def _members(key: str, ground_truth: GroundTruth) -> dict[str, np.ndarray]:
    categories = ground_truth.categories or ()
    members = {
        "image_ids": np.array(ground_truth.image_ids, dtype=str).reshape(-1),
        "class_names": np.array(ground_truth.class_names, dtype=str).reshape(-1),
        "category_names": np.array([n for _, n in categories], dtype=str).reshape(-1),
        "category_ids": np.array([i for i, _ in categories], dtype=np.int64),
        **{name: getattr(ground_truth, name) for name in ("object_image", "object_class")},
        "boxes": ground_truth.boxes,
        "difficult": ground_truth.difficult,
        "present": np.array([getattr(ground_truth, n) is not None for n in _OPTIONAL]),
        "key": np.array(key),
    }
    for name in _OPTIONAL:
        value = getattr(ground_truth, name)
        members[name] = np.zeros(0, dtype=_ARRAYS[name][0]) if value is None else value
    members["checksum"] = np.frombuffer(_checksum(key, members), dtype=np.uint8)
    return members


def _unique(values: list[str]) -> bool:
    return len(set(values)) == len(values)


def _load(entry: Path, key: str, source: str) -> GroundTruth:
    """The entry's GroundTruth if every check passes (module docstring), else _Doubt."""
    members = _read_members(entry, _MEMBERS)
    for name, (dtype, ndim) in _ARRAYS.items():
        if members[name].dtype != dtype or members[name].ndim != ndim:
            raise _Doubt
    for name in _NAMES:
        if members[name].dtype.kind != "U" or members[name].ndim != 1:
            raise _Doubt
    stored_key = members["key"]
    if stored_key.dtype.kind != "U" or stored_key.shape != () or str(stored_key) != key:
        raise _Doubt  # another file's entry
    checksum = members["checksum"]
    if checksum.dtype != np.uint8 or checksum.tobytes() != _checksum(key, members):
        raise _Doubt
    m = members["object_image"].shape[0]
    if (
        members["object_class"].shape != (m,)
        or members["boxes"].shape != (m, 4)
        or members["difficult"].shape != (m,)
        or members["category_ids"].shape != members["category_names"].shape
        or members["present"].shape != (len(_OPTIONAL),)
    ):
        raise _Doubt
    optional = _optional_columns(members, m, members["image_ids"].shape[0])
    image_ids = members["image_ids"].tolist()
    class_names = members["class_names"].tolist()
    category_names = members["category_names"].tolist()
    check_objects(members, len(image_ids), class_names)
    image, cls = members["object_image"], members["object_class"]
    if not (
        all(image_ids)
        and _unique(image_ids)
        and set(class_names) <= set(category_names)
        and _unique(category_names)
        and _unique(members["category_ids"].tolist())
    ):
        raise _Doubt
    return GroundTruth(
        image_ids=tuple(image_ids),
        class_names=tuple(class_names),
        object_image=image,
        object_class=cls,
        boxes=members["boxes"],
        difficult=members["difficult"],
        source=source,
        categories=tuple(zip(members["category_ids"].tolist(), category_names)),
        **optional,
    )


def _optional_columns(members: dict, objects: int, images: int) -> dict:
    """COCO's metric's columns of an entry (None where not present), or _Doubt."""
    out: dict[str, np.ndarray | None] = {}
    for name, present, length in zip(
        _OPTIONAL, members["present"].tolist(), (objects, objects, images)
    ):
        value = members[name]
        if not present:
            if value.shape != (0,):
                raise _Doubt
            out[name] = None
            continue
        if value.shape != (length,):
            raise _Doubt
        out[name] = value
    area = out["area"]
    if area is not None and not np.isfinite(area).all():
        raise _Doubt
    return out
