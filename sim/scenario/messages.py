"""What a pydantic validation error means, in the words of a scenario file: the key, what was expected, what was found.

``describe`` turns one error of pydantic's into the key path it is about and one sentence: the
expected type or range in plain words (a probability, a duration with its unit, a name), the value
found (with a hint when it looks like a number but is not taken as one), and a "did you mean" for a
misspelt key or name.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Union

from pydantic import BaseModel

from sim.scenario.source import lookup
from sim.scenario.suggest import did_you_mean

_MAX_SHOWN = 60
MAX_LISTED_KEYS = 15
# A model validator may start its message with the dotted key it is about ("accounts.x.language: ...").
KEY_PREFIX = re.compile(r"([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*): (.+)", re.DOTALL)
_NUMBER_TYPES = ("int_type", "float_type")
_EXPECTED_BY_TYPE = {
    "dict_type": "expected a mapping of keys",
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "set_type": "expected a list",
    "string_type": "expected a text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
}
_BOUNDS = {
    "greater_than_equal": ("greater than or equal to", "ge"),
    "greater_than": ("greater than", "gt"),
    "less_than_equal": ("less than or equal to", "le"),
    "less_than": ("less than", "lt"),
}


def describe(error: dict, data: Any, model: type[BaseModel] | None) -> tuple[list, bool, str]:
    """(key path, whether to point at the key rather than its value, message) for one pydantic error."""
    path, bad_key = real_path(error, data)
    kind = error["type"]
    found = show(error.get("input")) + (_number_hint(error.get("input")) if kind in _NUMBER_TYPES else "")
    if kind == "extra_forbidden" and path:
        return path, True, _unknown_key(path, model)
    if kind == "missing":
        name = path[-1] if path else None
        return path, False, f"missing required key {name!r}" if isinstance(name, str) else "missing required value"
    message = _plain_message(error)
    if bad_key:
        return path, True, f"invalid key {str(path[-1])!r}: {message}; found {found}"
    if kind in ("value_error", "assertion_error"):
        path, message = _key_from_message(path, message, data)
        scalar = not isinstance(error.get("input"), (dict, list, tuple))
        if scalar and "found" not in message:
            message += f"; found {found}"
        return path, False, message
    given = error.get("input")
    if kind == "kind_missing" and isinstance(given, dict) and isinstance(given.get("kind"), str):
        expected = re.findall(r"'([^']*)'", str(error["msg"]).split(", or ")[0])
        hint = did_you_mean(given["kind"], expected)
        return [*path, "kind"], False, (f"expected one of {', '.join(map(repr, expected))}; found {given['kind']!r}"
                                        + (f"; {hint}" if hint else ""))
    if kind == "literal_error":
        expected = re.findall(r"'((?:[^'\\]|\\.)*)'", str(error.get("ctx", {}).get("expected", "")))
        hint = did_you_mean(str(error.get("input")), expected) if isinstance(error.get("input"), str) else None
        return path, False, f"{message}; found {found}" + (f"; {hint}" if hint else "")
    return path, False, f"{message}; found {found}"


def real_path(error: dict, data: Any) -> tuple[list, bool]:
    """The error's location as keys of the data, and whether it is about a mapping key itself.

    pydantic puts union member names and tags into ``loc``; segments that do not name a key or
    item of the data are left out (except the last key of a ``missing`` error, which is absent).
    """
    loc = list(error["loc"])
    path: list = []
    here = data
    bad_key = False
    for index, segment in enumerate(loc):
        last = index == len(loc) - 1
        found, value = lookup(here, (segment,)) if isinstance(here, (dict, list)) else (False, None)
        if found:
            path.append(segment)
            here = value
        elif last and error["type"] == "missing" and isinstance(here, dict):
            path.append(segment)
        elif last and segment == "[key]" and path:
            bad_key = True  # pydantic's marker for an invalid key of a dict (the previous segment)
    return path, bad_key


def _number_hint(value: Any) -> str:
    """Why a value that looks like a number is not taken as one (a boolean, a number in quotes)."""
    if isinstance(value, bool):
        return " (a boolean)"
    if isinstance(value, str):
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            return ""
        if math.isfinite(number):
            return " (a text: write the number without quotes)"
    return ""


def _plain_message(error: dict) -> str:
    kind = error["type"]
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    if kind in _EXPECTED_BY_TYPE:
        return _EXPECTED_BY_TYPE[kind]
    ctx = error.get("ctx") or {}
    if kind in _BOUNDS:
        word, name = _BOUNDS[kind]
        limit = ctx.get(name)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        text = f"expected a number {word} {show(limit)}"
        if kind == "less_than_equal" and limit == 1:
            text += " (a probability or share, from 0 to 1)"
        elif kind == "greater_than_equal" and limit == 0:
            text += " (it cannot be negative)"
        return text
    if kind == "finite_number":
        return "expected a finite number (not .nan or .inf)"
    if kind == "string_pattern_mismatch":
        return "expected a name of letters, digits, '_' and '-' (not starting with '-'), like khmer_review"
    if kind in ("string_too_long", "string_too_short"):
        word = "at most" if kind == "string_too_long" else "at least"
        limit = ctx.get("max_length", ctx.get("min_length"))
        return f"expected a text of {word} {limit} characters"
    if kind == "too_short":
        limit = ctx.get("min_length", 1)
        return f"expected at least {limit} entr{'y' if limit == 1 else 'ies'}"
    if kind == "too_long":
        return f"expected at most {ctx.get('max_length')} entries"
    if kind.startswith(("date", "datetime")) or kind.startswith("time"):
        reason = ctx.get("error")
        return "expected a date like 2023-01-09 (or a date-time like 2023-01-09T14:30)" + (
            f" ({reason})" if reason else "")
    if kind == "literal_error":
        return "expected one of " + message[len("Input should be "):]
    if message.startswith("Input should be "):
        return "expected " + message[len("Input should be "):]
    return message


def _key_from_message(path: list, message: str, data: Any) -> tuple[list, str]:
    """Move a dotted key at the start of a validator's message into the key path, if it exists."""
    match = KEY_PREFIX.fullmatch(message)
    if match is None:
        return path, message
    extra = segments(match.group(1))
    found, _ = lookup(data, (*path, *extra))
    if not found:
        return path, message
    return [*path, *extra], match.group(2)


