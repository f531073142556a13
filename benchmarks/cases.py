"""Seeded VOC2007-test-shaped benchmark cases, generated once into benchmarks/data/.

    4,952 images, about 15,000 objects (about 20% difficult), 20 classes;
    detection sets of 10k, 100k, 1M (200 per image, ~40 MB) and 10M lines against
    those annotations, and 20 further 1M-line sets ("checkpoints" of a run, the
    detector's skill rising from one to the next) for the bulk case.

Scores have 6 decimals, boxes 1 decimal; each object gets a few detections with
varying overlap, the rest of an image's budget is low-scoring background
(vocmap.synthetic). ``results_json`` writes a result folder's detections once
more as a COCO-style results JSON (what mmdet and detectron2 write).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from vocmap.testing.synthetic import generate_annotations, generate_detections

DATA = Path(__file__).resolve().parent / "data"
IMAGES = 4952
MEAN_OBJECTS = 3.0
DIFFICULT = 0.2
SEED = 2007
SCALES = {"10k": 2, "100k": 20, "1m": 200, "10m": 2000}  # detections per image
BULK_SETS = 20


@dataclass(frozen=True)
class Cases:
    root: Path
    voc_root: Path
    scales: dict[str, Path]
    bulk: list[Path]


def ensure_cases(
    root: Path = DATA, scales=SCALES, bulk_sets: int = BULK_SETS, images: int = IMAGES, log=print
) -> Cases:
    """Generate whatever is missing under ``root`` and return the paths."""
    root = Path(root)
    voc_root = root / "VOC2007"
    scale_dirs = {name: root / f"results_{name}" for name in scales}
    bulk_dirs = [root / f"bulk_{k:02d}" for k in range(bulk_sets)]
    marker = root / f".complete-{images}-{'-'.join(scales)}-{bulk_sets}"
    if not marker.exists():
        if root.exists():
            shutil.rmtree(root)
        start = time.perf_counter()
        log(f"generating benchmark cases in {root} (once) ...")
        annotation_seed, *detection_seeds = np.random.SeedSequence(SEED).spawn(2 + bulk_sets)
        objects = generate_annotations(
            voc_root,
            images=images,
            mean_objects=MEAN_OBJECTS,
            difficult_fraction=DIFFICULT,
            seed=annotation_seed,
        )
        for name, per_image in scales.items():
            generate_detections(
                scale_dirs[name], objects, detections_per_image=per_image, seed=detection_seeds[0]
            )
        for k, folder in enumerate(bulk_dirs):
            skill = 0.2 + 0.6 * k / max(1, bulk_sets - 1)
            generate_detections(
                folder,
                objects,
                detections_per_image=scales.get("1m", 200),
                seed=detection_seeds[1 + k],
                skill=(skill, min(0.98, skill + 0.2)),
            )
        marker.write_text("ok\n")
        # The cache of vocmap refuses files younger than 2 s (racy-clean rule).
        time.sleep(2.1)
        log(f"generated in {time.perf_counter() - start:.0f} s")
    return Cases(root, voc_root, scale_dirs, bulk_dirs)


def results_json(folder: Path, log=print) -> Path:
    """``folder`` (devkit result files) as ``<folder>.json``, written once: a list of
    ``{"image_id": "000001", "category_id": k, "bbox": [x, y, w, h], "score": s}`` in
    class order (VOC's ``category_id`` 1..20), then file order, ``json.dumps``'
    separators. Numbers are the files' tokens moved to COCO's frame in decimal
    (``x = xmin - 1``, ``w = xmax - xmin + 1``), so no digit is invented."""
    from vocmap.core.constants import VOC_CLASSES

    path = folder.with_suffix(".json")
    if path.exists():
        return path
    log(f"writing {path.name} (once) ...")
    one = Decimal(1)
    records = []
    for category_id, name in enumerate(VOC_CLASSES, start=1):
        for line in (folder / f"comp4_det_test_{name}.txt").read_text().splitlines():
            image_id, score, x1, y1, x2, y2 = line.split()
            xmin, ymin, xmax, ymax = (Decimal(v) for v in (x1, y1, x2, y2))
            box = ", ".join(
                str(v) for v in (xmin - one, ymin - one, xmax - xmin + one, ymax - ymin + one)
            )
            records.append(
                f'{{"image_id": {json.dumps(image_id)}, "category_id": {category_id}, '
                f'"bbox": [{box}], "score": {score}}}'
            )
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text("[" + ", ".join(records) + "]")
    temporary.rename(path)
    return path
