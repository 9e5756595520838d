"""The pipeline reduced to textbook queues agrees with queueing theory.

Each check runs independent replications (fixed seeds), takes the mean waiting time of each, and
asks whether the theoretical value lies inside the 99% Student-t interval of those replication
means. The interval comes from the replications' own spread, so the tolerance is derived from the
variance, not guessed; 99% rather than 95% keeps the chance of a false alarm per check at 1%.
"""

from __future__ import annotations

import pytest

from sim import run
from sim.experiment.statistics import mean_ci
from sim.experiment.theory import mmc_mean_queue_length, mmc_mean_wait, priority_mmc_mean_waits

CONFIDENCE = 0.99


def _inside(values, expected) -> tuple[bool, tuple]:
    mean, low, high, n = mean_ci(values, CONFIDENCE)
    return low <= expected <= high, (mean, low, high, n, expected)


def _mmc(load, lam, c, mean_hours, horizon, reps, seed):
    scenario = load("validation/mmc.yaml", f"accounts.customers.posts_per_day={lam * 24}",
                    f"review.pools.agents.reviewers={c}", f"review.pools.agents.handling_time.mean={mean_hours}h",
                    f"horizon={horizon}h")
    return run(scenario, replications=reps, seed=seed, workers=2).replications


@pytest.mark.parametrize("lam,c,mean_hours", [(3.0, 5, 1.0), (1.5, 2, 1.0)])
def test_mmc_moderate_load_matches_erlang_c(load, lam, c, mean_hours):
    table = _mmc(load, lam, c, mean_hours, horizon=3000, reps=8, seed=11)
    ok, detail = _inside(table.queue_wait_mean_h, mmc_mean_wait(c, lam, 1 / mean_hours))
    assert ok, detail
    ok, detail = _inside(table.reviewer_utilization, lam * mean_hours / c)
    assert ok, detail


@pytest.mark.slow
def test_mmc_high_load_matches_erlang_c(load):
    # rho = 0.95 with c = 10: long runs, many replications, because waits are strongly correlated.
    table = _mmc(load, 9.5, 10, 1.0, horizon=6000, reps=16, seed=12)
    ok, detail = _inside(table.queue_wait_mean_h, mmc_mean_wait(10, 9.5, 1.0))
    assert ok, detail
    ok, detail = _inside(table.queue_length_mean, mmc_mean_queue_length(10, 9.5, 1.0))
    assert ok, detail


@pytest.mark.slow
@pytest.mark.parametrize("urgent,routine", [(6.0, 12.0), (3.0, 4.0)])
def test_priority_mmc_matches_cobham(load, urgent, routine):
    scenario = load("validation/priority_mmc.yaml", f"accounts.urgent.posts_per_day={urgent * 24}",
                    f"accounts.routine.posts_per_day={routine * 24}", "horizon=4000h")
    table = run(scenario, replications=12, seed=13, workers=2).replications
    c = scenario.review.pools["agents"].reviewers
    expected_urgent, expected_routine = priority_mmc_mean_waits(c, [urgent, routine], 1.0)
    ok, detail = _inside(table.queue_wait_mean_h_severity_4, expected_urgent)
    assert ok, detail
    ok, detail = _inside(table.queue_wait_mean_h_severity_1, expected_routine)
    assert ok, detail


def test_priority_classes_are_ordered_fast(load):
    # A short, cheap check of direction: urgent tickets wait much less than routine ones.
    scenario = load("validation/priority_mmc.yaml", "horizon=600h")
    table = run(scenario, replications=2, seed=3, workers=1).replications
    assert (table.queue_wait_mean_h_severity_4 * 3 < table.queue_wait_mean_h_severity_1).all()
