"""YOLO-format cases for the tests: image headers (PNG, JPEG with EXIF) and a
random split of images, labels and ultralytics-style predictions."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

CLASSES = ("cat", "dog", "person")


def png_bytes(width: int, height: int) -> bytes:
    """A valid 8-bit grey PNG of the given size (one IDAT of zero rows)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * (width + 1) * height)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def jpeg_bytes(width: int, height: int, sof: int = 0xC0, orientation: int | None = None) -> bytes:
    """A JPEG header: SOI, APP0 (JFIF), optional APP1 (EXIF orientation), SOFn, EOI."""
    parts = [
        b"\xff\xd8",
        b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
    ]
    if orientation is not None:
        tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1)
        tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
        body = b"Exif\x00\x00" + tiff
        parts.append(b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body)
    frame = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    parts.append(bytes([0xFF, sof]) + struct.pack(">H", len(frame) + 2) + frame)
    parts.append(b"\xff\xd9")
    return b"".join(parts)


def make_split(
    root: Path, rng: np.random.Generator, images: int = 12, objects: int = 5
) -> tuple[Path, Path, Path]:
    """images/, labels/ and predictions/ of a random split (half PNG, half JPEG)."""
    image_dir, label_dir, pred_dir = root / "images", root / "labels", root / "pred"
    for folder in (image_dir, label_dir, pred_dir):
        folder.mkdir(parents=True)
    for i in range(images):
        width, height = (int(v) for v in rng.integers(20, 800, size=2))
        if i % 2:
            (image_dir / f"im{i:03d}.png").write_bytes(png_bytes(width, height))
        else:
            (image_dir / f"im{i:03d}.jpg").write_bytes(jpeg_bytes(width, height))
        lines, preds = [], []
        for _ in range(int(rng.integers(0, objects + 1))):
            cx, cy = rng.uniform(0.1, 0.9, size=2)
            w, h = rng.uniform(0.01, 0.2, size=2)
            label = int(rng.integers(0, len(CLASSES)))
            lines.append(f"{label} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
            jitter = rng.normal(0, 0.01, size=4)
            pcx, pcy, pw, ph = np.clip(np.array([cx, cy, w, h]) + jitter, 0.001, 0.999)
            preds.append(f"{label} {pcx:g} {pcy:g} {pw:g} {ph:g} {rng.uniform():g}")
        preds.append(f"{int(rng.integers(0, 3))} 0.5 0.5 0.3 0.3 {rng.uniform():g}")
        (label_dir / f"im{i:03d}.txt").write_text("\n".join(lines) + "\n")
        (pred_dir / f"im{i:03d}.txt").write_text("\n".join(preds) + "\n")
    (root / "data.yaml").write_text("path: .\nnames:\n  0: cat\n  1: dog\n  2: person\n")
    return image_dir, label_dir, pred_dir
