"""The training configuration's schema: one frozen dataclass per section.

Everything a run depends on lives in one :class:`SSDConfig`, which round-trips
through JSON (``to_dict`` / ``from_dict``, see :mod:`ssd_ref.config.plain`) so
that a run folder's ``config.json`` and every checkpoint carry the exact
settings that produced them. The defaults are the Caffe ``ssd_pascal.py``
SSD300 values; the presets are in :mod:`ssd_ref.config.presets`, loading and
``--override`` in :mod:`ssd_ref.config.overrides`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from ssd_ref.config import checks
from ssd_ref.config.plain import from_plain, to_plain
from ssd_ref.errors import ConfigError

# The 20 VOC classes in the devkit's order, one list for both packages; label 0
# of the network is background.
from vocmap.core.constants import VOC_CLASSES
from vocmap.io.files import file_name_problem

#: The classes of the synthetic data set (a subset of the VOC names, so result
#: files and vocmap's tables look like VOC).
SYNTHETIC_CLASSES: tuple[str, ...] = ("bottle", "car", "cat", "dog", "person")

#: ``data.pipeline`` values.
PIPELINES: tuple[str, ...] = ("cpu", "batched")

#: ``data.epoch_order`` values.
EPOCH_ORDERS: tuple[str, ...] = ("fixed", "reshuffle")

#: ``solver.optimizer`` values.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adamw")

#: Caffe's interpolation modes for the training resize (``interp_mode``).
ALL_INTERPOLATIONS: tuple[str, ...] = ("linear", "area", "nearest", "cubic", "lanczos4")

#: ``model.backbone_weights_preprocessing`` values.
WEIGHTS_PREPROCESSINGS: tuple[str, ...] = ("auto", "torchvision", "caffe")

#: ``model.backbone_init`` values.
BACKBONE_INITS: tuple[str, ...] = ("xavier", "kaiming")


@dataclass(frozen=True)
class ModelConfig:
    """Network shape and priors. ``width_mult`` scales every channel count (1.0 = SSD300)."""

    image_size: int = 300
    width_mult: float = 1.0
    #: No layer gets fewer channels than this after ``width_mult`` (SSD300: none
    #: is below 64). The tiny model's full-resolution block 1 (64 x 1/16 = 4
    #: ReLU channels) is a colour bottleneck whose losses depend on the seed
    #: (see "It is fragile, and why" in ssd_ref/README.md).
    min_channels: int = 4
    feature_maps: tuple[int, ...] = (38, 19, 10, 5, 3, 1)
    steps: tuple[int, ...] = (8, 16, 32, 64, 100, 300)
    min_sizes: tuple[float, ...] = (30.0, 60.0, 111.0, 162.0, 213.0, 264.0)
    max_sizes: tuple[float, ...] = (60.0, 111.0, 162.0, 213.0, 264.0, 315.0)
    aspect_ratios: tuple[tuple[float, ...], ...] = (
        (2.0,),
        (2.0, 3.0),
        (2.0, 3.0),
        (2.0, 3.0),
        (2.0,),
        (2.0,),
    )
    prior_offset: float = 0.5
    clip_priors: bool = False
    variances: tuple[float, ...] = (0.1, 0.1, 0.2, 0.2)
    l2norm_scale: float = 20.0
    #: Local file with ImageNet VGG16 weights (torchvision layout, or already reduced;
    #: ``ssd_ref weights convert`` makes one from ``vgg16_reducedfc.pth``).
    backbone_weights: str | None = None
    #: SHA-256 of the ``backbone_weights`` file. ``train`` fills it in (so the
    #: run's config.json records which file it started from) and refuses a file
    #: whose hash differs from a value given here.
    backbone_weights_sha256: str | None = None
    #: Train without ImageNet weights, on purpose. Without ``backbone_weights``
    #: a new run refuses to start unless this is true (the CPU presets set it).
    from_scratch: bool = False
    #: What input the weights in ``backbone_weights`` expect: "torchvision" (RGB in
    #: [0, 1], mean/std normalised; folded into conv1_1 on load), "caffe" (BGR 0-255
    #: minus the mean, like ssd_ref's own input) or "auto" (torchvision for the
    #: torchvision layout, caffe for already reduced weights).
    backbone_weights_preprocessing: str = "auto"
    #: Initialisation of the backbone when no weights are given: "xavier" or "kaiming".
    backbone_init: str = "xavier"
    #: Per-channel divisor (B, G, R) applied by the network to its input (BGR
    #: 0-255 minus the mean) before conv1_1; None: no division (Caffe, whose
    #: VGG16 weights expect 0-255 units). A from-scratch network should see
    #: unit-scale input: the alternative, conv1_1's weights divided by 60, gives
    #: conv1_1 a 3,600-fold larger relative learning rate (see ssd_ref/README.md).
    input_std_bgr: tuple[float, float, float] | None = None
    #: BatchNorm after every backbone and extra convolution but conv1_1/conv1_2.
    #: Not in Caffe's SSD (which starts from ImageNet weights); SSD trained from
    #: scratch needs it to learn quickly and stably (ScratchDet, Zhu et al. 2019).
    #: Used by the tiny config.
    batch_norm: bool = False
    #: Block 1 (conv1_1, conv1_2) with concatenated ReLUs ``[relu(z), relu(-z)]``
    #: of half as many filters (Shang et al. 2016; not in VGG16). In a narrow
    #: model (4 channels at 1/16 width) plain ReLUs can map a whole colour to
    #: zero in every channel: that class is then cut off for good (ssd_ref/README.md).
    stem_crelu: bool = False

    def __post_init__(self) -> None:
        checks.finite_numbers("model", self)
        checks.at_least("model.image_size", self.image_size, 1)
        checks.above("model.width_mult", self.width_mult, 0)
        checks.at_least("model.min_channels", self.min_channels, 1)
        levels = len(self.feature_maps)
        if levels == 0:
            raise ConfigError("model.feature_maps must not be empty")
        for key in ("steps", "min_sizes", "max_sizes", "aspect_ratios"):
            checks.length(f"model.{key}", getattr(self, key), levels, "one per feature map")
        for key in ("feature_maps", "steps", "min_sizes", "max_sizes"):
            for value in getattr(self, key):
                checks.above(f"model.{key}", value, 0)
        for ratios in self.aspect_ratios:
            for ratio in ratios:
                checks.above("model.aspect_ratios", ratio, 0)
        checks.between("model.prior_offset", self.prior_offset, 0.0, 1.0)
        checks.length("model.variances", self.variances, 4, "centre x, y, width, height")
        for value in self.variances:
            checks.above("model.variances", value, 0)
        checks.above("model.l2norm_scale", self.l2norm_scale, 0)
        self._check_backbone()

    def _check_backbone(self) -> None:
        if self.backbone_weights == "":
            raise ConfigError("model.backbone_weights must be a file name or null, not ''")
        pretrained_shape = self.width_mult == 1.0 and not self.batch_norm and not self.stem_crelu
        if self.backbone_weights is not None and (
            not pretrained_shape or self.input_std_bgr is not None
        ):
            raise ConfigError(
                "model.backbone_weights (ImageNet VGG16) need width_mult 1.0, no batch_norm, "
                "no stem_crelu and no input_std_bgr"
            )
        if self.backbone_weights is not None and self.from_scratch:
            raise ConfigError(
                "model.from_scratch is true but model.backbone_weights is set: choose one"
            )
        sha = self.backbone_weights_sha256
        if sha is not None and (len(sha) != 64 or set(sha) - set("0123456789abcdef")):
            raise ConfigError(
                f"model.backbone_weights_sha256 must be 64 lowercase hex digits, not {checks.shown(sha)}"
            )
        checks.one_of(
            "model.backbone_weights_preprocessing",
            self.backbone_weights_preprocessing,
            WEIGHTS_PREPROCESSINGS,
        )
        checks.one_of("model.backbone_init", self.backbone_init, BACKBONE_INITS)
        if self.input_std_bgr is not None:
            for value in self.input_std_bgr:
                checks.above("model.input_std_bgr", value, 0)


@dataclass(frozen=True)
class SamplerConfig:
    """One of Caffe's ``batch_sampler`` entries (normalised coordinates)."""

    min_scale: float = 1.0
    max_scale: float = 1.0
    min_aspect_ratio: float = 1.0
    max_aspect_ratio: float = 1.0
    min_jaccard_overlap: float | None = None
    max_jaccard_overlap: float | None = None
    max_trials: int = 1
    max_sample: int = 1

    def __post_init__(self) -> None:
        checks.finite_numbers("augment.samplers[]", self)
        key = "augment.samplers[]."
        checks.between(key + "min_scale", self.min_scale, 0.0, 1.0)
        checks.between(key + "max_scale", self.max_scale, 0.0, 1.0)
        checks.above(key + "min_scale", self.min_scale, 0)
        checks.ordered(key + "max_scale", key + "min_scale", self.min_scale, self.max_scale)
        checks.above(key + "min_aspect_ratio", self.min_aspect_ratio, 0)
        checks.ordered(
            key + "max_aspect_ratio", key + "min_aspect_ratio",
            self.min_aspect_ratio, self.max_aspect_ratio,
        )  # fmt: skip
        for name in ("min_jaccard_overlap", "max_jaccard_overlap"):
            checks.between(key + name, getattr(self, name), 0.0, 1.0, optional=True)
        checks.at_least(key + "max_trials", self.max_trials, 1)
        checks.at_least(key + "max_sample", self.max_sample, 1)


