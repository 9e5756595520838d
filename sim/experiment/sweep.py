"""Designs over dotted parameter paths (grids and Latin hypercubes) and the sweep's long table.

A ``--vary path=spec`` names one parameter and its values:

- ``10:100:10`` — start:stop:step, stop included when a step lands on it (durations too: ``6h:72h:6h``);
- ``a,b,c`` — the listed values, read as YAML like ``--set`` values (``fifo,severity``, ``12h,1d``);
- ``low..high`` — a range, sampled by a Latin-hypercube design of ``--samples N`` points
  (integers when both bounds are integers; durations such as ``6h..72h`` are interpolated in hours
  and written back with a unit).

Each point is the scenario with its values applied as ``--set path=value`` expressions, so it is
validated exactly like a file.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.errors import ModsimError
from sim.experiment.replicate import Failure, Task
from sim.experiment.runner import outcome_columns
from sim.experiment.statistics import outcome_ci
from sim.metrics import Replication, outcome_kind
from sim.scenario.durations import format_duration, parse_duration

SWEEP_COLUMNS = ["outcome", "mean", "ci_low", "ci_high", "n", "method"]
_PATH = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


class DesignError(ModsimError):
    """A `--vary` or `--param` specification that cannot be read."""


@dataclass(frozen=True)
class Range:
    """A continuous range of one parameter: numbers, integers or durations (held in hours)."""

    path: str
    low: float
    high: float
    kind: str  # "int", "float" or "duration"

    def value(self, unit: float) -> Any:
        """The parameter value at ``unit`` in [0, 1]."""
        x = self.low + unit * (self.high - self.low)
        if self.kind == "int":
            return int(min(max(math.floor(self.low + unit * (self.high - self.low + 1)), self.low), self.high))
        if self.kind == "duration":
            return duration_text(x, self.high - self.low)
        return float(x)

    def number(self, value: Any) -> float:
        """The value as a number (hours for durations)."""
        return parse_duration(value) if self.kind == "duration" else float(value)


def duration_text(hours: float, span: float) -> str:
    """A sampled duration written back with a unit, rounded to whole minutes (seconds for short ranges)."""
    grain = 60 if span >= 1 else 3600
    return format_duration(round(hours * grain) / grain)


def _split(spec: str, option: str) -> tuple[str, str]:
    path, sep, text = spec.partition("=")
    path = path.strip()
    if not sep or not text.strip():
        raise DesignError(f"{option} {spec!r}: expected path=values, like review.pools.agents.reviewers=10:30:5")
    if not _PATH.fullmatch(path):
        raise DesignError(f"{option} {spec!r}: {path!r} is not a dotted parameter path")
    return path, text.strip()


def _number(text: str) -> tuple[float, str]:
    """A number or a duration: (value, kind) with durations in hours."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    if isinstance(value, bool):
        raise ValueError(text)
    if isinstance(value, int):
        return float(value), "int"
    if isinstance(value, float):
        return value, "float"
    return parse_duration(text), "duration"


def _bounds(path: str, low_text: str, high_text: str, option: str, spec: str) -> tuple[float, float, str]:
    try:
        low, low_kind = _number(low_text)
        high, high_kind = _number(high_text)
    except ValueError:
        raise DesignError(f"{option} {spec!r}: bounds must be numbers or durations with a unit, like 10..40 or 6h..72h") from None
    if (low_kind == "duration") != (high_kind == "duration"):
        raise DesignError(f"{option} {spec!r}: both bounds must be durations, or both numbers")
    if not low < high:
        raise DesignError(f"{option} {spec!r}: the low bound must be below the high bound")
    kind = "duration" if low_kind == "duration" else ("int" if low_kind == high_kind == "int" else "float")
    return low, high, kind


def parse_range(spec: str, option: str = "--param") -> Range:
    """``path=low..high`` as a Range."""
    path, text = _split(spec, option)
    if ".." not in text:
        raise DesignError(f"{option} {spec!r}: expected a range low..high, like 10..40 or 6h..72h")
    low_text, _, high_text = text.partition("..")
    low, high, kind = _bounds(path, low_text, high_text, option, spec)
    return Range(path, low, high, kind)


def parse_values(spec: str, option: str = "--vary") -> tuple[str, list[Any]]:
    """``path=start:stop:step`` or ``path=a,b,c`` as the path and its list of values."""
    path, text = _split(spec, option)
    if ".." in text:
        raise DesignError(f"{option} {spec!r}: a range low..high needs --samples N (a Latin-hypercube design)")
    if ":" in text and "," not in text and text.count(":") != 2:
        raise DesignError(f"{option} {spec!r}: expected start:stop:step, like 10:100:10")
    if text.count(":") == 2 and "," not in text:
        start_text, stop_text, step_text = text.split(":")
        start, stop, kind = _bounds(path, start_text, stop_text, option, spec)
        try:
            step, step_kind = _number(step_text)
        except ValueError:
            raise DesignError(f"{option} {spec!r}: the step must be a number or a duration") from None
        if (step_kind == "duration") != (kind == "duration") or step <= 0:
            raise DesignError(f"{option} {spec!r}: the step must be positive and of the same kind as the bounds")
        if step_kind == "float" and kind == "int":
            kind = "float"
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > 100_000:
            raise DesignError(f"{option} {spec!r}: {count} values is too many")
        numbers = [start + k * step for k in range(count)]
        if kind == "int":
            values = [int(round(x)) for x in numbers]
        elif kind == "duration":
            values = [format_duration(x) for x in numbers]
        else:
            values = [round(x, 12) for x in numbers]
        return path, values
    values = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise DesignError(f"{option} {spec!r}: an empty value in the list")
        try:
            values.append(yaml.safe_load(item))
        except yaml.YAMLError:
            values.append(item)
    if len(set(map(repr, values))) != len(values):
        raise DesignError(f"{option} {spec!r}: a value is listed twice")
    return path, values


