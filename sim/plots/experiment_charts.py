"""Charts of experiments: compare (paired differences), sweep, tune (Pareto front, history), sensitivity.

Each function takes the folder's data and the outcomes asked for (None: the key outcomes present)
and returns ``{chart name: Figure}``; empty when the folder lacks the file it needs.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.metrics import KEY_OUTCOMES
from sim.plots.data import FolderData
from sim.plots.style import NEUTRAL, band, colour, figure, legend_below, outcome_label, title

MAX_SWEEP_OUTCOMES = 6


def pick_outcomes(available, outcomes: list[str] | None) -> list[str]:
    """The outcomes to chart: those asked for (in that order), else the key ones and tracked posts'."""
    available = list(dict.fromkeys(available))
    if outcomes:
        return [o for o in outcomes if o in available]
    chosen = [o for o in KEY_OUTCOMES if o in available]
    chosen += [o for o in available if o.startswith("tracked_") and o not in chosen]
    return chosen or available[:MAX_SWEEP_OUTCOMES]


def comparison_chart(data: FolderData, outcomes: list[str] | None = None) -> dict[str, Figure]:
    """Which scenario changes what, and by how much? Paired differences relative to the reference (forest plot)."""
    table = data.table("comparison.csv")
    if table is None:
        return {}
    scenarios = list(dict.fromkeys(table.scenario))
    reference, others = scenarios[0], scenarios[1:]
    if not others:
        return {}
    ref = table[table.scenario == reference].set_index("outcome")["mean"]
    rows = []
    for outcome in pick_outcomes(table.outcome, outcomes):
        base = ref.get(outcome, math.nan)
        for name in others:
            r = table[(table.outcome == outcome) & (table.scenario == name)]
            if r.empty or not np.isfinite(base) or base == 0 or not np.isfinite(r.diff_mean.iloc[0]):
                continue
            scale = 100.0 / abs(base)
            rows.append({"outcome": outcome, "scenario": name, "rel": r.diff_mean.iloc[0] * scale,
                         "low": r.diff_low.iloc[0] * scale, "high": r.diff_high.iloc[0] * scale})
    if not rows:
        return {}
    rel = pd.DataFrame(rows)
    names = list(dict.fromkeys(rel.outcome))
    fig, ax = figure(8.5, 1.6 + 0.42 * len(names) * max(1, len(others) * 0.6))
    for i, name in enumerate(others):
        part = rel[rel.scenario == name]
        offset = (i - (len(others) - 1) / 2) * (0.6 / len(others))
        y = np.array([names.index(o) for o in part.outcome]) + offset
        low = np.nan_to_num(part.rel - part.low, nan=0.0)
        high = np.nan_to_num(part.high - part.rel, nan=0.0)
        ax.errorbar(part.rel, y, xerr=[low.clip(0), high.clip(0)], fmt="o", color=colour(i + 1), capsize=3,
                    lw=1.6, ms=6, label=f"{name} - {reference}")
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(range(len(names)), [n.replace("_", " ") for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"difference from {reference} (% of {reference}'s mean)")
    legend_below(fig, ncols=min(len(others), 3))
    title(fig, f"What changes against {reference}, and is the change clear of zero?",
          "Paired difference (common random numbers) with its 95% confidence interval, as a percentage of the "
          "reference scenario's mean, so that outcomes on different scales share one axis. Outcomes whose "
          "reference mean is zero are left out.")
    return {"comparison": fig}


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def sweep_charts(data: FolderData, outcomes: list[str] | None = None) -> dict[str, Figure]:
    """How does each outcome respond to each swept parameter? Mean and 95% CI band per parameter value."""
    table = data.table("sweep.parquet")
    if table is None:
        return {}
    fixed = {"point", "outcome", "mean", "ci_low", "ci_high", "n", "method"}
    params = [c for c in table.columns if c not in fixed and table[c].nunique(dropna=False) > 1]
    if not params:
        return {}
    figures = {}
    for outcome in pick_outcomes(table.outcome, outcomes)[:MAX_SWEEP_OUTCOMES if not outcomes else None]:
        rows = table[table.outcome == outcome]
        if not np.isfinite(rows["mean"].astype(float)).any():
            continue
        fig, axes = figure(max(4.2 * len(params) + 0.8, 7.5), 3.9, nrows=1, ncols=len(params), squeeze=False,
                           sharey=True)
        for k, param in enumerate(params):
            _sweep_panel(axes[0][k], rows, param, [p for p in params if p != param])
        axes[0][0].set_ylabel(textwrap.fill(outcome_label(outcome), 38))
        title(fig, f"How does {outcome.replace('_', ' ')} respond to the swept parameters?",
              "Mean over replications with its 95% confidence interval"
              + ("; one line per setting of the other parameters." if len(params) > 1 else "."))
        figures[f"sweep_{outcome}"] = fig
    return figures


def _sweep_panel(ax, rows: pd.DataFrame, param: str, others: list[str]) -> None:
    numeric = _numeric(rows[param])
    groups = [((), rows)] if not others else list(rows.groupby(others, dropna=False))
    if len(groups) > 5:  # a Latin hypercube: no lines to draw, one point per design point
        x = rows[param] if numeric else rows[param].astype(str)
        err = [(rows["mean"] - rows.ci_low).clip(lower=0), (rows.ci_high - rows["mean"]).clip(lower=0)]
        ax.errorbar(x, rows["mean"], yerr=np.nan_to_num(np.asarray(err, dtype=float)), fmt="o", color=colour(0),
                    ms=4, alpha=0.7, capsize=2)
    else:
        for i, (key, part) in enumerate(groups):
            part = part.sort_values(param)
            x = part[param] if numeric else part[param].astype(str)
            label = ", ".join(f"{o.split('.')[-1]}={v}" for o, v in zip(others, key if isinstance(key, tuple) else (key,)))
            if numeric:
                band(ax, x, part.ci_low, part.ci_high, colour(i))
            else:
                ax.errorbar(x, part["mean"], yerr=np.nan_to_num(np.asarray(
                    [(part["mean"] - part.ci_low).clip(lower=0), (part.ci_high - part["mean"]).clip(lower=0)],
                    dtype=float)), fmt="none", color=colour(i), capsize=3)
            ax.plot(x, part["mean"], "o-", color=colour(i), lw=1.8, ms=4, label=label or None)
        if others:
            ax.legend(fontsize=7.5)
    ax.set_xlabel(param)


def _trial_column(table: pd.DataFrame) -> str:
    return "number" if "number" in table.columns else "trial" if "trial" in table.columns else table.columns[0]


def _objective_spec(item) -> tuple[str, str]:
    """(direction, outcome) of one entry of objectives.json: ``"max:OUTCOME"`` as tune writes it, or a
    ``[direction, outcome]`` pair; a bare name is minimised."""
    if isinstance(item, (list, tuple)) and len(item) == 2:
        return str(item[0]), str(item[1])
    text = str(item)
    direction, sep, outcome = text.partition(":")
    if sep and direction.strip().lower() in ("min", "max", "minimize", "maximize"):
        return direction.strip().lower(), outcome.strip()
    return "min", text


def _objectives(data: FolderData, table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(direction, outcome name, column holding its values) per objective."""
    spec = data.objectives.get("objectives") or []
    found = []
    for i, item in enumerate(spec):
        direction, outcome = _objective_spec(item)
        for column in (f"values_{i}", "value" if len(spec) == 1 else None, outcome):
            if column and column in table.columns:
                found.append((direction, outcome, column))
                break
    if not found:
        columns = [c for c in table.columns if c.startswith("values_")] or (["value"] if "value" in table.columns else [])
        found = [("min", c, c) for c in columns]
    return found


def _is_min(direction: str) -> bool:
    return direction.lower().startswith("min")


def _usable(table: pd.DataFrame) -> pd.Series:
    ok = table["state"].astype(str).str.upper().eq("COMPLETE") if "state" in table.columns else pd.Series(True, index=table.index)
    if "feasible" in table.columns:
        ok &= table["feasible"].astype(bool)
    constraint_cols = [c for c in table.columns if c.startswith("constraint")]
    for c in constraint_cols:
        if _numeric(table[c]):
            ok &= ~(table[c] > 0)
    return ok


def _label(outcome: str) -> str:
    """An axis label: an outcome's (with its unit), or a tuned parameter's path as it is."""
    return outcome if "." in outcome else outcome_label(outcome)


def tuning_charts(data: FolderData, outcomes: list[str] | None = None) -> dict[str, Figure]:
    """What can the policy achieve? The Pareto front of two objectives, and the search history."""
    table = data.table("trials.parquet")
    if table is None:
        return {}
    objectives = _objectives(data, table)
    if not objectives:
        return {}
    number = _trial_column(table)
    table = table.sort_values(number)
    ok = _usable(table)
    figures = {}
    fig, axes = figure(4.6 * len(objectives) + 0.8, 3.9, nrows=1, ncols=len(objectives), squeeze=False)
    for k, (direction, outcome, column) in enumerate(objectives):
        ax = axes[0][k]
        values = table[column].astype(float)
        low, high = f"{outcome}:ci_low", f"{outcome}:ci_high"
        if low in table.columns and high in table.columns:  # each trial's 95% interval over its replications
            below = (values - table[low].astype(float)).clip(lower=0)
            above = (table[high].astype(float) - values).clip(lower=0)
            ax.errorbar(table[number], values, yerr=np.nan_to_num(np.asarray([below, above], dtype=float)),
                        fmt="none", ecolor=NEUTRAL, elinewidth=0.8, alpha=0.6, capsize=2)
            _limit_to_points(ax, values, table[low].astype(float), table[high].astype(float))
        ax.scatter(table[number][ok], values[ok], s=18, color=colour(0), alpha=0.7, label="feasible trial", zorder=3)
        if (~ok).any():
            ax.scatter(table[number][~ok], values[~ok], s=18, facecolors="none", edgecolors=NEUTRAL,
                       label="infeasible or failed", zorder=3)
        running = values.where(ok)
        best = running.cummin() if _is_min(direction) else running.cummax()
        ax.step(table[number], best.ffill(), where="post", color=colour(1), lw=2, label="best so far")
        ax.set_xlabel("trial number")
        ax.set_ylabel(f"{_label(outcome)}, {'lower' if _is_min(direction) else 'higher'} is better")
        ax.legend(fontsize=8)
    title(fig, "How did the search progress?", "Each dot is one trial: the mean over its replications, with its 95% "
          "interval where the folder has it; the line is the best feasible trial so far.")
    figures["tuning_history"] = fig
    if len(objectives) == 2:
        figures["tuning_pareto"] = _pareto(table, ok, objectives)
    return figures


def _limit_to_points(ax, values: pd.Series, low: pd.Series, high: pd.Series) -> None:
    """Keep the trials readable: the axis follows the points, and intervals reach at most one span of
    the points beyond them (wider ones, from few replications, run off the axis)."""
    finite = values[np.isfinite(values)]
    if finite.empty:
        return
    lo, hi = float(finite.min()), float(finite.max())
    span = (hi - lo) or abs(hi) or 1.0
    ends = pd.concat([low, high])
    ends = ends[np.isfinite(ends)].clip(lo - span, hi + span)
    bottom = min([lo - 0.08 * span, *([float(ends.min())] if len(ends) else [])])
    top = max([hi + 0.08 * span, *([float(ends.max())] if len(ends) else [])])
    ax.set_ylim(bottom, top)


def pareto_mask(costs: np.ndarray) -> np.ndarray:
    """Rows of a (trials x objectives) cost matrix (lower is better) that no other row dominates."""
    keep = np.ones(len(costs), dtype=bool)
    for i in range(len(costs)):
        dominated = ((costs <= costs[i]).all(axis=1) & (costs < costs[i]).any(axis=1)).any()
        keep[i] = not dominated
    return keep


def _pareto(table: pd.DataFrame, ok: pd.Series, objectives) -> Figure:
    (d0, o0, c0), (d1, o1, c1) = objectives
    x, y = table[c0].astype(float), table[c1].astype(float)
    usable = ok & np.isfinite(x) & np.isfinite(y)
    signs = np.array([1.0 if _is_min(d0) else -1.0, 1.0 if _is_min(d1) else -1.0])
    costs = np.column_stack([x[usable], y[usable]]) * signs
    front = pareto_mask(costs) if len(costs) else np.zeros(0, dtype=bool)
    fig, ax = figure(7.5, 5.2)
    ax.scatter(x[usable], y[usable], s=22, color=NEUTRAL, alpha=0.5, label="feasible trial")
    if (~usable).any():
        ax.scatter(x[~usable], y[~usable], s=22, facecolors="none", edgecolors=NEUTRAL, alpha=0.6,
                   label="infeasible or failed")
    fx, fy = x[usable][front], y[usable][front]
    order = np.argsort(fx.to_numpy())
    ax.step(fx.to_numpy()[order], fy.to_numpy()[order], where="post" if signs[1] > 0 else "pre",
            color=colour(5), lw=1.5, alpha=0.8)
    ax.scatter(fx, fy, s=60, color=colour(5), edgecolors="black", linewidths=0.6, zorder=3, label="Pareto front")
    ax.set_xlabel(f"{_label(o0)}, {'lower' if _is_min(d0) else 'higher'} is better")
    ax.set_ylabel(f"{_label(o1)}, {'lower' if _is_min(d1) else 'higher'} is better")
    ax.legend()
    title(fig, f"What is the best trade-off between {o0.replace('_', ' ')} and {o1.replace('_', ' ')}?",
          "Highlighted: trials no other feasible trial beats on both objectives (the Pareto front).")
    return fig


def sensitivity_chart(data: FolderData, outcomes: list[str] | None = None) -> dict[str, Figure]:
    """Which parameters matter most for each outcome? Sensitivity indices with their intervals."""
    table = data.table("sensitivity.csv")
    if table is None:
        return {}
    chosen = pick_outcomes(table.outcome, outcomes)
    if not chosen:
        return {}
    indices = list(dict.fromkeys(table["index"].astype(str)))
    params = list(dict.fromkeys(table.parameter))
    cols = min(len(chosen), 2)
    rows_n = -(-len(chosen) // cols)
    fig, axes = figure(5.6 * cols + 1.5, 0.5 + rows_n * (0.9 + 0.38 * len(params) * max(1, len(indices) * 0.6)),
                       nrows=rows_n, ncols=cols, squeeze=False)
    for k, outcome in enumerate(chosen):
        ax = axes[k // cols][k % cols]
        part = table[table.outcome == outcome]
        order = part.groupby("parameter")["value"].max().sort_values(ascending=False).index.tolist()
        for i, index in enumerate(indices):
            rows = part[part["index"].astype(str) == index].set_index("parameter").reindex(order)
            offset = (i - (len(indices) - 1) / 2) * (0.6 / len(indices))
            y = np.arange(len(order)) + offset
            err = np.nan_to_num(np.asarray([(rows["value"] - rows.ci_low).clip(lower=0),
                                            (rows.ci_high - rows["value"]).clip(lower=0)], dtype=float))
            ax.errorbar(rows["value"], y, xerr=err, fmt="o", color=colour(i), capsize=3, ms=5, label=index)
        ax.set_yticks(range(len(order)), order)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.axvline(0, color="black", lw=0.8)
        ax.grid(axis="y", visible=False)
        ax.set_title(outcome.replace("_", " "), loc="left", fontsize=10)
        morris = {"mu_star", "sigma"} & set(indices)
        ax.set_xlabel(f"mu_star, sigma ({outcome_label(outcome).rpartition('(')[2].rstrip(')')})\nper unit of the "
                      "parameter's 0..1-scaled range" if morris else "S1, ST (share of the outcome's variance)")
    for k in range(len(chosen), rows_n * cols):
        axes[k // cols][k % cols].set_visible(False)
    handles = [Line2D([], [], marker="o", ls="", color=colour(i), label=ix) for i, ix in enumerate(indices)]
    legend_below(fig, handles=handles, ncols=len(indices))
    title(fig, "Which parameters matter most for each outcome?",
          "Sensitivity indices with their 95% intervals, largest first (e.g. S1: first order, ST: total).")
    return {"sensitivity": fig}
