"""Where a config comes from: a preset name or a JSON file, a saved run, ``--override``."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from ssd_ref.config.checks import shown
from ssd_ref.config.presets import PRESETS
from ssd_ref.config.schema import SSDConfig
from ssd_ref.errors import ConfigError


def load_config(name_or_path: str | os.PathLike) -> SSDConfig:
    """A preset name (see :data:`PRESETS`) or a JSON file written by ``to_json``."""
    if str(name_or_path) in PRESETS:
        return PRESETS[str(name_or_path)]()
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(
            f"{str(name_or_path)!r} is neither a preset ({', '.join(PRESETS)}) nor a config file"
        )
    try:
        return SSDConfig.from_json(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not a JSON config ({error})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a config (its JSON is nested too deeply)") from None
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


#: Settings added after runs had been saved, with the behaviour those runs had:
#: a saved config (checkpoint, config.json) that lacks a key gets this value, so
#: an old run resumes and detects as it trained.
LEGACY_DEFAULTS: dict[str, dict[str, Any]] = {
    "data": {"epoch_order": "reshuffle"},
    "augment": {"jpeg_quality": None},
    "run": {
        "bf16": True,
        "channels_last": True,
        "allow_tf32": True,
        "cudnn_benchmark": False,
        "tensorboard": False,
        "eval_every": 0,
        "cpu_threads": 0,
    },
}


def saved_config(data: dict[str, Any]) -> SSDConfig:
    """The config a run saved (a checkpoint's ``config``, ``config.json``), see
    :data:`LEGACY_DEFAULTS`."""
    if not isinstance(data, dict):
        raise ConfigError(f"a saved config must be an object, not {type(data).__name__}")
    missing = [f.name for f in dataclasses.fields(SSDConfig) if f.name not in data]
    if missing:  # every saved config has had every section
        raise ConfigError(f"a saved config without the sections {missing}")
    filled = {section: dict(values) if isinstance(values, dict) else values
              for section, values in data.items()}  # fmt: skip
    for section, defaults in LEGACY_DEFAULTS.items():
        if isinstance(filled.get(section), dict):
            for key, value in defaults.items():
                filled[section].setdefault(key, value)
    model = filled.get("model")
    if isinstance(model, dict) and "from_scratch" not in model:
        # Before the key existed, a run without backbone weights trained from scratch.
        model["from_scratch"] = model.get("backbone_weights") is None
    return SSDConfig.from_dict(filled)


def apply_overrides(config: SSDConfig, overrides: list[str]) -> SSDConfig:
    """Apply ``section.key=value`` overrides; the value is parsed as JSON when it can be.

    >>> from ssd_ref.config.presets import tiny_config
    >>> apply_overrides(tiny_config(), ["solver.max_iter=10"]).solver.max_iter
    10
    """
    data = config.to_dict()
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"override {shown(item)} is not of the form section.key=value")
        section, name = key.split(".", 1)
        if section not in data or name not in data[section]:
            raise ConfigError(f"unknown config key {shown(key)}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        except RecursionError:
            raise ConfigError(f"override {key}: the value is nested too deeply") from None
        data[section][name] = value
    return SSDConfig.from_dict(data)
