"""What one replication measured: flat named outcomes, daily time series, tracked-post timelines.

Every outcome is a number with a stable name (``removal_time_median_h``, ``violating_views``...),
so that replications stack into one table and scenarios compare column by column. Time to removal
is right-censored at the horizon (a post still up then counts as "up at least this long"), so its
quantiles are Kaplan-Meier quantiles, and ``removed_share`` says how much of the curve they rest on.
``sim.outcomes`` lists them, in the order tables show them, with what each means.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.experiment.statistics import curve_quantile, kaplan_meier
from sim.model.content import VIOLATING, views_by
from sim.model.timeline import TimelineRow
from sim.outcomes import GOVERNANCE, KEY, ORDER
from sim.service_levels import service_outcomes

OUTCOMES, GOVERNANCE_OUTCOMES, KEY_OUTCOMES = ORDER, GOVERNANCE, KEY  # their one home is sim.outcomes


SHARE_OUTCOMES = ("removed_share", "reviewer_utilization", "board_selection_rate")


def outcome_kind(name: str) -> str:
    """The range of an outcome, which its confidence interval respects (``sim.experiment.statistics.outcome_ci``):
    ``binary`` (0 or 1 in each replication), ``share`` (in [0, 1]) or ``nonnegative`` (every other outcome:
    counts, views, waits and durations)."""
    if name.startswith("tracked_") and name.endswith("_removed"):
        return "binary"
    if name in SHARE_OUTCOMES or "_share" in name or "_within_" in name or name.startswith("reviewer_utilization"):
        return "share"
    return "nonnegative"


_DAYS = ("_up_d", "platform_blocked_days", "platform_throttled_days", "crisis_days", "board_decision_time_median_d", "recommendation_answer_days_mean",
         "shortlist_reversal_days_mean")
_HOURS = ("removal_time_", "queue_wait_", "cross_check_wait_")


def outcome_upper(name: str, horizon: float) -> float | None:
    """The largest value an outcome can take in a run of ``horizon`` hours: durations cannot pass the horizon
    (in hours, or in days for the ``_d``/``_days`` ones); None for the others."""
    if name.startswith("days_at_rung_") or any(part in name for part in _DAYS):
        return horizon / 24.0
    if name.startswith(_HOURS) and (name.endswith("_h") or "_h_" in name):
        return horizon
    return None


def upper_bounds(scenario):
    """``outcome_upper`` for a scenario's run, and each tracked post's views bounded by its reach."""
    reach = {f"tracked_{post.name}_views": post.reach for post in scenario.scripted_posts}

    def upper(name: str) -> float | None:
        return reach[name] if name in reach else outcome_upper(name, scenario.horizon)

    return upper


def shown_outcomes(summary) -> list[str]:
    """The outcomes a summary table shows by default: the key ones; the governance ones when the board or
    the government did anything; then every tracked post's. `summary` has columns outcome and mean."""
    means = dict(zip(summary["outcome"], summary["mean"]))
    active = any(means.get(o, 0) and means.get(o, 0) == means.get(o, 0) for o in
                 ("board_appeals", "retaliation_events", "harm_events"))
    names = [*KEY_OUTCOMES, *(GOVERNANCE_OUTCOMES if active else ())]
    names += sorted(o for o in means if o.startswith("tracked_"))
    return [o for o in dict.fromkeys(names) if o in means]


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


def survival_at(times: np.ndarray, survival: np.ndarray, grid: np.ndarray) -> list[float]:
    """Kaplan-Meier share of violating posts still up at each grid time, from the curve (``kaplan_meier``)."""
    if len(times) == 0:
        return [1.0] * len(grid)
    index = np.searchsorted(times, grid, side="right") - 1
    return np.where(index >= 0, survival[np.maximum(index, 0)], 1.0).tolist()


def _column(world, name: str) -> np.ndarray:
    parts = [getattr(b, name) for b in world.users.batches]
    return np.concatenate(parts) if parts else np.zeros(0)


