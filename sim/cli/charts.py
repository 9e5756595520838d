"""`modsim plot` and `modsim report`: redraw a results folder's charts, rewrite its HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sim.cli.common import app, console, user_errors
from sim.errors import ModsimError

RESULT_FILES = ("summary.csv", "survival.parquet", "timeseries.parquet", "tracked.parquet", "comparison.csv",
                "sweep.parquet", "trials.parquet", "sensitivity.csv", "replications.parquet", "posterior.parquet")


class FolderError(ModsimError):
    """The folder named on the command line is not a results folder."""


def results_folder(folder: Path) -> Path:
    """Check that a folder exists and holds results; one clear error otherwise."""
    if not folder.is_dir():
        raise FolderError(f"{folder}: no such folder")
    if not any((folder / name).is_file() for name in RESULT_FILES):
        raise FolderError(f"{folder}: holds no modsim results (expected e.g. summary.csv or survival.parquet)")
    return folder


def _outcomes(text: Optional[str]) -> list[str] | None:
    names = [o.strip() for o in (text or "").split(",") if o.strip()]
    return names or None


@app.command()
@user_errors
def plot(
    folder: Path = typer.Argument(..., metavar="DIR", help="A results folder (from run, compare, sweep, tune...)."),
    outcomes: Optional[str] = typer.Option(None, "--outcomes", help="Comma-separated outcomes to chart (default: the key ones)."),
) -> None:
    """Redraw every chart a results folder allows into DIR/charts/ (PNG and SVG).

    Example: modsim plot results/baseline-20250101T000000Z --outcomes violating_views,removed_share
    """
    from sim.plots import draw_charts

    written = draw_charts(results_folder(folder), _outcomes(outcomes))
    charts = sorted({p.stem for p in written})
    console.print(f"{len(charts)} chart(s) in {folder / 'charts'}: {', '.join(charts) or 'none'}",
                  markup=False, highlight=False)


@app.command()
@user_errors
def report(
    folder: Path = typer.Argument(..., metavar="DIR", help="A results folder (from run, compare, sweep, tune...)."),
    outcomes: Optional[str] = typer.Option(None, "--outcomes", help="Comma-separated key outcomes for the table (default: the key ones)."),
    redraw: bool = typer.Option(False, "--redraw", help="Redraw the charts first."),
) -> None:
    """(Re)write DIR/report.html: one self-contained page with the question, outcomes, charts and scenario.

    Charts are drawn first when the folder has none (or with --redraw).

    Example: modsim report results/cambodia_2023-20250101T000000Z
    """
    from sim.plots import draw_charts
    from sim.report import write_report

    results_folder(folder)
    if redraw or not (folder / "charts").is_dir():
        draw_charts(folder, _outcomes(outcomes))
    path = write_report(folder, _outcomes(outcomes))
    console.print(f"report: {path}", markup=False, highlight=False)
