"""The prepared image cache (``ssd_ref prepare``): every training image decoded once.

A cache folder holds::

    images.u8       every image's BGR uint8 pixels, (H, W, 3) each, one after the other
                    (read as a memory map: no JPEG decoding while training)
    index.npz       per image: id, byte offset, height, width; the boxes (VOC pixels),
                    labels and difficult flags as CSR (``box_offsets``)
    manifest.json   the format, the key, the number of images, how many are done,
                    whether it is complete

The key is a hash of the classes, the (year, image set) pairs, and every image's
id, annotation file and image file (size and modification time in ns): an
annotation or image edited, added or removed after ``prepare`` makes the cache
stale. A stale or partial cache is refused with one line naming it
(:class:`~ssd_ref.errors.ConfigError`); ``prepare`` resumes a partial one with
the same key and starts a stale one again.

VOC images are stored at their annotated size (``<size>``); an image whose
decoded size differs is an error naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ssd_ref.data.voc import Annotation, VocDataset, read_image
from ssd_ref.errors import ConfigError
from vocmap.core.atomic import atomic_write_bytes, atomic_write_text

FORMAT = "ssd_ref.prepared/1"
IMAGES, INDEX, MANIFEST = "images.u8", "index.npz", "manifest.json"


def dataset_key(voc: VocDataset, sets: tuple[tuple[str, str], ...]) -> str:
    """A hash of what the cache holds: classes, sets, every image's id and its
    annotation and image files' sizes and modification times (32 hex digits)."""
    digest = hashlib.sha256(FORMAT.encode() + b"\0")
    digest.update(json.dumps([list(voc.classes), [list(s) for s in sets]]).encode() + b"\0")
    for item in voc.items:
        annotation_path = (
            item.image_path.parent.parent / "Annotations" / f"{item.annotation.image_id}.xml"
        )
        parts = [item.annotation.image_id]
        for path in (annotation_path, item.image_path):
            try:
                info = path.stat()
            except OSError:
                raise ConfigError(f"{path}: cannot read it (needed by the image cache)") from None
            parts += [str(info.st_size), str(info.st_mtime_ns)]
        digest.update("\0".join(parts).encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()[:32]


def _index_arrays(voc: VocDataset) -> dict[str, np.ndarray]:
    annotations = [item.annotation for item in voc.items]
    heights = np.array([a.height for a in annotations], dtype=np.int64)
    widths = np.array([a.width for a in annotations], dtype=np.int64)
    sizes = heights * widths * 3
    counts = np.array([len(a.labels) for a in annotations], dtype=np.int64)
    return {
        "image_ids": np.array([a.image_id for a in annotations], dtype=str),
        "offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "heights": heights,
        "widths": widths,
        "box_offsets": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        "boxes": np.concatenate([a.boxes for a in annotations] + [np.zeros((0, 4))]).astype(
            np.float64
        ),
        "labels": np.concatenate([a.labels for a in annotations] + [np.zeros(0, np.int64)]).astype(
            np.int64
        ),
        "difficult": np.concatenate(
            [a.difficult for a in annotations] + [np.zeros(0, bool)]
        ).astype(bool),
    }


def _read_manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: not an image-cache manifest ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path}: not an ssd_ref image-cache manifest (format {FORMAT})")
    return data


def _write_manifest(folder: Path, key: str, images: int, total: int, done: int) -> None:
    manifest = {"format": FORMAT, "key": key, "images": images, "bytes": total,
                "done": done, "complete": done == images}  # fmt: skip
    atomic_write_text(folder / MANIFEST, json.dumps(manifest) + "\n")


