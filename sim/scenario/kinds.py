"""Pluggable kinds: a scenario key whose value is one of several classes, chosen by its ``kind``.

A priority policy and a retaliation step are such keys. Each kind is one class with its own fields
and the one method that acts (``priority``, ``act``); the union built here is the registry, so a
kind is known to the schema exactly when it has an implementation, and nothing branches on names.
A YAML file picks a kind by name (``kind: block``, or the bare name where a shorthand is allowed,
``policy: fifo``) and never imports code; from Python, an instance of any subclass of the base (a
user's own kind) is taken as it is, as Ciw takes a discipline function.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, Discriminator, InstanceOf, PlainSerializer, Tag
from pydantic.json_schema import SkipJsonSchema
from sim.interrupts import plain_data

OWN = "(an instance from Python)"  # the tag of a user's own kind, never written in a file
NAME = "(a name)"                  # the tag of the bare-name shorthand
_KNOWN: dict[type, tuple[type, ...]] = {}  # each pluggable base and the kinds the schema knows of it


def kind_of(cls: type) -> str:
    """The name a kind's class is chosen by (the default of its ``kind`` field)."""
    return cls.model_fields["kind"].default


def kinds(base: type, members: tuple[type, ...], shorthand: bool = False) -> Any:
    """The pydantic type of a key holding one of `members` (chosen by ``kind``), or any instance of a subclass of
    `base` given from Python. With `shorthand`, a bare name stands for that kind with its defaults."""
    by_kind = {kind_of(member): member for member in members}
    _KNOWN[base] = tuple(members)
    choices: list[Any] = [Annotated[member, Tag(name)] for name, member in by_kind.items()]
    if shorthand:
        names = Literal[tuple(by_kind)]  # type: ignore[valid-type]
        choices.insert(0, Annotated[names, AfterValidator(lambda name: by_kind[name]()), Tag(NAME)])
    choices.append(Annotated[SkipJsonSchema[InstanceOf[base]], PlainSerializer(_own_data), Tag(OWN)])

    def tag(value: Any) -> str | None:
        if isinstance(value, base):
            return value.kind if type(value) is by_kind.get(value.kind) else OWN
        if isinstance(value, str) and shorthand:
            return NAME
        if isinstance(value, dict) and isinstance(value.get("kind"), str):
            return value["kind"]
        return None

    expected = ", ".join(repr(name) for name in by_kind)
    return Annotated[Union[tuple(choices)], Discriminator(  # noqa: UP007 (a runtime tuple of members)
        tag, custom_error_type="kind_missing",
        custom_error_message=f"Input should be a mapping with a kind: one of {expected}"
                             + (", or one of those names alone" if shorthand else ""))]


def _own_data(value: BaseModel) -> dict:
    """A user's own kind as data (for scenario.yaml and the scenario's hash; a file cannot load it back)."""
    return plain_data(value)


def holds_own_kinds(value: Any) -> bool:
    """Whether a scenario (or any part of it) holds an instance of a kind the schema does not know, given from
    Python: plain data cannot name it, so such a scenario goes to the workers as the object itself."""
    if isinstance(value, BaseModel):
        for base, known in _KNOWN.items():
            if isinstance(value, base) and type(value) not in known:
                return True
        return any(holds_own_kinds(getattr(value, name)) for name in type(value).model_fields)
    if isinstance(value, (tuple, list)):
        return any(holds_own_kinds(item) for item in value)
    if isinstance(value, dict):
        return any(holds_own_kinds(item) for item in value.values())
    return False


def as_task_data(scenario: BaseModel) -> Any:
    """The scenario as a replication's task carries it: plain data (small, and the same for every executor), or
    the scenario itself when it holds a kind of the user's own (its class must then be importable by the
    workers: defined in a module, not in the script being run)."""
    return scenario if holds_own_kinds(scenario) else plain_data(scenario)
