"""Charts of what happened inside runs: survival to removal, daily series, tracked posts, the government.

Each function takes the folder's data and returns a ``{chart name: Figure}`` dict (empty when the
folder lacks what the chart needs). Uncertainty is shown across replications: the median line and a
10-90% band (80% of replications fall inside it), so a reader sees both the typical run and the spread.
When the folder is a comparison (its tables have a ``scenario`` column) each scenario gets a colour.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.plots.data import FolderData, as_datetime
from sim.plots.style import (
    NEUTRAL, REAL, band, calendar_axis, colour, days_label, figure, hours_axis, legend_below, quantiles, series_label, thousands,
    title,
)

BAND_NOTE = "Line: median across replications; shaded band: 10-90% of replications."
GOVERNMENT_SERIES = ("grievance",)


def _by_scenario(data: FolderData, table: pd.DataFrame):
    """(index, scenario name or None, its rows) for each scenario in the table."""
    for i, name in enumerate(data.scenarios(table)):
        yield i, name, table if name is None else table[table["scenario"] == name]


def survival_chart(data: FolderData) -> dict[str, Figure]:
    """How long do violating posts stay up? Kaplan-Meier share still up against time (log scale)."""
    table = data.table("survival.parquet")
    if table is None:
        return {}
    fig, ax = figure(8, 4.6)
    for i, name, rows in _by_scenario(data, table):
        q = quantiles(rows, ["time_h"], "survival")
        c = colour(i)
        band(ax, q.time_h, q.low, q.high, c)
        ax.plot(q.time_h, q["median"], color=c, lw=2, label=name or data.name)
    hours_axis(ax, float(table.time_h.max()))
    ax.set_xlim(float(table.time_h.min()), float(table.time_h.max()))
    ax.set_ylim(0, 1.02)
    ax.axhline(0.5, color=NEUTRAL, lw=0.8, ls=":")
    ax.set_xlabel("time since publication (hours, log scale)")
    ax.set_ylabel("share of violating posts still up (0-1)")
    ax.legend(loc="lower left")
    title(fig, "How long do violating posts stay up before removal?",
          f"Kaplan-Meier survival of violating posts (censored at the horizon). {BAND_NOTE} "
          "Dotted line: half removed (the median time to removal).")
    return {"survival": fig}


def timeseries_chart(data: FolderData) -> dict[str, Figure]:
    """How do exposure and queues evolve day by day? One panel per daily series (grievance excepted)."""
    table = data.table("timeseries.parquet")
    if table is None:
        return {}
    names = [s for s in dict.fromkeys(table.series) if s not in GOVERNMENT_SERIES]
    # Exposure and queues first: the question the chart answers; other series after them.
    order = ["live_violating_views", "live_incitement_views", "queue_length", "cross_check_queue_length"]
    names = [s for s in order if s in names] + [s for s in names if s not in order]
    names = [s for s in names if table.loc[table.series == s, "value"].abs().sum() > 0] or names[:1]
    if not names:
        return {}
    cols = 2 if len(names) > 1 else 1
    rows_n = -(-len(names) // cols)
    fig, axes = figure(9 if cols == 2 else 8, 3.0 * rows_n + 0.8, nrows=rows_n, ncols=cols, squeeze=False,
                       sharex=True)
    scenarios = data.scenarios(table)
    for k, series in enumerate(names):
        ax = axes[k // cols][k % cols]
        part = table[table.series == series]
        for i, name, rows in _by_scenario(data, part):
            q = quantiles(rows, ["day"], "value")
            band(ax, q.day, q.low, q.high, colour(i))
            ax.plot(q.day, q["median"], color=colour(i), lw=1.8, label=name or data.name)
        ax.set_title(series.replace("_", " "), loc="left", fontsize=10)
        ax.set_ylabel(series_label(series))
        ax.set_ylim(bottom=0)
        thousands(ax)
        if k < cols:
            calendar_axis(ax, data.start)
        if k // cols == rows_n - 1 or k + cols >= len(names):
            ax.set_xlabel(days_label(data.start) if len(scenarios) == 1 else "days since scenario start")
            ax.xaxis.set_tick_params(labelbottom=True)
    for k in range(len(names), rows_n * cols):
        axes[k // cols][k % cols].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    legend_below(fig, handles, labels, ncols=min(len(labels), 4))
    title(fig, "How much violating content is live, and how long are the queues, day by day?",
          f"Daily values. {BAND_NOTE}")
    return {"timeseries": fig}


def _scripted(data: FolderData) -> dict[str, dict]:
    posts = data.scenario.get("scripted_posts") or []
    return {str(p.get("name")): p for p in posts if isinstance(p, dict)}


def _lanes(ax, events: pd.DataFrame, x: str, scenarios: list, legend_names: list[str]) -> list[str]:
    """Draw event kinds as lanes: a dot per occurrence per replication, a diamond at the median
    (across replications) of each kind's first occurrence; one colour per scenario."""
    # Lanes in time order: by the median, over every scenario's replications, of each kind's first occurrence.
    first = events.groupby(["event", "scenario", "replication"], dropna=False)[x].min().groupby("event").median()
    kinds = list(first.sort_values(kind="stable").index)
    n = len(scenarios)
    rng = np.random.default_rng(0)  # fixed jitter: the same folder draws the same chart
    for lane, kind in enumerate(kinds):
        for i, name in enumerate(scenarios):
            rows = events[(events.event == kind) & ((events.scenario == name) if name is not None else True)]
            if rows.empty:
                continue
            offset = (i - (n - 1) / 2) * (0.6 / max(n, 1))
            y = lane + offset + rng.uniform(-0.12, 0.12, len(rows)) / max(n, 1)
            ax.scatter(rows[x], y, s=14, color=colour(i), alpha=0.45, linewidths=0)
            med = rows.groupby("replication")[x].min().median()
            ax.scatter([med], [lane + offset], marker="D", s=60, color=colour(i), edgecolors="black",
                       linewidths=0.8, zorder=3)
    ax.set_yticks(range(len(kinds)), [k.replace("_", " ") for k in kinds])
    ax.set_ylim(-0.7, len(kinds) - 0.3)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    return kinds


