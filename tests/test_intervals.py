"""Confidence intervals that respect their outcome's range (shares in [0, 1], counts non-negative)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.experiment.statistics import mean_ci, outcome_ci
from sim.metrics import outcome_kind

_samples = st.integers(min_value=2, max_value=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=12))
def test_a_share_interval_stays_in_0_1_and_holds_the_mean(values):
    mean, low, high, n, method = outcome_ci(values, "share")
    assert method == "logit-t" and n == len(values)
    assert 0.0 <= low <= mean + 1e-12 and mean - 1e-12 <= high <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 1_000_000).map(float), min_size=2, max_size=12))
def test_a_count_interval_stays_non_negative(values):
    mean, low, high, n, method = outcome_ci(values, "nonnegative")
    assert method == "log-t"
    assert 0.0 <= low <= mean * (1 + 1e-12) and high >= mean * (1 - 1e-12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0]), min_size=2, max_size=40))
def test_a_binary_interval_is_wilsons(values):
    mean, low, high, n, method = outcome_ci(values, "binary")
    assert method == "wilson" and 0.0 <= low <= mean <= high <= 1.0
    assert low < high  # never a zero-width interval for a proportion, even when every value agrees


def test_wilson_matches_the_textbook_value():
    # 7 successes in 10 at 95%: Wilson score interval 0.3968 .. 0.8922 (Agresti & Coull 1998, Table 1 style).
    _, low, high, _, _ = outcome_ci([1.0] * 7 + [0.0] * 3, "binary")
    assert (low, high) == pytest.approx((0.39678, 0.89221), abs=1e-4)


def test_the_log_interval_is_the_t_interval_on_the_log_scale():
    values = [3.0, 5.0, 4.0, 9.0]
    mean, low, high, _ = mean_ci(values)
    _, log_low, log_high, _, _ = outcome_ci(values, "nonnegative")
    half = (high - low) / 2
    assert (log_low, log_high) == pytest.approx((mean * math.exp(-half / mean), mean * math.exp(half / mean)))


def test_values_outside_the_declared_range_fall_back_to_t():
    assert outcome_ci([-1.0, 2.0, 3.0], "nonnegative")[4] == "t"
    assert outcome_ci([0.2, 1.5], "share")[4] == "t"


def test_the_reported_cases_no_longer_leave_their_range():
    # removed share 0.667 [0.125 .. 1.209] and board members barred [-5.8 .. 13.1] with Student-t.
    share = outcome_ci([1.0, 1.0, 0.0], "share")
    assert 0.0 <= share[1] and share[2] <= 1.0
    barred = outcome_ci([0.0, 22.0, 0.0, 0.0], "nonnegative")
    assert barred[1] >= 0.0


def test_outcome_kinds():
    assert outcome_kind("removed_share") == "share"
    assert outcome_kind("reviewer_utilization") == "share"
    assert outcome_kind("tracked_bat_speech_removed") == "binary"
    assert outcome_kind("tracked_bat_speech_up_d") == "nonnegative"
    assert outcome_kind("board_members_barred") == "nonnegative"


TRIALS = 4000
MC_SD = math.sqrt(0.95 * 0.05 / TRIALS)  # sampling error of an estimated coverage near 95%


@pytest.mark.slow
@pytest.mark.parametrize("name,draw,truth,kind,n", [
    ("poisson counts", lambda rng, n: rng.poisson(2.0, n).astype(float), 2.0, "nonnegative", 5),
    ("beta shares", lambda rng, n: rng.beta(2.0, 8.0, n), 0.2, "share", 5),
    ("bernoulli", lambda rng, n: rng.binomial(1, 0.3, n).astype(float), 0.3, "binary", 20),
])
def test_coverage_is_near_nominal_and_no_worse_than_t(name, draw, truth, kind, n):
    rng = np.random.default_rng(20261202)
    ours = plain = 0
    for _ in range(TRIALS):
        x = draw(rng, n)
        _, low, high, _, _ = outcome_ci(x, kind)
        ours += low <= truth <= high
        _, t_low, t_high, _ = mean_ci(x)
        plain += t_low <= truth <= t_high
    ours, plain = ours / TRIALS, plain / TRIALS
    # Delta-method and score intervals are approximate: their coverage oscillates by a few points around the
    # nominal level at small n (Brown, Cai & DasGupta 2001); 3 Monte Carlo standard deviations on top.
    assert ours >= 0.95 - 0.03 - 3 * MC_SD, f"{name}: coverage {ours:.3f}"
    assert ours >= plain - 3 * math.sqrt(2) * MC_SD, f"{name}: {ours:.3f} against t's {plain:.3f}"


def test_durations_and_a_tracked_posts_views_stay_below_what_a_run_can_reach(load):
    from sim.metrics import upper_bounds

    scenario = load("cambodia_2023.yaml")
    upper = upper_bounds(scenario)
    assert upper("tracked_bat_speech_views") == 600_000
    assert upper("tracked_bat_speech_up_d") == scenario.horizon / 24 and upper("removal_time_p90_h") == scenario.horizon
    assert upper("violating_views") is None
    mean, low, high, _, method = outcome_ci([1_000.0, 500_000.0], "nonnegative", upper=600_000)
    assert method == "logit-t" and 0 < low and high < 600_000
