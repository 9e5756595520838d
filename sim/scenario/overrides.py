"""``--set dotted.path=value`` overrides, applied to a scenario before it is validated.

The path names keys (and list items by number): ``review.pools.khmer.reviewers=40``,
``scripted_posts.0.reach=1e6``. The value is read as YAML, with the same safe rules as scenario
files, so ``30d`` is text, ``0.5`` a number, ``[a, b]`` a list and ``{x: 1}`` a mapping.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Iterable, Union

import yaml
from yaml.nodes import MappingNode, SequenceNode

from sim.errors import ScenarioError
from sim.scenario.extends import drop_alternatives
from sim.scenario.source import build, compose_text

SET_FILE = "--set"

Path = tuple[Union[str, int], ...]

_SEGMENT_CHAR = re.compile(r"[A-Za-z0-9_-]")


def parse_set(expr: str) -> tuple[Path, Any]:
    """The key path and value of one ``--set`` expression, e.g. ``horizon=30d``.

    Purely numeric path segments become ints (list items). Raises ``ScenarioError`` with
    file ``--set`` and the 1-based column in ``expr`` of the first problem.
    """
    equals = expr.find("=")
    if equals < 0:
        raise ScenarioError(
            SET_FILE, None, len(expr) + 1, None,
            f"expected KEY=VALUE, like horizon=30d or review.policy=fifo; found {expr!r}",
        )
    path_text = expr[:equals]
    path = _parse_path(path_text)
    value = _parse_value(expr[equals + 1:], path_text, equals + 2)
    return path, value


def apply_sets(data: dict, sets: Iterable[tuple[Path, Any]]) -> dict:
    """A deep copy of ``data`` with each ``(path, value)`` set, in order.

    Missing (or null) intermediate mappings are created; list items must exist. Raises
    ``ScenarioError`` (file ``--set``) when a path runs into a list wrongly or through a plain value.
    """
    result = copy.deepcopy(data)
    for path, value in sets:
        _set_one(result, tuple(path), value)
    return result


def format_set(path: Path, value: Any) -> str:
    """The ``--set`` expression that sets ``value`` at ``path`` (for messages)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip()
    if text.endswith("\n...") or text.endswith("..."):
        text = text[: text.rfind("...")].strip()
    return f"{dotted(path)}={text}"


def dotted(path: Iterable[str | int]) -> str:
    """A key path as users write it: ``review.pools.khmer.reviewers``, ``scripted_posts.0.at``."""
    return ".".join(str(segment) for segment in path)


def _parse_path(text: str) -> Path:
    if not text:
        raise ScenarioError(SET_FILE, None, 1, None, "expected KEY=VALUE, but the key path before '=' is empty")
    segments: list[str | int] = []
    start = 0
    for piece in text.split("."):
        if not piece:
            raise ScenarioError(
                SET_FILE, None, start + 1, text, "empty segment in the key path (two dots, or a dot at an end)"
            )
        for offset, char in enumerate(piece):
            if not _SEGMENT_CHAR.fullmatch(char):
                raise ScenarioError(
                    SET_FILE, None, start + offset + 1, text,
                    f"character {char!r} is not allowed in a key path "
                    "(keys are letters, digits, '_' and '-', separated by '.')",
                )
        segments.append(int(piece) if piece.isdigit() else piece)
        start += len(piece) + 1
    return tuple(segments)


def _parse_value(text: str, path_text: str, column: int) -> Any:
    empty = "no value after '='; write null for null, or '' for an empty text"
    if not text.strip():
        raise ScenarioError(SET_FILE, None, column, path_text, empty)
    try:
        node = compose_text(text, SET_FILE)
        if node is None:
            raise ScenarioError(SET_FILE, None, column, path_text, empty)
        if isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style:
            kind = "mapping" if isinstance(node, MappingNode) else "list"
            raise ScenarioError(
                SET_FILE, None, column, path_text,
                f"expected one value (write lists as [a, b] and mappings as {{k: v}}); found a block {kind}; "
                f"quote the value if it is text",
            )
        value, _ = build(node, SET_FILE)
    except ScenarioError as exc:
        if exc.file != SET_FILE or exc.line is None:
            raise ScenarioError(SET_FILE, None, exc.column or column, path_text, exc.message) from None
        if exc.line == 1:
            at = column + (exc.column or 1) - 1
        elif "\n" not in text:
            at = column + len(text)  # the problem is at the end of the value
        else:
            at = column
        raise ScenarioError(SET_FILE, None, at, path_text, exc.message) from None
    return value


def _set_one(root: dict, path: Path, value: Any) -> None:
    if not path:
        raise ScenarioError(SET_FILE, None, None, None, "empty key path")
    here: Any = root
    for depth, segment in enumerate(path):
        last = depth == len(path) - 1
        key_here = dotted(path[: depth + 1])
        if isinstance(here, dict):
            key = str(segment)
            if last:
                drop_alternatives(here, key)
                here[key] = copy.deepcopy(value)
            else:
                if here.get(key) is None:
                    here[key] = {}
                here = here[key]
        elif isinstance(here, list):
            index = segment if isinstance(segment, int) else None
            if index is None:
                raise ScenarioError(
                    SET_FILE, None, None, key_here,
                    f"{dotted(path[:depth])!r} is {_list_of(here)}; name its items by number, not {segment!r}",
                )
            if index >= len(here):
                raise ScenarioError(
                    SET_FILE, None, None, key_here,
                    f"{dotted(path[:depth])!r} is {_list_of(here)}; there is no item {index}",
                )
            if last:
                here[index] = copy.deepcopy(value)
            else:
                here = here[index]
        else:
            raise ScenarioError(
                SET_FILE, None, None, key_here,
                f"cannot set a key inside {dotted(path[:depth])!r}: it is {_kind(here)}, not a mapping",
            )


def _list_of(items: list) -> str:
    if not items:
        return "an empty list"
    if len(items) == 1:
        return "a list of 1 item (numbered 0)"
    return f"a list of {len(items)} items (numbered 0 to {len(items) - 1})"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a text ({shown!r})"
    return f"a {type(value).__name__} ({value!r})"
