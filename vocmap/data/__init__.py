"""Data shipped in the wheel: the reference SSD300 run's published AP table.

``ap_by_step.csv`` is a copy of ``data_fixtures/seed_summary/ap_by_step.csv`` (its
README there says what it is); a test keeps the two identical.
"""

from __future__ import annotations

from pathlib import Path

PUBLISHED = "published"  # the name `vocmap table/plot --compare` knows it by


def published_ap_table() -> Path:
    """The path of the published run's AP-by-step CSV inside the installed package."""
    return Path(__file__).resolve().parent / "ap_by_step.csv"
