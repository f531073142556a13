"""Batch inference from a checkpoint to the devkit's result files.

For each class ``c`` of the checkpoint's config, ``comp4_det_test_<c>.txt``
holds one line per detection: ``<image id> <score> <xmin> <ymin> <xmax>
<ymax>`` in the devkit's 1-based pixel frame of the *original* image, in one of
two conventions (:data:`BOX_CONVENTIONS`):

- ``ssd_ref`` (default): ``xmin = x1 * W + 1``, ``xmax = x2 * W`` (the inverse of
  :func:`ssd_ref.data.voc.voc_to_normalized`), clipped to ``[1, W]``, two
  decimals; score with six decimals;
- ``caffe``: what Caffe SSD's DetectionOutput layer wrote (``output_format:
  "VOC"``): the box clipped to [0, 1] and scaled by the image size (float32),
  ``xmin`` and the width rounded to two decimals and truncated to integers,
  ``xmax = int(xmin) + int(width)``, no ``+1``; the score as C++ streams a
  float (six significant digits).

Under ``torchrun`` :func:`detect_checkpoint` shards the image set by whole
batches (rank ``r`` of ``W`` takes batches ``r, r + W, ...``, each exactly the
batch one process would make) and rank 0 writes the files in the image set's
order: the same bytes as one process with the same settings.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ssd_ref.config import SSDConfig
from ssd_ref.data.datasets import DetectDataset, opencv_serial, seed_worker
from ssd_ref.data.voc import VocDataset, normalized_to_voc, resolve_year_root
from ssd_ref.engine.batches import (
    autocast_context,
    numeric_settings,
    resolve_device,
    to_network_input,
)
from ssd_ref.errors import CheckpointError, ConfigError
from ssd_ref.modeling.postprocess import Detections, detect_batch
from ssd_ref.modeling.priors import prior_boxes
from ssd_ref.modeling.ssd import SSD300, build_model
from ssd_ref.utils.checkpoint import checkpoint_config, load_checkpoint
from ssd_ref.utils.distributed import (
    DistInfo,
    barrier,
    gather_to_main,
    init_distributed,
    local_rank,
)
from ssd_ref.utils.progress import Progress
from vocmap.core.atomic import atomic_write_text

logger = logging.getLogger(__name__)

BOX_CONVENTIONS: tuple[str, ...] = ("ssd_ref", "caffe")


def load_model(
    checkpoint_path: str | os.PathLike, device: torch.device
) -> tuple[SSD300, SSDConfig, int]:
    """The network of a checkpoint, in eval mode on ``device``; with its config and step."""
    checkpoint = load_checkpoint(checkpoint_path)
    config = checkpoint_config(checkpoint, checkpoint_path)
    model = build_model(config, initialise_weights=False)
    try:
        model.load_state_dict(checkpoint["model"])
    except (RuntimeError, TypeError, AttributeError) as error:
        first = (str(error).strip().splitlines() or [""])[0][:120]
        raise CheckpointError(
            f"{checkpoint_path}: its weights do not fit its config's network ({first})"
        ) from None
    model = model.to(device).eval()
    if config.run.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, config, int(checkpoint["step"])


def batch_shard(num_images: int, batch_size: int, info: DistInfo) -> list[int]:
    """The image indices of this rank: batches ``rank, rank + W, ...`` of the whole list."""
    batches = range(info.rank, math.ceil(num_images / batch_size), info.world_size)
    return [
        i for b in batches for i in range(b * batch_size, min(num_images, (b + 1) * batch_size))
    ]


@torch.no_grad()
def run_detection(
    model: SSD300,
    config: SSDConfig,
    voc: VocDataset,
    device: torch.device,
    batch_size: int = 8,
    num_workers: int = 0,
    indices: Sequence[int] | None = None,
) -> Iterator[tuple[int, int, int, Detections]]:
    """Yield ``(index, height, width, detections)`` for the images ``indices`` of
    ``voc`` (default: all), in that order, in batches of ``batch_size``."""
    dataset = DetectDataset(voc, config.model.image_size)
    loader = DataLoader(
        dataset if indices is None else torch.utils.data.Subset(dataset, list(indices)),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
        worker_init_fn=functools.partial(seed_worker, seed=0, start_step=0),
    )
    priors = prior_boxes(config.model).to(device)
    for images, image_indices, heights, widths in loader:
        inputs = to_network_input(
            images, config.data.pixel_mean_bgr, device, config.run.channels_last
        )
        with autocast_context(device, config):
            loc, conf = model(inputs)
        results = detect_batch(loc, conf, priors, config.model.variances, config.detect)
        yield from zip(
            image_indices.tolist(), heights.tolist(), widths.tolist(), results, strict=True
        )


def caffe_voc_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Normalised ``(N, 4)`` boxes -> the integers Caffe's DetectionOutput wrote, ``(N, 4)``.

    Caffe (bbox_util.cpp OutputBBox, detection_output_layer.cpp): ClipBBox to
    [0, 1] and ScaleBBox by the original size, in float; then
    ``round(v * 100) / 100.`` of xmin, ymin, width and height (stored in a
    property tree as float), read back and cast with ``static_cast<int>``;
    written as ``xmin ymin xmin+width ymin+height``.
    """
    f32 = np.float32
    scaled = np.clip(np.asarray(boxes, dtype=f32).reshape(-1, 4), f32(0), f32(1))
    scaled = scaled * np.array([width, height, width, height], dtype=f32)

    def hundredths(values: np.ndarray) -> np.ndarray:
        times = (values.astype(f32) * f32(100)).astype(np.float64)  # a float product
        rounded = np.where(times >= 0, np.floor(times + 0.5), np.ceil(times - 0.5))  # C round()
        return (rounded / 100.0).astype(f32)  # "/ 100." in double, put<float>

    xmin, ymin = hundredths(scaled[:, 0]), hundredths(scaled[:, 1])
    box_w = hundredths(scaled[:, 2] - scaled[:, 0])
    box_h = hundredths(scaled[:, 3] - scaled[:, 1])
    ints = np.trunc(np.stack([xmin, ymin, box_w, box_h], axis=1)).astype(np.int64)
    ints[:, 2] += ints[:, 0]
    ints[:, 3] += ints[:, 1]
    return ints