def _caffe_samplers() -> tuple[SamplerConfig, ...]:
    whole_image = SamplerConfig()
    crops = tuple(
        SamplerConfig(0.3, 1.0, 0.5, 2.0, min_jaccard_overlap=iou, max_trials=50)
        for iou in (0.1, 0.3, 0.5, 0.7, 0.9)
    )
    any_crop = SamplerConfig(0.3, 1.0, 0.5, 2.0, max_jaccard_overlap=1.0, max_trials=50)
    return (whole_image, *crops, any_crop)


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation, in Caffe's order: distort, expand, crop, resize, flip, mean."""

    brightness_prob: float = 0.5
    brightness_delta: float = 32.0
    contrast_prob: float = 0.5
    contrast_lower: float = 0.5
    contrast_upper: float = 1.5
    saturation_prob: float = 0.5
    saturation_lower: float = 0.5
    saturation_upper: float = 1.5
    hue_prob: float = 0.5
    hue_delta: float = 18.0
    expand_prob: float = 0.5
    max_expand_ratio: float = 4.0
    samplers: tuple[SamplerConfig, ...] = field(default_factory=_caffe_samplers)
    interpolations: tuple[str, ...] = ALL_INTERPOLATIONS
    flip_prob: float = 0.5
    #: Caffe re-encodes the image as JPEG (OpenCV's default quality, 95) after
    #: the distortion, after an expansion and after the crop (its data layer
    #: keeps images encoded between steps). None: no re-encoding.
    jpeg_quality: int | None = 95

    def __post_init__(self) -> None:
        checks.finite_numbers("augment", self)
        for name in ("brightness", "contrast", "saturation", "hue", "expand", "flip"):
            checks.between(f"augment.{name}_prob", getattr(self, f"{name}_prob"), 0.0, 1.0)
        checks.between("augment.brightness_delta", self.brightness_delta, 0.0, 255.0)
        checks.between("augment.hue_delta", self.hue_delta, 0.0, 180.0)
        for name in ("contrast", "saturation"):
            lower, upper = getattr(self, f"{name}_lower"), getattr(self, f"{name}_upper")
            checks.at_least(f"augment.{name}_lower", lower, 0.0)
            checks.ordered(f"augment.{name}_upper", f"augment.{name}_lower", lower, upper)
        checks.at_least("augment.max_expand_ratio", self.max_expand_ratio, 1.0)
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(
                f"augment.jpeg_quality must be 1..100 or null, not {self.jpeg_quality}"
            )
        unknown = set(self.interpolations) - set(ALL_INTERPOLATIONS)
        if unknown or not self.interpolations:
            raise ConfigError(
                f"augment.interpolations: unknown {sorted(unknown)}; use {list(ALL_INTERPOLATIONS)}"
            )