def prepare(
    voc: VocDataset,
    sets: tuple[tuple[str, str], ...],
    folder: str | os.PathLike,
    progress: Callable[[int, int], None] | None = None,
    flush_every: float = 5.0,
) -> tuple[int, int]:
    """Decode every image of ``voc`` into the cache ``folder``; resumes a partial
    cache with the same key, starts a stale one again. ``progress(done, total)``
    is called after each image. Returns ``(images decoded now, total)``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if len(voc) == 0:
        raise ConfigError(f"{folder}: the image sets list no images; nothing to prepare")
    key = dataset_key(voc, sets)
    arrays = _index_arrays(voc)
    total_bytes = int(arrays["offsets"][-1])
    count = len(voc)
    manifest = _read_manifest(folder)
    done, images_path = 0, folder / IMAGES
    if (
        manifest is not None
        and manifest.get("key") == key
        and manifest.get("bytes") == total_bytes
        and images_path.is_file()
        and images_path.stat().st_size == total_bytes
    ):
        done = int(manifest.get("done", 0))
    if done == 0:
        import io

        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(folder / INDEX, buffer.getvalue())
        _write_manifest(folder, key, count, total_bytes, 0)
        with open(images_path, "wb") as handle:
            handle.truncate(total_bytes)
    if done >= count:
        return 0, count
    pixels = np.memmap(images_path, dtype=np.uint8, mode="r+", shape=(total_bytes,))
    last_flush = time.monotonic()
    start = done
    try:
        for index in range(start, count):
            item = voc.items[index]
            image = read_image(item.image_path)
            expected = (int(arrays["heights"][index]), int(arrays["widths"][index]), 3)
            if image.shape != expected:
                raise ConfigError(
                    f"{item.image_path}: the image is {image.shape[1]}x{image.shape[0]}, its "
                    f"annotation's <size> says {expected[1]}x{expected[0]}"
                )
            begin, end = int(arrays["offsets"][index]), int(arrays["offsets"][index + 1])
            pixels[begin:end] = image.reshape(-1)
            done = index + 1
            if progress is not None:
                progress(done, count)
            if time.monotonic() - last_flush > flush_every:
                pixels.flush()
                _write_manifest(folder, key, count, total_bytes, done)
                last_flush = time.monotonic()
    finally:
        pixels.flush()
        _write_manifest(folder, key, count, total_bytes, done)
        del pixels
    return done - start, count


@dataclass
class PreparedImages:
    """A complete, current cache, read through a memory map (``image(i)`` is a view)."""

    folder: Path
    image_ids: np.ndarray
    offsets: np.ndarray
    heights: np.ndarray
    widths: np.ndarray
    box_offsets: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    difficult: np.ndarray
    pixels: np.ndarray

    def __len__(self) -> int:
        return len(self.image_ids)

    def image(self, index: int) -> np.ndarray:
        """Image ``index`` as BGR uint8 ``(H, W, 3)`` (a read-only view of the map)."""
        begin, end = int(self.offsets[index]), int(self.offsets[index + 1])
        shape = (int(self.heights[index]), int(self.widths[index]), 3)
        return self.pixels[begin:end].reshape(shape)

    def annotation(self, index: int) -> Annotation:
        b, e = int(self.box_offsets[index]), int(self.box_offsets[index + 1])
        return Annotation(str(self.image_ids[index]), int(self.widths[index]),
                          int(self.heights[index]), self.boxes[b:e], self.labels[b:e],
                          self.difficult[b:e])  # fmt: skip


def open_prepared(
    folder: str | os.PathLike, voc: VocDataset, sets: tuple[tuple[str, str], ...]
) -> PreparedImages:
    """The cache in ``folder`` for ``voc``; a missing, partial, stale or damaged
    cache is a ConfigError naming it (one line, with what to run)."""
    folder = Path(folder)
    again = "run `ssd_ref prepare` again"
    manifest = _read_manifest(folder)
    if manifest is None:
        raise ConfigError(f"{folder}: no prepared image cache here (run `ssd_ref prepare`)")
    if not manifest.get("complete"):
        raise ConfigError(
            f"{folder / MANIFEST}: partial image cache ({manifest.get('done')} of "
            f"{manifest.get('images')} images); {again} to finish it"
        )
    if manifest.get("key") != dataset_key(voc, sets):
        raise ConfigError(
            f"{folder / MANIFEST}: stale image cache (the classes, image sets, annotations "
            f"or images changed since it was prepared); {again}"
        )
    try:
        with np.load(folder / INDEX) as index:
            arrays = {name: index[name] for name in index.files}
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"{folder / INDEX}: damaged image-cache index ({error}); {again}"
        ) from None
    total = int(manifest.get("bytes", -1))
    path = folder / IMAGES
    if not path.is_file() or path.stat().st_size != total or int(arrays["offsets"][-1]) != total:
        raise ConfigError(f"{path}: not the size its manifest says (damaged cache); {again}")
    pixels = np.memmap(path, dtype=np.uint8, mode="r", shape=(max(total, 1),))
    return PreparedImages(folder, pixels=pixels, **arrays)
