"""The training configuration: the schema, the presets, loading and overrides.

``schema``: the dataclasses with Caffe's values as defaults; ``plain``: JSON data
<-> dataclasses; ``presets``: ``reference``, ``fast``, ``tiny``, ``small``;
``overrides``: a preset name or JSON file, a saved run's config, ``--override``.
Every public name is importable from ``ssd_ref.config``.
"""

from ssd_ref.config.overrides import LEGACY_DEFAULTS, apply_overrides, load_config, saved_config
from ssd_ref.config.presets import (
    IMAGENET_STD_BGR,
    PRESETS,
    fast_config,
    reference_config,
    small_config,
    tiny_config,
)
from ssd_ref.config.schema import (
    ALL_INTERPOLATIONS,
    EPOCH_ORDERS,
    OPTIMIZERS,
    PIPELINES,
    SYNTHETIC_CLASSES,
    VOC_CLASSES,
    AugmentConfig,
    DataConfig,
    DetectConfig,
    LossConfig,
    ModelConfig,
    RunConfig,
    SamplerConfig,
    SolverConfig,
    SSDConfig,
)

__all__ = [
    "ALL_INTERPOLATIONS",
    "EPOCH_ORDERS",
    "IMAGENET_STD_BGR",
    "LEGACY_DEFAULTS",
    "OPTIMIZERS",
    "PIPELINES",
    "PRESETS",
    "SYNTHETIC_CLASSES",
    "VOC_CLASSES",
    "AugmentConfig",
    "DataConfig",
    "DetectConfig",
    "LossConfig",
    "ModelConfig",
    "RunConfig",
    "SSDConfig",
    "SamplerConfig",
    "SolverConfig",
    "apply_overrides",
    "fast_config",
    "load_config",
    "reference_config",
    "saved_config",
    "small_config",
    "tiny_config",
]