@dataclass(frozen=True)
class DataConfig:
    """Where the images come from. Sets are ``(year folder, image set)`` under ``voc_root``."""

    classes: tuple[str, ...] = VOC_CLASSES
    #: The VOCdevkit folder holding the year folders (set by ``ssd_ref train --voc-root``).
    voc_root: str | None = None
    train_sets: tuple[tuple[str, str], ...] = (("VOC2007", "trainval"), ("VOC2012", "trainval"))
    val_sets: tuple[tuple[str, str], ...] = (("VOC2007", "test"),)
    #: Use at most this many validation images (the first ones of the set); None = all.
    val_max_images: int | None = None
    use_difficult: bool = True
    pixel_mean_bgr: tuple[float, float, float] = (104.0, 117.0, 123.0)
    #: Loader processes per training process (the ``cpu`` pipeline). A worker
    #: makes about 65 training images/s with Caffe's augmentation and JPEG
    #: re-encoding (about 135 without; BENCHMARKS.md). None: the cores this
    #: process may run on, less one for the training loop (at least 1).
    num_workers: int | None = None
    pin_memory: bool = True
    #: "fixed": one shuffled order, repeated every epoch (Caffe reads its
    #: shuffled LMDB in the same order each time); "reshuffle": a new
    #: permutation each epoch.
    epoch_order: str = "fixed"
    #: "cpu": Caffe's augmentation per image in DataLoader workers (JPEG
    #: re-encoding included); "batched": whole batches on the training device
    #: (ssd_ref/data/batched_transforms.py; no JPEG re-encoding).
    pipeline: str = "cpu"
    #: The ``batched`` pipeline's image cache (``ssd_ref prepare``); None: decode
    #: the JPEGs while training.
    prepared: str | None = None

    def __post_init__(self) -> None:
        checks.finite_numbers("data", self)
        if not self.classes:
            raise ConfigError("data.classes must name at least one class")
        for name in self.classes:
            if not name or not name.isprintable() or any(c.isspace() or c in "/\\" for c in name):
                raise ConfigError(
                    f"data.classes: {checks.shown(name)} is not a usable class name "
                    "(it names a result file: no spaces, slashes or control characters)"
                )
        repeated = sorted({c for c in self.classes if self.classes.count(c) > 1})
        if repeated:
            raise ConfigError(f"data.classes names {repeated} more than once")
        if self.voc_root == "":
            raise ConfigError("data.voc_root must be a folder or null, not ''")
        if not self.train_sets:
            raise ConfigError("data.train_sets must name at least one (year folder, image set)")
        for key, sets in (("data.train_sets", self.train_sets), ("data.val_sets", self.val_sets)):
            for year, image_set in sets:
                for name, what in ((year, "year folder"), (image_set, "image set")):
                    problem = file_name_problem(name)
                    if problem is not None and not (what == "year folder" and name == "."):
                        raise ConfigError(f"{key}: the {what} {checks.shown(name)} {problem}")
        checks.at_least("data.val_max_images", self.val_max_images, 1, optional=True)
        checks.at_least("data.num_workers", self.num_workers, 0, optional=True)
        checks.one_of("data.pipeline", self.pipeline, PIPELINES)
        checks.not_empty("data.prepared", self.prepared)
        if self.epoch_order not in EPOCH_ORDERS:
            raise ConfigError(
                f"data.epoch_order must be one of {list(EPOCH_ORDERS)}, not {self.epoch_order!r}"
            )


