"""Data shipped in the wheel: the reference SSD300 run's published AP table.

``ap_by_step.csv`` is a copy of ``data_fixtures/seed_summary/ap_by_step.csv`` (its
README there says what it is); a test keeps the two identical.
"""

from __future__ import annotations

from pathlib import Path

PUBLISHED = "published"  # the name `vocmap table/plot --compare` knows it by


#: The published run's schedule (data_fixtures/seed_summary/README.md): Caffe's SSD300
#: with batch 31, lr 0.001 dropped tenfold at 56,000 and 76,000 steps, 102,000 steps in
#: all. ssd_ref's ``reference`` preset keeps the paper's 32, 80k/100k and 120k instead.
PUBLISHED_SCHEDULE = {"batch_size": 31, "milestones": (56_000, 76_000), "max_iter": 102_000}


def schedule_words(schedule: dict) -> str:
    """``batch 31, lr drops at 56000 and 76000, 102000 steps``."""
    drops = " and ".join(str(m) for m in schedule["milestones"]) or "none"
    return f"batch {schedule['batch_size']}, lr drops at {drops}, {schedule['max_iter']} steps"


def published_ap_table() -> Path:
    """The path of the published run's AP-by-step CSV inside the installed package."""
    return Path(__file__).resolve().parent / "ap_by_step.csv"
