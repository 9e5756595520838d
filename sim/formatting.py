"""How numbers are written for people, in terminal tables and in the HTML report alike."""

from __future__ import annotations

import math


def format_number(value) -> str:
    """A number as people read it in a table: few significant digits, thousands separated, '-' if missing."""
    if value is None:
        return "-"
    value = float(value)
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.01 or magnitude == 0:
        return f"{value:.3f}"
    return f"{value:.2e}"
