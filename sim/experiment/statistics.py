"""Output analysis for replicated simulation experiments.

Pure numpy/scipy helpers: confidence intervals over independent replications
that stay inside their outcome's range, paired (common-random-numbers)
differences, a per-outcome summary table, and the Kaplan-Meier estimator for
right-censored durations (e.g. time-to-decision for items still in a queue when
a run ends).

An interval never leaves its outcome's range. A Student-t interval on the mean
of two replications of a share can run from -0.2 to 1.2, and one on a count
below zero, so each outcome has a kind (``outcome_kind`` in ``sim.metrics``):

- ``binary`` (0 or 1 in each replication, e.g. whether a tracked post was
  removed): the Wilson score interval for a proportion over replications;
- ``share`` (a fraction in [0, 1]): the Student-t interval on the logit scale
  (delta method), mapped back, so it stays inside (0, 1);
- ``nonnegative`` (counts, views, waits, durations): the Student-t interval on
  the log scale (delta method), mapped back, so it stays above 0; a duration
  that cannot pass the horizon is a share of the horizon instead (logit scale);
- ``real``: the plain Student-t interval (paired differences are of this kind).

On the transformed scales the interval is the t interval itself to first order
when the standard error is small against the mean, and it widens on the far
side when it is not. All-equal replications give a zero-width interval, as t does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:  # pandas only where a table is made (summarize): workers never import it
    import pandas as pd

__all__ = [
    "mean_ci",
    "outcome_ci",
    "INTERVAL_METHODS",
    "paired_difference_ci",
    "summarize",
    "kaplan_meier",
    "km_quantile",
    "curve_quantile",
    "km_confidence_band",
]

ArrayLike = Union[Sequence[float], np.ndarray, "pd.Series"]

# Slack used when comparing a computed survival probability with a target level,
# so that e.g. S = 0.5 computed as 0.5000000000000001 still counts as "<= 0.5".
_SURVIVAL_TOL = 1e-12


def as_float(value) -> float:
    """A recorded outcome as a float: booleans as 0/1, anything that is not a number as NaN."""
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _finite(values: ArrayLike) -> np.ndarray:
    """Return the finite entries of ``values`` as a 1-D float array."""
    x = np.asarray(values, dtype=float).ravel()
    return x[np.isfinite(x)]


def mean_ci(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float, int]:
    """Mean and Student-t confidence interval over the finite values.

    Intended for one outcome measured over independent replications. NaN and
    +/-inf are dropped before anything is computed.

    Returns ``(mean, low, high, n)`` where ``n`` is the number of finite values.
    With ``n == 0`` everything is NaN; with ``n == 1`` the interval is
    ``(nan, nan)``; with zero sample variance ``low == high == mean``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    x = _finite(values)
    n = int(x.size)
    if n == 0:
        return (float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if n == 1:
        return (mean, float("nan"), float("nan"), 1)
    sem = float(x.std(ddof=1)) / np.sqrt(n)
    if sem == 0.0:
        return (mean, mean, mean, n)
    half = t_quantile(0.5 + confidence / 2.0, n - 1) * sem
    return (mean, mean - half, mean + half, n)


def t_quantile(p: float, df: float) -> float:
    """The Student t distribution's ``p`` quantile with ``df`` degrees of freedom (``scipy.stats.t.ppf``, the same
    number, from scipy's ufunc: a trial's or a table's thousand intervals no longer cost scipy.stats' import
    and its per-call overhead in the parent: 0.63 s per tuning trial under cProfile, 0.01 s now)."""
    from sim.model.special import stdtrit

    return float(stdtrit(df, p))


def normal_quantile(p: float) -> float:
    """The standard normal distribution's ``p`` quantile (``scipy.stats.norm.ppf``, the same number)."""
    from sim.model.special import ndtri

    return float(ndtri(p))


INTERVAL_METHODS = {"real": "t", "nonnegative": "log-t", "share": "logit-t", "binary": "wilson"}


def outcome_ci(values: ArrayLike, kind: str = "real", confidence: float = 0.95,
               upper: float | None = None) -> tuple[float, float, float, int, str]:
    """Mean and a confidence interval over the finite values that stays inside the range of ``kind``.

    ``kind`` is one of ``INTERVAL_METHODS`` (see the module docstring for each method); a non-negative
    outcome with an ``upper`` bound (a duration that cannot pass the horizon) is treated as the share
    of that bound. Returns ``(mean, low, high, n, method)`` with the conventions of :func:`mean_ci`;
    ``method`` names the interval used: the plain t interval when the values leave the kind's range.
    """
    if kind not in INTERVAL_METHODS:
        raise ValueError(f"kind must be one of {sorted(INTERVAL_METHODS)}, got {kind!r}")
    if upper is not None and kind == "nonnegative" and upper > 0:
        scale = float(upper)
        mean, low, high, n, method = outcome_ci(np.asarray(values, dtype=float) / scale, "share", confidence)
        return mean * scale, low * scale, high * scale, n, method
    mean, low, high, n = mean_ci(values, confidence=confidence)
    x = _finite(values)
    inside = {"real": True, "nonnegative": bool((x >= 0).all()), "share": bool(((x >= 0) & (x <= 1)).all()),
              "binary": bool(np.isin(x, (0.0, 1.0)).all())}[kind]
    if not inside:
        kind = "real"
    method = INTERVAL_METHODS[kind]
    if kind == "real" or n < 2:
        return mean, low, high, n, method
    if kind == "binary":
        return (mean, *_wilson(mean, n, confidence), n, method)
    if low == high:
        return mean, low, high, n, method
    half = (high - low) / 2.0  # t quantile x standard error
    if kind == "nonnegative":
        factor = float(np.exp(half / mean))
        return mean, mean / factor, mean * factor, n, method
    center = float(np.log(mean / (1.0 - mean)))
    spread = half / (mean * (1.0 - mean))
    return mean, _expit(center - spread), _expit(center + spread), n, method


def _wilson(share: float, n: int, confidence: float) -> tuple[float, float]:
    z = normal_quantile(0.5 + confidence / 2.0)
    denominator = 1.0 + z * z / n
    center = (share + z * z / (2 * n)) / denominator
    half = z * np.sqrt(share * (1.0 - share) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if share == 0.0 else max(center - half, 0.0)  # exact ends, not 5e-17 from rounding
    high = 1.0 if share == 1.0 else min(center + half, 1.0)
    return low, high


def _expit(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def paired_difference_ci(
    a: ArrayLike, b: ArrayLike, confidence: float = 0.95
) -> tuple[float, float, float, int]:
    """Mean and Student-t interval of the paired difference ``b - a``.

    For comparing two policies run with common random numbers: ``a[i]`` and
    ``b[i]`` must come from the same replication (seed). Only pairs where both
    values are finite are used. Returns ``(mean, low, high, n_pairs)`` with the
    same conventions as :func:`mean_ci`.
    """
    xa = np.asarray(a, dtype=float).ravel()
    xb = np.asarray(b, dtype=float).ravel()
    if xa.shape != xb.shape:
        raise ValueError(f"a and b must have the same length, got {xa.size} and {xb.size}")
    keep = np.isfinite(xa) & np.isfinite(xb)
    return mean_ci(xb[keep] - xa[keep], confidence=confidence)


def summarize(
    table: pd.DataFrame, outcomes: list[str], confidence: float = 0.95, kind_of=None, upper_of=None
) -> pd.DataFrame:
    """One row per outcome with its replication mean and confidence interval.

    ``table`` holds one row per replication and one column per outcome.
    Non-numeric entries are treated as missing. ``kind_of(outcome)`` names each
    outcome's range and ``upper_of(outcome)`` its upper bound or None (see
    :func:`outcome_ci`; every outcome is ``real`` and unbounded without them).
    Returns a DataFrame with columns exactly ``outcome, mean, ci_low, ci_high, n,
    method`` in the order of ``outcomes``; ``method`` names the interval used.
    """
    import pandas as pd

    missing = [o for o in outcomes if o not in table.columns]
    if missing:
        raise KeyError(f"outcomes not in table: {missing}")
    rows = []
    for outcome in outcomes:
        kind = kind_of(outcome) if kind_of else "real"
        column = pd.to_numeric(table[outcome], errors="coerce").to_numpy(dtype=float)
        upper = upper_of(outcome) if upper_of else None
        mean, low, high, n, method = outcome_ci(column, kind, confidence=confidence, upper=upper)
        rows.append({"outcome": outcome, "mean": mean, "ci_low": low, "ci_high": high, "n": n, "method": method})
    return pd.DataFrame(rows, columns=["outcome", "mean", "ci_low", "ci_high", "n", "method"]).astype(
        {"outcome": object, "mean": float, "ci_low": float, "ci_high": float, "n": int, "method": object}
    )


def _km_table(
    durations: ArrayLike, observed: ArrayLike, presorted: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct event times with their at-risk counts and event counts.

    Subjects censored at time t are still at risk at t (events are taken to
    happen before censorings at the same time). Sort-based, O(n log n);
    ``presorted``: the durations are in increasing order already (the order
    of tied durations does not matter), so the sort is skipped.
    """
    t = np.asarray(durations, dtype=float).ravel()
    e = np.asarray(observed).ravel().astype(bool)
    if t.shape != e.shape:
        raise ValueError(
            f"durations and observed must have the same length, got {t.size} and {e.size}"
        )
    if np.isnan(t).any():
        raise ValueError("durations must not contain NaN")
    if t.size == 0:
        empty = np.empty(0)
        return empty, empty, empty
    if not presorted:
        order = np.argsort(t)
        t, e = t[order], e[order]
    first = np.flatnonzero(np.concatenate(([True], t[1:] != t[:-1])))  # where each distinct time starts
    deaths = np.add.reduceat(e.astype(float), first)
    # Number with duration >= a distinct time: everything minus those that left strictly earlier.
    at_risk = t.size - first
    keep = deaths > 0
    return t[first[keep]], at_risk[keep].astype(float), deaths[keep]


def kaplan_meier(durations: ArrayLike, observed: ArrayLike, presorted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Product-limit (Kaplan-Meier) estimate of the survival function.

    ``durations`` are follow-up times; ``observed`` is truthy where the event
    happened and falsy where the duration is right-censored. At tied times
    events are counted before censorings. Returns ``(times, survival)``: the
    distinct event times in increasing order and S(t) just after each (a
    right-continuous step function with S = 1 before ``times[0]``).
    ``presorted``: the durations are in increasing order already (curves of
    several subsets of one sample sort it once).
    """
    times, at_risk, deaths = _km_table(durations, observed, presorted)
    survival = np.cumprod(1.0 - deaths / at_risk) if times.size else np.empty(0)
    return times, survival


def km_quantile(durations: ArrayLike, observed: ArrayLike, q: float) -> float:
    """Smallest time t with Kaplan-Meier S(t) <= 1 - q (``q=0.5``: median).

    The answer is always one of the observed event times (the curve only
    drops there); a small tolerance absorbs floating-point rounding of S.
    Returns NaN when the estimated curve never falls that low (too much
    censoring in the tail), which must be reported rather than imputed.
    """
    return curve_quantile(*kaplan_meier(durations, observed), q)


def curve_quantile(times: np.ndarray, survival: np.ndarray, q: float) -> float:
    """``km_quantile`` of a curve already estimated by ``kaplan_meier`` (for several quantiles of one curve)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q!r}")
    hit = np.nonzero(survival <= 1.0 - q + _SURVIVAL_TOL)[0]
    return float(times[hit[0]]) if hit.size else float("nan")


def km_confidence_band(
    durations: ArrayLike, observed: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise log-log (Kalbfleisch-Prentice) band around the Kaplan-Meier curve.

    Uses Greenwood's variance, sum d/(n(n-d)), transformed to
    theta = log(-log S): the band is S**exp(+z*se) .. S**exp(-z*se), which
    always lies inside [0, 1]. Meant for plotting; it is pointwise, not a
    simultaneous band. Returns ``(times, low, high)`` aligned with
    :func:`kaplan_meier`; where S = 0 the band collapses to 0.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    times, at_risk, deaths = _km_table(durations, observed)
    if times.size == 0:
        empty = np.empty(0)
        return empty, empty, empty
    survival = np.cumprod(1.0 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(deaths / (at_risk * (at_risk - deaths)))
        log_s = np.log(survival)
        se_theta = np.sqrt(greenwood) / np.abs(log_s)
        z = normal_quantile(0.5 + confidence / 2.0)
        low = survival ** np.exp(z * se_theta)
        high = survival ** np.exp(-z * se_theta)
    dead = survival <= 0.0
    low[dead] = 0.0
    high[dead] = 0.0
    return times, low, high
