"""The civil-unrest protocol as a mechanism: harm drawn as it happens, crisis designations from the
model's own harm events (and, under the continuing-threat policy, the state's threats against its
critics), the protocol's tiers for public figures, and the platform's answer to the board judged
under the designation.

Mechanism tests use tests/scenarios/mini_case.yaml (a leader whose violating speech is kept as
newsworthy and goes to the board) and switch one key with --set; the last test compares the
bundled 2023 case with its continuing-threat counterfactual on common random numbers.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import simpy

from sim import load_scenario, run
from sim.experiment.statistics import paired_difference_ci
from sim.metrics import OUTCOMES, collect
from sim.model.crisis import CrisisProtocolActor
from sim.model.streams import Streams, replication_seed
from sim.model.world import World
from sim.scenario.schema import CrisisProtocol, Harm

MINI = Path(__file__).parent / "scenarios" / "mini_case.yaml"
ROOT = Path(__file__).resolve().parents[1]
DAY = 24.0
QUIET = ["appeals.author_probability=0", "appeals.reporter_probability=0"]  # nothing removed is ever restored


def world_of(*sets: str, seed: int = 1, index: int = 0) -> World:
    return World(load_scenario(MINI, sets), Streams(replication_seed(seed, index))).run()


def actor(**keys) -> tuple[CrisisProtocolActor, simpy.Environment]:
    env = simpy.Environment()
    spec = CrisisProtocol(**{"window": "3d", "baseline_per_day": 1.0, "factor": 2.0, "delay": "2d",
                             "duration": "4d", **keys})
    return CrisisProtocolActor(SimpleNamespace(env=env), spec, Harm()), env


def feed(crisis: CrisisProtocolActor, env: simpy.Environment, daily: list[int], threats: list[int] | None = None):
    """Run the actor through the given days, observing each at its end (as the harm actor does)."""
    threats = threats or [0] * len(daily)

    def days():
        for harm, threat in zip(daily, threats):
            yield env.timeout(DAY)
            crisis.observe(env.now, harm, threat)

    env.process(days())
    env.run(until=len(daily) * DAY + 0.5)


def test_designation_follows_the_signal_after_its_delay_and_ends_when_it_falls_back():
    crisis, env = actor()
    assert crisis.threshold == 6.0  # factor 2 x 1 a day x a 3-day window
    # The window's sum passes 6 at the end of day 3 (2 + 2 + 3): designated 2 days later, at hour 120.
    feed(crisis, env, [2, 2, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    assert len(crisis.periods) == 1
    start, end = crisis.periods[0]
    assert start == pytest.approx(3 * DAY + 2 * DAY)
    # Above the threshold last at the end of day 4 (2 + 3 + 3 = 8); 4 days of calm later it ends.
    assert end == pytest.approx(4 * DAY + 4 * DAY)
    assert not crisis.designated
    assert crisis.days(horizon=14 * DAY) == pytest.approx(3.0)


def test_a_signal_at_the_threshold_does_not_designate():
    crisis, env = actor()
    feed(crisis, env, [2, 2, 2] * 4)  # exactly 6 in every 3-day window: not above 6
    assert crisis.periods == [] and not crisis.designated


def test_harm_events_and_threats_add_up_in_the_window():
    # The harm actor reports threats only under continuing_threat (HarmActor.counts_threats); the actor adds them.
    crisis, env = actor(requires="continuing_threat")
    feed(crisis, env, [1] * 10, threats=[1] * 10)
    assert crisis.periods == []  # 2 a day: 6 in 3 days, not above 6
    crisis, env = actor(requires="continuing_threat")
    feed(crisis, env, [1] * 10, threats=[2] * 10)
    assert crisis.periods[0][0] == pytest.approx(3 * DAY + 2 * DAY)  # 9 in the first 3 days


def test_violence_assumed_above_baseline_designates_from_the_start():
    crisis, env = actor(violence_above_baseline=True)
    assert crisis.designated and crisis.periods == [[0.0, math.inf]]
    feed(crisis, env, [0] * 10)
    assert crisis.designated and crisis.days(horizon=10 * DAY) == pytest.approx(10.0)


def test_harm_is_drawn_day_by_day_from_its_own_stream_with_the_live_hazard():
    world = world_of(*QUIET)
    record = collect(world)
    # The live exposure the harm actor read each day is the daily series computed after the run.
    assert np.allclose(world.harm.views, record.series["live_incitement_views"], rtol=1e-9, atol=1e-6)
    # Each day's count is a Poisson draw, in day order, from the stream "harm" with that day's hazard.
    spec = world.scenario.harm
    rng = Streams(replication_seed(1, 0)).get("harm")
    expected = [int(rng.poisson(spec.base_per_day * (1 + spec.per_million_views * v / 1e6)))
                for v in record.series["live_incitement_views"]]
    assert world.harm.events == expected
    assert record.outcomes["harm_events"] == sum(expected)
    assert len(world.harm.events) == math.ceil(world.horizon / DAY)


def test_a_crisis_is_designated_when_harm_exceeds_the_baseline():
    # Harm at 1 a day against a baseline of 0.1 a day: a crisis needs more than 5 (the default factor) x 3 in 30 days.
    world = world_of("harm.base_per_day=1", "crisis_protocol.baseline_per_day=0.1")
    assert world.crisis.threshold == pytest.approx(15)
    first_cross = next(d for d in range(len(world.harm.events)) if sum(world.harm.events[max(0, d - 29):d + 1]) > 15)
    assert world.crisis.periods and world.crisis.periods[0][0] == pytest.approx((first_cross + 1) * DAY + 7 * DAY)
    record = collect(world)
    assert record.outcomes["crisis_designations"] >= 1 and record.outcomes["crisis_days"] > 100
    # The same world with the mini case's baseline (its own harm.base_per_day, 0.05) never gets there.
    assert collect(world_of()).outcomes["crisis_designations"] == 0


def test_the_leaders_kept_incitement_is_a_continuing_threat_only_under_that_policy():
    strict = world_of()
    continuing = world_of("crisis_protocol.requires=continuing_threat")
    assert sum(strict.harm.threats) == 0 and strict.crisis.periods == []
    # The speech (5 Jan) is kept as newsworthy; from a week later each day it stays up is one threat.
    assert sum(continuing.harm.threats) > 20
    speech = continuing.scenario.hour_of(continuing.scenario.scripted_posts[0].at)
    start = continuing.crisis.periods[0][0]
    assert speech + 7 * DAY < start < speech + 60 * DAY
    # Until the designation, both worlds are the same world: the harm drawn is the same.
    day = int(start // DAY)
    assert strict.harm.events[:day] == continuing.harm.events[:day]


def test_public_figures_are_restricted_by_the_tiers_only_in_a_crisis():
    tiers = "crisis_protocol.tiers=[{strikes: 1, restriction: 1mo}, {strikes: 2, restriction: 2y}]"
    removed = ["review.cross_check.accounts=[]", "review.newsworthiness.accounts=[]",
               "accounts.leader.violations=[{category: violence_incitement, severity: 4, probability: 0.02}]"]
    crisis = world_of(tiers, "crisis_protocol.violence_above_baseline=true", *removed)
    leader = [(k, v) for k, v in crisis.platform.suspended.items() if k[0] in crisis.leaders]
    assert leader, "the leader's removed posts restrict him in a crisis"
    (_, intervals), = leader
    month, two_years = 365.25 / 12 * DAY, 2 * 365.25 * DAY
    assert intervals[0][1] - intervals[0][0] == pytest.approx(month)
    assert all(b - a in (pytest.approx(month), pytest.approx(two_years)) for a, b in intervals)
    record = collect(crisis)
    assert record.outcomes["public_figure_restrictions"] == len(intervals)
    assert record.outcomes["crisis_designations"] == 1 and record.outcomes["crisis_days"] == pytest.approx(200)
    calm = world_of(tiers, *removed)
    assert not [k for k in calm.platform.suspended if k[0] in calm.leaders]
    assert calm.enforcer.waived > 0 and collect(calm).outcomes["public_figure_restrictions"] == 0


def test_the_answer_to_the_board_is_judged_under_the_designation():
    sets = ["board.platform.base_acceptance=1.0", "board.platform.pressure_weight=0"]
    strict = world_of(*sets)
    assert strict.board.recommendations > 0 and strict.board.accepted == 0
    assert strict.board.acceptance()[0] == 0.0 and "no crisis designated" in strict.board.acceptance()[1]
    designated = world_of(*sets, "crisis_protocol.violence_above_baseline=true")
    assert designated.board.accepted > 0 and designated.board.acceptance()[0] > 0.99
    # An accepted recommendation does not itself designate a crisis.
    follows = world_of("board.platform.follow_recommendations=true")
    assert follows.take_down.public_figure_suspensions > 0 and follows.crisis.periods == []


def test_tiers_must_increase():
    from sim.scenario import ScenarioError

    with pytest.raises(ScenarioError, match=r"crisis_protocol\.tiers\.1\.strikes: expected more strikes"):
        load_scenario(MINI, ["crisis_protocol.tiers=[{strikes: 2, restriction: 1mo}, {strikes: 2, restriction: 1y}]"])


def test_new_outcomes_are_listed():
    assert {"crisis_designations", "crisis_days", "public_figure_restrictions", "harm_events"} <= set(OUTCOMES)
    readme = (ROOT / "README.md").read_text()
    for name in ("crisis_designations", "crisis_days", "public_figure_restrictions"):
        assert f"`{name}`" in readme


def test_the_continuing_threat_counterfactual_changes_the_2023_case():
    """On common random numbers over the first 90 days of 2023, the continuing-threat protocol designates
    a crisis (the kept "bat" video is a continuing threat) where the 2023 protocol does not: the paired
    differences of crisis days and designations have 95% intervals above 0."""
    sets = ["horizon=90d"]
    base = load_scenario(ROOT / "scenarios" / "cambodia_2023.yaml", sets)
    threat = load_scenario(ROOT / "scenarios" / "counterfactuals" / "crisis_protocol_continuing_threat.yaml", sets)
    a = run(base, replications=5, seed=1, workers=2).replications
    b = run(threat, replications=5, seed=1, workers=2).replications
    for outcome in ("crisis_days", "crisis_designations"):
        mean, low, high, n = paired_difference_ci(a[outcome], b[outcome])
        assert n == 5 and low > 0, (outcome, mean, low, high, a[outcome].tolist(), b[outcome].tolist())