@dataclass(frozen=True)
class SolverConfig:
    """The optimiser and the step schedule. ``batch_size`` is global (split across ranks)."""

    #: "sgd" (Caffe's solver) or "adamw" (``momentum`` is then Adam's beta1;
    #: beta2 0.999; ``weight_decay`` is decoupled, as AdamW applies it).
    optimizer: str = "sgd"
    batch_size: int = 32
    base_lr: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 0.0005
    bias_lr_factor: float = 2.0
    bias_weight_decay: float = 0.0
    milestones: tuple[int, ...] = (80_000, 100_000)
    gamma: float = 0.1
    max_iter: int = 120_000
    #: Linear warm-up from ``warmup_factor * lr`` to ``lr`` over this many steps (0 = off).
    warmup_iters: int = 0
    warmup_factor: float = 1.0 / 3.0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"solver.optimizer must be one of {list(OPTIMIZERS)}, not {self.optimizer!r}"
            )
        checks.finite_numbers("solver", self)
        checks.at_least("solver.batch_size", self.batch_size, 1)
        checks.above("solver.base_lr", self.base_lr, 0)
        checks.between("solver.momentum", self.momentum, 0.0, 1.0)
        for name in ("weight_decay", "bias_lr_factor", "bias_weight_decay"):
            checks.at_least(f"solver.{name}", getattr(self, name), 0.0)
        checks.above("solver.gamma", self.gamma, 0)
        checks.at_least("solver.max_iter", self.max_iter, 1)
        if any(m < 1 for m in self.milestones) or list(self.milestones) != sorted(
            set(self.milestones)
        ):
            raise ConfigError(
                f"solver.milestones must be increasing steps >= 1, not {list(self.milestones)}"
            )
        checks.at_least("solver.warmup_iters", self.warmup_iters, 0)
        checks.between("solver.warmup_factor", self.warmup_factor, 0.0, 1.0)
        checks.above("solver.warmup_factor", self.warmup_factor, 0)


