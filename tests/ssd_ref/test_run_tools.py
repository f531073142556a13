"""Stop signals, progress lines, TensorBoard export, the CLI's one-line errors."""

from __future__ import annotations

import io
import logging
import os
import signal
import time

import pytest

from ssd_ref.cli import EXIT_USAGE
from ssd_ref.cli import main as cli_main
from ssd_ref.utils.checkpoint import checkpoint_path, save_checkpoint
from ssd_ref.utils.progress import Progress, format_duration, rate_and_eta
from ssd_ref.utils.stopping import StopSignals


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def test_a_stop_signal_is_noted_a_second_aborts_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with StopSignals() as signals:
        assert signals.received is None
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(lambda: signals.received is not None)
        assert signals.received == signal.SIGTERM
        with pytest.raises(KeyboardInterrupt, match="second SIGINT"):
            os.kill(os.getpid(), signal.SIGINT)
            wait_for(lambda: False, 1.0)  # the handler raises while we wait
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_durations_rates_and_eta():
    assert format_duration(75) == "1:15" and format_duration(3725) == "1:02:05"
    assert format_duration(float("inf")) == "?" and format_duration(0) == "0:00"
    assert rate_and_eta(50, 200, 10.0) == (5.0, 30.0)
    assert rate_and_eta(0, 200, 10.0)[1] == float("inf")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal():
    now = [0.0]
    stream = FakeTerminal()
    progress = Progress(100, "step", "steps", stream=stream, clock=lambda: now[0])
    now[0] = 10.0
    progress.update(20)
    now[0] = 10.1
    progress.update(21)  # within min_interval: not redrawn
    now[0] = 20.0
    progress.update(40, "loss 1.234")
    progress.close()
    text = stream.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "step 20/100 steps, 2.00 steps/s, ETA 0:40" in text
    assert text.rstrip().endswith("step 40/100 steps, 2.00 steps/s, ETA 0:30, loss 1.234")


def test_progress_logs_every_tenth_elsewhere(caplog):
    stream = io.StringIO()
    progress = Progress(50, "detect", "images", stream=stream)
    with caplog.at_level(logging.INFO, logger="ssd_ref"):
        for done in range(1, 51):
            progress.update(done)
    assert stream.getvalue() == ""
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 10 and lines[-1].startswith("detect 50/50 images")
    assert all("ETA" in line for line in lines)


def test_history_rows_go_to_tensorboard(tmp_path, capsys):
    pytest.importorskip("tensorboard")  # the optional extra (installed by make setup-dev)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    history = tmp_path / "run" / "history.csv"
    history.parent.mkdir()
    history.write_text(
        "step,loss,loc_loss,conf_loss,lr,images_per_s,val_loss,val_loc_loss,val_conf_loss,skipped_steps\n"
        "10,3.5,1.0,2.5,0.001,50.0,,,,0\n"
        "20,nan,nan,nan,0.001,51.0,4.25,1.25,3.0,1\n"
    )
    assert cli_main(["export-tensorboard", str(tmp_path / "run")]) == 0
    assert "wrote 2 rows" in capsys.readouterr().out
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    values = {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }
    assert values["train/loss"] == [(10, 3.5)]  # the non-finite row is left out
    assert values["val/loss"] == [(20, 4.25)]
    assert values["skipped_steps"] == [(10, 0.0), (20, 1.0)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--out", "{tmp}/a"], "--config is required"),
        (["train", "--out", "{tmp}/a", "--resume"], "nothing to resume"),
        (["train", "--out", "{tmp}/a", "--config", "{tmp}/missing.json"], "neither a preset"),
        (["train", "--out", "{tmp}/a", "--config", "tiny", "--override", "solver.nope=1"],
         "unknown config key"),
        (["train", "--out", "{tmp}/busy", "--config", "tiny", "--voc-root", "{tmp}"],
         "already holds checkpoints"),
        (["train", "--out", "{tmp}/a", "--config", "tiny", "--override", 'data.epoch_order="x"'],
         "data.epoch_order"),
        (["print-config", "tiny", "--override", "augment.jpeg_quality=300"], "jpeg_quality"),
        (["detect", "--checkpoint", "{tmp}/none.pt", "--voc-root", "{tmp}"], "no such file"),
    ],
)  # fmt: skip
def test_user_errors_are_one_line_and_a_nonzero_exit(tmp_path, capsys, argv, message):
    save_checkpoint(checkpoint_path(tmp_path / "busy", 1), {"step": 1})
    code = cli_main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_USAGE
    assert len(err) >= 1 and err[-1].startswith("ssd_ref: ") and message in err[-1]
    assert "Traceback" not in "\n".join(err)
