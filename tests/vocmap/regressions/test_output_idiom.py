"""One output idiom (issue 19, section 1): `table --json` was "unrecognized
arguments", `diagnose` had no `--json`, `plot --out` took a folder where every
other `--out` takes a file. Every command that prints numbers now takes
`--format`, `--out`, `--json`, `--csv`, meaning the same; `plot` writes into
`--out-dir`."""

from __future__ import annotations

import argparse
import csv
import io
import json

import pytest
from fixture_paths import DEMO

from vocmap.cli import build_parser, main

GT = ["--voc-root", str(DEMO / "VOC2007")]
RESULTS = str(DEMO / "results")
NUMBER_COMMANDS = ("evaluate", "compare", "table", "diagnose", "compare-runs")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(a for a in parser._actions if flag in a.option_strings)


def test_every_command_that_prints_numbers_takes_the_four_output_options():
    commands = subcommands()
    for name in NUMBER_COMMANDS:
        parser = commands[name]
        formats = option(parser, "--format").choices
        assert {"text", "json", "csv"} <= set(formats), name
        for flag in ("--out", "--json", "--csv"):
            action = option(parser, flag)
            assert action.metavar == "FILE", (name, flag)
            assert action.type.__name__ == "file name", (name, flag)


def test_folder_options_are_named_as_folders():
    plot = subcommands()["plot"]
    assert option(plot, "--out-dir").metavar == "DIR"
    assert option(plot, "--out").help == argparse.SUPPRESS  # the old spelling: a hint


def _run(capsys, argv: list[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_table_json_and_csv_are_the_formats(capsys, tmp_path):
    as_json = _run(capsys, ["table", "published", "--json", "-"])
    assert as_json == _run(capsys, ["table", "published", "--format", "json"])
    json.loads(as_json)
    text = _run(capsys, ["table", "published", "--csv", str(tmp_path / "t.csv")])
    assert text == _run(capsys, ["table", "published"])  # the table as well
    assert (tmp_path / "t.csv").read_text() == _run(
        capsys, ["table", "published", "--format", "csv"]
    )


def test_diagnose_json_and_csv(capsys, tmp_path):
    base = ["diagnose", RESULTS, *GT, "--classes", "dog,cat", "--quiet"]
    text = _run(
        capsys, [*base, "--json", str(tmp_path / "d.json"), "--csv", str(tmp_path / "d.csv")]
    )
    assert text.strip()
    data = json.loads((tmp_path / "d.json").read_text())
    rows = list(csv.DictReader(io.StringIO((tmp_path / "d.csv").read_text())))
    assert [r["class"] for r in rows] == ["dog", "cat", "all"]
    tide = data["tide"]
    assert float(rows[0]["ap"]) == tide["classes"]["dog"]["ap"]
    assert float(rows[2]["dap.loc"]) == tide["overall"]["dap"]["loc"]
    assert _run(capsys, [*base, "--format", "csv"]) == (tmp_path / "d.csv").read_text()


def test_compare_csv_has_both_aps_and_the_map_row(capsys):
    base = ["compare", RESULTS, *GT, "--semantics", "py-faster-rcnn", "--quiet"]
    data = json.loads(_run(capsys, [*base, "--json", "-"]))
    rows = list(csv.DictReader(io.StringIO(_run(capsys, [*base, "--csv", "-"]))))
    assert [r["class"] for r in rows] == [*data["classes"], "mAP"]
    assert float(rows[-1]["ap_a"]) == data["map_a"]
    assert float(rows[-1]["ap_b"]) == data["map_b"]
    assert float(rows[0]["ap_b"]) == next(iter(data["classes"].values()))["ap_b"]


def test_compare_runs_csv(capsys):
    base = ["compare-runs", RESULTS, RESULTS, *GT, "--classes", "dog", "--resamples", "20"]
    data = json.loads(_run(capsys, [*base, "--quiet", "--json", "-"]))
    rows = list(csv.DictReader(io.StringIO(_run(capsys, [*base, "--quiet", "--csv", "-"]))))
    assert [r["class"] for r in rows] == ["dog", "mAP"]
    assert float(rows[0]["diff"]) == data["classes"]["dog"]["diff"] == 0.0
    assert {"a", "b", "diff", "ci.0", "ci.1", "b_better"} <= set(rows[0])


def test_two_documents_for_stdout_are_refused(capsys):
    for argv in (
        ["table", "published", "--json", "-", "--csv", "-"],
        ["diagnose", RESULTS, *GT, "--json", "-", "--format", "text"],
    ):
        assert main(argv) == 2
        assert "both go to stdout" in capsys.readouterr().err


def test_report_out_dash_is_stdout(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    result = tmp_path / "r.json"
    assert main(["evaluate", RESULTS, *GT, "--classes", "dog", "--json", str(result)]) == 0
    capsys.readouterr()
    html = _run(capsys, ["report", str(result), "--out", "-", "--quiet"])
    assert html.startswith("<!DOCTYPE html>") or html.lstrip().lower().startswith("<!doctype html")
    assert list(tmp_path.iterdir()) == [result]
