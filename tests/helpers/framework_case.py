"""One case for every framework test: the demo's ground truth and detections as a
model would give them, and what ``vocmap evaluate`` says about the same detections.

The detections are the demo's, moved to the 0-based "xyxy" frame as float32 (what
torchvision, detectron2 and mmdet models output), with scores rounded to one
decimal so that ties are everywhere: any change of the tie order (add order,
rank order) changes some AP. The CLI gets the same detections as devkit result
files, image by image in image-set order, their VOC boxes made by the documented
mapping (x1 + 1, y1 + 1, x2, y2) in float64 and written with ``repr``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fixture_paths import DEMO

import vocmap
from vocmap.cli import main as vocmap_main

VOC_ROOT = DEMO / "VOC2007"


@dataclass
class ImageDetections:
    image_id: str
    boxes: np.ndarray  # (n, 4) float32, 0-based continuous corners
    scores: np.ndarray  # (n,) float32
    labels: np.ndarray  # (n,) int64, 0-based index into VOC_CLASSES


def demo_images() -> tuple[vocmap.GroundTruth, list[ImageDetections]]:
    """The demo ground truth and, per image of its image set, its detections."""
    gt = vocmap.read_voc(VOC_ROOT, cache=False)
    dets = vocmap.read_detections(DEMO / "results", gt)
    rows: dict[int, list[tuple[int, int, np.ndarray, float]]] = {}
    for k, name in enumerate(vocmap.VOC_CLASSES):
        d = dets[name]
        for i in range(len(d)):
            x1, y1, x2, y2 = d.boxes[i]
            box = np.array([x1 - 1, y1 - 1, x2, y2], dtype=np.float32)
            score = float(np.float32(round(float(d.scores[i]), 1)))
            rows.setdefault(int(d.image_index[i]), []).append((k, i, box, score))
    images = []
    for index, image_id in enumerate(gt.image_ids):
        entries = rows.get(index, [])
        images.append(
            ImageDetections(
                image_id=image_id,
                boxes=np.array([e[2] for e in entries], dtype=np.float32).reshape(-1, 4),
                scores=np.array([e[3] for e in entries], dtype=np.float32),
                labels=np.array([e[0] for e in entries], dtype=np.int64),
            )
        )
    return gt, images


def to_voc(box, box_format: str) -> tuple[float, float, float, float]:
    """The README's table, written out independently of vocmap.core.boxes."""
    a, b, c, d = (float(v) for v in box)
    if box_format == "voc":
        return a, b, c, d
    if box_format == "xyxy":
        return a + 1.0, b + 1.0, c, d
    if box_format == "xywh":
        return a + 1.0, b + 1.0, a + c, b + d
    assert box_format == "voc0"
    return a + 1.0, b + 1.0, c + 1.0, d + 1.0


def in_voc0(images: list[ImageDetections]) -> list[ImageDetections]:
    """The same detections in mmdet's XMLDataset frame (every VOC coordinate - 1)."""
    return [
        ImageDetections(
            im.image_id,
            (im.boxes + np.array([0, 0, -1, -1], dtype=np.float32)).astype(np.float32),
            im.scores,
            im.labels,
        )
        for im in images
    ]


def write_result_files(
    images: list[ImageDetections], folder: Path, box_format: str = "xyxy"
) -> Path:
    """``comp4_det_test_<class>.txt`` in image-set order, VOC boxes by the mapping."""
    folder.mkdir(parents=True, exist_ok=True)
    lines: dict[int, list[str]] = {k: [] for k in range(len(vocmap.VOC_CLASSES))}
    for image in images:
        for box, score, label in zip(image.boxes, image.scores, image.labels):
            voc = to_voc(box, box_format)
            lines[int(label)].append(
                f"{image.image_id} {float(score)!r} " + " ".join(repr(v) for v in voc)
            )
    for k, name in enumerate(vocmap.VOC_CLASSES):
        text = "\n".join(lines[k]) + ("\n" if lines[k] else "")
        (folder / f"comp4_det_test_{name}.txt").write_text(text)
    return folder


def cli_aps(
    images: list[ImageDetections], tmp_path: Path, box_format: str = "xyxy", *ground_truth: str
) -> dict[str, float]:
    """``vocmap evaluate --json`` on the same detections: ``{"map": .., class: ap}``
    (``ground_truth``: other options than ``--voc-root`` the demo)."""
    folder = write_result_files(images, tmp_path / "results", box_format)
    out = tmp_path / "cli.json"
    where = list(ground_truth) or ["--voc-root", str(VOC_ROOT)]
    code = vocmap_main(["evaluate", str(folder), *where, "--json", str(out), "--quiet"])
    assert code == 0
    return flat_aps(json.loads(out.read_text()))


def flat_aps(document: dict) -> dict[str, float]:
    """``{"map": .., class: ap}`` from the CLI's JSON (null is NaN)."""
    out = {"map": _number(document["map"])}
    for name, entry in document["classes"].items():
        out[name] = _number(entry["ap"])
    return out


def result_aps(result: vocmap.EvalResult) -> dict[str, float]:
    """The same shape from an EvalResult."""
    out = {"map": result.map}
    out.update({name: r.ap for name, r in result.classes.items()})
    return out


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    """Equal as doubles (NaN equal to NaN), same keys."""
    return a.keys() == b.keys() and all(
        (np.isnan(a[k]) and np.isnan(b[k])) or a[k] == b[k] for k in a
    )
