"""The generic mutators: hostile values and paths, and how a run of an entry is judged."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

#: Value mutators: name -> the text given on the command line (the API gets
#: API_VALUES: the same ideas as Python values).
VALUES: dict[str, str] = {
    "wrong_type": "x",
    "empty": "",
    "nan": "nan",
    "inf": "inf",
    "minus_inf": "-inf",
    "negative": "-1",
    "zero": "0",
    "huge": "1" + "0" * 30,
    "fraction": "1.5",
    "above_one": "1.5",
    "control": "\x1b[31mred\x1b[0m",
    "bidi": "\u202eevil",
    "markup": "<b>bold</b>",
    "long": "L" * 5000,
}

API_VALUES: dict[str, object] = {
    "wrong_type": object(),
    "empty": "",
    "nan": float("nan"),
    "inf": float("inf"),
    "minus_inf": float("-inf"),
    "negative": -1,
    "zero": 0,
    "huge": 10**30,
    "fraction": 1.5,
    "above_one": 1.5,
    "control": "\x1b[31mred\x1b[0m",
    "bidi": "\u202eevil",
    "markup": "<b>bold</b>",
    "long": "L" * 5000,
}

#: The empty path (``str(Path(""))`` would be ".").
EMPTY = type("Empty", (), {"__str__": lambda self: "", "__fspath__": lambda self: ""})()

#: Characters that must never reach a terminal raw.
RAW = ("\x1b", "\u202e", "\x07", "\x00")


def special_path(  # noqa: C901 (one branch a mutator)
    name: str, ws, baseline: Path | None, inner: str | None, scratch: Path
) -> Path:
    """The path a path mutator gives (a copy of the baseline where it plants something)."""
    if name == "missing":
        return scratch / "does-not-exist"
    if name == "fifo":
        return ws.fifo
    if name == "dev_zero":
        return Path("/dev/zero")
    if name == "control_name":
        return scratch / "bad\x1b[31mname"
    if name == "bidi_name":
        return scratch / "evil\u202etxt.json"
    if name == "empty_name":
        return EMPTY
    if name == "folder":
        return ws.empty_folder
    if name == "file":
        return ws.a_file
    if name == "empty_file":
        return ws.empty_file
    if name == "empty_folder":
        return ws.empty_folder
    if name == "garbage":
        return ws.garbage
    if name == "link_out":
        assert baseline is not None and inner is not None
        copy = scratch / "linked"
        shutil.copytree(baseline, copy, symlinks=True)
        planted = copy / inner
        was_folder = planted.is_dir()
        if was_folder:
            shutil.rmtree(planted)
        else:
            planted.unlink()
        os.symlink(ws.secret.parent if was_folder else ws.secret, planted)
        return copy
    raise KeyError(name)


def marks_for(case_id: str) -> list:
    """The pytest marks of a case the registry knows to fail (KNOWN_FAILURES: a strict
    xfail; KNOWN_HANGS: an xfail not run)."""
    import pytest
    from registry import KNOWN_FAILURES, KNOWN_HANGS

    if case_id in KNOWN_HANGS:
        return [pytest.mark.xfail(run=False, reason=KNOWN_HANGS[case_id])]
    if case_id in KNOWN_FAILURES:
        return [pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[case_id])]
    return []


@dataclass
class Outcome:
    status: int
    out: str
    err: str
    opened_secret: list[str]


def judge(
    outcome: Outcome, verdict: str, names: list[str], written: list[Path], prefix: str = ": error: "
) -> None:
    """Assert the contract: ``verdict`` "refuse" (exit 2, one line naming one of
    ``names``, no output) or "tolerate" (exit 0 or that refusal); either way no
    traceback, nothing raw on the terminal, the secret never opened."""
    from vocmap.core.errors import display_text

    assert "Traceback" not in outcome.err, outcome.err[-3000:]
    assert outcome.opened_secret == [], f"read a file outside the inputs: {outcome.opened_secret}"
    for raw in RAW:
        assert raw not in outcome.err and raw not in outcome.out, repr(outcome.err[-500:])
    if verdict == "tolerate" and outcome.status == 0:
        return
    assert outcome.status == 2, (outcome.status, outcome.err[-2000:])
    lines = [line for line in outcome.err.splitlines() if line.strip()]
    assert lines, "refused without a word"
    last = lines[-1]
    assert prefix in last, last
    shown = [display_text(n)[:60] for n in names if n]
    assert any(s in last for s in shown) or not shown, (shown, last)
    assert outcome.out == "", outcome.out[:500]
    for path in written:
        assert not path.exists(), f"partial output {path}"
