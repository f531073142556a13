"""A training-run folder without training: annotations, history.csv and per-step
detections whose quality rises with the step (for score/table/plot tests)."""

from __future__ import annotations

import math
from pathlib import Path

from vocmap.core.atomic import atomic_write_text
from vocmap.runs.contract import step_name
from vocmap.testing.synthetic import generate_annotations, generate_detections

CLASSES = ("bottle", "car", "cat", "dog", "person")


def make_run(
    root: Path, steps=(100, 200, 300, 400, 500, 600), images: int = 60
) -> tuple[Path, Path]:
    """Write ``root/VOC2007`` and ``root/run``; return (voc_root, run_dir)."""
    voc_root = root / "VOC2007"
    run = root / "run"
    objects = generate_annotations(voc_root, images=images, classes=CLASSES, seed=3)
    for k, step in enumerate(steps):
        skill = 0.2 + 0.7 * k / max(1, len(steps) - 1)
        generate_detections(
            run / "detections" / step_name(step),
            objects,
            detections_per_image=15,
            seed=100 + k,
            skill=(skill, min(0.99, skill + 0.05)),
        )
    lines = [
        "step,loss,loc_loss,conf_loss,lr,images_per_s,val_loss,val_loc_loss,val_conf_loss,skipped_steps"
    ]
    for step in range(10, steps[-1] + 1, 10):
        loss = 2.0 + 10.0 * math.exp(-step / 150)
        lr = 1e-3 if step < 400 else 1e-4
        val = f"{loss + 0.3:.4f}" if step % 100 == 0 else ""
        lines.append(f"{step},{loss:.4f},{loss * 0.4:.4f},{loss * 0.6:.4f},{lr},120.5,{val},,,0")
    atomic_write_text(run / "history.csv", "\n".join(lines) + "\n")
    atomic_write_text(
        run / "config.json",
        '{"data": {"classes": ["background", "bottle", "car", "cat", "dog", "person"]}}\n',
    )
    return voc_root, run
