"""Bad option values (issue 18, "Arguments" and "Terminal"): each was 10-12 lines of
usage (`--seed 1.5`, `--jobs 0`, `--semantics bogus`, `--json ''`), a ValueError
traceback (`--seed -1`), a memory error (`--resamples` unbounded) or accepted
(`diagnose --score-threshold nan`: an empty confusion matrix). Now the parser class
says one line naming the option, for every command and option; control characters
in arguments never reach the terminal; `plot` and `report` without matplotlib name
the extra."""

from __future__ import annotations

import argparse
import math
import sys

import pytest
from fixture_paths import DEMO

from vocmap.cli import build_parser, main
from vocmap.cli import options as cli_options

GT = ["--voc-root", str(DEMO / "VOC2007")]
RESULTS = str(DEMO / "results")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def positionals(command: str) -> list[str]:
    return {
        "compare-runs": [RESULTS, RESULTS],
        "compare": [RESULTS],
        "evaluate": [RESULTS],
        "diagnose": [RESULTS],
    }.get(command, ["somewhere"])


def refused(capsys, argv: list[str]) -> str:
    """The one line a refused command line prints (exit 2, nothing on stdout)."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "usage:" not in lines[0]
    assert lines[0].isprintable()
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["evaluate", RESULTS, "--ci", "--seed", "1.5"],
            "argument --seed: expected a whole number, not '1.5'",
        ),
        (
            ["evaluate", RESULTS, "--ci", "--seed", "-1"],
            "argument --seed: expected 0 to 4,294,967,295, not -1",
        ),
        (
            ["evaluate", RESULTS, "--ci", "--resamples", "100001"],
            "argument --resamples: expected 1 to 100,000",
        ),
        (
            ["evaluate", RESULTS, "--ci", "--resamples", "0"],
            "argument --resamples: expected 1 to 100,000, not 0",
        ),
        (
            ["evaluate", RESULTS, "--ci", "--level", "nan"],
            "argument --level: expected a finite number, not nan",
        ),
        (
            ["evaluate", RESULTS, "--ci", "--level", "1"],
            "argument --level: expected a number in (0, 1), not 1",
        ),
        (["evaluate", RESULTS, "--iou", "0"], "argument --iou: expected a number in (0, 1], not 0"),
        (
            ["evaluate", RESULTS, "--iou=-inf"],
            "argument --iou: expected a finite number, not -inf",
        ),
        (["score", "run", "--jobs", "0"], "argument --jobs: expected 1 to 256, not 0"),
        (
            ["evaluate", RESULTS, "--semantics", "bogus"],
            "argument --semantics: invalid choice: 'bogus'",
        ),
        (
            ["compare", RESULTS, "--semantics", "bogus"],
            "argument --semantics: invalid choice: 'bogus'",
        ),
        (
            ["evaluate", RESULTS, "--json", ""],
            "argument --json: needs a file name, or - for stdout",
        ),
        (["table", "published", "--json", ""], "argument --json: needs a file name"),
        (["diagnose", RESULTS, "--csv", ""], "argument --csv: needs a file name"),
        (
            ["diagnose", RESULTS, "--score-threshold", "nan"],
            "argument --score-threshold: expected a finite number, not nan",
        ),
        (
            ["diagnose", RESULTS, "--score-threshold", "inf"],
            "argument --score-threshold: expected a finite number, not inf",
        ),
        (
            ["diagnose", RESULTS, "--background-iou", "1.5"],
            "argument --background-iou: expected a number in [0, 1], not 1.5",
        ),
        (["diagnose", RESULTS, "--top", "-1"], "argument --top: expected 0 to 1,000,000, not -1"),
        (
            ["diagnose", RESULTS, "--max-dets", "0"],
            "argument --max-dets: expected 1 to 1,000,000, not 0",
        ),
        (
            ["compare-runs", RESULTS, RESULTS, "--seed", "x"],
            "argument --seed: expected a whole number, not 'x'",
        ),
        (["plot", "run", "--out", "p"], "--out is --out-dir for plot"),
        (["report", "r.json", "--out", ""], "argument --out: needs a file name"),
        (["table", "published", "--every", "0"], "argument --every: expected 1 to"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_option(capsys, argv, expected):
    line = refused(capsys, [*argv, *GT] if argv[0] not in ("table", "plot", "report") else argv)
    assert line.startswith(f"vocmap {argv[0]}: error: ")
    assert expected in line


def _typed_options():
    """Every (command, option, type name) whose value the parser converts."""
    for command, parser in subcommands().items():
        for action in parser._actions:
            kind = getattr(action.type, "__name__", None)
            if action.option_strings and kind not in (None, "text"):  # text: any string
                yield command, action.option_strings[0], kind


def test_no_option_takes_a_plain_int_or_float():
    """int() takes -1 and float() takes nan: every typed option goes through a
    bounded type of vocmap.cli.options, so a new option cannot skip the checks."""
    plain = [(c, o) for c, o, kind in _typed_options() if kind in ("int", "float")]
    assert plain == []


@pytest.mark.parametrize(("command", "option", "kind"), sorted(set(_typed_options())))
def test_every_typed_option_refuses_its_bad_values_in_one_line(capsys, command, option, kind):
    bad = {
        "integer": ["1.5", "x", "-99999999999999999999"],
        "number": ["nan", "inf", "-inf", "x"],
        "file name": [""],
        "path": [""],
        "nonempty": ["", " "],
    }[kind]
    for value in bad:
        line = refused(capsys, [command, *positionals(command), f"{option}={value}"])
        assert f"argument {option}:" in line


def test_an_empty_path_never_falls_back_to_a_default(capsys, tmp_path, monkeypatch):
    """`--voc-root "$UNSET"` used $VOC_ROOT or ./VOCdevkit/VOC2007 instead, silently;
    `--steps ''` meant every step, `--prefix ''` every run's files."""
    monkeypatch.setenv("VOC_ROOT", str(DEMO / "VOC2007"))
    for argv in (
        ["evaluate", RESULTS, "--voc-root", ""],
        ["table", "published", "--steps", ""],
        ["evaluate", RESULTS, "--prefix", ""],
        ["plot", "published", "--out-dir", ""],
    ):
        assert "error: argument --" in refused(capsys, argv)


