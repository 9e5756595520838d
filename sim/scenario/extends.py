"""Scenario inheritance: ``extends: base.yaml`` starts from another file and changes some keys.

Mappings merge key by key, recursively; anything else (lists, text, numbers, null) in the child
replaces what the parent had. The parent's path is relative to the file that names it.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any

from sim.errors import ScenarioError
from sim.scenario.source import KeyPath, SourceDoc, load_yaml, lookup, special_kind

EXTENDS_KEY = "extends"
MAX_EXTENDS_DEPTH = 10


@dataclass(frozen=True)
class Resolved:
    """A scenario with its ``extends`` chain merged, remembering which file defined each value."""

    path: str
    data: dict
    docs: tuple[SourceDoc, ...]

    @property
    def files(self) -> tuple[str, ...]:
        """The files merged, the scenario itself first, then its parent, grandparent, ..."""
        return tuple(doc.path for doc in self.docs)

    def locate(self, key_path: KeyPath, at_key: bool = False) -> tuple[str, int, int] | None:
        """(file, line, column) where the value at ``key_path`` was defined.

        The child file when it has the value, else the nearest parent that does. A path that goes
        further than the data points at the deepest existing node, in the file that defined it.
        With ``at_key``, the position of the key rather than of its value.
        """
        contributors = list(self.docs)
        for depth in range(len(key_path)):
            prefix = tuple(key_path[: depth + 1])
            present = [doc for doc in contributors if doc.has(prefix)]
            if not present:
                break
            if isinstance(lookup(present[0].data, prefix)[1], dict):
                # Mappings merge down the chain until a parent has something else there (which is replaced).
                contributors = []
                for doc in present:
                    if not isinstance(lookup(doc.data, prefix)[1], dict):
                        break
                    contributors.append(doc)
            else:
                contributors = present[:1]
        owner = contributors[0]
        position = owner.locate(tuple(key_path), at_key=at_key)
        return None if position is None else (owner.path, *position)


def resolve(path: str | os.PathLike) -> Resolved:
    """Load a scenario file and its chain of ``extends`` parents, merged into one mapping.

    Raises ``ScenarioError`` for any file that cannot be loaded, a parent that does not exist or is
    not a regular file, an ``extends`` that is not a file name, a cycle, or a chain of more than 10 parents.
    """
    name = os.fspath(path)
    docs = [load_yaml(name)]
    chain = [os.path.normpath(name)]
    seen = [os.path.realpath(name)]
    while EXTENDS_KEY in docs[-1].data:
        doc = docs[-1]
        parent = _parent_path(doc)
        line, column = doc.locate((EXTENDS_KEY,)) or (None, None)
        if os.path.realpath(parent) in seen:
            cycle = " -> ".join([*chain, parent])
            raise ScenarioError(doc.path, line, column, EXTENDS_KEY, f"extends cycle: {cycle}")
        if len(docs) > MAX_EXTENDS_DEPTH:
            raise ScenarioError(
                doc.path, line, column, EXTENDS_KEY,
                f"the extends chain is longer than {MAX_EXTENDS_DEPTH} parents: {' -> '.join([*chain, parent])}",
            )
        docs.append(load_yaml(parent))
        chain.append(parent)
        seen.append(os.path.realpath(parent))
    data: dict = {}
    for doc in reversed(docs):
        own = {key: value for key, value in doc.data.items() if key != EXTENDS_KEY}
        data = merge(data, own)
    return Resolved(path=name, data=data, docs=tuple(docs))


# Keys of one mapping that say the same thing in two ways: a pool is staffed by `reviewers` around
# the clock or by `shifts`. Giving one (in a file that extends another, or with --set) replaces the
# other, so `--set review.pools.khmer.reviewers=8` on a pool with shifts staffs it around the clock.
ALTERNATIVE_KEYS = (frozenset({"reviewers", "shifts"}),)


def drop_alternatives(mapping: dict, key: str, keep: Any = ()) -> None:
    """Remove from ``mapping`` the alternatives of ``key`` (``ALTERNATIVE_KEYS``), except those in ``keep``."""
    for group in ALTERNATIVE_KEYS:
        if key in group:
            for other in group - {key}:
                if other not in keep:
                    mapping.pop(other, None)


def merge(parent: Any, child: Any) -> Any:
    """``child`` laid over ``parent``: mappings merge key by key, anything else in the child replaces.

    A key of the child replaces the parent's alternatives to it (``ALTERNATIVE_KEYS``).
    """
    if isinstance(parent, dict) and isinstance(child, dict):
        result = {key: copy.deepcopy(value) for key, value in parent.items()}
        for key in child:
            drop_alternatives(result, key, keep=child)
        for key, value in child.items():
            result[key] = merge(result[key], value) if key in result else copy.deepcopy(value)
        return result
    return copy.deepcopy(child)


def _parent_path(doc: SourceDoc) -> str:
    """The parent file named by ``extends``, relative to the directory of the file naming it."""
    reference = doc.data[EXTENDS_KEY]
    line, column = doc.locate((EXTENDS_KEY,)) or (None, None)
    if not isinstance(reference, str) or not reference.strip():
        found = "an empty text" if isinstance(reference, str) else _kind(reference)
        raise ScenarioError(
            doc.path, line, column, EXTENDS_KEY,
            f"expected the file name of a parent scenario, like base.yaml; found {found}",
        )
    parent = os.path.normpath(os.path.join(os.path.dirname(doc.path), reference))
    try:
        kind = special_kind(os.stat(parent).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        raise ScenarioError(
            doc.path, line, column, EXTENDS_KEY,
            f"parent file {reference!r} not found (looked in {os.path.dirname(os.path.abspath(parent))})",
        ) from None
    except (OSError, ValueError):
        kind = None  # reading it says why it cannot be read
    if kind is not None:
        raise ScenarioError(
            doc.path, line, column, EXTENDS_KEY,
            f"expected the file name of a parent scenario; found {reference!r}, which is {kind}",
        )
    return parent


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "a mapping"
    return repr(value)
