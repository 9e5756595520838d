"""Loading a scenario document: read it, follow ``extends``, apply ``--set``, validate.

Any mistake comes out as one ``ScenarioError`` pointing at the file, line and column that
defined the offending value (or at the ``--set`` that set it), naming the dotted key and saying
what was expected and what was found.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any, Callable, Iterable, Union

from pydantic import BaseModel, ValidationError

from sim.errors import ScenarioError
from sim.scenario.extends import Resolved, resolve
from sim.scenario.overrides import SET_FILE, Path, apply_sets, dotted, format_set, parse_set
from sim.scenario.source import lookup
from sim.scenario.messages import KEY_PREFIX, MAX_LISTED_KEYS, describe, real_path, segments
from sim.scenario.suggest import did_you_mean

SetSpec = Union[str, tuple[Path, Any]]
Locator = Callable[[tuple, bool], Union[tuple[str, int, int], None]]

# ... and name another key, relative to the same model, with "{at:dotted.key}": replaced by where that key
# was given (" at line 18", " at base.yaml:18", " from --set warmup=5h", " by default").
_MENTION = re.compile(r"\{at:([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\}")


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
    return validate_resolved(resolve(path), sets, model)


def validate_resolved(
    resolved: Resolved,
    sets: Iterable[SetSpec] = (),
    model: type[BaseModel] | None = None,
) -> tuple[BaseModel, Resolved]:
    """``load_document`` on a document already read and resolved (``sim.scenario.extends.resolve``): apply the
    ``sets``, validate, and raise the same ``ScenarioError`` for a mistake. For the many variants of one file a
    study makes (a calibration's proposals), read once."""
    if model is None:
        from sim.scenario.schema import Scenario as model  # noqa: N813 - imported late: schema imports our modules
    parsed = [parse_set(spec) if isinstance(spec, str) else
              (tuple(spec[0].split(".") if isinstance(spec[0], str) else spec[0]), spec[1]) for spec in sets]
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
    located = [(error, tuple(real_path(error, data)[0])) for error in exc.errors(include_url=False)]
    first, explained = _pick(located)
    base = real_path(first, data)[0]
    path, at_key, message = describe(first, data, model)
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
        lambda m: _where_given([*base, *segments(m.group(1))], data, locate, sets, file, setter), message)
    return ScenarioError(file, line, column, key, message)


def positioned_error(message: str, resolved: Resolved, sets: Sequence[tuple[Path, Any]] = ()) -> ScenarioError:
    """A ``ScenarioError`` for a message about a loaded scenario, at the key it starts with (``horizon: ...``).

    Used for checks made after validation (the workload estimate). A message that starts with no
    key of the scenario is given the scenario's file alone.
    """
    match = KEY_PREFIX.fullmatch(message)
    path = segments(match.group(1)) if match else []
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
                    hint = f"{dotted(new)} is not in the scenario (it has: {', '.join(map(str, list(parent)[:MAX_LISTED_KEYS]))})"
            elif found and isinstance(parent, list):
                hint = f"{dotted(new[:-1])} has {len(parent)} item{'s' if len(parent) != 1 else ''} (numbered from 0)"
            elif not found or parent is None:
                hint = f"{dotted(new)} is not in the scenario"
            return (set_path, value), hint
    return None, None


def _starts_with(path: Sequence, prefix: Sequence) -> bool:
    return len(prefix) <= len(path) and all(str(a) == str(b) for a, b in zip(path, prefix))
