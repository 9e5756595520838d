"""Service-level outcomes: shares decided within a deadline and wait quantiles, with censored waits.

The M/M/c reduction is checked against Erlang C's waiting-time distribution (the theoretical value
inside the 99% interval of the replication means, as in test_validation_queues), and an overloaded
queue shows the monotone picture that dropping the still-waiting tickets would hide.
"""

from __future__ import annotations

import math


from sim import run
from sim.experiment.statistics import mean_ci
from sim.experiment.theory import mmc_wait_cdf, mmc_wait_quantile
from sim.service_levels import deadline_label


def _mmc(load, lam, c, horizon, reps, seed, *sets):
    scenario = load("validation/mmc.yaml", f"accounts.customers.posts_per_day={lam * 24}",
                    f"review.pools.agents.reviewers={c}", f"horizon={horizon}h", *sets)
    return run(scenario, replications=reps, seed=seed, workers=2).replications


def test_deadline_labels():
    assert [deadline_label(h) for h in (0.5, 1, 24, 48, 168, 720)] == ["30min", "1h", "24h", "48h", "7d", "30d"]


def test_decided_within_and_p90_match_erlang_c(load):
    lam, c = 3.0, 4  # rho = 0.75, mu = 1 per hour
    table = _mmc(load, lam, c, horizon=3000, reps=8, seed=21)
    for column, expected in (("decided_within_1h", mmc_wait_cdf(c, lam, 1.0, 1.0)),
                             ("decided_within_1h_pool_agents", mmc_wait_cdf(c, lam, 1.0, 1.0)),
                             ("queue_wait_p90_h", mmc_wait_quantile(c, lam, 1.0, 0.9))):
        mean, low, high, _ = mean_ci(table[column], 0.99)
        assert low <= expected <= high, (column, mean, low, high, expected)


def test_an_overloaded_queue_looks_worse_with_fewer_reviewers_not_better(load):
    # lambda = 18 per hour on c = 12, 15, 17 reviewers of 1 per hour: all overloaded, waits grow without
    # bound, and the tickets still waiting at the horizon are the slowest. Counted as censored, fewer
    # reviewers decide fewer tickets within a day and take longer to decide 90% of them.
    shares, p90s = [], []
    for c in (12, 15, 17):
        table = _mmc(load, 18.0, c, 300, 2, 5, "warmup=0h")
        shares.append(table.decided_within_24h.mean())
        p90s.append(table.queue_wait_p90_h.fillna(math.inf).mean())
        assert (table.queue_waits_censored > 0).all()
    assert shares[0] < shares[1] < shares[2]
    assert p90s[0] >= p90s[1] >= p90s[2]


def test_the_scenario_sets_the_deadlines(load):
    scenario = load("validation/mmc.yaml", "horizon=150h", "outcomes.deadlines=[30min, 48h]")
    table = run(scenario, replications=1, seed=1, workers=1).replications
    names = {c for c in table.columns if c.startswith("decided_within_")}
    assert names == {"decided_within_30min", "decided_within_48h", "decided_within_30min_pool_agents",
                     "decided_within_48h_pool_agents", *(f"decided_within_{d}_severity_{k}" for d in ("30min", "48h")
                                                         for k in range(1, 5)),
                     *(f"decided_within_{d}_{c}" for d in ("30min", "48h") for c in ("test",))}, names
    assert (table.decided_within_30min <= table.decided_within_48h).all()
