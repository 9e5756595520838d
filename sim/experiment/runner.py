"""A run: N replications of one scenario, their tables and the summary with confidence intervals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from sim.experiment.executors import executor_for
from sim.experiment.replicate import Failure, run_replications
from sim.experiment.statistics import summarize
from sim.metrics import OUTCOMES, Replication, outcome_kind, survival_grid, upper_bounds
from sim.scenario.schema import Scenario


@dataclass
class RunTables:
    """Everything a run measured, as pandas tables."""

    replications: pd.DataFrame
    timeseries: pd.DataFrame
    tracked: pd.DataFrame
    survival: pd.DataFrame
    failures: pd.DataFrame
    summary: pd.DataFrame

    def files(self) -> dict[str, pd.DataFrame]:
        """The tables by the file names they are written under in a results folder."""
        files = {"replications.parquet": self.replications, "timeseries.parquet": self.timeseries,
                 "tracked.parquet": self.tracked, "survival.parquet": self.survival, "summary.csv": self.summary}
        if len(self.failures):
            files["failures.csv"] = self.failures
        return files


class ReplicationsFailed(RuntimeError):
    """Some replications of a run raised; ``tables`` holds what finished and ``tables.failures`` the errors."""

    def __init__(self, tables: RunTables) -> None:
        failures = tables.failures
        total = len(failures) + len(tables.replications)
        first = failures.iloc[0]
        super().__init__(f"{len(failures)} of {total} replication(s) failed; the first, replication "
                         f"{first.replication}: {first.error} (the tables of the others are on this "
                         "exception's .tables; pass allow_failures=True to get them returned)")
        self.tables = tables


def outcome_columns(table: pd.DataFrame) -> list[str]:
    """Outcome columns of a replications table, standard ones first, then tracked-post ones."""
    extra = sorted(c for c in table.columns if c not in OUTCOMES and c not in ("replication", "seed"))
    return [c for c in OUTCOMES if c in table.columns] + extra


def tables_from(scenario: Scenario, seed: int, records: dict[int, Replication | Failure]) -> RunTables:
    """Assemble the tables of a run from its replication records (in replication order)."""
    rows, series, tracked, failures, survival = [], [], [], [], []
    grid = survival_grid(scenario.horizon)
    start = dt.datetime.combine(scenario.start, dt.time())
    for index in sorted(records):
        record = records[index]
        if isinstance(record, Failure):
            failures.append({"replication": index, "seed": seed, "error": record.error, "detail": record.detail})
            continue
        rows.append({"replication": index, "seed": seed, **record.outcomes})
        for name, values in record.series.items():
            series.extend({"replication": index, "day": day, "series": name, "value": v} for day, v in enumerate(values))
        tracked.extend({"replication": index, "post": post, "time_h": t, "date": start + dt.timedelta(hours=t),
                        "event": event, "detail": detail} for post, t, event, detail in record.timeline)
        survival.extend({"replication": index, "time_h": t, "survival": v} for t, v in zip(grid, record.survival))
    replications = pd.DataFrame(rows, columns=None if rows else ["replication", "seed"])
    summary = summarize(replications, outcome_columns(replications), kind_of=outcome_kind,
                        upper_of=upper_bounds(scenario)) if rows else summarize(pd.DataFrame(), [])
    return RunTables(
        replications=replications,
        timeseries=pd.DataFrame(series, columns=["replication", "day", "series", "value"]),
        tracked=pd.DataFrame(tracked, columns=["replication", "post", "time_h", "date", "event", "detail"]),
        survival=pd.DataFrame(survival, columns=["replication", "time_h", "survival"]),
        failures=pd.DataFrame(failures, columns=["replication", "seed", "error", "detail"]),
        summary=summary,
    )


def run(scenario: Scenario, replications: int | None = None, seed: int | None = None, workers: int | None = None,
        on_done: Callable[[int, Replication | Failure], None] | None = None,
        done: dict[int, Replication | Failure] | None = None, scheduler: str | None = None) -> RunTables:
    """Run replications of a scenario and return its tables.

    ``replications`` and ``seed`` default to the scenario's own; ``workers`` is the size of the local
    process pool (1 runs serially, None uses every core); ``done`` holds records already finished
    (a resumed run), which are not run again; ``on_done`` is called as each new one finishes.
    """
    count = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    records: dict[int, Replication | Failure] = dict(done or {})
    todo = [i for i in range(count) if i not in records]

    def finished(index: int, record: Replication | Failure) -> None:
        records[index] = record
        if on_done:
            on_done(index, record)

    with executor_for(workers, scheduler, len(todo)) as executor:
        run_replications(scenario, seed, todo, executor, finished)
    return tables_from(scenario, seed, {i: records[i] for i in range(count) if i in records})
