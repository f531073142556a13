"""The detection API other tools call (``vocmap score``): checkpoint -> devkit result files.

Importing this module has no side effects (no global settings, no logging set-up).
"""

from __future__ import annotations

from ssd_ref.engine.inference import (
    BOX_CONVENTIONS,
    default_out_dir,
    detect_checkpoint,
    load_model,
    result_file_name,
)

__all__ = [
    "BOX_CONVENTIONS",
    "default_out_dir",
    "detect_checkpoint",
    "load_model",
    "result_file_name",
]
