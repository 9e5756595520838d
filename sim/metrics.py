"""What one replication measured: flat named outcomes, daily time series, tracked-post timelines.

Every outcome is a number with a stable name (``removal_time_median_h``, ``violating_views``...),
so that replications stack into one table and scenarios compare column by column. Time to removal
is right-censored at the horizon (a post still up then counts as "up at least this long"), so its
quantiles are Kaplan-Meier quantiles, and ``removed_share`` says how much of the curve they rest on.
The README documents every outcome; ``OUTCOMES`` is the list in the order tables show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.experiment.statistics import kaplan_meier, km_quantile
from sim.model.content import VIOLATING, views_by

OUTCOMES = (
    "removal_time_median_h", "removal_time_p90_h", "removed_share", "violating_posts", "violating_views",
    "severity_weighted_views", "wrongful_removals", "opposition_wrongful_removals", "false_keeps",
    "newsworthy_keeps", "queue_wait_mean_h", "queue_wait_p90_h", "queue_length_mean", "ticket_arrivals_per_h",
    "queue_wait_mean_h_severity_1", "queue_wait_mean_h_severity_2", "queue_wait_mean_h_severity_3",
    "queue_wait_mean_h_severity_4", "reviewer_utilization", "backlog_max", "reports_filed", "tickets", "reviews", "reports_auto_closed",
    "cross_check_reviews", "cross_check_wait_mean_h", "strikes_issued", "restrictions_issued",
    "restrictions_waived",
)
KEY_OUTCOMES = (
    "removal_time_median_h", "removal_time_p90_h", "removed_share", "violating_views", "wrongful_removals",
    "queue_wait_mean_h", "reviewer_utilization", "reports_filed",
)


@dataclass
class Replication:
    """The record of one replication: plain data, cheap to send between processes."""

    outcomes: dict[str, float]
    series: dict[str, list[float]]
    timeline: list[tuple[str, float, str, str]] = field(default_factory=list)
    survival: list[float] = field(default_factory=list)


def survival_grid(horizon: float, points: int = 120) -> np.ndarray:
    """Times (hours) at which each replication's Kaplan-Meier survival of violating posts is kept:
    log-spaced from one minute to the horizon, so that minutes and months are both visible."""
    return np.geomspace(1 / 60, horizon, points)


def survival_at(durations: np.ndarray, observed: np.ndarray, grid: np.ndarray) -> list[float]:
    """Kaplan-Meier share of violating posts still up at each grid time."""
    times, survival = kaplan_meier(durations, observed)
    if len(times) == 0:
        return [1.0] * len(grid)
    index = np.searchsorted(times, grid, side="right") - 1
    return np.where(index >= 0, survival[np.maximum(index, 0)], 1.0).tolist()


def _column(world, name: str) -> np.ndarray:
    parts = [getattr(b, name) for b in world.batches]
    return np.concatenate(parts) if parts else np.zeros(0)


def _report_owners(world) -> tuple[np.ndarray, np.ndarray]:
    times, owners = [], []
    for batch, offset in zip(world.batches, world.offsets):
        times.append(batch.report_flat)
        owners.append(offset + np.repeat(np.arange(len(batch)), np.diff(batch.report_bounds)))
    if not times:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate(times), np.concatenate(owners)


def existing_mask(world, klass: np.ndarray, author: np.ndarray, created: np.ndarray) -> np.ndarray:
    """Posts that could really be published (not by an account suspended at the time)."""
    exists = np.ones(len(created), dtype=bool)
    for (k, a), intervals in world.enforcer.suspended.items():
        mine = (klass == k) & (author == a)
        for start, end in intervals:
            exists &= ~(mine & (created >= start) & (created < end))
    return exists


def collect(world) -> Replication:
    """Turn a finished world into outcomes, daily series and tracked timelines."""
    horizon = world.horizon
    created = _column(world, "created")
    kind = _column(world, "kind")
    reach, decay, severity = _column(world, "reach"), _column(world, "decay"), _column(world, "severity")
    exists = existing_mask(world, _column(world, "klass"), _column(world, "author"), created)
    removed_at = np.full(len(created), np.inf)
    if world.removed:
        ids = np.fromiter(world.removed.keys(), dtype=np.int64)
        removed_at[ids] = np.fromiter(world.removed.values(), dtype=float)
    end = np.minimum(removed_at, horizon)
    violating = (kind == VIOLATING) & exists
    views = views_by(end - created, reach, decay)
    duration, observed = (end - created)[violating], (removed_at <= horizon)[violating]

    report_times, owners = _report_owners(world)
    filed = (report_times < end[owners]) & exists[owners] if len(owners) else np.zeros(0, dtype=bool)

    waits = np.concatenate([np.asarray(p.waits, dtype=float) for p in world.pools])
    wait_severity = np.concatenate([np.asarray(p.wait_severity, dtype=np.int64) for p in world.pools])
    staffed = sum(p.staffed_hours() for p in world.pools)
    counts = world.counts
    outcomes = {
        "removal_time_median_h": km_quantile(duration, observed, 0.5),
        "removal_time_p90_h": km_quantile(duration, observed, 0.9),
        "removed_share": float(observed.mean()) if len(observed) else float("nan"),
        "violating_posts": float(violating.sum()),
        "violating_views": float(views[violating].sum()),
        "severity_weighted_views": float((views * severity)[violating].sum()),
        "wrongful_removals": float(counts["wrongful_removals"]),
        "opposition_wrongful_removals": float(counts["opposition_wrongful_removals"]),
        "false_keeps": float(counts["false_keeps"]),
        "newsworthy_keeps": float(counts["newsworthy_keeps"]),
        "queue_wait_mean_h": float(waits.mean()) if len(waits) else float("nan"),
        "queue_wait_p90_h": float(np.percentile(waits, 90)) if len(waits) else float("nan"),
        **{f"queue_wait_mean_h_severity_{k}": float(waits[wait_severity == k].mean())
           if (wait_severity == k).any() else float("nan") for k in range(1, 5)},
        "queue_length_mean": float(sum(p.queue.time_average(horizon) for p in world.pools)),
        "ticket_arrivals_per_h": float(sum(p.queue.arrivals for p in world.pools) / horizon),
        "reviewer_utilization": float(sum(p.work for p in world.pools) / staffed) if staffed else float("nan"),
        "backlog_max": float(world.backlog_max),
        "reports_filed": float(filed.sum()),
        "tickets": float(counts["tickets"]),
        "reviews": float(counts["reviews"]),
        "reports_auto_closed": float(counts["reports_auto_closed"]),
        "cross_check_reviews": float(counts["cross_check_reviews"]),
        "cross_check_wait_mean_h": float(np.mean(world.cross_check.waits)) if world.cross_check.waits else float("nan"),
        "strikes_issued": float(world.enforcer.strikes_issued),
        "restrictions_issued": float(world.enforcer.restrictions_issued),
        "restrictions_waived": float(world.enforcer.waived),
    }
    series = dict(world.series)
    series["live_violating_views"] = daily_views(created[violating], end[violating], reach[violating],
                                                 decay[violating], horizon)
    timeline = list(world.timeline)
    for pid, name in world.tracked_ids.items():
        up = float(end[pid] - created[pid])
        outcomes[f"tracked_{name}_up_d"] = up / 24.0
        outcomes[f"tracked_{name}_removed"] = float(removed_at[pid] <= horizon)
        outcomes[f"tracked_{name}_views"] = float(views[pid])
        for t in report_times[(owners == pid) & filed]:
            timeline.append((name, float(t), "report", "user report"))
        if removed_at[pid] > horizon:
            timeline.append((name, horizon, "up_at_horizon", f"{views[pid]:,.0f} views"))
    timeline.sort(key=lambda row: (row[0], row[1]))
    survival = survival_at(duration, observed, survival_grid(horizon))
    return Replication(outcomes=outcomes, series=series, timeline=timeline, survival=survival)


def daily_views(created, end, reach, decay, horizon: float) -> list[float]:
    """Views of the given posts in each simulated day while they were up."""
    days = int(np.ceil(horizon / 24.0))
    previous = np.zeros(len(created))
    totals = []
    for d in range(1, days + 1):
        until = np.minimum(end, min(d * 24.0, horizon))
        cumulative = views_by(until - created, reach, decay)
        totals.append(float((cumulative - previous).sum()))
        previous = cumulative
    return totals