def _reports(world) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Every report drawn (times), the post it is of, and its throttle uniform (None without throttle steps)."""
    users = world.users
    times, owners, uniforms = [], [], []
    for batch, offset in zip(users.batches, users.offsets):
        times.append(batch.report_flat)
        owners.append(offset + np.repeat(np.arange(len(batch)), np.diff(batch.report_bounds)))
        uniforms.append(batch.report_uniforms)
    if not times:
        return np.zeros(0), np.zeros(0, dtype=np.int64), None
    thinned = users.thins_reports and all(u is not None for u in uniforms)
    return np.concatenate(times), np.concatenate(owners), np.concatenate(uniforms) if thinned else None


def off_platform_views(world) -> float:
    """Expected views of the leader's posts on other channels after he left the platform."""
    platform = world.platform
    moved = platform.migrated_at
    if moved is None:
        return 0.0
    span = world.horizon - moved
    total = 0.0
    for index in world.leaders:
        spec = world.classes[index].spec
        rate = spec.count * spec.posts_per_day / 24.0
        tau = spec.view_decay
        total += rate * spec.reach_mean * platform.audience_share * (span - tau * -np.expm1(-span / tau))
    return float(total)


def collect(world) -> Replication:
    """Turn a finished world into outcomes, daily series and tracked timelines."""
    horizon = world.horizon
    platform = world.platform
    created = _column(world, "created")
    kind = _column(world, "kind")
    reach, decay, severity = _column(world, "reach"), _column(world, "decay"), _column(world, "severity")
    exists = platform.existing_mask(_column(world, "klass"), _column(world, "author"), created)
    removed_at = np.fromiter(world.removed_at, dtype=float, count=len(created))
    end = np.minimum(removed_at, horizon)
    violating = (kind == VIOLATING) & exists
    views = views_by(end - created - platform.lost_hours(created, end), reach, decay)
    duration, observed = (end - created)[violating], (removed_at <= horizon)[violating]
    removal = kaplan_meier(duration, observed)  # times up of violating posts, removal the event

    report_times, owners, report_uniforms = _reports(world)
    filed = (report_times < end[owners]) & exists[owners] if len(owners) else np.zeros(0, dtype=bool)
    filed &= platform.report_mask(report_times, report_uniforms)

    outcomes = {
        "removal_time_median_h": curve_quantile(*removal, 0.5),
        "removal_time_p90_h": curve_quantile(*removal, 0.9),
        "removed_share": float(observed.mean()) if len(observed) else float("nan"),
        "violating_posts": float(violating.sum()),
        "violating_views": float(views[violating].sum()),
        "severity_weighted_views": float((views * severity)[violating].sum()),
        **_review_outcomes(world, severity, float(filed.sum())),
    }
    outcomes.update(_oversight_outcomes(world))
    incitement_ids = [world.categories[c] for c in world.scenario.harm.categories if c in world.categories]
    incitement = violating & np.isin(_column(world, "category"), incitement_ids)
    enforcer = world.enforcer
    outcomes.update({
        "platform_blocked_days": platform.blocked_hours(horizon) / 24.0,
        "platform_throttled_days": platform.throttled_hours(horizon) / 24.0,
        "users_lost": float(platform.users_lost),
        "off_platform_views": off_platform_views(world),
        "incitement_views": float(views[incitement].sum()),
        "harm_events": world.harm.total,
        "crisis_designations": float(len(world.crisis.periods)),
        "crisis_days": world.crisis.days(horizon),
        "public_figure_restrictions": float(enforcer.public_figure_restrictions),
    })
    series = dict(world.series)
    lost = platform.lost_hours
    series["live_violating_views"] = daily_views(created[violating], end[violating], reach[violating],
                                                 decay[violating], horizon, lost)
    series["live_incitement_views"] = daily_views(created[incitement], end[incitement], reach[incitement],
                                                  decay[incitement], horizon, lost)
    timeline = _tracked(world, outcomes, views, end - created, removed_at, report_times[filed], owners[filed])
    survival = survival_at(*removal, survival_grid(horizon))
    return Replication(outcomes=outcomes, series=series, timeline=timeline, survival=survival)


