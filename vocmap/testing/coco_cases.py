"""Seeded COCO-shaped cases: ground truth and results as COCO writes them (tests, benchmarks).

A case has what real COCO data has and VOC converted to COCO lacks: integer image
ids in a file order that is not sorted, category ids with gaps (COCO's 80 of
1..90), boxes with two decimals, an ``area`` field unlike ``w * h`` (a segment's
area; some exactly at 32^2 and 96^2, the inclusive bin edges), about 1% crowd
regions, and detections that tie in score (three decimals) and crowd some images
past 100 (``maxDets``). :func:`coco_case` returns plain dicts and lists, ready for
``json.dump`` and for pycocotools.
"""

from __future__ import annotations

import numpy as np

#: COCO's 80 category ids (1..90 with gaps), as in instances_val2017.json.
COCO_CATEGORY_IDS = (
    *range(1, 12),
    *range(13, 26),
    27,
    28,
    *range(31, 45),
    *range(46, 66),
    67,
    70,
    *range(72, 83),
    *range(84, 91),
)


def coco_case(
    n_images: int,
    n_categories: int,
    n_detections: int,
    *,
    seed: int,
    objects_per_image: float = 7.3,
    crowd: float = 0.01,
    busy_images: int = 2,
) -> tuple[dict, list[dict]]:
    """``(ground truth dict, results list)`` of a seeded COCO-shaped case.

    ``n_categories`` (at most 80) takes COCO's first category ids; about
    ``objects_per_image`` objects an image; ``n_detections`` results, most near an
    object (its class or another), some anywhere; ``busy_images`` images get more
    than 100 detections of one category when there are enough.
    """
    rng = np.random.default_rng(seed)
    category_ids = list(COCO_CATEGORY_IDS[:n_categories])
    image_ids = rng.choice(600_000, size=n_images, replace=False) + 1
    sizes = rng.integers(240, 641, size=(n_images, 2))
    images = [
        {"id": int(i), "file_name": f"{int(i):012d}.jpg", "width": int(w), "height": int(h)}
        for i, (w, h) in zip(image_ids, sizes)
    ]
    counts = rng.poisson(objects_per_image, size=n_images)
    annotations: list[dict] = []
    for index, (image_id, count) in enumerate(zip(image_ids, counts)):
        width, height = sizes[index]
        for _ in range(count):
            w = round(float(np.exp(rng.uniform(np.log(4), np.log(width * 0.9)))), 2)
            h = round(float(np.exp(rng.uniform(np.log(4), np.log(height * 0.9)))), 2)
            x = round(float(rng.uniform(0, width - w)), 2)
            y = round(float(rng.uniform(0, height - h)), 2)
            edge = rng.random()
            if edge < 0.03:
                area = 1024.0  # exactly on the small/medium edge
            elif edge < 0.06:
                area = 9216.0  # exactly on the medium/large edge
            else:
                area = round(w * h * float(rng.uniform(0.35, 1.0)), 2)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": int(image_id),
                    "category_id": int(rng.choice(category_ids)),
                    "bbox": [x, y, w, h],
                    "area": area,
                    "iscrowd": int(rng.random() < crowd),
                }
            )
    ground_truth = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c, "name": f"class_{c}"} for c in category_ids],
    }
    return ground_truth, _results(rng, images, annotations, category_ids, n_detections, busy_images)


def _results(rng, images, annotations, category_ids, n_detections, busy_images) -> list[dict]:
    results = []
    n_near = int(n_detections * 0.7) if annotations else 0
    picks = rng.integers(0, max(1, len(annotations)), size=n_near)
    for pick in picks:
        target = annotations[int(pick)]
        x, y, w, h = target["bbox"]
        jitter = rng.normal(0, 0.12, size=4) * np.array([w, h, w, h])
        category = target["category_id"]
        if rng.random() < 0.15:
            category = int(rng.choice(category_ids))
        results.append(
            _record(
                target["image_id"],
                category,
                x + jitter[0],
                y + jitter[1],
                w + jitter[2],
                h + jitter[3],
                rng,
            )
        )
    busy = [] if n_detections < 400 else rng.choice(len(images), size=busy_images, replace=False)
    for index in busy:
        category = int(rng.choice(category_ids))
        for _ in range(130):
            results.append(_random_record(rng, images[int(index)], category))
    while len(results) < n_detections:
        image = images[int(rng.integers(0, len(images)))]
        results.append(_random_record(rng, image, int(rng.choice(category_ids))))
    order = rng.permutation(len(results))
    return [results[i] for i in order[:n_detections]]


def _random_record(rng, image: dict, category: int) -> dict:
    w = float(rng.uniform(2, image["width"] * 0.8))
    h = float(rng.uniform(2, image["height"] * 0.8))
    x = float(rng.uniform(0, image["width"] - w))
    y = float(rng.uniform(0, image["height"] - h))
    return _record(image["id"], category, x, y, w, h, rng)


def _record(image_id: int, category: int, x, y, w, h, rng) -> dict:
    return {
        "image_id": int(image_id),
        "category_id": int(category),
        "bbox": [
            round(float(x), 2),
            round(float(y), 2),
            round(max(float(w), 1.0), 2),
            round(max(float(h), 1.0), 2),
        ],
        "score": round(float(rng.random()), 3),
    }
