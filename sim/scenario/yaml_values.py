"""Plain Python values from a composed YAML node tree, with the position of every value in its file.

Only plain YAML is built: mappings with string keys (no duplicates), sequences and the core scalar
tags; ``!!python/...`` and custom tags are refused. ``lookup`` finds a value by its key path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Union

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim.errors import ScenarioError

Position = tuple[int, int]
KeyPath = tuple[Union[str, int], ...]

CORE_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {CORE_TAG + name for name in ("null", "bool", "int", "float", "str", "timestamp", "value")}
_MAP_TAG = CORE_TAG + "map"
_SEQ_TAG = CORE_TAG + "seq"
_MERGE_TAG = CORE_TAG + "merge"
_STR_TAG = CORE_TAG + "str"


@dataclass
class Where:
    """Where one value sits in the text, and where its children sit (mirrors the data)."""

    pos: Position
    key_pos: Position | None = None
    children: dict[str, Where] | list[Where] | None = None

    def child(self, segment: str | int) -> Where | None:
        if isinstance(self.children, dict):
            return self.children.get(str(segment))
        if isinstance(self.children, list):
            index = _as_index(segment)
            if index is not None and index < len(self.children):
                return self.children[index]
        return None


def build(node: Node, name: str) -> tuple[Any, Where]:
    """Plain Python values from a node tree, with their positions; refuses non-plain YAML."""
    return _Builder(name).build(node)


class _Builder:
    """Builds plain values from a composed node tree (already checked against the size limits)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: Node) -> tuple[Any, Where]:
        if isinstance(node, ScalarNode):
            return self._scalar(node), Where(mark_of(node))
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ_TAG:
                raise self._error(node, _unsupported_tag(node.tag))
            values, places = [], []
            for item in node.value:
                value, where = self.build(item)
                values.append(value)
                places.append(where)
            return values, Where(mark_of(node), children=places)
        if isinstance(node, MappingNode):
            if node.tag != _MAP_TAG:
                raise self._error(node, _unsupported_tag(node.tag))
            return self._mapping(node)
        raise self._error(node, "unsupported YAML node")

    def _mapping(self, node: MappingNode) -> tuple[dict[str, Any], Where]:
        merged: dict[str, Any] = {}
        merged_places: dict[str, Where] = {}
        values: dict[str, Any] = {}
        places: dict[str, Where] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG and isinstance(key_node, ScalarNode):
                for source, source_places in self._merge_sources(value_node):
                    for key in source:
                        # Of several merged mappings the first one listed wins; explicit keys win over all.
                        merged.setdefault(key, source[key])
                        merged_places.setdefault(key, source_places[key])
                continue
            key = self._key(key_node)
            if key in values:
                first = places[key].key_pos
                raise self._error(key_node, f"duplicate key {key!r} (first given at line {first[0]})")
            value, where = self.build(value_node)
            where.key_pos = mark_of(key_node)
            values[key] = value
            places[key] = where
        for key in merged:
            if key not in values:
                values[key] = merged[key]
                places[key] = merged_places[key]
        return values, Where(mark_of(node), children=places)

    def _merge_sources(self, node: Node) -> list[tuple[dict, dict]]:
        """The mappings a ``<<`` key merges in, in order of precedence."""
        candidates = node.value if isinstance(node, SequenceNode) else [node]
        sources = []
        for candidate in candidates:
            if not isinstance(candidate, MappingNode):
                found = describe_node(candidate)
                raise self._error(candidate, f"a merge key '<<' takes a mapping or a list of mappings; found {found}")
            value, where = self.build(candidate)
            sources.append((value, where.children))
        return sources

    def _key(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            raise self._error(node, f"mapping keys must be strings; found {describe_node(node)}")
        value = self._scalar(node)
        if not isinstance(value, str):
            found = _describe_value(value)
            raise self._error(node, f"mapping keys must be strings; found {found} (put the key in quotes)")
        return value

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self._error(node, _unsupported_tag(node.tag))
        if node.tag in (_STR_TAG, CORE_TAG + "value"):
            return node.value
        method = {
            "null": self.constructor.construct_yaml_null,
            "bool": self.constructor.construct_yaml_bool,
            "int": self.constructor.construct_yaml_int,
            "float": self.constructor.construct_yaml_float,
            "timestamp": self.constructor.construct_yaml_timestamp,
        }[node.tag[len(CORE_TAG):]]
        try:
            return method(node)
        except Exception as exc:  # PyYAML raises assorted errors (ValueError, KeyError, ...) on bad scalars.
            kind = {"int": "integer", "float": "number", "bool": "boolean", "timestamp": "date"}.get(
                node.tag[len(CORE_TAG):], node.tag[len(CORE_TAG):]
            )
            detail = f": {exc}" if isinstance(exc, ValueError) and str(exc) else ""
            raise self._error(node, f"invalid {kind} {_short(node.value)}{detail}") from None

    def _error(self, node: Node, message: str) -> ScenarioError:
        line, column = mark_of(node)
        return ScenarioError(self.name, line, column, message=message)


def mark_of(node: Node) -> Position:
    """The (line, column) at which a node starts, counted from 1."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def _unsupported_tag(tag: str) -> str:
    shown = "!!" + tag[len(CORE_TAG):] if tag.startswith(CORE_TAG) else tag
    return (
        f"unsupported tag {shown!r}; scenario files hold only plain values "
        "(text, numbers, true/false, null, dates, lists and mappings)"
    )


def describe_node(node: Node) -> str:
    """What a node is, in a message's words ("a mapping", "a list", "the text 'x'")."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == CORE_TAG + "null":
        return "null"
    if node.tag == _STR_TAG:
        return f"a string {_short(node.value)}"
    return _short(node.value)


def _describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value.isoformat()} (a date)"
    return _short(value)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _as_index(segment: str | int) -> int | None:
    if isinstance(segment, bool):
        return None
    if isinstance(segment, int):
        return segment if segment >= 0 else None
    if isinstance(segment, str) and segment.isdigit() and segment.isascii():
        return int(segment)
    return None


def lookup(data: Any, key_path: KeyPath) -> tuple[bool, Any]:
    """``(True, value)`` for the value at ``key_path`` in plain data, else ``(False, None)``.

    Segments may be str or int; digits name list items and ints name mapping keys as text.
    """
    for segment in key_path:
        if isinstance(data, dict):
            key = str(segment)
            if key not in data:
                return False, None
            data = data[key]
        elif isinstance(data, list):
            index = _as_index(segment)
            if index is None or index >= len(data):
                return False, None
            data = data[index]
        else:
            return False, None
    return True, data
