"""What a tune study found: its trials as a table (each outcome with its interval), the best trials, and the answer in
words (the setting that meets the constraints, and what its neighbours would give)."""

from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np
import pandas as pd

from sim.experiment.statistics import as_float
from sim.experiment.sweep import Range

import sim.experiment.tune as tuning


def measured_outcomes(study) -> list[str]:
    """Every outcome whose mean the study's trials recorded."""
    return sorted({name for t in tuning.counted_trials(study) for name in t.user_attrs.get("result", {}).get("outcomes", {})})


def named_outcomes(objectives: list[tuning.Objective], constraints: list[tuning.Constraint], ranges: list[Range],
                   extra: Sequence[str] = ()) -> list[str]:
    """The outcomes trials.parquet keeps with their intervals: objectives (not parameters), constrained, extra."""
    paths = {r.path for r in ranges}
    return [o for o in dict.fromkeys([*(o.outcome for o in objectives), *(c.outcome for c in constraints), *extra])
            if o not in paths]


def trials_table(study, ranges: list[Range], objectives: list[tuning.Objective], constraints: list[tuning.Constraint],
                 extra: Sequence[str] = ()) -> pd.DataFrame:
    """``trials.parquet``: trial, state, parameters (durations in hours), for each objective, constrained and
    ``extra`` outcome its mean and 95% interval over the trial's replications (``OUTCOME``,
    ``OUTCOME:ci_low``, ``OUTCOME:ci_high``), replications (finished), constraint violations
    (``constraint:EXPR``, <= 0 when met), feasible, failures."""
    outcomes = named_outcomes(objectives, constraints, ranges, extra)
    rows = []
    for t in tuning.counted_trials(study):
        row = {"trial": int(t.user_attrs["trial"]), "state": t.state.name}
        row.update({r.path: t.params.get(r.path, math.nan) for r in ranges})
        result = t.user_attrs.get("result", {})
        measured = result.get("outcomes", {})
        for o in outcomes:
            mean, low, high, _ = measured.get(o, [math.nan] * 4)
            row.update({o: as_float(mean), f"{o}:ci_low": as_float(low), f"{o}:ci_high": as_float(high)})
        row["replications"] = int(result.get("replications", 0))
        violations = t.user_attrs.get("constraints", [])
        row.update({f"constraint:{c.text}": v for c, v in zip(constraints, violations)})
        row["feasible"] = t.state.name == "COMPLETE" and all(v <= 0 for v in violations)
        row["failures"] = int(result.get("failures", 0))
        rows.append(row)
    columns = ["trial", "state", *(r.path for r in ranges),
               *itertools.chain.from_iterable((o, f"{o}:ci_low", f"{o}:ci_high") for o in outcomes), "replications",
               *(f"constraint:{c.text}" for c in constraints), "feasible", "failures"]
    return pd.DataFrame(rows, columns=columns)


def best_trials(table: pd.DataFrame, objectives: list[tuning.Objective]) -> list[int]:
    """The best feasible trial (one objective) or the feasible Pareto front (several), by trial number.

    Ties keep the earliest trial; identical parameter settings are listed once."""
    feasible = table[table.feasible].copy()
    names = [o.outcome for o in objectives]
    feasible = feasible.dropna(subset=names)
    if feasible.empty:
        return []
    signs = [o.sign for o in objectives]
    costs = feasible[names].to_numpy(dtype=float) * signs
    if len(objectives) == 1:
        best = costs[:, 0].min()
        return [int(feasible.trial.iloc[[i for i in range(len(costs)) if costs[i, 0] == best][0]])]
    front, seen = [], set()
    for i in range(len(costs)):
        dominated = any((costs[j] <= costs[i]).all() and (costs[j] < costs[i]).any() for j in range(len(costs)))
        key = tuple(costs[i])
        if not dominated and key not in seen:
            seen.add(key)
            front.append(int(feasible.trial.iloc[i]))
    return front


def trial_sets(study, number: int) -> dict:
    """The ``--set`` values of trial ``number`` (durations as text with a unit)."""
    for t in tuning.counted_trials(study):
        if int(t.user_attrs["trial"]) == number:
            return dict(t.user_attrs["set"])
    raise KeyError(number)


def closest_trial(table: pd.DataFrame, constraints: list[tuning.Constraint]) -> int | None:
    """When no trial meets every constraint: the one that misses them by least (relative to each bound)."""
    done = table[table.state == "COMPLETE"]
    if done.empty or not constraints:
        return None
    scale = [max(abs(c.bound), 1e-12) for c in constraints]
    misses = sum(done[f"constraint:{c.text}"].astype(float).clip(lower=0) / s for c, s in zip(constraints, scale))
    misses = misses.replace([np.inf], np.nan).dropna()
    return None if misses.empty else int(done.trial.loc[misses.idxmin()])


# ------------------------------------------------------------------------------------ the answer, in words


