"""Checkpoints: names, atomic writes, weights-only loading, RNG capture; history.csv."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from ssd_ref.utils.checkpoint import (
    capture_rng_state,
    checkpoint_path,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from vocmap.runs.contract import HISTORY_COLUMNS
from vocmap.runs.history import HistoryLog, read_history_rows


def test_names_have_six_digits_and_sort_by_step(tmp_path):
    assert checkpoint_path(tmp_path, 100).name == "step_000100.pt"
    for step in (2000, 300, 100000):
        save_checkpoint(checkpoint_path(tmp_path, step), {"step": step})
    (tmp_path / "checkpoints" / "notes.txt").write_text("x")
    assert [s for s, _ in list_checkpoints(tmp_path)] == [300, 2000, 100000]
    assert latest_checkpoint(tmp_path).name == "step_100000.pt"
    assert latest_checkpoint(tmp_path / "nothing") is None


def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path):
    path = checkpoint_path(tmp_path, 5)
    save_checkpoint(path, {"step": 5, "w": torch.ones(3)})
    before = path.read_bytes()

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_checkpoint(path, {"step": 6, "w": torch.zeros(3), "bad": Unpicklable()})
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["step_000005.pt"]


def test_rng_state_round_trips_through_a_weights_only_checkpoint(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    save_checkpoint(tmp_path / "c.pt", {"rng": capture_rng_state()})
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(7)
    np.random.seed(7)
    torch.manual_seed(7)
    restore_rng_state(load_checkpoint(tmp_path / "c.pt", required=())["rng"])  # weights_only=True
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_history_has_the_agreed_columns_and_truncates_on_resume(tmp_path):
    assert ",".join(HISTORY_COLUMNS) == (
        "step,loss,loc_loss,conf_loss,lr,images_per_s,val_loss,val_loc_loss,val_conf_loss,skipped_steps"
    )
    log = HistoryLog(tmp_path / "history.csv")
    for step in (10, 20, 30):
        log.append(step=step, loss=1.5, loc_loss=0.5, conf_loss=1.0, lr=1e-3, images_per_s=3.0,
                   val_loss=2.0 if step == 20 else None, skipped_steps=0)  # fmt: skip
    rows = read_history_rows(tmp_path / "history.csv")
    assert [r["step"] for r in rows] == ["10", "20", "30"]
    assert rows[0]["val_loss"] == "" and rows[1]["val_loss"] == "2.0"
    log.truncate_after(20)
    assert [r["step"] for r in read_history_rows(tmp_path / "history.csv")] == ["10", "20"]
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0] == ",".join(HISTORY_COLUMNS)
