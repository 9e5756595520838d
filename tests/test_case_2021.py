"""The 2021 case (CASE-2021-suspension.md): what the model predicts against what happened.

Two replays at fixed seeds: scenarios/us_2021_suspension.yaml (the generic platform of
baseline.yaml, today's protocol with generic settings) and scenarios/us_2021_suspension_overrides.yaml
(the case's facts as overrides). Each test states the real figure and checks where it falls in the
simulated distribution (inside or outside a 10-90% range of the replications, or a share within
3 binomial standard errors), so a test fails when the model's prediction moves either way.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from sim import load_scenario, run
from sim.experiment.statistics import km_quantile

ROOT = Path(__file__).resolve().parents[1]
N = 20
DAY = 24.0
JAN = {d: (d - 1) * DAY for d in range(1, 32)}   # midnight of each day of January 2021 in the scenarios' hours
STATEMENT_AT = JAN[6] + 18 + 7 / 60
REAL_UP_H = {"video": 80 / 60, "statement": 8 / 60}   # 4:21 -> 5:41 pm and 6:07 -> 6:15 pm EST
REAL_REFERRAL_D = 14.0                     # indefinite suspension (7 Jan) -> referral (21 Jan)
REAL_DECISION_D = 104.0                    # referral and acceptance (21 Jan) -> decision (5 May)
REAL_ANSWER_D = 30.0                       # decision (5 May) -> answer (4 June)
REAL_TERM_D = 730.0                        # 7 January 2021 -> 7 January 2023

pytestmark = pytest.mark.slow


@lru_cache(maxsize=None)
def replay(name: str):
    """The scenario's tables over N replications at its own seed (cached: each test reads them)."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    return run(scenario, replications=N, seed=scenario.seed, workers=2)


def first(tables, event: str, detail: str | None = None):
    """First time (hours) of an event of either tracked post in each replication that has it."""
    rows = tables.tracked[tables.tracked.post.isin(list(REAL_UP_H)) & (tables.tracked.event == event)]
    if detail is not None:
        rows = rows[rows.detail.str.startswith(detail)]
    return rows.groupby("replication").time_h.min()


def within_3se(share: float, p: float, n: int = N) -> bool:
    return abs(share - p) <= 3 * math.sqrt(max(p * (1 - p), 0.25 / n) / n)


def test_generic_platform_keeps_the_posts_up_for_hours_not_minutes():
    """Generic: the posts wait for cross-check (baseline lists the head of government), so the real 80 and 8
    minutes lie below the simulated 10% quantile of time up, and the median is hours."""
    table = replay("us_2021_suspension").replications
    for post, real in REAL_UP_H.items():
        up = table[f"tracked_{post}_up_d"].to_numpy() * 24
        removed = table[f"tracked_{post}_removed"].to_numpy() > 0
        assert real < np.quantile(up, 0.1), (post, np.quantile(up, 0.1))
        assert km_quantile(up, removed, 0.5) > 2.0, (post, up)


def test_generic_platform_restricts_the_account_after_the_designation_not_on_6_january():
    """Generic: public figures are restricted only in a designated crisis, which the riot's harm brings at the
    end of 6 January plus a day (8 January, 0:00); then the account is restricted (on review of the account, or at
    a later removal) by the protocol's fixed tiers in most replications; never on 6 January (real: a 24-hour block
    at 6:15 pm, indefinite on 7 January)."""
    tables = replay("us_2021_suspension")
    restricted = first(tables, "restriction")
    assert (restricted >= JAN[8]).all(), restricted.tolist()
    assert len(restricted) >= 0.7 * N, len(restricted)
    assert not tables.tracked.detail.str.startswith("indefinite").any()


def test_generic_platform_answers_nothing_before_the_horizon():
    """Generic: the restriction is referred (0.8), selected after 60 days on average and decided after about 90
    more, so most decisions fall after the real 5 May, and a fixed tier leaves no term to set (real: the answer of
    4 June)."""
    tables = replay("us_2021_suspension")
    decided = first(tables, "board_decision")
    assert len(decided) <= 0.6 * N or np.median(decided) > JAN[1] + 124 * DAY, decided.tolist()
    assert first(tables, "restriction_term").empty


def test_overrides_remove_the_posts_in_minutes():
    """With the emergency-removal overrides the posts come down at first line: the real 8 minutes of the statement
    lie inside the simulated 10-90% range; the video's 80 minutes lie above it (the real video waited for a decision
    by senior staff, which the model does not have)."""
    table = replay("us_2021_suspension_overrides").replications
    up = {post: table[f"tracked_{post}_up_d"].to_numpy() * 24 for post in REAL_UP_H}
    low, high = np.quantile(up["statement"], [0.1, 0.9])
    assert low <= REAL_UP_H["statement"] <= high, (low, high)
    assert np.quantile(up["video"], 0.9) < REAL_UP_H["video"], np.quantile(up["video"], 0.9)


def test_overrides_suspend_the_account_indefinitely_on_7_january():
    """The riot designates a crisis at the end of 6 January (delay 0); the platform's review of the account finds
    the two removals and suspends it indefinitely at 0:00 on 7 January in every replication (real: 7 January). The
    24-hour block of 6 January has no counterpart: before the designation the restriction is waived."""
    tables = replay("us_2021_suspension_overrides")
    review = first(tables, "restriction", "indefinite suspension on review")
    assert len(review) == N and (review == JAN[7]).all(), review.tolist()
    assert (tables.replications.restrictions_waived >= 1).all()


def test_overrides_referral_board_and_answer_timing_against_the_real_case():
    """The referral comes an exponential 14 days after the suspension (real 14), the board decides after a
    lognormal 90 days (real 104: inside the 10-90% range), upholds the suspension but not its open end in most
    replications, and the platform answers within 27-30 days (real 30: the 30-day window, at its end)."""
    tables = replay("us_2021_suspension_overrides")
    suspended = first(tables, "restriction", "indefinite")
    referred = (first(tables, "board_referral") - suspended) / DAY
    low, high = np.quantile(referred, [0.1, 0.9])
    assert low <= REAL_REFERRAL_D <= high, (low, high)
    selected, decided = first(tables, "board_selected"), first(tables, "board_decision", "restriction upheld")
    # The generic world's own public figures fill the first year's docket (17 cases) in some replications.
    assert len(selected) >= 0.6 * N, len(selected)
    assert within_3se(len(decided) / len(selected), 0.95, len(selected)), (len(decided), len(selected))
    deliberation = ((decided - selected.loc[decided.index]) / DAY).to_numpy()
    low, high = np.quantile(deliberation, [0.1, 0.9])
    assert low <= REAL_DECISION_D <= high, (low, high)
    answered = first(tables, "restriction_term")
    answer = ((answered - decided.loc[answered.index]) / DAY).to_numpy()
    assert len(answer) >= 0.8 * len(decided) and ((answer >= 27) & (answer <= REAL_ANSWER_D)).all(), answer


def test_overrides_fix_the_real_two_year_term_from_7_january():
    """The answer fixes two years counted from the suspension's start (the top tier for a severity-4 violation):
    730.5 days (2 x 365.25, shown rounded) against the real 730, to 7 January 2023. (The outcome
    restriction_term_days_mean averages every public figure's: the generic world's opposition politicians are
    restricted in the crisis too, by the tiers their strikes reach.)"""
    tables = replay("us_2021_suspension_overrides")
    rows = tables.tracked[tables.tracked.post.isin(list(REAL_UP_H)) & (tables.tracked.event == "restriction_term")]
    assert len(rows) > 0 and set(rows.detail) == {"fixed at 730 days from its start"}, set(rows.detail)
