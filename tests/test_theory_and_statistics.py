"""Tests for the queueing formulas and the output-analysis statistics."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiment.statistics import (
    kaplan_meier,
    km_confidence_band,
    km_quantile,
    mean_ci,
    paired_difference_ci,
    summarize,
)
from sim.experiment.theory import (
    erlang_b,
    erlang_c,
    mmc_mean_queue_length,
    mmc_mean_wait,
    mmc_wait_quantile,
    priority_mmc_mean_waits,
)


def erlang_c_exact(c: int, a: Fraction) -> Fraction:
    """Erlang C straight from its textbook definition, in exact rationals."""
    tail = a**c / math.factorial(c) * Fraction(c) / (c - a)
    head = sum(a**k / math.factorial(k) for k in range(c))
    return tail / (head + tail)


# ----------------------------------------------------------------- theory


def test_erlang_c_published_values() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0, rel=1e-12)
    assert erlang_c(3, 2.0) == pytest.approx(4.0 / 9.0, rel=1e-12)
    assert erlang_b(2, 1.0) == pytest.approx(0.2, rel=1e-12)


@pytest.mark.parametrize("rho", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_erlang_c_single_server_is_rho(rho: float) -> None:
    assert erlang_c(1, rho) == pytest.approx(rho, abs=1e-15)


@pytest.mark.parametrize("c,a", [(5, Fraction(7, 2)), (20, Fraction(18)), (50, Fraction(95, 2))])
def test_erlang_c_matches_exact_definition(c: int, a: Fraction) -> None:
    assert erlang_c(c, float(a)) == pytest.approx(float(erlang_c_exact(c, a)), rel=1e-12)


def test_erlang_c_large_c_is_stable() -> None:
    # 170! overflows a float; the recursion must not care.
    for c in (200, 500, 1000):
        value = erlang_c(c, 0.95 * c)
        assert 0.0 < value < 1.0
    assert erlang_c(300, 285.0) == pytest.approx(
        float(erlang_c_exact(300, Fraction(285))), rel=1e-10
    )


def test_erlang_c_rejects_unstable_load() -> None:
    with pytest.raises(ValueError):
        erlang_c(3, 3.0)
    with pytest.raises(ValueError):
        mmc_mean_wait(2, 2.0, 1.0)


@pytest.mark.parametrize("lam,mu", [(0.5, 1.0), (0.9, 1.0), (3.0, 4.0)])
def test_mm1_wait_and_queue_length(lam: float, mu: float) -> None:
    rho = lam / mu
    assert mmc_mean_wait(1, lam, mu) == pytest.approx(rho / (mu - lam), rel=1e-12)
    assert mmc_mean_queue_length(1, lam, mu) == pytest.approx(rho**2 / (1 - rho), rel=1e-12)


def test_littles_law_for_queue() -> None:
    c, lam, mu = 20, 18.0, 1.0
    assert mmc_mean_queue_length(c, lam, mu) == pytest.approx(lam * mmc_mean_wait(c, lam, mu))


def test_wait_quantile_mixture() -> None:
    c, lam, mu = 4, 3.0, 1.0
    p_wait = erlang_c(c, lam / mu)
    assert mmc_wait_quantile(c, lam, mu, 0.0) == 0.0
    assert mmc_wait_quantile(c, lam, mu, 1.0 - p_wait) == 0.0
    assert mmc_wait_quantile(c, lam, mu, 1.0) == math.inf
    for q in (0.6, 0.9, 0.99):
        t = mmc_wait_quantile(c, lam, mu, q)
        # Plug back into the CDF P(Wq <= t) = 1 - C exp(-(c mu - lam) t).
        assert 1.0 - p_wait * math.exp(-(c * mu - lam) * t) == pytest.approx(q, rel=1e-12)
    # The mean of the mixture is C / (c mu - lam).
    assert mmc_mean_wait(c, lam, mu) == pytest.approx(p_wait / (c * mu - lam))


@pytest.mark.parametrize("c,lam,mu", [(1, 0.8, 1.0), (5, 4.5, 1.0), (20, 18.0, 1.0)])
def test_priority_single_class_is_fcfs(c: int, lam: float, mu: float) -> None:
    (w,) = priority_mmc_mean_waits(c, [lam], mu)
    assert w == pytest.approx(mmc_mean_wait(c, lam, mu), rel=1e-12)


@pytest.mark.parametrize(
    "c,lams,mu",
    [
        (1, [0.2, 0.3, 0.4], 1.0),
        (1, [0.45, 0.45], 1.0),
        (3, [0.5, 1.0, 1.2], 1.0),
        (20, [2.0, 6.0, 10.0], 1.0),
        (8, [1.0, 2.0, 3.0, 1.5], 1.25),
    ],
)
def test_priority_conservation_law(c: int, lams: list[float], mu: float) -> None:
    waits = priority_mmc_mean_waits(c, lams, mu)
    total = sum(lams)
    average = sum(l * w for l, w in zip(lams, waits)) / total
    assert average == pytest.approx(mmc_mean_wait(c, total, mu), rel=1e-12)
    assert waits == sorted(waits), "higher priority classes must wait less"


def test_priority_two_class_mm1_closed_form() -> None:
    # M/M/1, two classes: W1 = rho/mu / (1 - rho1), W2 = rho/mu / ((1 - rho1)(1 - rho)).
    lam1, lam2, mu = 0.3, 0.5, 1.0
    rho1, rho = lam1 / mu, (lam1 + lam2) / mu
    w1, w2 = priority_mmc_mean_waits(1, [lam1, lam2], mu)
    assert w1 == pytest.approx(rho / mu / (1 - rho1))
    assert w2 == pytest.approx(rho / mu / ((1 - rho1) * (1 - rho)))


# ------------------------------------------------------------- statistics


def test_mean_ci_matches_scipy_t() -> None:
    x = np.array([2.1, 3.4, 1.9, 5.0, 4.2, 3.3])
    mean, low, high, n = mean_ci(x, confidence=0.9)
    ref_low, ref_high = stats.t.interval(0.9, df=len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert n == 6
    assert mean == pytest.approx(x.mean())
    assert low == pytest.approx(ref_low, rel=1e-12)
    assert high == pytest.approx(ref_high, rel=1e-12)


def test_mean_ci_ignores_non_finite_and_edge_cases() -> None:
    mean, low, high, n = mean_ci([1.0, np.nan, 3.0, np.inf, -np.inf])
    assert (mean, n) == (2.0, 2)
    assert low < 2.0 < high

    mean, low, high, n = mean_ci([4.0, np.nan])
    assert (mean, n) == (4.0, 1) and math.isnan(low) and math.isnan(high)

    mean, low, high, n = mean_ci([np.nan, np.inf])
    assert n == 0 and all(math.isnan(v) for v in (mean, low, high))
    assert mean_ci([])[3] == 0

    assert mean_ci([7.0, 7.0, 7.0]) == (7.0, 7.0, 7.0, 3)


def test_mean_ci_coverage() -> None:
    rng = np.random.default_rng(20240601)
    reps, size, true_mean = 2000, 10, 3.0
    samples = rng.normal(true_mean, 2.0, size=(reps, size))
    covered = 0
    for row in samples:
        _, low, high, _ = mean_ci(row)
        covered += low <= true_mean <= high
    coverage = covered / reps
    band = 3.0 * math.sqrt(0.95 * 0.05 / reps)
    assert abs(coverage - 0.95) <= band, coverage


def test_paired_difference_ci_uses_complete_pairs() -> None:
    a = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    b = np.array([1.5, 2.7, 3.0, np.inf, 5.2])
    mean, low, high, n = paired_difference_ci(a, b)
    ref = mean_ci([0.5, 0.7, 0.2])
    assert n == 3
    assert (mean, low, high) == pytest.approx(ref[:3])
    with pytest.raises(ValueError):
        paired_difference_ci([1.0, 2.0], [1.0])


def test_summarize_columns_and_order() -> None:
    table = pd.DataFrame(
        {"seed": [1, 2, 3], "wait": [1.0, 2.0, 3.0], "backlog": [10.0, np.nan, 12.0]}
    )
    out = summarize(table, ["wait", "backlog"])
    assert list(out.columns) == ["outcome", "mean", "ci_low", "ci_high", "n", "method"]
    assert list(out["outcome"]) == ["wait", "backlog"]
    assert list(out["n"]) == [3, 2]
    assert out.loc[0, "mean"] == pytest.approx(2.0)
    assert out.loc[1, "mean"] == pytest.approx(11.0)
    expected = mean_ci([1.0, 2.0, 3.0])
    assert (out.loc[0, "ci_low"], out.loc[0, "ci_high"]) == pytest.approx(expected[1:3])
    with pytest.raises(KeyError):
        summarize(table, ["missing"])


# Hand-worked example (events marked *, censorings +):
#   1*  2*  2+  3*  4+  5*
# t=1: at risk 6, 1 event -> S = 5/6
# t=2: at risk 5 (the censoring at 2 is still at risk), 1 event -> S = 5/6 * 4/5 = 2/3
# t=3: at risk 3, 1 event -> S = 2/3 * 2/3 = 4/9
# t=5: at risk 1, 1 event -> S = 0
KM_DURATIONS = [3, 1, 5, 2, 4, 2]
KM_OBSERVED = [1, 1, 1, 0, 0, 1]


def test_kaplan_meier_hand_worked() -> None:
    times, survival = kaplan_meier(KM_DURATIONS, KM_OBSERVED)
    np.testing.assert_array_equal(times, [1.0, 2.0, 3.0, 5.0])
    np.testing.assert_allclose(survival, [5 / 6, 2 / 3, 4 / 9, 0.0], rtol=1e-12)


def test_kaplan_meier_without_censoring_is_empirical() -> None:
    rng = np.random.default_rng(1)
    x = rng.exponential(size=500).round(2)  # rounding creates ties
    times, survival = kaplan_meier(x, np.ones_like(x, dtype=bool))
    np.testing.assert_allclose(survival, [(x > t).mean() for t in times], atol=1e-12)


def test_kaplan_meier_of_presorted_subsets_is_the_same_curve() -> None:
    """Service levels sort the tickets' waits once and take every group's curve from the sorted sample: the
    order of tied waits (events and censorings mixed) must not change a curve."""
    rng = np.random.default_rng(5)
    x = rng.exponential(size=2000).round(1)  # many ties
    events = rng.random(2000) < 0.7
    group = rng.random(2000) < 0.4
    order = np.argsort(x)
    for members in (np.ones(2000, dtype=bool), group):
        unsorted = kaplan_meier(x[members], events[members])
        sorted_once = kaplan_meier(x[order][members[order]], events[order][members[order]], presorted=True)
        for a, b in zip(unsorted, sorted_once):
            np.testing.assert_array_equal(a, b)


def test_km_quantile() -> None:
    assert km_quantile(KM_DURATIONS, KM_OBSERVED, 0.5) == 3.0  # S(3) = 4/9 <= 1/2
    assert km_quantile(KM_DURATIONS, KM_OBSERVED, 1 / 3) == 2.0  # S(2) = 2/3 exactly
    assert km_quantile(KM_DURATIONS, KM_OBSERVED, 0.9) == 5.0
    # Only one early event, everything else censored: S stays at 3/4.
    assert math.isnan(km_quantile([1, 2, 3, 4], [1, 0, 0, 0], 0.5))
    assert km_quantile([1, 2, 3, 4], [1, 0, 0, 0], 0.25) == 1.0
    assert math.isnan(km_quantile([1, 2], [0, 0], 0.5))


def test_km_confidence_band() -> None:
    times, low, high = km_confidence_band(KM_DURATIONS, KM_OBSERVED)
    _, survival = kaplan_meier(KM_DURATIONS, KM_OBSERVED)
    np.testing.assert_array_equal(times, [1.0, 2.0, 3.0, 5.0])
    assert np.all((0.0 <= low) & (low <= survival) & (survival <= high) & (high <= 1.0))
    # First step by hand: Greenwood var term 1/(6*5), log-log transform.
    s = 5 / 6
    se = math.sqrt(1 / 30) / abs(math.log(s))
    z = stats.norm.ppf(0.975)
    assert low[0] == pytest.approx(s ** math.exp(z * se))
    assert high[0] == pytest.approx(s ** math.exp(-z * se))
    assert low[-1] == high[-1] == 0.0