def _unknown_key(path: list, model: type[BaseModel] | None) -> str:
    unknown = str(path[-1])
    message = f"unknown key {unknown!r}"
    target = _model_at(model, path[:-1]) if model is not None else None
    if target is None:
        return message
    names = [info.alias or name for name, info in target.model_fields.items()]
    hint = did_you_mean(unknown, names)
    if hint:
        return f"{message}; {hint}"
    shown = ", ".join(names[:MAX_LISTED_KEYS]) + (", ..." if len(names) > MAX_LISTED_KEYS else "")
    return f"{message}; expected one of: {shown}"


def _model_at(annotation: Any, path: Sequence) -> type[BaseModel] | None:
    """The pydantic model class describing the mapping at ``path`` under ``annotation``, if any.

    Follows model fields, ``dict[str, X]`` values, list and tuple items, and looks through
    ``Annotated``, ``Optional`` and unions.
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _model_at(args[0], path)
    if origin is Union or origin is types.UnionType:
        for member in args:
            if member is not type(None):
                found = _model_at(member, path)
                if found is not None:
                    return found
        return None
    if not path:
        return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    segment, rest = path[0], path[1:]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if segment in (name, info.alias):
                return _model_at(info.annotation, rest)
        return None
    if isinstance(origin, type) and issubclass(origin, Mapping) and len(args) == 2:
        return _model_at(args[1], rest)
    if isinstance(origin, type) and issubclass(origin, (Sequence, set, frozenset)) and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            index = segment if isinstance(segment, int) else -1
            return _model_at(args[index], rest) if 0 <= index < len(args) else None
        return _model_at(args[0], rest)
    return None


def show(value: Any) -> str:
    """A value as it would be written in YAML, shortened for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        text = "a mapping " + repr(value)
    elif isinstance(value, (list, tuple)):
        text = "a list " + repr(list(value))
    else:
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def segments(key: str) -> list:
    """A dotted key as its path (list indices as integers)."""
    return [int(part) if part.isdigit() else part for part in key.split(".")]
