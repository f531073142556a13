"""JSON data <-> the config dataclasses, checking keys and types on the way in."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from ssd_ref.config.checks import shown
from ssd_ref.errors import ConfigError


def to_plain(value: Any) -> Any:
    """A config dataclass (or part of one) as JSON data: objects, lists, scalars."""
    if dataclasses.is_dataclass(value):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [to_plain(v) for v in value]
    return value


def from_plain(tp: Any, value: Any, where: str) -> Any:
    """Rebuild a value of type ``tp`` from JSON data, checking keys as it goes."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _dataclass_from_plain(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return from_plain(inner, value, where)
    if origin is tuple:
        return _tuple_from_plain(tp, value, where)
    return _scalar_from_plain(tp, value, where)


def _dataclass_from_plain(tp: Any, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected an object, got {shown(value)}")
    hints = typing.get_type_hints(tp)
    names = {f.name for f in dataclasses.fields(tp)}
    unknown = set(value) - names
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    return tp(**{k: from_plain(hints[k], v, f"{where}.{k}") for k, v in value.items()})


def _tuple_from_plain(tp: Any, value: Any, where: str) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: expected a list, got {shown(value)}")
    args = typing.get_args(tp)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(from_plain(args[0], v, where) for v in value)
    if len(args) != len(value):
        raise ConfigError(f"{where}: expected {len(args)} items, got {shown(value)}")
    return tuple(from_plain(a, v, where) for a, v in zip(args, value, strict=True))


#: Plain JSON types: (accepts the value, what the message calls it, conversion).
_SCALARS: dict[type, tuple[Any, str, Any]] = {
    float: (
        lambda v: not isinstance(v, bool) and isinstance(v, (int, float)),
        "a number",
        float,
    ),
    int: (lambda v: not isinstance(v, bool) and isinstance(v, int), "an integer", int),
    bool: (lambda v: isinstance(v, bool), "true/false", bool),
    str: (lambda v: isinstance(v, str), "a string", str),
}


def _scalar_from_plain(tp: Any, value: Any, where: str) -> Any:
    rule = _SCALARS.get(tp)
    if rule is None:
        return value
    accepts, name, convert = rule
    if not accepts(value):
        raise ConfigError(f"{where}: expected {name}, got {shown(value)}")
    return convert(value)