def _lane_legend(fig: Figure, scenarios: list, data: FolderData, extra: list | None = None) -> None:
    handles = [Line2D([], [], ls="", marker="o", color=colour(i), alpha=0.6, label=f"{name or data.name}: one replication")
               for i, name in enumerate(scenarios)]
    handles.append(Line2D([], [], ls="", marker="D", color="white", markeredgecolor="black",
                          label="median over replications (first occurrence)"))
    legend_below(fig, handles=handles + (extra or []), ncols=2, fontsize=8.5)


def tracked_charts(data: FolderData) -> dict[str, Figure]:
    """What happened to each tracked post, and when? Event lanes in days since its publication."""
    table = data.table("tracked.parquet")
    if table is None:
        return {}
    table = table[~table.event.astype(str).str.startswith("gov_")].copy()
    if "scenario" not in table.columns:
        table["scenario"] = None
    scripted = _scripted(data)
    figures = {}
    for post in dict.fromkeys(table.post):
        events = table[table.post == post].copy()
        spec = scripted.get(str(post), {})
        published = as_datetime(spec.get("at"))
        start = as_datetime(data.scenario.get("start"))
        if published and start:
            t0 = (published - start).total_seconds() / 3600
        else:  # no calendar: publication is each replication's first event
            t0 = events.groupby(["scenario", "replication"], dropna=False).time_h.transform("min")
        events["days"] = (events.time_h.astype(float) - t0) / 24.0
        scenarios = list(dict.fromkeys(events.scenario))
        fig, ax = figure(9, 1.8 + 0.36 * events.event.nunique())
        _lanes(ax, events, "days", scenarios, [])
        extra = []
        real = as_datetime(spec.get("real_removal"))
        if real and published:
            real_days = (real - published).total_seconds() / 86400
            ax.axvline(real_days, color=REAL, ls="--", lw=1.6)
            ax.annotate(f"real removal\n{real:%d %b %Y} ({real_days:.0f} days)", (real_days, 0),
                        xycoords=("data", "axes fraction"), xytext=(4, 4), textcoords="offset points",
                        color=REAL, fontsize=8.5, va="bottom")
            extra.append(Line2D([], [], color=REAL, ls="--", label="real removal"))
        ax.set_xlim(left=min(-1.0, float(events.days.min()) - 1))
        calendar_axis(ax, published if published and start else None)
        when = f" ({published:%d %b %Y %H:%M})" if published else ""
        ax.set_xlabel(f"days since publication{when}")
        _lane_legend(fig, scenarios, data, extra)
        title(fig, f"What happened to the tracked post '{post}', and when?",
              "Each lane is one kind of event; dots are occurrences in each replication.")
        figures[f"tracked_{post}"] = fig
    return figures


def government_chart(data: FolderData) -> dict[str, Figure]:
    """How far up its escalation ladder did the government go, and when? Grievance and its steps."""
    tracked = data.table("tracked.parquet")
    series = data.table("timeseries.parquet")
    events = None
    if tracked is not None:
        events = tracked[tracked.event.astype(str).str.startswith("gov_")].copy()
        events = events[events.event != "gov_grievance"] if (events.event != "gov_grievance").any() else events
        if events.empty:
            events = None
    grievance = None
    if series is not None and "grievance" in set(series.series):
        grievance = series[series.series == "grievance"]
        if grievance.value.abs().sum() == 0:
            grievance = None
    if events is None and grievance is None:
        return {}
    panels = [p for p in (grievance, events) if p is not None]
    kinds = events.event.nunique() if events is not None else 0
    heights = [2.4] * (grievance is not None) + [0.4 * kinds + 0.8] * (events is not None)
    fig, axes = figure(9, sum(heights) + 1.8, nrows=len(panels), ncols=1, squeeze=False, sharex=True,
                       gridspec_kw={"height_ratios": heights})
    axes = [a[0] for a in axes]
    table = grievance if grievance is not None else events
    scenarios = data.scenarios(table if "scenario" in table.columns else pd.DataFrame())
    k = 0
    if grievance is not None:
        ax = axes[k]
        for i, name, rows in _by_scenario(data, grievance):
            q = quantiles(rows, ["day"], "value")
            band(ax, q.day, q.low, q.high, colour(i))
            ax.step(q.day, q["median"], where="post", color=colour(i), lw=1.8, label=name or data.name)
        ax.set_ylabel(series_label("grievance"))
        ax.set_title("grievance against the platform", loc="left", fontsize=10)
        ax.legend(loc="upper left")
        k += 1
    if events is not None:
        ax = axes[k]
        events["days"] = events.time_h.astype(float) / 24.0
        if "scenario" not in events.columns:
            events["scenario"] = None
        scenarios = list(dict.fromkeys(events.scenario))
        _lanes(ax, events, "days", scenarios, [])
        ax.set_title("escalation steps", loc="left", fontsize=10)
        _lane_legend(fig, scenarios, data)
    axes[-1].set_xlabel(days_label(data.start))
    axes[-1].set_xlim(left=-1)
    calendar_axis(axes[0], data.start)
    title(fig, "How far did the government escalate against the platform, and when?",
          f"{BAND_NOTE} Lanes: steps of the escalation ladder, a dot per replication.")
    return {"government": fig}