def _fmt(value) -> str:
    from sim.formatting import format_number

    return format_number(value)


def with_interval(row, outcome: str) -> str:
    """``0.82 [0.81 .. 0.83]`` from a trials-table row (no interval with one replication)."""
    mean, low, high = row.get(outcome), row.get(f"{outcome}:ci_low"), row.get(f"{outcome}:ci_high")
    if low is None or high is None or not (math.isfinite(float(low)) and math.isfinite(float(high))):
        return _fmt(mean)
    return f"{_fmt(mean)} [{_fmt(low)} .. {_fmt(high)}]"


def _setting_words(row, ranges: list[Range], values: dict) -> str:
    parts = []
    for r in ranges:
        shown = values.get(r.path, row.get(r.path))
        name = r.path.rsplit(".", 1)[-1].replace("_", " ")
        shown = shown if isinstance(shown, str) else _fmt(shown) if r.kind != "int" else str(int(shown))
        parts.append(f"{shown} {name} ({r.path})" if r.kind == "int" else f"{name} {shown} ({r.path})")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _constraint_words(row, c: tuning.Constraint) -> str:
    words = f"{c.outcome} {with_interval(row, c.outcome)} {c.op} {c.bound:g}"
    low, high = row.get(f"{c.outcome}:ci_low"), row.get(f"{c.outcome}:ci_high")
    if low is not None and high is not None and math.isfinite(float(low)) and math.isfinite(float(high)):
        inside = (float(high) <= c.bound) if c.op in ("<=", "<") else (float(low) >= c.bound)
        if not inside:
            words += " (its interval crosses the bound: more replications would settle it)"
    return words


def answer(table: pd.DataFrame, best: list[int], ranges: list[Range], objectives: list[tuning.Objective],
           constraints: list[tuning.Constraint], sets: dict[int, dict]) -> str:
    """One sentence naming what the study found, with 95% intervals over the best trial's replications."""
    if table.empty:
        return "No trial was evaluated."
    rows = table.set_index("trial", drop=False)
    if not best:
        closest = closest_trial(table, constraints)
        if closest is None:
            return "No trial met every constraint" + (" (no trial completed)." if constraints else ".")
        row = rows.loc[closest].to_dict()
        misses = "; ".join(f"{c.outcome} {with_interval(row, c.outcome)} (bound {c.op} {c.bound:g})" for c in constraints)
        return (f"No setting tried meets {' and '.join(c.text for c in constraints)}: the closest, trial {closest} "
                f"({_setting_words(row, ranges, sets.get(closest, {}))}), gives {misses}.")
    if len(objectives) > 1:
        names = " against ".join(o.outcome for o in objectives)
        return (f"{len(best)} setting(s) trade {names} (the Pareto front{' meeting every constraint' if constraints else ''}): "
                f"trial(s) {', '.join(map(str, best))}, each ready to run in best/.")
    row = rows.loc[best[0]].to_dict()
    objective = objectives[0]
    setting = _setting_words(row, ranges, sets.get(best[0], {}))
    met = " and ".join(_constraint_words(row, c) for c in constraints)
    if objective.outcome in {r.path for r in ranges}:
        r = next(r for r in ranges if r.path == objective.outcome)
        extreme = ("fewest" if objective.direction == "minimize" else "most") if r.kind == "int" else \
            ("lowest" if objective.direction == "minimize" else "highest")
        sentence = f"{setting}: the {extreme} tried that meets every constraint" if constraints else \
            f"{setting}: the {extreme} tried"
        sentence += f", with {met}" if met else ""
        return sentence + _neighbour(table, row, r, objective, constraints, ranges) + "."
    verb = "gives" if len(ranges) == 1 and ranges[0].kind != "int" else "give"
    sentence = f"{setting} {verb} {objective.outcome} {with_interval(row, objective.outcome)}"
    return sentence + (f" with {met}" if met else "") + "."


def _neighbour(table: pd.DataFrame, row: dict, r: Range, objective: tuning.Objective, constraints: list[tuning.Constraint],
               ranges: list[Range]) -> str:
    """For an integer parameter objective: what the next better value (one fewer, or one more) gave."""
    if r.kind != "int" or not constraints:
        return ""
    value = int(row[r.path]) - (1 if objective.direction == "minimize" else -1)
    if not r.low <= value <= r.high:
        return f"; {value} is outside the range tuned"
    same = table[table[r.path] == value]
    for other in ranges:
        if other.path != r.path:
            same = same[same[other.path] == row[other.path]]
    if same.empty:
        return f"; {value} was not tried"
    other = same.iloc[0].to_dict()
    failed = [c for c in constraints if not c.violation(float(other.get(c.outcome, math.nan))) <= 0]
    if not failed:
        return ""
    return f"; {value} does not (" + ", ".join(f"{c.outcome} {with_interval(other, c.outcome)}" for c in failed) + ")"