def format_lines(
    image_id: str,
    detections: Detections,
    width: int,
    height: int,
    num_classes: int,
    box_convention: str = "ssd_ref",
) -> list[list[str]]:
    """Result-file lines of one image, per class (devkit format, see the module doc)."""
    lines: list[list[str]] = [[] for _ in range(num_classes)]
    normalised = detections.boxes.detach().float().cpu().numpy()
    scores = detections.scores.detach().float().cpu().numpy()
    labels = detections.labels.tolist()
    if box_convention == "ssd_ref":
        boxes = normalized_to_voc(normalised, width, height, clip=True)
        for box, score, label in zip(boxes, scores.tolist(), labels, strict=True):
            lines[label].append(
                f"{image_id} {score:.6f} {box[0]:.2f} {box[1]:.2f} {box[2]:.2f} {box[3]:.2f}\n"
            )
    elif box_convention == "caffe":
        boxes = caffe_voc_boxes(normalised, width, height)
        for box, score, label in zip(boxes.tolist(), scores, labels, strict=True):
            # C++ ``<< float`` : six significant digits (printf %g) of the float value.
            lines[label].append(
                f"{image_id} {float(score):g} {box[0]} {box[1]} {box[2]} {box[3]}\n"
            )
    else:
        raise ConfigError(
            f"box convention must be one of {list(BOX_CONVENTIONS)}, not {box_convention!r}"
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


def _image_lines(
    model: SSD300,
    config: SSDConfig,
    voc: VocDataset,
    device: torch.device,
    batch_size: int,
    num_workers: int,
    indices: list[int],
    box_convention: str,
    progress: Progress,
) -> dict[int, list[list[str]]]:
    """``{image index: per-class lines}`` for ``indices``."""
    found: dict[int, list[list[str]]] = {}
    for index, height, width, detections in run_detection(
        model, config, voc, device, batch_size, num_workers, indices
    ):
        image_id = voc.items[index].annotation.image_id
        found[index] = format_lines(
            image_id, detections, width, height, len(config.data.classes), box_convention
        )
        progress.update(len(found))
    progress.close()
    return found


def detect_checkpoint(
    checkpoint_path: str | os.PathLike,
    voc_root: str | os.PathLike,
    image_set: str = "test",
    out_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    batch_size: int = 8,
    num_workers: int = 0,
    box_convention: str = "ssd_ref",
    progress: bool = False,
) -> Path:
    """Detect on every image of ``<voc_root>/ImageSets/Main/<image_set>.txt`` and write
    ``comp4_det_<image_set>_<class>.txt`` for each class of the checkpoint's config.

    ``voc_root``: the year folder (``Annotations/``, ``JPEGImages/``,
    ``ImageSets/Main/``), or a folder with exactly one such subfolder having the set.
    ``out_dir``: default ``RUN/detections/step_XXXXXX`` next to ``RUN/checkpoints/``.
    ``device``: None = CUDA if available (this rank's GPU), else CPU.
    ``box_convention``: "ssd_ref" or "caffe" (see the module doc).
    ``progress``: show images/s and ETA (a live line on a terminal, log lines otherwise).
    Under ``torchrun`` every rank must call it: each detects its share, rank 0
    writes the files; all ranks return the output folder. Returns the output folder.
    """
    if box_convention not in BOX_CONVENTIONS:
        raise ConfigError(
            f"box convention must be one of {list(BOX_CONVENTIONS)}, not {box_convention!r}"
        )
    device = resolve_device(device, local_rank())
    info = init_distributed(device.type)
    model, config, step = load_model(checkpoint_path, device)
    year_root = resolve_year_root(voc_root, image_set)
    voc = VocDataset(year_root, [(".", image_set)], config.data.classes)
    mine = batch_shard(len(voc), batch_size, info)
    shown = Progress(len(mine), "detect", "images", enabled=progress and info.is_main)
    # cuDNN's autotuner could pick other kernels in another process: off, for equal bytes.
    with opencv_serial(), numeric_settings(config.run, device, cudnn_benchmark=False):
        found = _image_lines(
            model, config, voc, device, batch_size, num_workers, mine, box_convention, shown
        )
    shards = gather_to_main(found)
    out = Path(out_dir) if out_dir is not None else default_out_dir(checkpoint_path)
    if shards is not None:  # rank 0: every image's lines, in the image set's order
        merged = {index: lines for shard in shards for index, lines in shard.items()}
        lines: list[list[str]] = [[] for _ in config.data.classes]
        for index in range(len(voc)):
            for class_lines, new in zip(lines, merged[index], strict=True):
                class_lines.extend(new)
        write_result_files(out, config.data.classes, lines, image_set)
        logger.info("step %d: detections for %d images written to %s", step, len(voc), out)
    barrier()
    return out
