"""A seeded synthetic data set in VOC layout: coloured shapes on textured backgrounds.

Each class has its own shape and hue, so a tiny network can learn the set on a
CPU in minutes while the boxes, matching and evaluation are those of real VOC:

    <root>/<folder>/JPEGImages/<id>.jpg
    <root>/<folder>/Annotations/<id>.xml       (VOC XML, 1-based inclusive boxes)
    <root>/<folder>/ImageSets/Main/{trainval,test}.txt

About one object in seven is small (6-10% of the image's shorter side) and
marked difficult, as VOC marks its hardest objects. Annotations are the tight
pixel extents of the drawn shapes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ssd_ref.config import SYNTHETIC_CLASSES
from vocmap.core.atomic import atomic_write_bytes
from vocmap.io.writers import VocObject, write_annotation, write_image_set

#: Shape and OpenCV hue (0..180) per class slot; classes beyond five reuse them shifted.
_STYLES: tuple[tuple[str, int], ...] = (
    ("ellipse_tall", 0),
    ("rectangle_wide", 36),
    ("triangle", 72),
    ("disc", 108),
    ("cross", 144),
    ("diamond", 18),
    ("ring", 90),
)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A low-saturation base colour with a smooth, mostly grey blotchy texture and fine noise."""
    base = rng.uniform(70, 190, size=3)
    grey = base.mean()
    base = grey + 0.35 * (base - grey)
    cells = (max(2, height // 40), max(2, width // 40))
    coarse = rng.normal(0.0, 18.0, size=(*cells, 1)) + rng.normal(0.0, 5.0, size=(*cells, 3))
    texture = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0.0, 6.0, size=(height, width, 1))
    return np.clip(base + texture + fine, 0, 255).astype(np.uint8)


def _shape_mask(
    shape: str, height: int, width: int, box_w: int, box_h: int, x0: int, y0: int
) -> np.ndarray:
    mask = np.zeros((height, width), dtype=np.uint8)
    x1, y1 = x0 + box_w - 1, y0 + box_h - 1
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    if shape in ("ellipse_tall", "disc"):
        cv2.ellipse(mask, (round(cx), round(cy)), (box_w // 2, box_h // 2), 0, 0, 360, 255, -1)
    elif shape == "ring":
        cv2.ellipse(mask, (round(cx), round(cy)), (box_w // 2, box_h // 2), 0, 0, 360, 255, -1)
        cv2.ellipse(mask, (round(cx), round(cy)), (box_w // 4, box_h // 4), 0, 0, 360, 0, -1)
    elif shape == "rectangle_wide":
        cv2.rectangle(mask, (x0, y0), (x1, y1), 255, -1)
    elif shape == "triangle":
        points = np.array([[round(cx), y0], [x1, y1], [x0, y1]], dtype=np.int32)
        cv2.fillPoly(mask, [points], 255)
    elif shape == "diamond":
        points = np.array(
            [[round(cx), y0], [x1, round(cy)], [round(cx), y1], [x0, round(cy)]], np.int32
        )
        cv2.fillPoly(mask, [points], 255)
    elif shape == "cross":
        bar_w, bar_h = max(2, box_w // 3), max(2, box_h // 3)
        cv2.rectangle(mask, (round(cx - bar_w / 2), y0), (round(cx + bar_w / 2), y1), 255, -1)
        cv2.rectangle(mask, (x0, round(cy - bar_h / 2)), (x1, round(cy + bar_h / 2)), 255, -1)
    else:
        raise ValueError(shape)
    return mask


def _aspect(shape: str) -> float:
    """Width / height of each shape's box."""
    return {"ellipse_tall": 0.5, "rectangle_wide": 1.8}.get(shape, 1.0)


def _colour(rng: np.random.Generator, hue: int) -> np.ndarray:
    hsv = np.array(
        [[[(hue + rng.integers(-4, 5)) % 180, rng.integers(170, 256), rng.integers(150, 256)]]],
        dtype=np.uint8,
    )
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float64)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
    inter = ix * iy
    area = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
    return inter / (area - inter)


def synthetic_image(
    rng: np.random.Generator,
    classes: Sequence[str],
    size_range: tuple[int, int] = (240, 360),
    max_objects: int = 4,
) -> tuple[np.ndarray, list[VocObject]]:
    """One BGR image and its objects (VOC 1-based inclusive boxes)."""
    width = int(rng.integers(size_range[0], size_range[1] + 1))
    height = int(rng.integers(size_range[0], size_range[1] + 1))
    image = _background(rng, height, width).astype(np.float64)
    short = min(width, height)
    placed: list[tuple[int, int, int, int]] = []
    objects: list[VocObject] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        label = int(rng.integers(len(classes)))
        shape, hue = _STYLES[label % len(_STYLES)]
        hue = (hue + 7 * (label // len(_STYLES))) % 180
        small = rng.uniform() < 0.15
        side = rng.uniform(0.06, 0.1) if small else rng.uniform(0.2, 0.6)
        aspect = _aspect(shape) * rng.uniform(0.85, 1.15)
        box_w = max(4, min(width - 2, round(side * short * np.sqrt(aspect))))
        box_h = max(4, min(height - 2, round(side * short / np.sqrt(aspect))))
        for _attempt in range(20):
            x0 = int(rng.integers(0, width - box_w + 1))
            y0 = int(rng.integers(0, height - box_h + 1))
            candidate = (x0, y0, x0 + box_w - 1, y0 + box_h - 1)
            if all(_overlap(candidate, other) < 0.05 for other in placed):
                break
        else:
            continue
        mask = _shape_mask(shape, height, width, box_w, box_h, x0, y0)
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            continue
        alpha = (mask.astype(np.float64) / 255.0)[..., None]
        shading = rng.normal(0.0, 5.0, size=(height, width, 1))
        image = image * (1 - alpha) + alpha * np.clip(_colour(rng, hue) + shading, 0, 255)
        placed.append(candidate)
        tight = (int(xs.min()) + 1, int(ys.min()) + 1, int(xs.max()) + 1, int(ys.max()) + 1)
        objects.append(
            VocObject(
                name=classes[label],
                box=tight,
                difficult=bool(small),
            )
        )
    return np.clip(image, 0, 255).round().astype(np.uint8), objects


def make_synthetic_voc(
    root: str | os.PathLike,
    seed: int = 0,
    num_trainval: int = 240,
    num_test: int = 100,
    classes: Sequence[str] = SYNTHETIC_CLASSES,
    folder: str = "SYNTH",
    size_range: tuple[int, int] = (240, 360),
) -> Path:
    """Write the data set under ``root/folder`` and return that (year-like) folder.

    Image ids are ``000001`` ... ; the first ``num_trainval`` are trainval, the rest test.
    Widths and heights are drawn from ``size_range``. The same arguments always
    give the same files.
    """
    year_root = Path(root) / folder
    rng = np.random.default_rng(seed)
    ids = [f"{i:06d}" for i in range(1, num_trainval + num_test + 1)]
    for image_id in ids:
        image, objects = synthetic_image(rng, classes, size_range)
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        atomic_write_bytes(year_root / "JPEGImages" / f"{image_id}.jpg", encoded.tobytes())
        height, width = image.shape[:2]
        write_annotation(year_root / "Annotations", image_id, width, height, objects, folder)
    main = year_root / "ImageSets" / "Main"
    write_image_set(main / "trainval.txt", ids[:num_trainval])
    write_image_set(main / "test.txt", ids[num_trainval:])
    return year_root
