"""The registry lists every surface: a command, option, public name, adapter or config
key that exists and is not registered fails here (register it: registry.py's docstring)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import pkgutil

import pytest
from registry import ADAPTERS, API, COMMANDS, CONFIG_KEYS, SSD_COMMANDS, option_kind

import vocmap


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _arguments(parser: argparse.ArgumentParser) -> list[str]:
    names = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        names.append(action.option_strings[0] if action.option_strings else action.dest)
    return names


def test_every_vocmap_command_and_option_is_registered():
    from vocmap.cli import build_parser

    parser = build_parser()
    commands = _subcommands(parser)
    assert sorted(commands) == sorted(COMMANDS), "register the command in registry.COMMANDS"
    missing = []
    for command, sub in commands.items():
        for name in _arguments(sub):
            if name.startswith("-"):
                if option_kind(command, name) is None:
                    missing.append(f"{command} {name}")
                continue
            if name not in COMMANDS[command].positionals:
                missing.append(f"{command} <{name}>")
    for name in _arguments(parser):
        if option_kind("", name) is None:
            missing.append(f"vocmap {name}")
    assert missing == [], "register these options in registry.py"


def test_every_public_name_is_registered():
    assert sorted(API) == sorted(vocmap.__all__), "register the name in registry.API"
    for name, entry in API.items():
        assert entry.call is not None or entry.why, name


def test_every_adapter_and_its_public_names_are_registered():
    import vocmap.integrations as package

    modules = sorted(
        f"vocmap.integrations.{m.name}" for m in pkgutil.iter_modules(package.__path__)
    )
    assert modules == sorted(ADAPTERS), "register the adapter in registry.ADAPTERS"
    for module_name, names in ADAPTERS.items():
        module = _import_if_possible(module_name)
        if module is None:
            continue
        public = sorted(
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and (inspect.isclass(v) or inspect.isfunction(v))
            and getattr(v, "__module__", None) == module_name
        )
        assert public == sorted(names), (module_name, public)


def _import_if_possible(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:  # its framework is not installed
        return None


def test_every_ssd_ref_command_option_and_config_key_is_registered():
    if importlib.util.find_spec("torch") is None:
        pytest.skip("ssd_ref needs the train extra")
    import dataclasses

    from ssd_ref.cli import build_parser
    from ssd_ref.config import small_config

    commands = _subcommands(build_parser())
    assert sorted(commands) == sorted(SSD_COMMANDS), "register it in registry.SSD_COMMANDS"
    missing = [
        f"{command} {name}"
        for command, sub in commands.items()
        for name in _arguments(sub)
        if name not in SSD_COMMANDS[command] and name != "func"
    ]
    assert missing == [], "register these in registry.SSD_COMMANDS"
    config = small_config()
    keys = sorted(
        f"{section.name}.{key.name}"
        for section in dataclasses.fields(config)
        if dataclasses.is_dataclass(getattr(config, section.name))
        for key in dataclasses.fields(getattr(config, section.name))
    )
    assert keys == sorted(CONFIG_KEYS), "register the key in registry.CONFIG_KEYS"
