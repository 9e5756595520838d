"""The enforcer's strike records: active strikes and the ladder's rungs, against a plain list per account.

The enforcer keeps one float for an account's single strike and a list beyond it, under one int key per
account (a memory saving, see ``sim/model/enforcement.py``); these tests check it counts exactly what a
list of every strike time would, whatever the order of accounts, strikes per removal and expiry.
"""

from __future__ import annotations

import random

import pytest

from sim.model.enforcement import Enforcer
from sim.scenario.moderation import Enforcement


class Platform:
    """Records suspensions instead of applying them."""

    def __init__(self):
        self.suspended = []

    def suspend(self, account, now, hours):
        self.suspended.append((account, now, hours))


def reference_active(times: list[float], now: float, expiry: float) -> int:
    return sum(1 for t in times if now - t < expiry) if expiry > 0 else 0


@pytest.mark.parametrize("per_removal, expiry", [(1, "30h"), (1, "90h"), (1, "200h"), (2, "60h"), (1, "0h"), (3, "50h"), (1, "40y")])
def test_active_strikes_and_rungs_match_a_list_of_every_strike(per_removal, expiry):
    policy = Enforcement(strikes_per_removal=per_removal, strike_expiry=expiry,
                         ladder=[{"strikes": 2, "restriction": "feature_limit", "duration": "24h"},
                                 {"strikes": 4, "restriction": "suspension", "duration": "72h"}])
    expiry = policy.strike_expiry
    platform = Platform()
    enforcer = Enforcer(policy, platform)
    rng = random.Random(per_removal * 1000 + int(expiry) % 997)
    accounts = [(k, i) for k in range(3) for i in (0, 1, 7, 2**33)]
    history: dict = {a: [] for a in accounts}
    now = 0  # an int, as SimPy's clock starts
    for _ in range(3000):
        now += rng.expovariate(1 / 5.0) if rng.random() < 0.9 else 0.0
        account = rng.choice(accounts)
        applied = enforcer.on_removal(account, now, restrictable=True)
        history[account] += [now] * per_removal
        active = reference_active(history[account], now, expiry)
        expected = None if active < 2 else "suspension" if active >= 4 else "feature_limit"
        assert applied == expected
        probe = rng.choice(accounts)
        assert enforcer.active_strikes(probe, now) == reference_active(history[probe], now, expiry)
    assert enforcer.strikes_issued == 3000 * per_removal
    assert enforcer.suspensions == len(platform.suspended) == sum(1 for s in platform.suspended if s[2] == 72)
