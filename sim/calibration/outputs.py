"""What a calibration leaves in its results folder, besides ``abc.db`` and ``generations.csv``.

- ``posterior.parquet``: the last generation's particles (weight, distance, each parameter's value);
- ``posterior.csv``: each parameter's prior, weighted posterior median, 90% interval (5% and 95%
  quantiles) and mean, with the prior's bounds to judge how much the data narrowed it;
- ``predictive.parquet`` and ``predictive.csv``: the posterior predictive check: replications at particles
  drawn from the posterior by weight, each target's simulated values against the observed one;
- ``calibrated.yaml``: a scenario that extends the original with the posterior medians, each commented.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.calibration.priors import Prior
from sim.calibration.targets import Target

POSTERIOR_COLUMNS = ["parameter", "prior", "low", "high", "median", "q05", "q95", "mean", "unit", "width_share"]


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of weighted values (the inverse of their weighted empirical distribution, interpolated
    at the middle of each value's weight)."""
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    keep = np.isfinite(values) & (weights > 0)
    values, weights = values[keep], weights[keep]
    if not len(values):
        return float("nan")
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    cumulative = (np.cumsum(weights) - 0.5 * weights) / weights.sum()
    return float(np.interp(q, cumulative, values))


def posterior_summary(post: pd.DataFrame, priors: list[Prior]) -> pd.DataFrame:
    """``posterior.csv``: one row per parameter (durations in hours; ``width_share``: the 90% interval's width
    over the prior's, on the prior's scale, near 0.9 when the data say nothing about it)."""
    rows = []
    w = post.weight.to_numpy(dtype=float)
    for p in priors:
        x = post[p.path].to_numpy(dtype=float)
        q05, q50, q95 = (weighted_quantile(x, w, q) for q in (0.05, 0.5, 0.95))
        scale = (lambda v: np.log10(v)) if p.log else (lambda v: v)
        span = scale(p.range.high) - scale(p.range.low)
        rows.append({"parameter": p.path, "prior": p.text, "low": p.range.low, "high": p.range.high, "median": q50,
                     "q05": q05, "q95": q95, "mean": float(np.average(x, weights=w)),
                     "unit": "h" if p.kind == "duration" else "", "width_share": (scale(q95) - scale(q05)) / span})
    return pd.DataFrame(rows, columns=POSTERIOR_COLUMNS)


def predictive_draws(post: pd.DataFrame, count: int, seed: int) -> list[int]:
    """Which particles the posterior predictive check simulates: ``count`` drawn by weight, seeded."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 99]))
    w = post.weight.to_numpy(dtype=float)
    return [int(i) for i in rng.choice(len(post), size=count, replace=True, p=w / w.sum())]


def predictive_tables(values: dict[int, dict], draws: list[int], targets: list[Target]
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``predictive.parquet`` (draw, particle, target, value) and ``predictive.csv`` (per target: observed,
    tolerance, bound, simulated median and 5-95% range, the share of draws within the tolerance or bound,
    and the share at or below the observed value: near 0 or 1, the calibrated model cannot reproduce it)."""
    long = [{"draw": k, "particle": draws[k], "target": t.name, "value": float(values[k].get(t.name, np.nan))}
            for k in sorted(values) for t in targets]
    table = pd.DataFrame(long, columns=["draw", "particle", "target", "value"])
    rows = []
    for t in targets:
        x = table.value[table.target == t.name].to_numpy(dtype=float)
        finite = x[np.isfinite(x)]
        inside = [abs(t.term(v)) <= 1.0 for v in x]
        rows.append({"target": t.name, "observed": t.observed, "tolerance": t.tolerance, "bound": t.bound,
                     "median": float(np.median(finite)) if len(finite) else np.nan,
                     "q05": float(np.quantile(finite, 0.05)) if len(finite) else np.nan,
                     "q95": float(np.quantile(finite, 0.95)) if len(finite) else np.nan,
                     "within_tolerance": float(np.mean(inside)) if len(x) else np.nan,
                     "at_or_below_observed": float(np.mean(finite <= t.observed)) if len(finite) else np.nan,
                     "defined": int(len(finite)), "draws": int(len(x))})
    return table, pd.DataFrame(rows)


def _scalar(value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000, sort_keys=False, allow_unicode=True).strip()
    return text[:-3].strip() if text.endswith("...") else text


def _overrides(base: dict, priors: list[Prior], summary: pd.DataFrame) -> dict[tuple, tuple]:
    """{key path: (value, calibrated paths)}: each median at its path; a path through a list replaces the
    whole list (``extends`` replaces lists), taken from the resolved scenario."""
    medians = dict(zip(summary.parameter, summary["median"]))
    out: dict[tuple, tuple] = {}
    for p in priors:
        segments = [int(s) if s.isdigit() else s for s in p.path.split(".")]
        value = p.setting(float(medians[p.path]))
        cut = next((i for i, s in enumerate(segments) if isinstance(s, int)), None)
        if cut is None:
            out[tuple(segments)] = (value, [p.path])
            continue
        key = tuple(segments[:cut])
        current = out.get(key, (_lookup(base, key), []))
        items = yaml.safe_load(yaml.safe_dump(current[0]))
        here = items
        for s in segments[cut:-1]:
            here = here[s]
        here[segments[-1]] = value
        out[key] = (items, [*current[1], p.path])
    return out


def _lookup(data, path: tuple):
    for s in path:
        data = data[s]
    return data


def calibrated_yaml(scenario_path: Path, final: Path, base_document: dict, priors: list[Prior],
                    summary: pd.DataFrame, label: str, sets: list[str]) -> str:
    """The text of ``calibrated.yaml``: ``extends`` the original (relative to the results folder), each
    calibrated value set to its posterior median with a comment naming the calibration and its interval."""
    rows = summary.set_index("parameter")
    extends = os.path.relpath(os.path.abspath(scenario_path), os.path.abspath(final))
    lines = [f"# {label}: the posterior medians of modsim calibrate ({dt.date.today().isoformat()}).",
             "# Each calibrated value is commented with its 90% posterior interval."]
    if sets:
        lines.append("# The calibration ran with " + " ".join(f"--set {s}" for s in sets) + " (not applied here).")
    lines += [f"extends: {_scalar(extends)}", f"name: {_scalar(str(base_document.get('name', 'scenario')) + '_calibrated')}"]
    tree: dict = {}
    for path, (value, paths) in _overrides(base_document, priors, summary).items():
        node = tree
        for s in path[:-1]:
            node = node.setdefault(s, {})
        notes = []
        for q in paths:
            p = next(x for x in priors if x.path == q)
            r = rows.loc[q]
            notes.append(f"{q}: median {p.shown(r['median'])}, 90% {p.shown(r.q05)}..{p.shown(r.q95)}, prior {p.text}")
        node[path[-1]] = ("leaf", value, f"calibrated ({label}): " + "; ".join(notes))
    _emit(tree, 0, lines)
    return "\n".join(lines) + "\n"


def _emit(tree: dict, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    for key, node in tree.items():
        if isinstance(node, tuple) and node and node[0] == "leaf":
            lines.append(f"{pad}{key}: {_scalar(node[1])}   # {node[2]}")
        else:
            lines.append(f"{pad}{key}:")
            _emit(node, depth + 1, lines)
