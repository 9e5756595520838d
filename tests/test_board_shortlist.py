"""The board's shortlist (issue 17 item 3): shortlisting, the platform's reversal, summary decisions.

tests/scenarios/mini_case.yaml sends the leader's violating speech, kept as newsworthy (a wrong
decision), to the board by a certain referral; each test switches the shortlist on with --set.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim import load_scenario
from sim.metrics import collect
from sim.model.streams import Streams, replication_seed
from sim.model.world import World
from sim.errors import ScenarioError

MINI = Path(__file__).parent / "scenarios" / "mini_case.yaml"
SHORTLIST = "board.shortlist={delay: 30d}"


def concede(probability: float, delay: str = "2d") -> str:
    return f"board.platform.concede_on_shortlist={{probability: {probability}, delay: {delay}}}"


def replay(*sets: str, seed: int = 1):
    """One replication of the mini case: its outcomes and the speech's timeline (event, detail, time)."""
    world = World(load_scenario(MINI, sets), Streams(replication_seed(seed, 0))).run()
    record = collect(world)
    speech = [(row.event, row.detail, float(row.time)) for row in record.timeline if row.subject == "speech"]
    return record.outcomes, speech


def events(speech, name):
    return [row for row in speech if row[0] == name]


def test_without_a_shortlist_nothing_changes_and_no_outcome_is_added():
    outcomes, speech = replay()
    assert "board_shortlisted" not in outcomes and not events(speech, "board_shortlisted")
    assert events(speech, "board_decision")[0][1] == "overturned: remove"


def test_the_platform_reverses_itself_and_the_case_closes_as_a_summary_decision():
    outcomes, speech = replay(SHORTLIST, concede(1.0))
    shortlisted = events(speech, "board_shortlisted")[0][2]
    reversal = events(speech, "platform_reversal")[0]
    assert reversal[1] == "removed on shortlisting" and events(speech, "removed")[0][1] == "shortlist"
    assert events(speech, "board_summary_decision") and not events(speech, "board_decision")
    assert not events(speech, "board_selected")
    assert outcomes["board_summary_decisions"] >= 1 and outcomes["shortlist_reversals"] >= 1
    assert outcomes["shortlist_reversal_days_mean"] == pytest.approx((reversal[2] - shortlisted) / 24, rel=1e-9)


def test_a_platform_that_does_not_concede_leaves_the_board_to_decide():
    outcomes, speech = replay(SHORTLIST, concede(0.0))
    assert events(speech, "board_shortlisted") and not events(speech, "platform_reversal")
    assert events(speech, "board_decision")[0][1] == "overturned: remove"
    assert outcomes["board_summary_decisions"] == 0 and math.isnan(outcomes["shortlist_reversal_days_mean"])


def test_the_board_may_still_decide_a_case_the_platform_reversed():
    _, speech = replay("board.shortlist={delay: 30d, summary_probability: 0.0}", concede(1.0))
    assert events(speech, "platform_reversal") and not events(speech, "board_summary_decision")
    # the post is down by the decision, so the platform's decision is now right and the board upholds it
    assert events(speech, "board_decision")[0][1] == "platform upheld"


def test_a_right_decision_is_never_reversed():
    # The speech removed by cross-check (no newsworthiness) and its author's appeal taken to the board.
    sets = (SHORTLIST, concede(1.0), "review.newsworthiness.probability=0", "appeals.author_probability=1",
            "appeals.false_keep=0", "board.user_appeal_probability_public_figure=1")
    _, speech = replay(*sets)
    assert events(speech, "board_shortlisted")
    assert not events(speech, "platform_reversal")
    assert not events(speech, "restored")


def test_reversal_share_and_delay_follow_their_settings():
    """Over 40 seeds at a concession probability of 0.5 and a mean delay of 3 days: the share of wrong decisions
    reversed lies within 3 standard errors of 0.5 (0.24), and the mean delay within 3 of 3 days (exponential:
    3 x 3 / sqrt(n))."""
    reversed_days, shortlisted = [], 0
    for seed in range(40):
        outcomes, speech = replay(SHORTLIST, concede(0.5, "3d"), seed=seed)
        if not events(speech, "board_shortlisted"):
            continue
        shortlisted += 1
        start = events(speech, "board_shortlisted")[0][2]
        reversal = events(speech, "platform_reversal")
        if reversal:
            reversed_days.append((reversal[0][2] - start) / 24)
    assert shortlisted >= 35
    share = len(reversed_days) / shortlisted
    assert abs(share - 0.5) <= 3 * math.sqrt(0.25 / shortlisted), share
    assert abs(np.mean(reversed_days) - 3.0) <= 3 * 3.0 / math.sqrt(len(reversed_days)), reversed_days


def test_a_concession_needs_a_shortlist():
    with pytest.raises(ScenarioError, match="concede_on_shortlist.probability: expected 0 without board.shortlist"):
        load_scenario(MINI, [concede(0.5)])
