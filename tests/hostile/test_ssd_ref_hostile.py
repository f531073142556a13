"""ssd_ref's surfaces: every config key (through ``print-config --override``), checkpoint
loading (``detect --checkpoint``, ``train --resume``), and the cheap commands' options.
A bad value is exit 2 with one line (``ssd_ref: ...``) naming the key, option or file;
never a traceback, never code run from a pickle, never a hang."""

from __future__ import annotations

import io
import pickle
import sys

import pytest
from cli_check import within_seconds
from mutators import VALUES, Outcome, judge, marks_for, special_path
from registry import (
    BOOL,
    CONFIG_KEYS,
    FRACTION,
    NONNEGATIVE_FLOAT,
    NONNEGATIVE_INT,
    OTHER,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    SSD_COMMANDS,
)

pytest.importorskip("torch")
pytest.importorskip("cv2")

#: config mutators: kind -> values (JSON, as --override takes them) that must be refused
CONFIG_BAD = {
    POSITIVE_INT: {"zero": "0", "negative": "-1", "fraction": "1.5", "text": '"x"', "nan": "NaN"},
    NONNEGATIVE_INT: {"negative": "-1", "fraction": "1.5", "text": '"x"'},
    POSITIVE_FLOAT: {"zero": "0", "negative": "-1", "nan": "NaN", "inf": "Infinity",
                     "text": '"x"'},
    NONNEGATIVE_FLOAT: {"negative": "-1", "nan": "NaN", "inf": "Infinity", "text": '"x"'},
    FRACTION: {"negative": "-0.5", "above_one": "1.5", "nan": "NaN", "text": '"x"'},
    BOOL: {"number": "2", "text": '"x"', "null": "null"},
    OTHER: {},
}  # fmt: skip
#: for every key: refused or accepted, but never a traceback or a RecursionError
CONFIG_ANY = {"deep": "[" * 50_000 + "]" * 50_000, "control": '"\\u001b[31mred"', "object": "{}"}


def ssd_main(argv: list[str]) -> Outcome:
    from ssd_ref.cli import main

    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    try:
        with within_seconds(20):
            try:
                status = main(argv)
            except SystemExit as done:
                status = done.code if isinstance(done.code, int) else 2
    finally:
        out, err = sys.stdout.getvalue(), sys.stderr.getvalue()
        sys.stdout, sys.stderr = saved
    return Outcome(status, out, err, [])


def _config_params():
    out = []
    for key, kind in CONFIG_KEYS.items():
        cases = [(m, v, "refuse") for m, v in CONFIG_BAD[kind].items()]
        cases += [(m, v, "tolerate") for m, v in CONFIG_ANY.items()]
        for mutator, value, verdict in cases:
            case_id = f"ssd_ref config {key} {mutator}"
            marks = marks_for(case_id)
            out.append(pytest.param(key, value, verdict, id=case_id, marks=marks))
    return out


@pytest.mark.parametrize(("key", "value", "verdict"), _config_params())
def test_config_key_mutated(key, value, verdict):
    outcome = ssd_main(["print-config", "small", "--override", f"{key}={value}"])
    judge(outcome, verdict, [key], [], "ssd_ref: ")


def test_print_config_baseline_runs():
    outcome = ssd_main(["print-config", "small"])
    assert outcome.status == 0 and '"solver"' in outcome.out


class _RunsCode:
    """A pickle that would create a file when loaded without weights_only."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _checkpoint(kind: str, workspace, tmp_path):
    import torch

    path = tmp_path / "step_000100.pt"
    if kind == "not_a_checkpoint":
        torch.save({"weights": torch.zeros(2)}, path)
    elif kind == "truncated":
        torch.save({"model": {"w": torch.zeros(1000)}, "config": {}, "step": 1}, path)
        path.write_bytes(path.read_bytes()[:300])
    elif kind == "runs_code":
        path.write_bytes(pickle.dumps(_RunsCode(str(tmp_path / "code-ran")), protocol=2))
    else:
        return special_path(kind, workspace, None, None, tmp_path)
    return path


CHECKPOINTS = ["missing", "fifo", "dev_zero", "folder", "empty_file", "garbage",
               "not_a_checkpoint", "truncated", "runs_code", "control_name"]  # fmt: skip


def _checkpoint_params():
    out = []
    for command in ("detect", "train"):
        for kind in CHECKPOINTS:
            case_id = f"ssd_ref {command} checkpoint {kind}"
            marks = marks_for(case_id)
            out.append(pytest.param(command, kind, id=case_id, marks=marks))
    return out


@pytest.mark.parametrize(("command", "kind"), _checkpoint_params())
def test_checkpoint_loading_mutated(workspace, tmp_path, command, kind):
    checkpoint = _checkpoint(kind, workspace, tmp_path)
    out = tmp_path / "out"
    if command == "detect":
        argv = ["detect", "--checkpoint", str(checkpoint), "--voc-root", str(workspace.voc),
                "--out", str(out), "--device", "cpu", "--quiet"]  # fmt: skip
    else:
        argv = ["train", "--config", "tiny", "--resume", str(checkpoint), "--out", str(out),
                "--device", "cpu", "--voc-root", str(workspace.voc.parent)]  # fmt: skip
    outcome = ssd_main(argv)
    assert not (tmp_path / "code-ran").exists(), "a checkpoint's pickle ran code"
    judge(outcome, "refuse", [str(checkpoint)], [out / "step_000100"], "ssd_ref: ")


def _synthetic_params():
    out = []
    for option, kind in SSD_COMMANDS["make-synthetic"].items():
        if kind.path:
            continue
        for mutator in kind.refuse:
            case_id = f"ssd_ref make-synthetic {option} {mutator}"
            marks = marks_for(case_id)
            out.append(pytest.param(option, mutator, id=case_id, marks=marks))
    return out


@pytest.mark.parametrize(("option", "mutator"), _synthetic_params())
def test_make_synthetic_option_mutated(tmp_path, option, mutator):
    argv = ["make-synthetic", "--out", str(tmp_path / "syn"), "--trainval", "2", "--test", "2"]
    if option in argv:
        argv[argv.index(option) + 1] = VALUES[mutator]
    else:
        argv += [option, VALUES[mutator]]
    outcome = ssd_main(argv)
    judge(outcome, "refuse", [option, option.lstrip("-")], [], "ssd_ref")
