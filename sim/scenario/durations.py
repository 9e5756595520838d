"""Durations written with units (``36h``, ``90min``, ``14d``, ``6mo``), held in hours.

A bare number is refused: ``36`` could mean hours, days or seconds, and scenario files are read
by people. A month is a twelfth of a year, and a year is 365.25 days.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache

# Exact hours per unit; parsing multiplies exactly and rounds once, so 3600s is exactly 1h.
_EXACT_HOURS: dict[str, Fraction] = {
    "s": Fraction(1, 3600),
    "min": Fraction(1, 60),
    "h": Fraction(1),
    "d": Fraction(24),
    "w": Fraction(7 * 24),
    "mo": Fraction(36525 * 24, 100 * 12),
    "y": Fraction(36525 * 24, 100),
}

HOURS_PER_UNIT: dict[str, float] = {unit: float(hours) for unit, hours in _EXACT_HOURS.items()}

_UNITS_TEXT = ", ".join(HOURS_PER_UNIT)
_EXPECTED = f"expected a duration with a unit ({_UNITS_TEXT}), like 36h, 14d or 6mo"
_PATTERN = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d{1,3})?)\s*([A-Za-z]*)\s*")
_MAX_TEXT = 100
# Units in the order format_duration prefers them (weeks are shown as days).
_FORMAT_UNITS = ("y", "mo", "d", "h", "min", "s")


def parse_duration(value: object) -> float:
    """Hours in a duration written with a unit (``36h``, ``1.5h``, ``90min``, ``14 d``, ``6mo``).

    Raises ``ValueError`` saying what was expected and what was found for anything else:
    bare numbers, unknown units, negative or non-finite values, booleans, empty strings.
    """
    if not isinstance(value, str):
        raise ValueError(f"{_EXPECTED}; found {_describe(value)}")
    if len(value) > _MAX_TEXT:
        raise ValueError(f"{_EXPECTED}; found a text of {len(value)} characters")
    match = _PATTERN.fullmatch(value)
    if match is None:
        raise ValueError(f"{_EXPECTED}; found {value!r}")
    number, unit = match.groups()
    if not unit:
        raise ValueError(f"{_EXPECTED}; found {value!r}")
    if unit not in _EXACT_HOURS:
        raise ValueError(f"{_unit_hint(unit)}; {_EXPECTED}; found {value!r}")
    exact = Fraction(number)
    if exact < 0:
        raise ValueError(f"a duration cannot be negative; found {value!r}")
    try:
        hours = float(exact * _EXACT_HOURS[unit])
    except OverflowError:
        hours = math.inf
    if not math.isfinite(hours):
        raise ValueError(f"a duration must be finite; found {value!r}")
    return hours


def format_duration(hours: float) -> str:
    """A compact text for a duration in hours (``36h``, ``14d``, ``6mo``) that parses back exactly.

    Whole numbers of the largest fitting unit are preferred; otherwise the shortest exact text.
    """
    if isinstance(hours, bool) or not isinstance(hours, (int, float)):
        raise ValueError(f"expected a number of hours; found {_describe(hours)}")
    if not math.isfinite(hours) or hours < 0:
        raise ValueError(f"expected a finite, non-negative number of hours; found {hours!r}")
    return _format_hours(hours)


# Every dump of a scenario formats all its durations (29 in mmc), the same few again and again: a calibration's
# proposals differ in one, and the exact arithmetic was over half of a proposal's scenario (0.26 of the 0.44 s
# that 300 took under cProfile).
@lru_cache(maxsize=4096, typed=True)  # typed: an int and the equal float are formatted apart, as before
def _format_hours(hours: float) -> str:
    if hours == 0:
        return "0h"
    exact = Fraction(hours)
    for unit in _FORMAT_UNITS:
        count = exact / _EXACT_HOURS[unit]
        if count.denominator == 1 and count.numerator < 10**15:
            return f"{count.numerator}{unit}"
    candidates = []
    for unit in _FORMAT_UNITS:
        try:
            count = float(exact / _EXACT_HOURS[unit])
        except OverflowError:
            continue
        number = str(int(count)) if count.is_integer() and count < 1e15 else repr(count)
        if _round_trips(number + unit, hours):
            candidates.append(number + unit)
    # repr of the hours themselves always parses back exactly, so there is at least one candidate.
    return min(candidates, key=len)


def _round_trips(text: str, hours: float) -> bool:
    try:
        return parse_duration(text) == hours
    except ValueError:
        return False


def _unit_hint(unit: str) -> str:
    if unit == "m":
        return "unit 'm' is ambiguous (write min for minutes, mo for months)"
    if unit.lower() in _EXACT_HOURS:
        return f"unknown unit {unit!r} (units are lower case: did you mean {unit.lower()!r}?)"
    return f"unknown unit {unit!r}"


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number without unit)"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
