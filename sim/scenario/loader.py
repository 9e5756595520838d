"""Loading a scenario document: read it, follow ``extends``, apply ``--set``, validate.

Any mistake comes out as one ``ScenarioError`` pointing at the file, line and column that
defined the offending value (or at the ``--set`` that set it), naming the dotted key and saying
what was expected and what was found.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterable, Union

from pydantic import BaseModel, ValidationError

from sim.errors import ScenarioError
from sim.scenario.extends import Resolved, resolve
from sim.scenario.overrides import SET_FILE, Path, apply_sets, dotted, format_set, parse_set
from sim.scenario.source import lookup
from sim.scenario.suggest import did_you_mean

SetSpec = Union[str, tuple[Path, Any]]
Locator = Callable[[tuple, bool], Union[tuple[str, int, int], None]]

_MAX_SHOWN = 60
_MAX_LISTED_KEYS = 15
# A model validator may start its message with the dotted key it is about ("accounts.x.language: ...").
_KEY_PREFIX = re.compile(r"([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*): (.+)", re.DOTALL)
# ... and name another key, relative to the same model, with "{at:dotted.key}": replaced by where that key
# was given (" at line 18", " at base.yaml:18", " from --set warmup=5h", " by default").
_MENTION = re.compile(r"\{at:([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\}")
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


def load_document(
    path: str | os.PathLike,
    sets: Iterable[SetSpec] = (),
    model: type[BaseModel] | None = None,
) -> tuple[BaseModel, Resolved]:
    """Load, resolve, override and validate a scenario file against a pydantic ``model``.

    ``sets`` are ``--set`` expressions (``"horizon=30d"``) or already parsed ``(path, value)``
    pairs, applied in order. ``model`` defaults to ``sim.scenario.schema.Scenario``. Returns the
    validated instance and the resolved document (its ``data`` is the merged files, before the
    sets). Raises one ``ScenarioError`` for the first mistake found.
    """
    if model is None:
        from sim.scenario.schema import Scenario as model  # noqa: N813 - imported late: schema imports our modules
    parsed = [parse_set(spec) if isinstance(spec, str) else (tuple(spec[0]), spec[1]) for spec in sets]
    resolved = resolve(path)
    data = apply_sets(resolved.data, parsed) if parsed else resolved.data
    try:
        instance = model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, data, model, resolved.locate, parsed, resolved.path,
                               original=resolved.data) from None
    return instance, resolved


def validation_error(
    exc: ValidationError,
    data: Any,
    model: type[BaseModel] | None,
    locate: Locator,
    sets: Sequence[tuple[Path, Any]] = (),
    default_file: str = "<scenario>",
    original: Any = None,
) -> ScenarioError:
    """One ``ScenarioError`` for the first error of a pydantic ``ValidationError`` on ``data``.

    ``locate(key_path, at_key)`` gives ``(file, line, column)`` of a key path; values set by one
    of ``sets`` are reported as coming from ``--set``. The model is used to suggest key names.
    """
    located = [(error, tuple(_real_path(error, data)[0])) for error in exc.errors(include_url=False)]
    first, explained = _pick(located)
    base = _real_path(first, data)[0]
    path, at_key, message = _describe(first, data, model)
    key = dotted(path) or None
    setter = _setter_of(path, sets)
    if setter is None and sets and original is not None:
        setter, hint = _creator_of(path, first["type"] == "missing", sets, original)
        if hint:
            message += f"; {hint}"
    if setter is not None:
        message += f" (from --set {format_set(*setter)})"
    else:
        inside = [format_set(*spec) for spec in sets if _starts_with(spec[0], path)]
        if inside:
            message += f" (with --set {', '.join(inside)})"
    others = {where for error, where in located if error is not first} - explained
    if others:
        message += f" (and {len(others)} more error{'s' if len(others) > 1 else ''})"
    if setter is not None:
        file, line, column = SET_FILE, None, None
    else:
        file, line, column = locate(tuple(path), at_key) or (default_file, None, None)
    message = _MENTION.sub(
        lambda m: _where_given([*base, *_segments(m.group(1))], data, locate, sets, file, setter), message)
    return ScenarioError(file, line, column, key, message)


def positioned_error(message: str, resolved: Resolved, sets: Sequence[tuple[Path, Any]] = ()) -> ScenarioError:
    """A ``ScenarioError`` for a message about a loaded scenario, at the key it starts with (``horizon: ...``).

    Used for checks made after validation (the workload estimate). A message that starts with no
    key of the scenario is given the scenario's file alone.
    """
    match = _KEY_PREFIX.fullmatch(message)
    path = _segments(match.group(1)) if match else []
    if not path or not lookup(apply_sets(resolved.data, sets) if sets else resolved.data, tuple(path))[0]:
        return ScenarioError(resolved.path, message=message)
    rest = match.group(2)
    setter = _setter_of(path, sets)
    if setter is not None:
        return ScenarioError(SET_FILE, None, None, dotted(path), f"{rest} (from --set {format_set(*setter)})")
    inside = [format_set(*spec) for spec in sets if _starts_with(spec[0], path)]
    if inside:
        rest += f" (with --set {', '.join(inside)})"
    where = resolved.locate(tuple(path))
    file, line, column = (resolved.path, None, None) if where is None else where
    return ScenarioError(file, line, column, dotted(path), rest)


def _segments(key: str) -> list:
    return [int(part) if part.isdigit() else part for part in key.split(".")]


def _where_given(path: list, data: Any, locate: Locator, sets: Sequence[tuple[Path, Any]], file: str,
                 main_setter: tuple[Path, Any] | None) -> str:
    """Where the value at ``path`` came from, as words to put after it in the message of an error in ``file``."""
    setter = _setter_of(path, sets)
    if setter is not None:
        return " from the same --set" if setter == main_setter else f" from --set {format_set(*setter)}"
    if not lookup(data, tuple(path))[0]:
        return " by default"
    where = locate(tuple(path), False)
    if where is None:
        return ""
    return f" at line {where[1]}" if where[0] == file else f" at {where[0]}:{where[1]}"


def _pick(located: list[tuple[dict, tuple]]) -> tuple[dict, set[tuple]]:
    """The error to report, and the key paths it accounts for.

    The first error, except that an unknown key beats a missing key beside it (most likely the
    same key, misspelt), and then accounts for it too.
    """

    def siblings(error_type: str, parent: tuple) -> list[tuple[dict, tuple]]:
        return [(error, path) for error, path in located if error["type"] == error_type and path[:-1] == parent]

    first, where = located[0]
    if first["type"] == "missing":
        unknown = siblings("extra_forbidden", where[:-1])
        if unknown:
            first, where = unknown[0]
    explained = {where}
    if first["type"] == "extra_forbidden":
        explained |= {path for _, path in siblings("missing", where[:-1])}
    return first, explained


def _describe(error: dict, data: Any, model: type[BaseModel] | None) -> tuple[list, bool, str]:
    """(key path, whether to point at the key rather than its value, message) for one pydantic error."""
    path, bad_key = _real_path(error, data)
    kind = error["type"]
    found = _show(error.get("input")) + (_number_hint(error.get("input")) if kind in _NUMBER_TYPES else "")
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


def _real_path(error: dict, data: Any) -> tuple[list, bool]:
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
        text = f"expected a number {word} {_show(limit)}"
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
    match = _KEY_PREFIX.fullmatch(message)
    if match is None:
        return path, message
    extra = _segments(match.group(1))
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
    shown = ", ".join(names[:_MAX_LISTED_KEYS]) + (", ..." if len(names) > _MAX_LISTED_KEYS else "")
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


def _setter_of(path: Sequence, sets: Sequence[tuple[Path, Any]]) -> tuple[Path, Any] | None:
    """The last ``--set`` whose path is (a prefix of) ``path``, if any."""
    for set_path, value in reversed(sets):
        if _starts_with(path, set_path):
            return set_path, value
    return None


def _creator_of(path: Sequence, missing: bool, sets: Sequence[tuple[Path, Any]], original: Any
                ) -> tuple[tuple[Path, Any] | None, str | None]:
    """The ``--set`` that created the mapping or list holding an error (a misspelt name in its path).

    With a hint naming the existing key the new one was probably meant to be.
    """
    holder = list(path[:-1] if missing else path)
    # The shortest prefix of the error's path that the files do not have: where the --set added something new.
    for end in range(1, len(holder) + 1):
        if not lookup(original, tuple(holder[:end]))[0]:
            new = holder[:end]
            break
    else:
        return None, None
    for set_path, value in reversed(sets):
        if _starts_with(set_path, new):
            found, parent = lookup(original, tuple(new[:-1]))
            hint = None
            if found and isinstance(parent, dict):
                hint = did_you_mean(str(new[-1]), list(parent))
                if hint:
                    hint = f"{dotted(new)} is not in the scenario; {hint}"
                elif len(new) == 1:
                    hint = None
                else:
                    hint = f"{dotted(new)} is not in the scenario (it has: {', '.join(map(str, list(parent)[:_MAX_LISTED_KEYS]))})"
            elif found and isinstance(parent, list):
                hint = f"{dotted(new[:-1])} has {len(parent)} item{'s' if len(parent) != 1 else ''} (numbered from 0)"
            elif not found or parent is None:
                hint = f"{dotted(new)} is not in the scenario"
            return (set_path, value), hint
    return None, None


def _starts_with(path: Sequence, prefix: Sequence) -> bool:
    return len(prefix) <= len(path) and all(str(a) == str(b) for a, b in zip(path, prefix))


def _show(value: Any) -> str:
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
