"""Several scenarios on common random numbers: means side by side and paired differences.

Replication k of every scenario runs under the same seed, stream by stream (each named stream is
derived from the seed, the replication and the stream's name only), so two policies facing the same
arrivals differ only by the policy, and the paired difference to the first scenario has a much
narrower interval than the difference of two independent means.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import ModsimError
from sim.experiment.replicate import Failure, Task
from sim.experiment.runner import RunTables, outcome_columns, tables_from
from sim.experiment.statistics import outcome_ci, paired_difference_ci
from sim.metrics import Replication, outcome_kind, upper_bounds
from sim.scenario.kinds import as_task_data
from sim.scenario.schema import Scenario

COMPARISON_COLUMNS = ["outcome", "scenario", "mean", "ci_low", "ci_high", "n", "method", "diff_mean", "diff_low",
                      "diff_high"]
SUMMARY_COLUMNS = ["scenario", "outcome", "mean", "ci_low", "ci_high", "n", "method"]


class CompareError(ModsimError):
    """Scenarios that cannot be compared as given."""


def check_names(scenarios: list[Scenario]) -> None:
    """Scenario names label every table: they must be distinct."""
    counts = Counter(s.name for s in scenarios)
    duplicates = sorted(name for name, n in counts.items() if n > 1)
    if duplicates:
        raise CompareError(f"scenario names must be distinct to compare them; repeated: {', '.join(duplicates)}")
    if len(scenarios) < 2:
        raise CompareError("compare needs at least two scenarios")


def part_key(position: int, index: int) -> str:
    """The key under which replication `index` of the scenario at `position` is saved."""
    return f"s{position:03d}-r{index:06d}"


def tasks(scenarios: list[Scenario], seed: int, replications: int, done: set[str] = frozenset()) -> list[Task]:
    """The replications still to run, interleaved (replication 0 of every scenario first)."""
    data = [as_task_data(s) for s in scenarios]
    return [Task(part_key(p, i), data[p], seed, i) for i in range(replications) for p in range(len(scenarios))
            if part_key(p, i) not in done]


@dataclass
class CompareTables(RunTables):
    """A run's tables for several scenarios (each with a `scenario` column), plus the comparison."""

    comparison: pd.DataFrame | None = None

    def files(self) -> dict[str, pd.DataFrame]:
        """The tables by the file names they are written under in a results folder."""
        return {"comparison.csv": self.comparison, **super().files()}


def _with_scenario(frames: list[pd.DataFrame], names: list[str]) -> pd.DataFrame:
    parts = [frame.assign(scenario=name)[["scenario", *frame.columns]] for frame, name in zip(frames, names)]
    nonempty = [p for p in parts if len(p)]
    return pd.concat(nonempty, ignore_index=True) if nonempty else parts[0].iloc[0:0]


def tables(scenarios: list[Scenario], seed: int, replications: int,
           records: dict[str, Replication | Failure]) -> CompareTables:
    """The comparison's tables from the records of every (scenario, replication)."""
    names = [s.name for s in scenarios]
    runs = []
    for p, scenario in enumerate(scenarios):
        own = {i: records[part_key(p, i)] for i in range(replications) if part_key(p, i) in records}
        runs.append(tables_from(scenario, seed, own))
    replications_table = _with_scenario([r.replications for r in runs], names)
    summary = _with_scenario([r.summary for r in runs], names)[SUMMARY_COLUMNS]
    return CompareTables(
        comparison=comparison(replications_table, names, {s.name: upper_bounds(s) for s in scenarios}),
        summary=summary.reset_index(drop=True),
        replications=replications_table,
        timeseries=_with_scenario([r.timeseries for r in runs], names),
        tracked=_with_scenario([r.tracked for r in runs], names),
        survival=_with_scenario([r.survival for r in runs], names),
        failures=_with_scenario([r.failures for r in runs], names),
    )


def comparison(replications: pd.DataFrame, names: list[str], uppers: dict) -> pd.DataFrame:
    """Per outcome and scenario: the mean with its 95% interval and the paired difference to the first.

    ``uppers`` (by scenario name: ``sim.metrics.upper_bounds`` of its scenario) bound the intervals."""
    if replications.empty or "replication" not in replications:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    outcomes = outcome_columns(replications.drop(columns=["scenario"]))
    index = sorted(replications["replication"].unique())
    wide = {name: replications[replications.scenario == name].set_index("replication").reindex(index)
            for name in names}
    rows = []
    for outcome in outcomes:
        base = pd.to_numeric(wide[names[0]][outcome], errors="coerce").to_numpy(dtype=float)
        for position, name in enumerate(names):
            values = pd.to_numeric(wide[name][outcome], errors="coerce").to_numpy(dtype=float)
            upper = uppers[name](outcome)
            mean, low, high, n, method = outcome_ci(values, outcome_kind(outcome), upper=upper)
            if position == 0:
                diff = (np.nan, np.nan, np.nan)
            else:
                diff = paired_difference_ci(base, values)[:3]
            rows.append({"outcome": outcome, "scenario": name, "mean": mean, "ci_low": low, "ci_high": high,
                         "n": n, "method": method, "diff_mean": diff[0], "diff_low": diff[1], "diff_high": diff[2]})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS).astype(
        {"mean": float, "ci_low": float, "ci_high": float, "n": int, "diff_mean": float, "diff_low": float,
         "diff_high": float})
