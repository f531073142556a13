"""Batch inference from a checkpoint to the devkit's result files.

For each class ``c`` of the checkpoint's config, ``comp4_det_test_<c>.txt``
holds one line per detection: ``<image id> <score> <xmin> <ymin> <xmax>
<ymax>``, boxes in the devkit's 1-based pixel frame of the *original* image
(:func:`ssd_ref.data.voc.normalized_to_voc`, clipped to the image).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ssd_ref.config import SSDConfig
from ssd_ref.data.datasets import DetectDataset, opencv_serial
from ssd_ref.data.voc import VocDataset, normalized_to_voc, resolve_year_root
from ssd_ref.engine.batches import autocast_context, resolve_device, to_network_input
from ssd_ref.modeling.postprocess import Detections, detect_batch
from ssd_ref.modeling.priors import prior_boxes
from ssd_ref.modeling.ssd import SSD300, build_model
from ssd_ref.utils.checkpoint import load_checkpoint
from vocmap.core.atomic import atomic_write_text

logger = logging.getLogger(__name__)


def load_model(
    checkpoint_path: str | os.PathLike, device: torch.device
) -> tuple[SSD300, SSDConfig, int]:
    """The network of a checkpoint, in eval mode on ``device``; with its config and step."""
    checkpoint = load_checkpoint(checkpoint_path)
    config = SSDConfig.from_dict(checkpoint["config"])
    model = build_model(config, initialise_weights=False)
    model.load_state_dict(checkpoint["model"])
    model = model.to(device).eval()
    if config.run.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, config, int(checkpoint["step"])


@torch.no_grad()
def run_detection(
    model: SSD300,
    config: SSDConfig,
    voc: VocDataset,
    device: torch.device,
    batch_size: int = 8,
    num_workers: int = 0,
) -> Iterator[tuple[int, int, int, Detections]]:
    """Yield ``(index, height, width, detections)`` for every image of ``voc``, in order."""
    loader = DataLoader(
        DetectDataset(voc, config.model.image_size),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
    )
    priors = prior_boxes(config.model).to(device)
    for images, indices, heights, widths in loader:
        inputs = to_network_input(
            images, config.data.pixel_mean_bgr, device, config.run.channels_last
        )
        with autocast_context(device, config):
            loc, conf = model(inputs)
        results = detect_batch(loc, conf, priors, config.model.variances, config.detect)
        yield from zip(indices.tolist(), heights.tolist(), widths.tolist(), results, strict=True)


def format_lines(
    image_id: str, detections: Detections, width: int, height: int, num_classes: int
) -> list[list[str]]:
    """Result-file lines of one image, per class (devkit format, 1-based pixels)."""
    lines: list[list[str]] = [[] for _ in range(num_classes)]
    boxes = normalized_to_voc(detections.boxes.cpu().numpy(), width, height, clip=True)
    for box, score, label in zip(
        boxes, detections.scores.tolist(), detections.labels.tolist(), strict=True
    ):
        lines[label].append(
            f"{image_id} {score:.6f} {box[0]:.2f} {box[1]:.2f} {box[2]:.2f} {box[3]:.2f}\n"
        )
    return lines


def result_file_name(class_name: str, image_set: str = "test") -> str:
    return f"comp4_det_{image_set}_{class_name}.txt"


def default_out_dir(checkpoint_path: str | os.PathLike) -> Path:
    """``RUN/detections/step_XXXXXX`` for ``RUN/checkpoints/step_XXXXXX.pt``."""
    path = Path(checkpoint_path)
    base = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    return base / "detections" / path.stem


def write_result_files(
    out_dir: Path, classes: tuple[str, ...], lines: list[list[str]], image_set: str
) -> Path:
    """Write every class's file. A new folder appears whole (built beside it under a
    temporary name, then renamed); in an existing one each file is replaced atomically."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        for name, class_lines in zip(classes, lines, strict=True):
            atomic_write_text(out_dir / result_file_name(name, image_set), "".join(class_lines))
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for name, class_lines in zip(classes, lines, strict=True):
            (staging / result_file_name(name, image_set)).write_text("".join(class_lines))
        staging.chmod(0o755)
        os.rename(staging, out_dir)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        raise
    return out_dir


def detect_checkpoint(
    checkpoint_path: str | os.PathLike,
    voc_root: str | os.PathLike,
    image_set: str = "test",
    out_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    batch_size: int = 8,
    num_workers: int = 0,
) -> Path:
    """Detect on every image of ``<voc_root>/ImageSets/Main/<image_set>.txt`` and write
    ``comp4_det_<image_set>_<class>.txt`` for each class of the checkpoint's config.

    ``voc_root``: the year folder (``Annotations/``, ``JPEGImages/``,
    ``ImageSets/Main/``), or a folder with exactly one such subfolder having the set.
    ``out_dir``: default ``RUN/detections/step_XXXXXX`` next to ``RUN/checkpoints/``.
    ``device``: None = CUDA if available, else CPU. Returns the output folder.
    """
    device = resolve_device(device)
    model, config, step = load_model(checkpoint_path, device)
    year_root = resolve_year_root(voc_root, image_set)
    voc = VocDataset(year_root, [(".", image_set)], config.data.classes)
    classes = config.data.classes
    lines: list[list[str]] = [[] for _ in classes]
    with opencv_serial():
        for index, height, width, detections in run_detection(
            model, config, voc, device, batch_size, num_workers
        ):
            image_id = voc.items[index].annotation.image_id
            new_lines = format_lines(image_id, detections, width, height, len(classes))
            for class_lines, new in zip(lines, new_lines, strict=True):
                class_lines.extend(new)
    out = write_result_files(
        Path(out_dir) if out_dir is not None else default_out_dir(checkpoint_path),
        classes,
        lines,
        image_set,
    )
    logger.info("step %d: detections for %d images written to %s", step, len(voc), out)
    return out
