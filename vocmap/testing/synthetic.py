"""A seeded generator of VOC-format evaluation cases with detector-like results.

It writes what the devkit reads, without images::

    <out>/VOC2007/Annotations/<id>.xml
    <out>/VOC2007/ImageSets/Main/test.txt
    <out>/results/comp4_det_test_<class>.txt

The detections look like a real detector's: each class has a skill; most objects
get one well-placed detection with a high score, some get near-duplicates or a
detection under the wrong class, and the rest of each image's budget is
low-scoring background boxes. Scores have 6 decimals and boxes 1 decimal, as SSD's
result files do. Used for the README demo (``data_fixtures/demo``) and the
benchmarks. Run ``python -m vocmap.synthetic --help``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocmap.core.atomic import atomic_write_text
from vocmap.core.constants import VOC_CLASSES
from vocmap.io.writers import VocObject, write_annotation, write_image_set


@dataclass(frozen=True)
class CaseSummary:
    """What a generated case holds."""

    voc_root: Path
    results: Path
    images: int
    objects: int
    difficult: int
    detections: int


def _objects_for_image(
    rng: np.random.Generator,
    width: int,
    height: int,
    mean_objects: float,
    n_classes: int,
    difficult_fraction: float,
):
    count = max(1, int(rng.poisson(mean_objects)))
    classes = rng.integers(0, n_classes, size=count)
    boxes = []
    for _ in range(count):
        w = float(np.clip(rng.lognormal(np.log(width * 0.3), 0.6), 8, width))
        h = float(np.clip(w * rng.lognormal(0.0, 0.4), 8, height))
        x1 = float(rng.integers(1, max(2, int(width - w) + 1)))
        y1 = float(rng.integers(1, max(2, int(height - h) + 1)))
        boxes.append((x1, y1, min(width, round(x1 + w - 1)), min(height, round(y1 + h - 1))))
    difficult = rng.random(count) < difficult_fraction
    return classes, np.array(boxes, dtype=np.float64), difficult


def _jitter(rng: np.random.Generator, box: np.ndarray, scale: float, width: int, height: int):
    w = box[2] - box[0] + 1
    h = box[3] - box[1] + 1
    noise = rng.normal(0.0, scale, size=4) * np.array([w, h, w, h])
    out = box + noise
    out[0] = np.clip(out[0], 1, width)
    out[1] = np.clip(out[1], 1, height)
    out[2] = np.clip(max(out[2], out[0] + 1), 1, width)
    out[3] = np.clip(max(out[3], out[1] + 1), 1, height)
    return out


@dataclass(frozen=True)
class SyntheticObjects:
    """The objects of a generated image set: per image, class indices (k,),
    VOC boxes (k, 4) and difficult flags (k,)."""

    image_ids: list[str]
    classes: tuple[str, ...]
    per_image: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    width: int
    height: int


def generate_annotations(
    voc_root: str | Path,
    *,
    images: int = 200,
    mean_objects: float = 2.5,
    difficult_fraction: float = 0.2,
    classes: Sequence[str] = VOC_CLASSES,
    seed: int | np.random.SeedSequence = 0,
    width: int = 500,
    height: int = 375,
) -> SyntheticObjects:
    """Write ``Annotations/<id>.xml`` and ``ImageSets/Main/test.txt`` under ``voc_root``."""
    rng = np.random.default_rng(seed)
    voc_root = Path(voc_root)
    image_ids = [f"{k + 1:06d}" for k in range(images)]
    per_image = []
    for image_id in image_ids:
        obj_classes, obj_boxes, difficult = _objects_for_image(
            rng, width, height, mean_objects, len(classes), difficult_fraction
        )
        write_annotation(
            voc_root / "Annotations",
            image_id,
            width,
            height,
            [
                VocObject(classes[c], tuple(b), bool(d))
                for c, b, d in zip(obj_classes, obj_boxes, difficult)
            ],
        )
        per_image.append((obj_classes, obj_boxes, difficult))
    write_image_set(voc_root / "ImageSets" / "Main" / "test.txt", image_ids)
    return SyntheticObjects(image_ids, tuple(classes), per_image, width, height)


def generate_detections(
    results_dir: str | Path,
    objects: SyntheticObjects,
    *,
    detections_per_image: int = 30,
    seed: int | np.random.SeedSequence = 1,
    skill: tuple[float, float] = (0.35, 0.95),
) -> int:
    """Write ``comp4_det_test_<class>.txt`` for ``objects``; return the detection count."""
    rng = np.random.default_rng(seed)
    classes, width, height = objects.classes, objects.width, objects.height
    n_classes = len(classes)
    class_skill = rng.uniform(skill[0], skill[1], size=n_classes)
    lines: list[list[str]] = [[] for _ in range(n_classes)]
    total = 0
    for image_id, (obj_classes, obj_boxes, _) in zip(objects.image_ids, objects.per_image):
        made = []
        for c, b in zip(obj_classes, obj_boxes):
            if rng.random() < class_skill[c]:
                made.append((c, _jitter(rng, b, 0.06, width, height), 0.3 + 0.7 * rng.beta(4, 1.5)))
            for _ in range(int(rng.poisson(0.6))):
                made.append((c, _jitter(rng, b, 0.15, width, height), 0.6 * rng.beta(2, 3)))
            if rng.random() < 0.15:
                wrong = int(rng.integers(0, n_classes))
                made.append((wrong, _jitter(rng, b, 0.08, width, height), 0.5 * rng.beta(2, 2)))
        made = made[:detections_per_image]
        for c, b, score in made:
            lines[c].append(f"{image_id} {score:.6f} {b[0]:.1f} {b[1]:.1f} {b[2]:.1f} {b[3]:.1f}\n")
        n_background = detections_per_image - len(made)
        w = rng.uniform(10, width * 0.6, n_background)
        h = rng.uniform(10, height * 0.6, n_background)
        x1 = rng.uniform(1, width - w)
        y1 = rng.uniform(1, height - h)
        scores = 0.01 + 0.35 * rng.beta(1, 8, n_background)
        background_classes = rng.integers(0, n_classes, n_background)
        for c, s, a, b, cc, d in zip(
            background_classes.tolist(),
            scores.tolist(),
            x1.tolist(),
            y1.tolist(),
            (x1 + w).tolist(),
            (y1 + h).tolist(),
        ):
            lines[c].append(f"{image_id} {s:.6f} {a:.1f} {b:.1f} {cc:.1f} {d:.1f}\n")
        total += len(made) + n_background
    results_dir = Path(results_dir)
    for name, class_lines in zip(classes, lines):
        atomic_write_text(results_dir / f"comp4_det_test_{name}.txt", "".join(class_lines))
    return total


def generate_case(
    out_dir: str | Path,
    *,
    images: int = 200,
    mean_objects: float = 2.5,
    difficult_fraction: float = 0.2,
    detections_per_image: int = 30,
    classes: Sequence[str] = VOC_CLASSES,
    seed: int = 0,
    width: int = 500,
    height: int = 375,
) -> CaseSummary:
    """Write a case under ``out_dir`` (see the module docstring) and summarise it.

    Annotations and detections use independent random streams of ``seed``, so
    the same seed gives the same annotations at any ``detections_per_image``.
    """
    annotation_seed, detection_seed = np.random.SeedSequence(seed).spawn(2)
    out_dir = Path(out_dir)
    objects = generate_annotations(
        out_dir / "VOC2007",
        images=images,
        mean_objects=mean_objects,
        difficult_fraction=difficult_fraction,
        classes=classes,
        seed=annotation_seed,
        width=width,
        height=height,
    )
    total = generate_detections(
        out_dir / "results",
        objects,
        detections_per_image=detections_per_image,
        seed=detection_seed,
    )
    return CaseSummary(
        voc_root=out_dir / "VOC2007",
        results=out_dir / "results",
        images=images,
        objects=sum(len(c) for c, _, _ in objects.per_image),
        difficult=sum(int(d.sum()) for _, _, d in objects.per_image),
        detections=total,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m vocmap.synthetic", description="Write a seeded VOC-format evaluation case."
    )
    parser.add_argument("out_dir")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--detections-per-image", type=int, default=30)
    parser.add_argument("--difficult-fraction", type=float, default=0.2)
    parser.add_argument("--mean-objects", type=float, default=2.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    summary = generate_case(
        args.out_dir,
        images=args.images,
        mean_objects=args.mean_objects,
        difficult_fraction=args.difficult_fraction,
        detections_per_image=args.detections_per_image,
        seed=args.seed,
    )
    print(
        f"{summary.images} images, {summary.objects} objects ({summary.difficult} difficult), "
        f"{summary.detections} detections -> {Path(args.out_dir)}"
    )


if __name__ == "__main__":
    main()
