"""One idiom everywhere (issue 12, item 6): `--image-set NAME` and `--imageset FILE`
were easy to confuse; `--quiet` meant "only the mAP" in evaluate and "no progress
bar" in score; evaluate, compare and table each had their own output options;
some options had no help; the presets were not in `evaluate --help`;
`--best-per` took any integer."""

from __future__ import annotations

import argparse
import csv
import io
import json

import pytest
from fixture_paths import DEMO, FIXTURES
from run_builder import make_run

from vocmap.cli import build_parser, main
from vocmap.cli.options import SEMANTICS_NAMES, SEMANTICS_SUMMARIES
from vocmap.core.semantics import PRESETS

DEMO_ARGS = ["evaluate", str(DEMO / "results"), "--voc-root", str(DEMO / "VOC2007")]
DEMO_MAP = 0.7863302603064434
SEED_CSV = FIXTURES / "seed_summary" / "ap_by_step.csv"
IMAGE_SET_FILE = DEMO / "VOC2007" / "ImageSets" / "Main" / "test.txt"
ANNOTATIONS = DEMO / "VOC2007" / "Annotations"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_of_every_command_has_help():
    missing = []
    for name, parser in {"vocmap": build_parser(), **subcommands()}.items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
                continue
            if not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_presets_are_listed_in_evaluate_help(capsys):
    assert tuple(PRESETS) == SEMANTICS_NAMES
    assert {name: p.summary for name, p in PRESETS.items()} == SEMANTICS_SUMMARIES
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    out = capsys.readouterr().out
    for name, summary in SEMANTICS_SUMMARIES.items():
        assert f"  {name:15} {summary}" in out


def test_unknown_semantics_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*DEMO_ARGS, "--semantics", "dekvit"])
    assert exit_info.value.code == 2
    assert "argument --semantics: invalid choice: 'dekvit'" in capsys.readouterr().err


def test_image_set_file_and_the_deprecated_spelling(capsys):
    args = [*DEMO_ARGS[:2], "--annotations", str(ANNOTATIONS), "--format", "map"]
    assert main([*args, "--image-set-file", str(IMAGE_SET_FILE)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{DEMO_MAP}\n" and err == ""
    assert main([*args, "--imageset", str(IMAGE_SET_FILE)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{DEMO_MAP}\n"
    assert err == "vocmap: --imageset is deprecated; use --image-set-file\n"


@pytest.mark.parametrize("value", ["ImageSets/Main/test.txt", "test.txt", ""])
def test_image_set_takes_a_name_not_a_file(value, capsys):
    assert main([*DEMO_ARGS, "--image-set", value]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"vocmap: error: --image-set takes a set name (test, val), not {value!r}; "
        "for an image-set file use --annotations DIR --image-set-file FILE\n"
    )


def test_image_set_name_with_annotations_is_refused(capsys):
    args = [*DEMO_ARGS[:2], "--annotations", str(ANNOTATIONS), "--image-set-file"]
    assert main([*args, str(IMAGE_SET_FILE), "--image-set", "val"]) == 2
    assert "--image-set NAME goes with --voc-root" in capsys.readouterr().err


def test_abbreviated_options_are_not_guessed(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*DEMO_ARGS, "--image", "test"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --image" in capsys.readouterr().err


def test_quiet_only_silences_stderr(tmp_path, capsys):
    assert main(DEMO_ARGS) == 0
    loud = capsys.readouterr().out
    assert main([*DEMO_ARGS, "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out == loud and err == ""
    voc_root, run = make_run(tmp_path, steps=(100,), images=20)
    assert main(["score", str(run), "--voc-root", str(voc_root), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("scored 1 step(s)")
    for command in ("evaluate", "compare", "score", "table", "plot"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "no progress, notes or warnings on stderr" in capsys.readouterr().out


def test_evaluate_formats_and_out(tmp_path, capsys):
    printed = {}
    for style in ("text", "markdown", "csv", "json", "map"):
        assert main([*DEMO_ARGS, "--format", style]) == 0
        printed[style] = capsys.readouterr().out
        target = tmp_path / f"r.{style}"
        assert main([*DEMO_ARGS, "--format", style, "--out", str(target)]) == 0
        assert capsys.readouterr().out == ""
        assert target.read_text() == printed[style]
        assert main([*DEMO_ARGS, "--format", style, "--out", "-"]) == 0
        assert capsys.readouterr().out == printed[style]
    assert json.loads(printed["json"])["map"] == DEMO_MAP
    assert list(csv.DictReader(io.StringIO(printed["csv"])))[-1]["ap"] == repr(DEMO_MAP)
    assert printed["map"] == f"{DEMO_MAP}\n"
    assert "| mAP | 0.7863 |" in printed["markdown"]
    # The shorthands: --json FILE also writes JSON; --json - takes stdout instead of the table.
    assert main([*DEMO_ARGS, "--json", str(tmp_path / "also.json")]) == 0
    assert capsys.readouterr().out == printed["text"]
    assert (tmp_path / "also.json").read_text() == printed["json"]
    assert main([*DEMO_ARGS, "--json", "-"]) == 0
    assert capsys.readouterr().out == printed["json"]
    assert main([*DEMO_ARGS, "--markdown"]) == 0
    assert capsys.readouterr().out == printed["markdown"]


def test_compare_formats_and_out(tmp_path, capsys):
    args = ["compare", *DEMO_ARGS[1:], "--semantics", "py-faster-rcnn"]
    assert main([*args, "--format", "json"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed)["b"] == "py-faster-rcnn"
    assert main([*args, "--format", "json", "--out", str(tmp_path / "c.json")]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "c.json").read_text() == printed
    assert main([*args, "--json", "-"]) == 0
    assert capsys.readouterr().out == printed


def test_table_formats_and_out(tmp_path, capsys):
    for style in ("text", "markdown", "csv", "json"):
        assert main(["table", str(SEED_CSV), "--format", style]) == 0
        printed = capsys.readouterr().out
        assert main(["table", str(SEED_CSV), "--format", style, "--out", "-"]) == 0
        assert capsys.readouterr().out == printed
        target = tmp_path / f"t.{style}"
        assert main(["table", str(SEED_CSV), "--format", style, "--out", str(target)]) == 0
        assert target.read_text() == printed and capsys.readouterr().out == ""
