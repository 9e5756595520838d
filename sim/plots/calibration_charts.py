"""Charts of a calibration (``modsim calibrate``): what the data say about each parameter.

- ``calibration_marginals``: each parameter's weighted posterior over its prior's range, with the median
  and the 90% interval (a posterior as wide as the range: the targets do not identify it);
- ``calibration_pairs``: every pair of parameters, a dot per particle sized by its weight (a ridge: the
  targets identify a combination, not each);
- ``calibration_predictive``: each target simulated under the posterior against the observed value and
  its tolerance (an observed value outside the simulated range: the model cannot reproduce that fact).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from sim.plots.data import FolderData
from sim.plots.style import NEUTRAL, REAL, colour, figure, title


def _priors(data: FolderData) -> list[dict]:
    summary = data.table("posterior.csv")
    return [] if summary is None else summary.to_dict("records")


def _is_log(prior: dict) -> bool:
    return str(prior.get("prior", "")).startswith("log")


def _scale(prior: dict) -> tuple[float, str]:
    """Durations shown in days when the prior spans days, else hours; other parameters as they are."""
    if prior.get("unit") == "h":
        return (24.0, "days") if float(prior["high"]) >= 48 else (1.0, "hours")
    return 1.0, ""


def _log_axis(ax, axis: str) -> None:
    """A log axis labelled with plain numbers (0.5, 20, 300), not powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(NullFormatter())


def _short(path: str) -> str:
    """The last two segments of a dotted path (``board.selection_delay``, ``violations.0.probability``)."""
    return ".".join(str(path).split(".")[-2:])


def _grid(n: int, width: float = 4.2, height: float = 3.0):
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = figure(width * cols, height * rows + 0.6, nrows=rows, ncols=cols, squeeze=False)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    return fig, [axes[k // cols][k % cols] for k in range(n)]


def marginal_chart(data: FolderData) -> dict[str, Figure]:
    """What does the calibration say about each parameter? Weighted posterior over the prior's range."""
    post, priors = data.table("posterior.parquet"), _priors(data)
    if post is None or not priors:
        return {}
    fig, axes = _grid(len(priors))
    w = post.weight.to_numpy(dtype=float)
    for ax, prior in zip(axes, priors):
        unit, label = _scale(prior)
        low, high = float(prior["low"]) / unit, float(prior["high"]) / unit
        x = post[prior["parameter"]].to_numpy(dtype=float) / unit
        bins = np.geomspace(low, high, 21) if _is_log(prior) else np.linspace(low, high, 21)
        ax.hist(x, bins=bins, weights=w, color=colour(0), alpha=0.75, density=True)
        for value, style in ((prior["median"], "-"), (prior["q05"], "--"), (prior["q95"], "--")):
            ax.axvline(float(value) / unit, color="black", ls=style, lw=1)
        if _is_log(prior):
            _log_axis(ax, "x")
        ax.set_xlim(low, high)
        ax.set_yticks([])
        ax.set_title(str(prior["parameter"]), loc="left", fontsize=9)
        ax.set_xlabel(f"{prior['prior']}" + (f" ({label})" if label else ""), fontsize=8)
    title(fig, "What do the targets say about each parameter?",
          "Weighted posterior of the last generation over the prior's range; median (solid) and 90% interval "
          "(dashed).")
    return {"calibration_marginals": fig}


def pairs_chart(data: FolderData) -> dict[str, Figure]:
    """Which combinations do the targets pin down? Every pair of parameters, a dot per particle."""
    post, priors = data.table("posterior.parquet"), _priors(data)
    if post is None or len(priors) < 2:
        return {}
    n = len(priors) - 1  # rows: the 2nd..last parameter (y); columns: the 1st..second-to-last (x)
    fig, axes = figure(max(2.6 * n + 0.8, 6.5), 2.6 * n + 0.8, nrows=n, ncols=n, squeeze=False)
    w = post.weight.to_numpy(dtype=float)
    sizes = 8 + 60 * w / max(w.max(), 1e-300)
    for i, py in enumerate(priors[1:]):
        for j, px in enumerate(priors[:-1]):
            ax = axes[i][j]
            if j > i:
                ax.set_visible(False)
                continue
            (ux, lx), (uy, ly) = _scale(px), _scale(py)
            ax.scatter(post[px["parameter"]] / ux, post[py["parameter"]] / uy, s=sizes, color=colour(0), alpha=0.5,
                       lw=0)
            ax.set_xlim(float(px["low"]) / ux, float(px["high"]) / ux)
            ax.set_ylim(float(py["low"]) / uy, float(py["high"]) / uy)
            if _is_log(px):
                _log_axis(ax, "x")
            if _is_log(py):
                _log_axis(ax, "y")
            if i == n - 1:
                ax.set_xlabel(_short(px["parameter"]) + (f" ({lx})" if lx else ""), fontsize=8)
            if j == 0:
                ax.set_ylabel(_short(py["parameter"]) + (f" ({ly})" if ly else ""), fontsize=8)
            ax.tick_params(labelsize=7)
    title(fig, "Which combinations of parameters do the targets pin down?",
          "Each particle of the last generation, sized by its weight, over the priors' ranges.")
    return {"calibration_pairs": fig}


def predictive_chart(data: FolderData) -> dict[str, Figure]:
    """Does the calibrated model reproduce each observed fact? Simulated values against the observed one."""
    long, summary = data.table("predictive.parquet"), data.table("predictive.csv")
    if long is None or summary is None:
        return {}
    fig, axes = _grid(len(summary), 3.6, 2.6)
    for ax, row in zip(axes, summary.to_dict("records")):
        x = long.value[long.target == row["target"]].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        obs, tol = float(row["observed"]), float(row["tolerance"])
        low, high = (obs - tol, obs + tol) if row["bound"] == "equal" else \
            ((obs, obs + 3 * tol) if row["bound"] == "at_least" else (obs - 3 * tol, obs))
        ax.axvspan(low, high, color=REAL, alpha=0.12, lw=0)
        if len(x):
            ax.hist(x, bins=min(20, max(5, len(x) // 2)), color=colour(0), alpha=0.8)
        ax.axvline(obs, color=REAL, ls="--", lw=1.2)
        ax.set_yticks([])
        ax.set_title(str(row["target"]).replace("_", " "), loc="left", fontsize=9)
        ax.set_xlabel(f"{int(row['defined'])} of {int(row['draws'])} draws defined; "
                      f"{float(row['within_tolerance']):.0%} within", fontsize=8, color=NEUTRAL)
    title(fig, "Does the calibrated model reproduce each observed fact?",
          "Posterior predictive check: each target's values in replications at particles drawn from the posterior "
          "(bars), the observed value (dashed) and its tolerance or bound (shaded).")
    return {"calibration_predictive": fig}


def calibration_charts(data: FolderData, outcomes: list[str] | None = None) -> dict[str, Figure]:
    """Every calibration chart the folder's files allow."""
    return {**marginal_chart(data), **pairs_chart(data), **predictive_chart(data)}
