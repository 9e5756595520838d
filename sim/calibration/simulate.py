"""One replication measured against the targets: the worker function of ``modsim calibrate``.

A task's data is ``{"scenario": plain scenario data, "targets": [target data]}``; the worker runs the
replication exactly as ``modsim run`` does (``sim.experiment.replicate.simulate``: the same seed, the same
numbers), adds ``sim.metrics.calibration_outcomes`` and the daily harm events, and returns only the
targets' values (a small record), as a ``Replication`` whose outcomes are the targets by name.
"""

from __future__ import annotations

import datetime as dt
import math
import traceback

from sim.experiment.replicate import Failure, logged_task
from sim.metrics import Replication, calibration_outcomes, collect
from sim.model.streams import Streams, replication_seed
from sim.model.world import World
from sim.scenario.schema import Scenario

from sim.calibration.targets import Target

NAN = float("nan")


def run_measured(scenario: Scenario, seed: int, index: int) -> Replication:
    """Replication ``index`` with the calibration outcomes and the ``harm_events`` daily series added."""
    world = World(scenario, Streams(replication_seed(seed, index)))
    try:
        record = collect(world.run())
        record.outcomes.update(calibration_outcomes(world))
        record.series["harm_events"] = [float(x) for x in world.harm.events]
        return record
    finally:
        world.release()


def _first(timeline, post: str, event: str) -> float:
    return min((t for p, t, e, _ in timeline if p == post and e == event), default=NAN)


def measure(target: Target, record: Replication, start: dt.date) -> float:
    """The target's value in one replication (NaN when the replication leaves it undefined)."""
    if target.outcome is not None:
        return float(record.outcomes.get(target.outcome, NAN))
    if target.count is not None:
        c = target.count
        published = _first(record.timeline, c.post, "published") if c.post != "government" else 0.0
        if not math.isfinite(published):
            return NAN
        return float(sum(1 for p, t, e, _ in record.timeline
                         if p == c.post and e == c.event and published <= t < published + c.within))
    if target.delay is not None:
        d = target.delay
        after = d.after or None
        origin = _first(record.timeline, after.post, after.event) if after else _first(record.timeline, d.post,
                                                                                          "published")
        times = [t for p, t, e, _ in record.timeline if p == d.post and e == d.event and t >= origin]
        return (min(times) - origin) / 24.0 if times and math.isfinite(origin) else NAN
    w = target.series
    values = record.series.get(w.name)
    if values is None:
        return NAN
    first, last = (w.start - start).days, (w.end - start).days
    chosen = values[max(first, 0):last + 1]
    if not chosen:
        return NAN
    return float(sum(chosen) / (len(chosen) if w.stat == "mean" else 1))


def measure_all(targets: list[Target], record: Replication, start: dt.date) -> dict[str, float]:
    """Every target's value in one replication, by target name."""
    return {t.name: measure(t, record, start) for t in targets}


def simulate_targets(data: dict, seed: int, index: int) -> Replication | Failure:
    """Worker entry point: run one replication of ``data["scenario"]`` and measure ``data["targets"]``.

    With ``data["outcomes"]`` true, every outcome is returned too (used once, to check the targets' names)."""
    with logged_task():
        try:
            scenario = Scenario.model_validate(data["scenario"])
            targets = [Target.model_validate(t) for t in data["targets"]]
            record = run_measured(scenario, seed, index)
            values = measure_all(targets, record, scenario.start)
            if data.get("outcomes"):
                values = {**{f"outcome:{k}": v for k, v in record.outcomes.items()}, **values}
            return Replication(outcomes=values, series={}, timeline=[], survival=[])
        except Exception as exc:  # noqa: BLE001 - a failure is recorded, never raised across the pool
            return Failure(error=f"{type(exc).__name__}: {exc}", detail=traceback.format_exc())
