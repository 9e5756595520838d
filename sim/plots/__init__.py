"""Charts of a results folder, drawn from whichever of its files exist.

``draw_charts(folder)`` looks at what the folder holds (``survival.parquet``, ``timeseries.parquet``,
``tracked.parquet``, ``comparison.csv``, ``sweep.parquet``, ``trials.parquet``, ``sensitivity.csv``, a calibration's ``posterior.parquet`` and ``predictive.parquet``)
and draws every chart those files allow into ``folder/charts/`` as PNG and SVG. A missing optional
file means a missing chart, never an error. ``build_charts`` returns the matplotlib Figures without
saving them (for tests and notebooks).

Every chart has a title that states the question it answers, axis labels with units, and shows its
uncertainty: 10-90% bands across replications for what happened inside runs, 95% confidence
intervals for means and differences.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable

from matplotlib.figure import Figure

from sim.plots.calibration_charts import calibration_charts
from sim.plots.data import FolderData
from sim.plots.experiment_charts import comparison_chart, sensitivity_chart, sweep_charts, tuning_charts
from sim.plots.run_charts import government_chart, survival_chart, timeseries_chart, tracked_charts

# In reading order: the report shows the charts in this order. Each builder gets (data, outcomes).
BUILDERS: list[tuple[str, Callable[[FolderData, list[str] | None], dict[str, Figure]]]] = [
    ("comparison", comparison_chart),
    ("survival", lambda data, outcomes: survival_chart(data)),
    ("timeseries", lambda data, outcomes: timeseries_chart(data)),
    ("tracked", lambda data, outcomes: tracked_charts(data)),
    ("government", lambda data, outcomes: government_chart(data)),
    ("sweep", sweep_charts),
    ("tuning", tuning_charts),
    ("sensitivity", sensitivity_chart),
    ("calibration", calibration_charts),
]

CAPTIONS = {
    "comparison": "Paired differences against the reference scenario with 95% confidence intervals, as a "
                  "percentage of the reference mean.",
    "survival": "Share of violating posts still up against time since publication (Kaplan-Meier, log time "
                "axis): median over replications with the 10-90% band.",
    "timeseries": "Daily live views of violating content and queue lengths: median over replications with "
                  "the 10-90% band.",
    "tracked": "Every event in the tracked post's life, one lane per kind: a dot per replication, a diamond "
               "at the median first occurrence; the dashed line marks the real removal where known.",
    "government": "The government's grievance and the steps it took up its escalation ladder.",
    "sweep": "Outcome against each swept parameter: mean with its 95% confidence interval.",
    "tuning_pareto": "Trials of the tuning study; the Pareto front (best trade-offs) highlighted.",
    "tuning_history": "Objective value of each trial (mean over its replications with its 95% interval; hollow when "
                      "infeasible or failed) and the best feasible value found so far.",
    "sensitivity": "Sensitivity indices of each parameter with their 95% intervals.",
    "calibration_marginals": "Each parameter's weighted posterior over its prior's range, with the median and the "
                             "90% interval: a posterior as wide as the range means the targets do not identify it.",
    "calibration_pairs": "Every pair of calibrated parameters, a dot per particle sized by its weight: a ridge means "
                         "the targets identify a combination, not each parameter.",
    "calibration_predictive": "Posterior predictive check: each target in replications at particles drawn from the "
                              "posterior, against the observed value (dashed) and its tolerance (shaded).",
}


def caption(chart: str) -> str:
    """What a chart (by its file stem, e.g. 'tracked_bat_speech') shows, in one sentence."""
    for key in sorted(CAPTIONS, key=len, reverse=True):
        if chart == key or chart.startswith(key + "_") or chart.startswith(key):
            return CAPTIONS[key]
    return ""


def build_charts(folder: str | Path, outcomes: list[str] | None = None, strict: bool = False) -> dict[str, Figure]:
    """Every chart the folder's files allow, as {file stem: matplotlib Figure}, in reading order.

    A chart that cannot be drawn (e.g. a table from a newer modsim with unexpected values) is skipped
    with a warning unless ``strict``: a long run must not lose its report because one chart failed.
    """
    data = FolderData(folder)
    figures: dict[str, Figure] = {}
    for name, builder in BUILDERS:
        try:
            figures.update(builder(data, outcomes))
        except Exception as exc:  # noqa: BLE001 (one failed chart must not lose the others)
            if strict:
                raise
            warnings.warn(f"chart {name} skipped: {type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)
    return figures


def draw_charts(folder: str | Path, outcomes: list[str] | None = None, processes: int = 1) -> list[Path]:
    """Draw every chart the folder allows into ``folder/charts/`` (PNG and SVG); return the files written.

    Charts from an earlier drawing are replaced, so the folder never mixes old and new styles. With
    ``processes`` above 1 the charts are shared out over that many processes (``sim.plots.parallel``;
    POSIX, and only while this process runs no other thread): the same files, sooner.
    """
    import threading

    folder = Path(folder)
    charts = folder / "charts"
    if charts.is_dir():
        for old in charts.glob("*"):
            if old.suffix in (".png", ".svg"):
                old.unlink()
    from sim.plots.parallel import draw_parallel, draw_serial

    if processes > 1 and hasattr(os, "fork") and threading.active_count() == 1:
        return draw_parallel(folder, outcomes, BUILDERS, processes)
    return draw_serial(folder, outcomes, BUILDERS)


def chart_order(stem: str) -> int:
    """Position of a chart in reading order (for the report)."""
    for i, (key, _) in enumerate(BUILDERS):
        if stem == key or stem.startswith(key + "_"):
            return i
    return len(BUILDERS)


__all__ = ["build_charts", "caption", "chart_order", "draw_charts"]
