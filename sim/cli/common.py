"""What every command shares: the Typer app, error handling, progress bars and the outcome table."""

from __future__ import annotations

import functools
import math
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from sim.errors import ModsimError

app = typer.Typer(
    name="modsim",
    help="Simulate content moderation, oversight and state retaliation from YAML scenarios.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()
err_console = Console(stderr=True)

EXIT_USER_ERROR = 2
EXIT_FAILURES = 3
EXIT_INTERRUPTED = 130


def fail(message: str) -> None:
    """Print one error line and exit with the user-error status."""
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_USER_ERROR)


def user_errors(command: Callable) -> Callable:
    """Turn modsim's user-facing errors into one line on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ModsimError as exc:
            fail(str(exc))

    return wrapper


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar with ETA on stderr; yields a function to call once per finished item."""
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("eta"), TimeRemainingColumn(), console=err_console, transient=True,
        disable=not err_console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


def format_number(value: float) -> str:
    """A number as people read it in a table: few significant digits, thousands separated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.01 or magnitude == 0:
        return f"{value:.3f}"
    return f"{value:.2e}"


def print_summary(summary: pd.DataFrame, outcomes: list[str], title: str) -> None:
    """Print the key outcomes with their 95% confidence intervals."""
    table = Table(title=title, title_justify="left")
    table.add_column("outcome")
    table.add_column("mean", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("n", justify="right")
    rows = summary.set_index("outcome")
    for name in outcomes:
        if name not in rows.index:
            continue
        row = rows.loc[name]
        ci = f"{format_number(row.ci_low)} .. {format_number(row.ci_high)}"
        table.add_row(name, format_number(row["mean"]), ci, str(int(row.n)))
    console.print(table)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        sys.exit(EXIT_INTERRUPTED)
