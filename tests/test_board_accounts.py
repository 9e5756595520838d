"""Account-level decisions (the 2021 case): a review of public figures' accounts on a crisis designation,
open-ended restrictions, the platform's referral of a restriction, the board's decision on the account and
the term the platform then fixes. Uses tests/scenarios/mini_case.yaml: the leader's violating speech of
5 January 2023 is removed by cross-check within hours once newsworthiness is off."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim import load_scenario
from sim.errors import ScenarioError
from sim.metrics import collect
from sim.model.streams import Streams, replication_seed
from sim.model.world import World

MINI = Path(__file__).parent / "scenarios" / "mini_case.yaml"
DAY = 24.0
TIERS = "crisis_protocol.tiers=[{strikes: 1, restriction: 1mo}, {strikes: 3, restriction: 2y}]"
REMOVED = ("review.newsworthiness.probability=0", "board.referral_probability=0")
RIOT = "harm.unrest=[{name: riot, start: 2023-01-10, end: 2023-01-10, level: 2000}]"  # ~100 events on 10 January
REFER = ("board.restriction_referral_probability=1", "board.restriction_referral_delay=5d")


def replay(*sets: str, seed: int = 1):
    world = World(load_scenario(MINI, [*REMOVED, TIERS, *sets]), Streams(replication_seed(seed, 0))).run()
    record = collect(world)
    speech = [(row.event, row.detail, float(row.time)) for row in record.timeline if row.subject == "speech"]
    leader = (world.class_index["leader"], 0)
    return world, record.outcomes, speech, list(world.platform.suspended.get(leader, ()))


def first(speech, name):
    return next((row for row in speech if row[0] == name), None)


def test_off_by_default_no_outcome_and_no_restriction_before_the_designation():
    _, outcomes, speech, suspended = replay(RIOT, "crisis_protocol.delay=0h")
    assert "indefinite_restrictions" not in outcomes
    assert first(speech, "restriction") is None and suspended == []  # removed on the 5th, crisis from the 11th


@pytest.mark.parametrize("lookback, restricted", [("7d", True), ("3d", False)])
def test_a_designation_reviews_accounts_with_removals_within_the_lookback(lookback, restricted):
    world, outcomes, speech, suspended = replay(RIOT, "crisis_protocol.delay=0h",
                                                f"crisis_protocol.account_review={lookback}")
    designated = world.crisis.periods[0][0]
    assert designated == 10 * DAY  # the end of 10 January
    removed = first(speech, "removed")[2]
    assert designated - removed < 7 * DAY and designated - removed > 3 * DAY
    assert outcomes["account_review_restrictions"] == (1 if restricted else 0)
    if restricted:
        assert first(speech, "restriction")[1] == "suspension on review of the account in a crisis"
        assert suspended == [(designated, pytest.approx(designated + 30.4375 * DAY))]  # 1 strike: one month
    else:
        assert suspended == []


def test_an_indefinite_restriction_is_referred_upheld_and_given_the_top_term():
    """A crisis all run: the removal restricts the leader indefinitely, the platform refers it, the board upholds
    it (the speech violates) but not its open end, and the platform fixes two years (severity 4) from the start,
    within the shorter of review_within and its response window."""
    sets = ("crisis_protocol.violence_above_baseline=true", "crisis_protocol.indefinite=true", *REFER)
    _, outcomes, speech, suspended = replay(*sets)
    start = first(speech, "restriction")[2]
    assert first(speech, "restriction")[1] == "indefinite suspension under the crisis protocol"
    assert first(speech, "board_referral")[1] == "platform referral of the account's restriction"
    decision = first(speech, "board_decision")
    assert decision[1] == "restriction upheld, not its open end: a term within 6 months"
    term = first(speech, "restriction_term")
    assert 0.9 * 20 * DAY <= term[2] - decision[2] <= 20 * DAY  # the mini case answers within 20 days
    assert suspended == [(start, pytest.approx(start + 2 * 365.25 * DAY))]
    assert outcomes["indefinite_restrictions"] == 1 and outcomes["restriction_referrals"] == 1
    assert outcomes["restriction_terms_fixed"] == 1
    assert outcomes["restriction_term_days_mean"] == pytest.approx(730.5)


def test_the_board_lifts_a_restriction_that_rests_on_a_lawful_post():
    """The speech made lawful but always removed: the restriction is wrong, and the board (overturn_if_wrong 1)
    lifts it: the suspension ends at the decision, within the implementation delay."""
    sets = ("crisis_protocol.violence_above_baseline=true", "crisis_protocol.indefinite=true", *REFER,
            "scripted_posts.0.violating=false", "scripted_posts.0.false_removal=1")
    _, outcomes, speech, suspended = replay(*sets)
    decision, lifted = first(speech, "board_decision"), first(speech, "restriction_lifted")
    assert decision[1] == "overturned: restriction lifted" and lifted is not None
    assert 0 <= lifted[2] - decision[2] <= DAY
    assert suspended[0][1] == pytest.approx(lifted[2])
    assert outcomes["restrictions_lifted"] == 1 and outcomes["restriction_terms_fixed"] == 0


def test_a_fixed_tier_restriction_is_upheld_without_a_new_term():
    sets = ("crisis_protocol.violence_above_baseline=true", *REFER)
    _, outcomes, speech, suspended = replay(*sets)
    assert first(speech, "board_decision")[1] == "restriction upheld"
    assert first(speech, "restriction_term") is None
    assert not math.isinf(suspended[0][1])


def test_review_and_open_ends_need_tiers():
    with pytest.raises(ScenarioError, match="account_review: expected tiers"):
        load_scenario(MINI, ["crisis_protocol.account_review=7d"])
    with pytest.raises(ScenarioError, match="indefinite: expected tiers"):
        load_scenario(MINI, ["crisis_protocol.indefinite=true"])


def test_the_term_ends_every_open_restriction_of_the_account_from_the_first():
    """Two open-ended suspensions of one account (a second removal in the crisis restricted it again): the term
    the platform fixes ends both, two years (severity 4) after the first began."""
    from types import SimpleNamespace

    world = World(load_scenario(MINI, [TIERS, "crisis_protocol.indefinite=true"]), Streams(replication_seed(1, 0)))
    account = (world.class_index["leader"], 0)
    world.platform.suspend(account, 0.0, math.inf)
    world.platform.suspend(account, 0.0, math.inf)
    cause = SimpleNamespace(severity=4, tracked=None)
    world.accounts._restricted[account] = (0.0, cause)
    assert world.accounts.is_open(account)
    world.accounts.fix_term(account, cause)
    two_years = 2 * 365.25 * DAY
    assert world.platform.suspended[account] == [(0.0, two_years), (0.0, two_years)]
    assert world.platform.is_suspended(account, two_years - 1) and not world.platform.is_suspended(account, two_years)
    assert not world.accounts.is_open(account) and world.accounts.term_days == [730.5]