def test_control_characters_in_arguments_are_escaped(capsys):
    for argv in (
        ["evaluate", RESULTS, *GT, "--metric", "voc\x1b[2J07"],
        ["evaluate", RESULTS, *GT, "--seed", "\u202e1"],
        ["evaluate", RESULTS, *GT, "--no-such-option\x1b]0;x\x07"],
    ):
        line = refused(capsys, argv)
        assert "\\x1b" in line or "\\u202e" in line


def test_control_characters_in_classes_are_refused_escaped(capsys):
    status = main(["evaluate", "-", *GT, "--classes", "d\x1b[31mog"])
    assert status == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "vocmap: error: --classes: class name 'd\\x1b[31mog' contains U+001B (ESCAPE)\n"
    )


def test_a_class_name_with_a_space_is_still_a_name():
    assert cli_options.class_list(["traffic light,dog"]) == ["traffic light", "dog"]


def test_notes_echoing_arguments_are_escaped(capsys, tmp_path):
    args = argparse.Namespace(quiet=False)
    from vocmap.cli.output import note

    note(args, f"wrote {tmp_path}/a\x1b[2Jb.html")
    assert "\\x1b[2J" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["plot", "report"])
def test_without_matplotlib_plot_and_report_name_the_extra(capsys, monkeypatch, tmp_path, command):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    argv = ["plot", "published", "--out-dir", str(tmp_path)]
    if command == "report":
        argv = ["report", str(tmp_path / "r.json"), "--out", str(tmp_path / "r.html")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"vocmap: error: vocmap {command} needs matplotlib, which is not installed: "
        "pip install 'vocmap[plot]'\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_bounded_float_edges():
    unit = cli_options.bounded_float(0.0, 1.0, low_open=True)
    assert unit("1") == 1.0
    assert unit(" 0.5 ") == 0.5
    for bad in ("0", "1.0000001", "nan", "-0.0"):
        with pytest.raises(argparse.ArgumentTypeError):
            unit(bad)
    anything = cli_options.bounded_float(-math.inf, math.inf)
    assert anything("-1e308") == -1e308


def test_no_command_guesses_an_abbreviated_option(capsys):
    for argv in (
        ["diagnose", RESULTS, *GT, "--score", "0.3"],
        ["report", "r.json", "--out", "r.html", "--diag", "d.json"],
        ["compare-runs", RESULTS, RESULTS, *GT, "--resample", "10"],
    ):
        line = refused(capsys, argv)
        assert "unrecognized arguments" in line


def test_labels_echoed_into_tables_are_escaped(capsys):
    assert main(["table", "published", "--label", "run\x1b[2J", "--compare", "published"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "run\\x1b[2J" in out
