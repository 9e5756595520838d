"""The value types of scenario files: durations with units, strict numbers, names, and the frozen base model.

Every scenario model is built from these, so a duration is always written with its unit (``36h``,
``14d``, ``6mo``) and held in hours, a number is never a string or a boolean, and a name is safe in a
file path.
"""


from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, Strict
from pydantic_core import PydanticCustomError

from sim.scenario.durations import format_duration, parse_duration

MAX_HOURS = 1000 * 365.25 * 24


def _bounded_hours(hours: float) -> float:
    if hours > MAX_HOURS:
        raise ValueError("expected a duration of at most 1000y")
    return hours


def _positive_hours(hours: float) -> float:
    if hours <= 0:
        raise ValueError(f"expected a duration greater than zero, like 36h; found {format_duration(hours)}")
    return hours


def _whole(value: Any) -> Any:
    """A whole, finite float as an int (``count: 1e6``); anything else is left to the strict int check."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("finite_number", "Input should be a finite number")
        if value.is_integer():
            return int(value)
    return value


Hours = Annotated[
    float,
    BeforeValidator(parse_duration),
    AfterValidator(_bounded_hours),
    PlainSerializer(format_duration, return_type=str),
    Field(json_schema_extra={"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*(s|min|h|d|w|mo|y)\s*$"}),
]
# Durations that divide (view decay, half-life) or are the log-scale of a distribution (lognormal means).
PositiveHours = Annotated[Hours, AfterValidator(_positive_hours)]
# Numbers are strict: true is not 1 and "5" is not 5 (pydantic's lax mode would read both as numbers).
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]


def whole(**bounds: Any) -> Any:
    """A strict whole number within ``bounds`` (Field's ge, le, ...); a whole float such as 1e6 is taken."""
    return Annotated[int, Strict(), Field(**bounds), BeforeValidator(_whole)]


Probability = Annotated[Number, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[Number, Field(ge=0.0, le=1e15)]
Positive = Annotated[Number, Field(gt=0.0, le=1e15)]
Count = whole(ge=0, le=10**12)
Severity = whole(ge=1, le=4, description="1 low, 2 medium, 3 high, 4 severe")
Strikes = whole(ge=1)
Seed = whole(ge=0, lt=2**63)
Replications = whole(ge=1, le=100_000)
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")]


class Frozen(BaseModel):
    """Base of every scenario model: unknown keys refused, values immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