def _review_outcomes(world, severity: np.ndarray, reports_filed: float) -> dict[str, float]:
    """The first line, cross-check and enforcement: decisions, waits, queues, reviewers, strikes."""
    horizon = world.horizon
    first_line, cross_check, take_down, enforcer = world.first_line, world.cross_check, world.take_down, world.enforcer
    waits = np.concatenate([np.asarray(p.waits, dtype=float) for p in world.pools])
    wait_severity = severity[np.concatenate([np.asarray(p.wait_posts, dtype=np.int64) for p in world.pools])]
    staffed = sum(p.staffed_hours() for p in world.pools)
    counts = first_line.counts
    return {
        "wrongful_removals": float(take_down.wrongful_removals),
        "opposition_wrongful_removals": float(take_down.opposition_wrongful_removals),
        "false_keeps": float(counts["false_keeps"] + cross_check.false_keeps),
        "newsworthy_keeps": float(cross_check.newsworthy_keeps),
        "queue_wait_mean_h": float(waits.mean()) if len(waits) else float("nan"),
        **service_outcomes(world.pools, horizon, severity, _column(world, "category"), world.categories,
                           world.scenario.outcomes.deadlines),
        **{f"queue_wait_mean_h_severity_{k}": float(waits[wait_severity == k].mean())
           if (wait_severity == k).any() else float("nan") for k in range(1, 5)},
        "queue_length_mean": float(sum(p.queue.time_average(horizon) for p in world.pools)),
        "ticket_arrivals_per_h": float(sum(p.queue.arrivals for p in world.pools) / horizon),
        "reviewer_utilization": float(sum(p.work for p in world.pools) / staffed) if staffed else float("nan"),
        **{f"reviewer_utilization_{p.name}": p.work / p.staffed_hours() if p.staffed_hours() else float("nan")
           for p in world.pools},
        "backlog_max": float(first_line.backlog_max),
        **{f"backlog_max_{p.name}": float(p.queue.peak) for p in world.pools},
        "reports_filed": reports_filed,
        "tickets": float(counts["tickets"]),
        "reviews": float(counts["reviews"]),
        # only when later reports open reviews (review.duplicates other than boost)
        **({"duplicate_reviews": float(counts["duplicate_reviews"])} if "duplicate_reviews" in counts else {}),
        "reports_auto_closed": float(counts["reports_auto_closed"]),
        "cross_check_reviews": float(cross_check.reviews),
        "cross_check_wait_mean_h": float(np.mean(cross_check.pool.waits)) if cross_check.pool.waits else float("nan"),
        "strikes_issued": float(enforcer.strikes_issued),
        "restrictions_issued": float(enforcer.restrictions_issued),
        "restrictions_waived": float(enforcer.waived),
    }


def _tracked(world, outcomes: dict, views: np.ndarray, up: np.ndarray, removed_at: np.ndarray,
             report_times: np.ndarray, report_posts: np.ndarray) -> list[TimelineRow]:
    """Each tracked post's outcomes (added to `outcomes`), and the timelines with its filed reports added."""
    horizon = world.horizon
    timeline = list(world.timeline.rows)
    for pid, name in world.tracked_ids.items():
        outcomes[f"tracked_{name}_up_d"] = float(up[pid]) / 24.0
        outcomes[f"tracked_{name}_removed"] = float(removed_at[pid] <= horizon)
        outcomes[f"tracked_{name}_views"] = float(views[pid])
        for t in report_times[report_posts == pid]:
            timeline.append(TimelineRow(name, float(t), "report", "user report"))
        if removed_at[pid] > horizon:
            timeline.append(TimelineRow(name, horizon, "up_at_horizon", f"{views[pid]:,.0f} views"))
    timeline.sort(key=lambda row: (row.subject, row.time))
    return timeline


def _oversight_outcomes(world) -> dict[str, float]:
    """Appeals, the board (with the appeals from the rest of the world competing for it) and the government."""
    horizon = world.horizon
    board, spec = world.board, world.scenario.board
    years = horizon / (365.25 * 24)
    background = world.streams.get("board/background")
    bg_appeals = background.poisson(spec.background_appeals_per_year * years)
    bg_cases = min(background.binomial(bg_appeals, board.base_selection()) if bg_appeals else 0,
                   max(int(spec.capacity_per_year * years) - len(board.selected_at), 0))
    board_appeals = board.appeals + bg_appeals
    board_cases = len(board.selected_at) + bg_cases
    return {
        "appeals": float(world.appeals.filed),
        "appeal_reversals": float(world.appeals.reversals),
        "board_appeals": float(board_appeals),
        "board_cases": float(board_cases),
        "board_selection_rate": float(board_cases / board_appeals) if board_appeals else float("nan"),
        "board_decision_time_median_d": float(np.median(board.decision_days)) if board.decision_days else float("nan"),
        "board_overturns": float(board.overturns),
        "recommendations": float(board.recommendations),
        "recommendations_accepted": float(board.accepted),
        "recommendations_answered": float(len(board.answer_days)),
        "recommendation_answer_days_mean": float(np.mean(board.answer_days)) if board.answer_days else float("nan"),
        "suspensions": float(world.enforcer.suspensions),
        "public_figure_suspensions": float(world.take_down.public_figure_suspensions),
        **world.board.record(),
        **world.accounts.record(),
        **world.government.record(horizon),
    }


