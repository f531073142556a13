"""Every ``vocmap`` command, each option and positional, with every mutator of its kind.

Run in-process through ``vocmap.cli.main`` (an argparse refusal is its SystemExit 2),
under a 30-second alarm; the verdicts are in mutators.judge."""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from pathlib import Path

import pytest
from cli_check import within_seconds
from conftest import open_watch
from mutators import VALUES, Outcome, judge, marks_for, special_path
from registry import COMMANDS, FLAG, NAME, option_kind


def _cases():
    from vocmap.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for command, entry in COMMANDS.items():
        for action in sub.choices[command]._actions:
            if isinstance(action, argparse._HelpAction) or action.nargs == 0:
                continue
            if action.option_strings:
                name = action.option_strings[0]
                kind = option_kind(command, name)
            else:
                name = action.dest
                kind = entry.positionals[name][1] if name in entry.positionals else None
            if kind is None or kind is FLAG:
                continue  # test_registry_is_complete says so
            for mutator in kind.refuse:
                if mutator == "link_out" and name not in entry.inner:
                    continue  # no file inside to plant a link on (registry: inner)
                yield command, name, mutator, "refuse"
            for mutator in kind.tolerate:
                yield command, name, mutator, "tolerate"


def _params():
    out = []
    for command, name, mutator, verdict in _cases():
        case_id = f"{command} {name} {mutator}"
        marks = marks_for(case_id)
        out.append(pytest.param(command, name, mutator, verdict, id=case_id, marks=marks))
    return out


def run_main(argv: list[str]) -> Outcome:
    from vocmap.cli import main

    watch = open_watch()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    watch.opened = []
    try:
        watch.target = str(Path(_SECRET[0]).resolve()) if _SECRET else None
        with within_seconds(30):
            try:
                status = main(argv)
            except SystemExit as done:  # argparse
                status = done.code if isinstance(done.code, int) else 2
    finally:
        watch.target = None
        out, err = sys.stdout.getvalue(), sys.stderr.getvalue()
        sys.stdout, sys.stderr = saved
    return Outcome(status, out, err, list(watch.opened))


_SECRET: list[str] = []


@pytest.mark.parametrize(("command", "name", "mutator", "verdict"), _params())
def test_command_argument_mutated(
    workspace, tmp_path, monkeypatch, command, name, mutator, verdict
):
    monkeypatch.chdir(tmp_path)  # a default output folder lands here, not in the checkout
    _SECRET[:] = [str(workspace.secret)]
    entry = COMMANDS[command]
    out = tmp_path / "out"
    out.mkdir()
    run = tmp_path / "run"
    chosen = entry.variants.get(name, entry.baseline)
    if "{run}" in chosen:
        shutil.copytree(workspace.run, run)
    argv = [workspace.fill(a, out, run) for a in chosen]
    kind = option_kind(command, name) if name.startswith("-") else entry.positionals[name][1]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    if kind.path:
        if name.startswith("-"):
            baseline = Path(argv[argv.index(name) + 1]) if name in argv else None
        else:
            baseline = Path(argv[entry.positionals[name][0]])
        inner = entry.inner.get(name)
        value = str(special_path(mutator, workspace, baseline, inner, scratch))
    else:
        value = VALUES[mutator]
    if name.startswith("-"):
        if name in argv:
            argv[argv.index(name) + 1] = value
        else:
            argv += [name, value]
    else:
        argv[entry.positionals[name][0]] = value
    written = [p for p in out.iterdir()] if out.exists() else []
    outcome = run_main(argv)
    names = [value, name, name.lstrip("-"), name.lstrip("-").replace("-", "_")]
    if mutator == "link_out":
        names = [value]
    if kind is NAME:  # a name is looked up: the error names the file it looked for
        names += [a for a in argv if "/" in a]
    if mutator == "empty_name":  # nothing to name: any one-line refusal
        names = []
    fresh = [p for p in out.iterdir() if p not in written] if outcome.status != 0 else []
    judge(outcome, verdict, names, fresh)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_baseline_runs(workspace, tmp_path, command):
    """Every case starts from a command that works: otherwise a refusal proves nothing."""
    entry = COMMANDS[command]
    out = tmp_path / "out"
    out.mkdir()
    run = tmp_path / "run"
    shutil.copytree(workspace.run, run)
    _SECRET[:] = [str(workspace.secret)]
    for argv in {entry.baseline, *entry.variants.values()}:
        outcome = run_main([workspace.fill(a, out, run) for a in argv])
        assert outcome.status == 0, (argv, outcome.err[-2000:])


ARGUMENT_ERRORS = [
    ["evaluate", "x", "--seed", "1.5"],
    ["evaluate", "x", "--semantics", "bogus"],
    ["compare", "x", "--semantics", "bogus"],
    ["score", "x", "--jobs", "0"],
    ["diagnose", "x", "--iou", "x"],
]


@pytest.mark.parametrize("argv", ARGUMENT_ERRORS, ids=[" ".join(a) for a in ARGUMENT_ERRORS])
def test_a_bad_option_value_is_one_line(argv):
    """One line in all, naming the option (argparse's usage block is for --help)."""
    outcome = run_main(argv)
    lines = [line for line in outcome.err.splitlines() if line.strip()]
    assert outcome.status == 2 and len(lines) == 1, outcome.err
    assert argv[-2] in lines[0]
