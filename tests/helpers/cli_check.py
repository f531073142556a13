"""Run ``vocmap evaluate`` through ``vocmap.cli.main`` and check how it ended.

``expect_failure`` is the contract for bad input: exit 2, exactly one line on
stderr starting ``vocmap: error:``, printable (every control character escaped),
containing the given fragments, nothing on stdout, and neither the ``--json`` /
``--csv`` outputs nor any temporary file left (an older output is untouched).
"""

from __future__ import annotations

import os
from pathlib import Path

from vocmap.cli import main


def _outputs(out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "old.json").write_text("previous")
    return ["--json", str(out / "new.json"), "--csv", str(out / "new.csv")]


def temporaries(*folders: Path) -> list[Path]:
    """Temporary files (``.name.XXXX.tmp``) under ``folders``."""
    found: list[Path] = []
    for folder in folders:
        if folder.exists():
            found += [p for p in folder.rglob("*.tmp")]
    return found


def evaluate(capsys, *argv: str) -> tuple[int, str, str]:
    """``vocmap evaluate ARGV``: (status, stdout, stderr)."""
    status = main(["evaluate", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def expect_failure(capsys, out: Path, argv: list, *fragments: str) -> str:
    """Run ``vocmap evaluate ARGV --json/--csv into out``; check the failure
    contract (module docstring); return the error line."""
    status, stdout, err = evaluate(capsys, *argv, *_outputs(out))
    lines = err.strip().splitlines()
    assert status == 2, (status, err)
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("vocmap: error: "), line
    assert line.isprintable(), repr(line)
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert stdout == "", stdout
    assert sorted(p.name for p in out.iterdir()) == ["old.json"]
    assert (out / "old.json").read_text() == "previous"
    cache = os.environ.get("VOCMAP_CACHE_DIR")
    assert temporaries(out, *([Path(cache)] if cache else [])) == []
    return line


def expect_success(capsys, out: Path, argv: list) -> tuple[dict, str]:
    """Run with ``--json`` into out; exit 0; return the JSON results and stderr."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    status, _, err = evaluate(capsys, *argv, "--json", str(out / "r.json"))
    assert status == 0, err
    return json.loads((out / "r.json").read_text()), err


def _perfect_ap() -> float:
    ap = 0.0
    for _ in range(11):
        ap = ap + 1.0 / 11  # the devkit's ap = ap + p/11 with p = 1 at every threshold
    return ap


#: The devkit's 11-point AP of a class found perfectly (1.0000000000000002).
PERFECT_AP = _perfect_ap()


class Hung(Exception):
    """Raised by within_seconds when the body ran too long."""


def within_seconds(seconds: int):
    """A context manager failing the body with Hung after ``seconds`` (SIGALRM;
    it also interrupts a blocking ``open`` of a FIFO)."""
    import contextlib
    import signal

    @contextlib.contextmanager
    def guard():
        def fire(signum, frame):
            raise Hung(f"still running after {seconds} s")

        previous = signal.signal(signal.SIGALRM, fire)
        signal.alarm(seconds)
        try:
            yield
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)

    return guard()