def daily_views(created, end, reach, decay, horizon: float, lost_hours=None) -> list[float]:
    """Views of the given posts in each simulated day while they were up; `lost_hours(start, until)` gives the hours
    without views (the platform blocked or throttled: ``Platform.lost_hours``; none when omitted)."""
    days = int(np.ceil(horizon / 24.0))
    if not (reach > 0).any():
        return [0.0] * days
    previous = np.zeros(len(created))
    totals = []
    # Only posts up during day d (created before its end, not taken down before its start) gain views in
    # it, and a post whose views have reached its reach gains none later (the curve is capped there), so
    # each day touches only the posts still gaining views.
    order = np.argsort(created, kind="stable")
    live = np.zeros(0, dtype=np.int64)
    seen = 0
    for d in range(1, days + 1):
        cut = min(d * 24.0, horizon)
        new = int(np.searchsorted(created, cut, side="left", sorter=order))
        live = np.concatenate((live, order[seen:new]))
        seen = new
        live = live[end[live] > (d - 1) * 24.0]
        c, r, k = created[live], reach[live], decay[live]
        until = np.minimum(end[live], cut)
        age = until - c if lost_hours is None else until - c - lost_hours(c, until)
        cumulative = views_by(age, r, k)
        totals.append(float((cumulative - previous[live]).sum()))
        previous[live] = cumulative
        live = live[cumulative < r]
    return totals


# ------------------------------------------------------------------ calibration outcomes (modsim calibrate)
# Platform-wide shares that Meta's transparency reports give, measured on request (``sim.calibration``) and
# not in every run's tables, so that the runs' outcomes (and the golden files) stay as they are.

CALIBRATION_OUTCOMES = ("proactive_share", "incitement_proactive_share", "violating_view_share",
                        "incitement_view_share")


def total_views(world) -> float:
    """Expected views of every post published during the run (lawful or not) up to the horizon, in closed
    form from each account class's posting rate, reach and view decay (the model draws only posts that can
    matter, so lawful unreported posts are counted here, not drawn)."""
    span = world.horizon
    total = 0.0
    for klass in world.classes:
        spec = klass.spec
        rate = spec.count * spec.posts_per_day / 24.0
        tau = spec.view_decay
        total += rate * spec.reach_mean * (span - tau * -np.expm1(-span / tau))
    return float(total)


def calibration_outcomes(world) -> dict[str, float]:
    """``proactive_share`` (of the violating posts removed, the share removed before any user report),
    ``incitement_proactive_share`` (the same for the harm categories), ``violating_view_share`` (prevalence:
    views of violating posts over the expected views of all posts, ``total_views``) and
    ``incitement_view_share`` (the same for the harm categories)."""
    created = _column(world, "created")
    platform = world.platform
    exists = platform.existing_mask(_column(world, "klass"), _column(world, "author"), created)
    removed_at = np.fromiter(world.removed_at, dtype=float, count=len(created))
    end = np.minimum(removed_at, world.horizon)
    violating = (_column(world, "kind") == VIOLATING) & exists
    harm_ids = [world.categories[c] for c in world.scenario.harm.categories if c in world.categories]
    incitement = violating & np.isin(_column(world, "category"), harm_ids)
    views = views_by(end - created - platform.lost_hours(created, end), _column(world, "reach"), _column(world, "decay"))
    first_report = np.full(len(created), np.inf)
    report_times, owners, _ = _reports(world)
    if len(owners):
        np.minimum.at(first_report, owners, report_times)
    removed = removed_at <= world.horizon
    proactive = removed & (removed_at <= first_report)
    everything = total_views(world)

    def share(numerator: np.ndarray, among: np.ndarray) -> float:
        return float(numerator[among].mean()) if among.any() else float("nan")

    return {
        "proactive_share": share(proactive, violating & removed),
        "incitement_proactive_share": share(proactive, incitement & removed),
        "violating_view_share": float(views[violating].sum() / everything) if everything > 0 else float("nan"),
        "incitement_view_share": float(views[incitement].sum() / everything) if everything > 0 else float("nan"),
    }
