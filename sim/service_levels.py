"""Service levels of first-line review: how soon tickets are decided, by pool, category and severity.

The question a staffing analyst asks ("do 90% of incitement tickets get decided within 24 hours?")
is about every ticket, not only those reviewed by the end of the run: under overload the tickets
still waiting at the horizon (and those closed unreviewed) are the slow ones, and dropping them
makes fewer reviewers look faster. So a ticket's wait is a right-censored duration: observed when
it is taken into review, censored at the horizon when it is still waiting or was closed
unreviewed (it was never decided). The share decided within a deadline is one minus the
Kaplan-Meier survival at the deadline, and wait quantiles are Kaplan-Meier quantiles, undefined
(NaN) when the estimated curve does not reach the level.

Outcome names: ``decided_within_24h`` (every ticket), ``decided_within_24h_pool_khmer``,
``decided_within_24h_severity_4``, ``decided_within_24h_violence_incitement`` (a category), and
``queue_wait_median_h`` / ``queue_wait_p90_h`` with the same suffixes. A reported lawful post counts
under the category it was reported for. Only tickets that arrive after the scenario's warm-up count.
"""

from __future__ import annotations

import numpy as np

from sim.experiment.statistics import curve_quantile, kaplan_meier
from sim.scenario.durations import format_duration

def deadline_label(hours: float) -> str:
    """A deadline as it appears in outcome names: ``30min``, ``1h``, ``24h``, ``48h``, ``7d``, ``30d``."""
    if hours >= 72 and hours % 24 == 0:
        return f"{hours / 24:g}d"
    if hours >= 1 and float(hours).is_integer():
        return f"{hours:g}h"
    return format_duration(hours)


def service_outcomes(pools, horizon: float, severity: np.ndarray, category: np.ndarray,
                     category_names: dict[str, int], deadlines) -> dict[str, float]:
    """Shares decided within each deadline and wait quantiles, overall and by pool, severity and category.

    ``pools`` are the world's reviewer pools; ``severity`` and ``category`` are the columns of every post,
    indexed by post id; ``category_names`` maps a category's name to its index in ``category``;
    ``deadlines`` are in hours (the scenario's ``outcomes.deadlines``).
    """
    durations, observed, posts, pool_of = [], [], [], []
    for number, pool in enumerate(pools):
        entered, censored_posts = pool.censored_waits()
        waits = np.asarray(pool.waits, dtype=float)
        durations += [waits, horizon - np.asarray(entered, dtype=float)]
        observed += [np.ones(len(waits), dtype=bool), np.zeros(len(entered), dtype=bool)]
        posts += [np.asarray(pool.wait_posts, dtype=np.int64), np.asarray(censored_posts, dtype=np.int64)]
        pool_of.append(np.full(len(waits) + len(entered), number))
    # Sorted once by duration: every group below is a subset in the same order, so its curve needs no sort of its own.
    durations = np.concatenate(durations)
    order = np.argsort(durations)
    durations, observed = durations[order], np.concatenate(observed)[order]
    posts, pool_of = np.concatenate(posts)[order], np.concatenate(pool_of)[order]
    groups = {"": np.ones(len(durations), dtype=bool)}
    groups.update({f"_pool_{pool.name}": pool_of == number for number, pool in enumerate(pools)})
    groups.update({f"_severity_{k}": severity[posts] == k for k in range(1, 5)})
    groups.update({f"_{name}": category[posts] == index for name, index in sorted(category_names.items())
                   if name != "none"})
    outcomes = {}
    everyone = kaplan_meier(durations, observed, presorted=True) if len(durations) else None
    for suffix, members in groups.items():
        if members.all():
            curve = everyone  # a group of every ticket (the only pool, or the only severity): the same curve
        else:
            curve = kaplan_meier(durations[members], observed[members], presorted=True) if members.any() else None
        for hours in deadlines:
            outcomes[f"decided_within_{deadline_label(hours)}{suffix}"] = _decided_by(curve, hours)
        for name, q in (("queue_wait_median_h", 0.5), ("queue_wait_p90_h", 0.9)):
            outcomes[name + suffix] = curve_quantile(*curve, q) if curve is not None else float("nan")
    outcomes["queue_waits_censored"] = float((~observed).sum())
    return outcomes


def _decided_by(curve, hours: float) -> float:
    """1 - S(hours) of a Kaplan-Meier curve (NaN without tickets)."""
    if curve is None:
        return float("nan")
    times, survival = curve
    index = np.searchsorted(times, hours, side="right") - 1
    return float(1.0 - survival[index]) if index >= 0 else 0.0
