"""The README's usage block and each command's `--help` list the same options
(issue 19: `score --help` and the README disagreed on the classes, and the block
listed `--prefix` and `--follow-symlinks` twice)."""

from __future__ import annotations

import argparse
import re
from collections import Counter

from fixture_paths import REPO

from vocmap.cli import build_parser

GROUND_TRUTH = [
    "--voc-root",
    "--image-set",
    "--annotations",
    "--image-set-file",
    "--ground-truth",
    "--coco-image-ids",
    "--no-cache",
]
READING = [
    "--prefix",
    "--follow-symlinks",
    "--ignore-unknown-images",
    "--ignore-unknown-categories",
]
YOLO = [
    "--yolo-labels",
    "--yolo-classes",
    "--yolo-images",
    "--yolo-missing-labels",
    "--yolo-predictions",
]
SHORTHANDS = {
    "[YOLO options as evaluate]": YOLO,
    "[ground truth, reading options as evaluate]": GROUND_TRUTH + READING,
    "[ground truth options as evaluate]": GROUND_TRUTH,
}


def usage_block() -> dict[str, list[str]]:
    """Each command of the README's usage block and the options it lists, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(vocmap evaluate DETECTIONS .*?)```", text, re.S)
    assert block, "the usage block (```sh, starting with `vocmap evaluate DETECTIONS`) is gone"
    commands: dict[str, list[str]] = {}
    current = None
    for line in block.group(1).splitlines():
        start = re.match(r"vocmap ([a-z-]+) ", line)
        if start:
            current = start.group(1)
            assert current not in commands, f"{current} twice in the usage block"
            commands[current] = []
        assert current is not None
        for phrase, options in SHORTHANDS.items():
            if phrase in line:
                commands[current] += options
                line = line.replace(phrase, "")
        commands[current] += re.findall(r"(?<![\w-])--[a-z][a-z-]*", line)
    return commands


def help_options() -> dict[str, set[str]]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        name: {
            flag
            for a in sub._actions
            if a.help != argparse.SUPPRESS
            for flag in a.option_strings
            if flag not in ("-h", "--help")
        }
        for name, sub in action.choices.items()
    }


def test_the_usage_block_names_every_command_once():
    assert set(usage_block()) == set(help_options())


def repeatable() -> set[str]:
    """Options given more than once on purpose (``compare --semantics A --semantics B``)."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        flag
        for sub in action.choices.values()
        for a in sub._actions
        if isinstance(a, argparse._AppendAction)
        for flag in a.option_strings
    }


def test_each_command_lists_its_help_options_each_once():
    for command, listed in usage_block().items():
        twice = [f for f, n in Counter(listed).items() if n > 1 and f not in repeatable()]
        assert twice == [], f"{command}: listed twice in the README: {twice}"
        assert set(listed) == help_options()[command], command


def test_score_help_says_the_classes_come_from_config_json():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    classes = next(a for a in action.choices["score"]._actions if "--classes" in a.option_strings)
    assert "config.json" in classes.help
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "(`score`: those of the run's `config.json`)" in readme
