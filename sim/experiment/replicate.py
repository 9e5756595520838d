"""One replication from plain data, and many of them on an executor.

Workers receive the scenario as plain data (a dict) and the run's seed and the replication's
number, never live objects; the replication's random streams depend only on those, so the tables
are the same whichever executor ran the work and in whatever order it finished.
"""

from __future__ import annotations

import traceback
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Callable, Iterable

from sim.metrics import Replication, collect
from sim.model.streams import Streams, replication_seed
from sim.model.world import World
from sim.scenario.schema import Scenario


@dataclass
class Failure:
    """A replication that raised: recorded as data so that one failure never aborts the rest."""

    error: str
    detail: str


def simulate(scenario: Scenario, seed: int, index: int) -> Replication:
    """Run replication `index` of a scenario under the run's seed."""
    world = World(scenario, Streams(replication_seed(seed, index)))
    return collect(world.run())


def simulate_data(scenario_data: dict, seed: int, index: int) -> Replication | Failure:
    """Worker entry point: validate plain scenario data, run one replication, return a record or a Failure."""
    try:
        return simulate(Scenario.model_validate(scenario_data), seed, index)
    except Exception as exc:  # noqa: BLE001 - a failure is recorded, never raised across the pool
        return Failure(error=f"{type(exc).__name__}: {exc}", detail=traceback.format_exc())


def run_replications(scenario: Scenario, seed: int, indices: Iterable[int], executor: Executor | None,
                     on_done: Callable[[int, Replication | Failure], None]) -> None:
    """Run the given replications, serially when executor is None, calling on_done as each finishes."""
    data = scenario.model_dump(mode="json")
    if executor is None:
        for index in indices:
            on_done(index, simulate_data(data, seed, index))
        return
    futures: dict[Future, int] = {executor.submit(simulate_data, data, seed, i): i for i in indices}
    from concurrent.futures import as_completed

    for future in as_completed(futures):
        index = futures[future]
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - a worker that died is reported, not fatal
            result = Failure(error=f"worker failed: {type(exc).__name__}: {exc}", detail="")
        on_done(index, result)