def _check_paths(paths: list[str], option: str) -> None:
    repeated = sorted({p for p in paths if paths.count(p) > 1})
    if repeated:
        raise DesignError(f"{option}: {', '.join(repeated)} given more than once")


def grid(specs: list[str]) -> tuple[list[str], list[tuple]]:
    """The full-factorial grid of ``--vary path=values`` specs: the paths and one tuple per point."""
    parsed = [parse_values(spec) for spec in specs]
    paths = [p for p, _ in parsed]
    _check_paths(paths, "--vary")
    return paths, list(itertools.product(*(values for _, values in parsed)))


def latin_hypercube(specs: list[str], samples: int, seed: int, option: str = "--vary") -> tuple[list[str], list[tuple]]:
    """A Latin-hypercube design of ``samples`` points over ``path=low..high`` ranges, seeded."""
    from scipy.stats import qmc

    ranges = [parse_range(spec, option) for spec in specs]
    paths = [r.path for r in ranges]
    _check_paths(paths, option)
    units = qmc.LatinHypercube(d=len(ranges), seed=np.random.default_rng(seed)).random(samples)
    return paths, [tuple(r.value(u) for r, u in zip(ranges, row)) for row in units]


def set_expressions(paths: list[str], point: tuple) -> list[str]:
    """The ``--set`` expressions of one point."""
    return [f"{path}={_set_text(value)}" for path, value in zip(paths, point)]


def _set_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text[:-3].strip() if text.endswith("...") else text


def points_table(paths: list[str], points: list[tuple]) -> pd.DataFrame:
    """One row per point: its number and the value of each varied path (numbers stay numbers)."""
    table = pd.DataFrame([[i, *p] for i, p in enumerate(points)], columns=["point", *paths])
    for path in paths:
        column = table[path]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in column):
            table[path] = column.map(_set_text).astype(str)
    return table


def part_key(point: int, index: int) -> str:
    return f"p{point:05d}-r{index:06d}"


def tasks(scenarios: list[dict], seed: int, replications: int, done: set[str] = frozenset()) -> list[Task]:
    """Every point's replications still to run (all points share the seed: common random numbers)."""
    return [Task(part_key(p, i), data, seed, i) for p, data in enumerate(scenarios) for i in range(replications)
            if part_key(p, i) not in done]


def sweep_tables(points: pd.DataFrame, seed: int, replications: int, records: dict[str, Replication | Failure],
                 uppers: list | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``sweep.parquet`` (long: point, varied paths, outcome, mean, ci, n, method), per-replication outcomes,
    failures (``failures_table``). ``uppers`` (by point: ``sim.metrics.upper_bounds`` of its scenario) bound the
    intervals."""
    rows = []
    for point in points["point"]:
        for i in range(replications):
            record = records.get(part_key(point, i))
            if record is not None and not isinstance(record, Failure):
                rows.append({"point": point, "replication": i, "seed": seed, **record.outcomes})
    reps = pd.DataFrame(rows, columns=None if rows else ["point", "replication", "seed"])
    outcomes = outcome_columns(reps.drop(columns=["point"])) if rows else []
    long = []
    for point in points["point"]:
        own = reps[reps.point == point]
        for outcome in outcomes:
            values = pd.to_numeric(own[outcome], errors="coerce").to_numpy(dtype=float)
            upper = uppers[point](outcome) if uppers is not None else None
            mean, low, high, n, method = outcome_ci(values, outcome_kind(outcome), upper=upper)
            long.append({"point": point, "outcome": outcome, "mean": mean, "ci_low": low, "ci_high": high, "n": n,
                         "method": method})
    table = pd.DataFrame(long, columns=["point", *SWEEP_COLUMNS])
    table = points.merge(table, on="point", how="inner")[[*points.columns, *SWEEP_COLUMNS]]
    return table.astype({"n": int}), reps, failures_table(points, seed, replications, records)


def failures_table(points: pd.DataFrame, seed: int, replications: int,
                   records: dict[str, Replication | Failure]) -> pd.DataFrame:
    """``failures.csv`` of a study over points: one row per failed replication (point, replication, seed, error,
    detail)."""
    failures = []
    for point in points["point"]:
        for i in range(replications):
            record = records.get(part_key(point, i))
            if isinstance(record, Failure):
                failures.append({"point": point, "replication": i, "seed": seed, "error": record.error,
                                 "detail": record.detail})
    return pd.DataFrame(failures, columns=["point", "replication", "seed", "error", "detail"])