@dataclass(frozen=True)
class LossConfig:
    """Matching and MultiBox loss (Caffe ``multibox_loss_param``)."""

    overlap_threshold: float = 0.5
    neg_pos_ratio: float = 3.0
    neg_overlap: float = 0.5
    loc_weight: float = 1.0

    def __post_init__(self) -> None:
        checks.finite_numbers("loss", self)
        checks.between("loss.overlap_threshold", self.overlap_threshold, 0.0, 1.0)
        checks.above("loss.overlap_threshold", self.overlap_threshold, 0)
        checks.at_least("loss.neg_pos_ratio", self.neg_pos_ratio, 0.0)
        checks.between("loss.neg_overlap", self.neg_overlap, 0.0, 1.0)
        checks.at_least("loss.loc_weight", self.loc_weight, 0.0)


@dataclass(frozen=True)
class DetectConfig:
    """Post-processing (Caffe ``detection_output_param``)."""

    conf_threshold: float = 0.01
    nms_threshold: float = 0.45
    top_k: int = 400
    keep_top_k: int = 200

    def __post_init__(self) -> None:
        checks.finite_numbers("detect", self)
        checks.between("detect.conf_threshold", self.conf_threshold, 0.0, 1.0)
        checks.between("detect.nms_threshold", self.nms_threshold, 0.0, 1.0)
        checks.above("detect.nms_threshold", self.nms_threshold, 0)
        checks.at_least("detect.top_k", self.top_k, 1)
        checks.at_least("detect.keep_top_k", self.keep_top_k, 1)


@dataclass(frozen=True)
class RunConfig:
    """Bookkeeping: seeds, logging, checkpoints, validation, device options."""

    seed: int = 0
    log_every: int = 20
    checkpoint_every: int = 10_000
    val_every: int = 2_000
    #: mAP on the first of ``data.val_sets`` every this many steps (Caffe's
    #: ``test_interval``), stored in RUN/eval/voc07/ for ``vocmap table``; 0: off.
    eval_every: int = 10_000
    max_consecutive_nonfinite: int = 20
    #: bf16 autocast (CUDA only; the loss and L2Norm stay float32). Caffe: fp32.
    bf16: bool = False
    #: TF32 for float32 matmuls and convolutions (CUDA only; 10-bit mantissa
    #: products). Off: true fp32, as Caffe computed.
    allow_tf32: bool = False
    #: The channels_last memory format (same arithmetic class; faster with
    #: bf16 on GPUs and for the small CPU model).
    channels_last: bool = False
    #: torch.compile of the network (CUDA only).
    compile: bool = False
    #: cuDNN's autotuner (CUDA only): picks the fastest float32 algorithm per shape.
    cudnn_benchmark: bool = True
    #: torch.use_deterministic_algorithms (slower on CUDA; exact resume on CPU needs it).
    deterministic: bool = False
    #: Also write every history.csv row to RUN/tensorboard/ (needs the
    #: ``tensorboard`` extra; imported only when this is on).
    tensorboard: bool = False
    #: torch's threads on a CPU device (0: torch's default, one per core). One by
    #: default: on two busy cores two threads made the small preset's step 4x
    #: slower (benchmarks/ssd_cpu_threads.py); the count changes the floats
    #: like a seed does, so it is part of the run's config.
    cpu_threads: int = 1

    def __post_init__(self) -> None:
        checks.between("run.seed", self.seed, 0, 2**32 - 1)
        checks.at_least("run.cpu_threads", self.cpu_threads, 0)
        checks.at_least("run.log_every", self.log_every, 1)
        checks.at_least("run.checkpoint_every", self.checkpoint_every, 1)
        checks.at_least("run.val_every", self.val_every, 0)
        checks.at_least("run.eval_every", self.eval_every, 0)
        checks.at_least("run.max_consecutive_nonfinite", self.max_consecutive_nonfinite, 1)


@dataclass(frozen=True)
class SSDConfig:
    """A whole run's configuration."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    solver: SolverConfig = field(default_factory=SolverConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    detect: DetectConfig = field(default_factory=DetectConfig)
    run: RunConfig = field(default_factory=RunConfig)

    @property
    def num_classes(self) -> int:
        """Classes of the network including background (label 0)."""
        return len(self.data.classes) + 1

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SSDConfig:
        return from_plain(cls, data, "config")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SSDConfig:
        return cls.from_dict(json.loads(text))

    def replace(self, **sections: Any) -> SSDConfig:
        return dataclasses.replace(self, **sections)
