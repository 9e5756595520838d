"""Reading YAML safely, remembering where every value came from.

Scenario files are parsed by PyYAML's safe loader (libyaml when available); the node tree is
composed here from the parser's events and plain Python values are built from it here too, so
that only plain YAML is accepted (no ``!!python/...`` or custom tags), duplicate keys and
non-string keys are refused, and documents too deep or too large, counting aliases at their
expanded size ("billion laughs"), are refused before anything large is built. Every failure is
one ``ScenarioError`` with file, line and column where there is one.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim.errors import ScenarioError, os_reason

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000

from sim.scenario.yaml_values import (  # noqa: F401  (lookup and KeyPath are re-exported: extends reads them here)
    CORE_TAG, KeyPath, Position, describe_node, mark_of, Where, build, lookup,
)


@dataclass
class SourceDoc:
    """One YAML file read into plain Python values, with the position of every value."""

    path: str
    data: Any
    _where: Where = field(repr=False)

    def locate(self, key_path: KeyPath, at_key: bool = False) -> Position | None:
        """(line, column), 1-based, of the value at ``key_path``.

        With ``at_key`` the position of the key naming it (for errors about the key itself).
        When the path goes further than the document, the key (or list item) of the deepest
        existing node along it, so errors about missing keys still point somewhere useful.
        """
        where, complete = self._walk(key_path)
        if complete and not at_key:
            return where.pos
        return where.key_pos or where.pos

    def has(self, key_path: KeyPath) -> bool:
        """Whether the document has a value at ``key_path``."""
        return self._walk(key_path)[1]

    def _walk(self, key_path: KeyPath) -> tuple[Where, bool]:
        where = self._where
        for segment in key_path:
            child = where.child(segment)
            if child is None:
                return where, False
            where = child
        return where, True


def load_yaml(path: str | os.PathLike) -> SourceDoc:
    """Read a scenario file safely: a mapping at the top level, plain values, positions kept.

    Raises ``ScenarioError`` (with line and column where there is one) for a missing, unreadable,
    oversized, empty, binary or non-UTF-8 file, one that is not a regular file (a directory, a FIFO,
    a device), invalid YAML, unsupported tags, duplicate or non-string keys, documents too deep or
    too large, and a top level that is not a mapping.
    """
    name = os.fspath(path)
    raw = _read_bytes(name)
    text = _decode(name, raw)
    node = compose_text(text, name)
    if node is None:
        raise ScenarioError(name, message="the file is empty (or only comments); expected a mapping of scenario keys")
    if not isinstance(node, MappingNode):
        line, column = mark_of(node)
        found = describe_node(node)
        message = f"expected a mapping of scenario keys at the top level; found {found}"
        raise ScenarioError(name, line, column, message=message)
    data, where = build(node, name)
    return SourceDoc(name, data, where)


def compose_text(text: str, name: str) -> Node | None:
    """The YAML node tree of one document (``None`` when empty), within the depth and size limits."""
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        line, column = _text_position(text, bad.start())
        raise ScenarioError(
            name, line, column, message=f"control character U+{ord(bad.group()):04X} is not allowed in YAML text"
        )
    try:
        node = _compose_with(FAST_LOADER, text, name)
    except _ParserDepthLimit:
        # libyaml 0.2.6 and later stop at a nesting limit of their own (1,000 levels) while scanning
        # ahead, before the composer has seen level MAX_DEPTH + 1. The pure-Python parser has no such
        # limit and scans at most a line ahead, so it finds ours, with the same message and position.
        node = _compose_with(PURE_LOADER, text, name)
    if node is not None:
        _check_expanded_size(node, name)
    return node


class _ParserDepthLimit(Exception):
    """The YAML parser itself refused the nesting depth (libyaml's own limit)."""


def _compose_with(loader_class: type, text: str, name: str) -> Node | None:
    loader = None
    try:
        loader = loader_class(text)
        return _compose(loader, name)
    except yaml.MarkedYAMLError as exc:
        if loader_class is not PURE_LOADER and "maximum nesting depth" in (exc.problem or ""):
            raise _ParserDepthLimit() from None
        raise _syntax_error(exc, name, text) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(name, message=f"invalid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


# --- reading the file ------------------------------------------------------------------------


def _read_bytes(name: str) -> bytes:
    try:
        info = os.stat(name)
    except (FileNotFoundError, NotADirectoryError):
        raise ScenarioError(name, message=f"file not found (looked for {os.path.abspath(name)})") from None
    except PermissionError:
        raise ScenarioError(name, message="permission denied: cannot read this file") from None
    except (OSError, ValueError) as exc:
        raise ScenarioError(name, message=f"cannot read this file: {os_reason(exc)}") from None
    kind = special_kind(info.st_mode)
    if kind is not None:
        raise ScenarioError(name, message=f"is {kind}, not a scenario file")
    if info.st_size > MAX_FILE_BYTES:
        raise ScenarioError(name, message=_too_big(info.st_size))
    try:
        # Without blocking, in case the file was replaced by a FIFO since it was looked at.
        with open(name, "rb", opener=_open_nonblocking) as handle:
            kind = special_kind(os.fstat(handle.fileno()).st_mode)
            if kind is not None:
                raise ScenarioError(name, message=f"is {kind}, not a scenario file")
            raw = handle.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        raise ScenarioError(name, message="permission denied: cannot read this file") from None
    except OSError as exc:
        raise ScenarioError(name, message=f"cannot read this file: {os_reason(exc)}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(name, message=_too_big(None))
    return raw


def special_kind(mode: int) -> str | None:
    """What a file of this ``st_mode`` is when it is not a regular file ("a directory", "a FIFO"), else None."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))


def _too_big(size: int | None) -> str:
    what = f"the file is {size:,} bytes" if size is not None else "the file is larger than the limit"
    return f"{what}; the limit for a scenario file is {MAX_FILE_BYTES:,} bytes"


def _decode(name: str, raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioError(name, 1, 1, message="the file is UTF-16 encoded; save it as UTF-8 text")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line, column = _byte_position(raw, nul)
        raise ScenarioError(
            name, line, column, message=f"binary content (a NUL byte at byte offset {nul}); expected YAML text"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _byte_position(raw, exc.start)
        byte = raw[exc.start]
        raise ScenarioError(
            name, line, column,
            message=f"not valid UTF-8 text (byte 0x{byte:02x} at byte offset {exc.start}); save the file as UTF-8",
        ) from None


def _byte_position(raw: bytes, offset: int) -> Position:
    """1-based (line, column) of a byte offset, the column counted in characters."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    before = raw[line_start:offset].decode("utf-8", errors="replace")
    return raw.count(b"\n", 0, offset) + 1, len(before) + 1


def _text_position(text: str, index: int) -> Position:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


# --- composing within limits -----------------------------------------------------------------


def _with_exponent_floats(base: type) -> type:
    """A safe loader on ``base`` that also reads ``1e6`` and ``2.5E-3`` as numbers (PyYAML wants ``1.0e+6``)."""
    loader = type(f"Scenario{base.__name__}", (base,), {})
    loader.add_implicit_resolver(
        CORE_TAG + "float",
        re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )
    return loader


# Either way nodes are composed here, without recursion, so that depth and size are checked before
# anything large or deep is built. libyaml's parser is used when available (much faster).
PURE_LOADER = _with_exponent_floats(yaml.SafeLoader)
FAST_LOADER = _with_exponent_floats(yaml.CSafeLoader) if hasattr(yaml, "CSafeLoader") else PURE_LOADER
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE


def _compose(loader: Any, name: str) -> Node | None:
    """Compose the single document of a stream from parser events (as PyYAML's Composer does)."""
    loader.get_event()  # stream start
    if loader.check_event(yaml.StreamEndEvent):
        return None
    document_start = loader.get_event()
    anchors: dict[str, Node] = {}
    open_nodes: list[list] = []  # [collection node, pending mapping key or None]
    root: Node | None = None
    count = 0
    while root is None:
        event = loader.get_event()
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            node = open_nodes.pop()[0]
            node.end_mark = event.end_mark
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                raise _limit_error(name, event.start_mark, f"found undefined alias {event.anchor!r}")
            node = anchors[event.anchor]
        else:
            count += 1
            if count > MAX_NODES:
                raise _limit_error(name, event.start_mark, _too_many())
            if event.anchor is not None and event.anchor in anchors:
                first = anchors[event.anchor].start_mark
                raise _limit_error(
                    name, event.start_mark,
                    f"duplicate anchor {event.anchor!r} "
                    f"(first defined at line {first.line + 1}, column {first.column + 1})",
                )
            node = _start_node(loader, event)
            if event.anchor is not None:
                anchors[event.anchor] = node
            if not isinstance(node, ScalarNode):
                if len(open_nodes) + 1 > MAX_DEPTH:
                    raise _limit_error(name, event.start_mark, _too_deep())
                open_nodes.append([node, None])
                continue
        if not open_nodes:
            root = node
            break
        parent = open_nodes[-1]
        if isinstance(parent[0], SequenceNode):
            parent[0].value.append(node)
        elif parent[1] is None:
            parent[1] = node
        else:
            parent[0].value.append((parent[1], node))
            parent[1] = None
    loader.get_event()  # document end
    if not loader.check_event(yaml.StreamEndEvent):
        extra = loader.get_event()
        raise _limit_error(
            name, extra.start_mark,
            f"expected a single document in the stream (it began at line {document_start.start_mark.line + 1}), "
            "but found another document",
        )
    return root


def _start_node(loader: Any, event: yaml.Event) -> Node:
    """A node for a scalar or the start of a collection, its tag resolved as PyYAML resolves it."""
    tag = event.tag
    if isinstance(event, yaml.ScalarEvent):
        if tag is None or tag == "!":
            tag = loader.resolve(ScalarNode, event.value, event.implicit)
        return ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
    kind = SequenceNode if isinstance(event, yaml.SequenceStartEvent) else MappingNode
    if tag is None or tag == "!":
        tag = loader.resolve(kind, None, event.implicit)
    return kind(tag, [], event.start_mark, None, flow_style=event.flow_style)


def _too_deep(through_aliases: bool = False) -> str:
    return f"nested deeper than {MAX_DEPTH} levels" + (" once aliases are expanded" if through_aliases else "")


def _too_many() -> str:
    return f"the document has more than {MAX_NODES:,} values (counting aliases as their expanded size)"


def _limit_error(name: str, mark: yaml.Mark | None, message: str) -> ScenarioError:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
    return ScenarioError(name, line, column, message=message)


def _check_expanded_size(root: Node, name: str) -> None:
    """Refuse documents too deep or too large once aliases are expanded, without expanding them.

    Sizes and heights are memoised per node, so aliases repeated at many levels cost nothing.
    """
    memo: dict[int, tuple[int, int]] = {}
    open_nodes: set[int] = set()

    def visit(node: Node, depth: int) -> tuple[int, int]:
        known = memo.get(id(node))
        if known is None:
            if id(node) in open_nodes:
                raise _limit_error(name, node.start_mark, "an alias refers to a mapping or list that contains it")
            if depth > MAX_DEPTH:
                raise _limit_error(name, node.start_mark, _too_deep(True))
            open_nodes.add(id(node))
            size, height = 1, 0
            for child in _node_children(node):
                child_size, child_height = visit(child, depth + 1)
                size += child_size
                height = max(height, child_height + 1)
                if size > MAX_NODES:
                    raise _limit_error(name, node.start_mark, _too_many())
            open_nodes.discard(id(node))
            known = memo[id(node)] = (size, height)
        if depth + known[1] > MAX_DEPTH:
            raise _limit_error(name, node.start_mark, _too_deep(True))
        return known

    visit(root, 1)


def _node_children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _syntax_error(exc: yaml.MarkedYAMLError, name: str, text: str) -> ScenarioError:
    """One-line ScenarioError for a YAML syntax error, at the problem's position."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
    message = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        context = exc.context
        other = exc.context_mark
        if other is not None and (mark is None or (other.line, other.column) != (mark.line, mark.column)):
            context += f" at line {other.line + 1}, column {other.column + 1}"
        message += f" ({context})"
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        message += "; YAML does not allow tabs for indentation, use spaces"
    if not message.startswith("invalid YAML"):
        message = f"invalid YAML: {message}"
    return ScenarioError(name, line, column, message=message)


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    return lines[line][column : column + 1] if 0 <= line < len(lines) else ""


# --- building plain values -------------------------------------------------------------------
