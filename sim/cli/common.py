"""What every command shares: the Typer app, error handling, progress bars and the outcome table."""

from __future__ import annotations

import functools
import inspect
import os
import shlex
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, NoReturn

import typer
import typer.models

from sim.errors import ModsimError, _one_line
from sim.formatting import format_number

if TYPE_CHECKING:
    import pandas as pd

# The quick commands (--help, list, schema, validate) import nothing heavy: every command imports
# pandas, the model, matplotlib, Optuna or Dask inside its own body, when it runs.

app = typer.Typer(
    name="modsim",
    help="Simulate content moderation, oversight and state retaliation from YAML scenarios.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class _Console:
    """A rich ``Console`` made on first use, so that a command that prints plain lines never imports rich."""

    def __init__(self, stderr: bool = False):
        self._stderr = stderr
        self._console = None

    def __getattr__(self, name: str):
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return getattr(self._console, name)


console = _Console()
err_console = _Console(stderr=True)

EXIT_USER_ERROR = 2
EXIT_FAILURES = 3
EXIT_INTERRUPTED = 130


def fail(message: str) -> None:
    """Print one error line and exit with the user-error status."""
    _print_error(message)
    raise typer.Exit(EXIT_USER_ERROR)


def _print_error(message: str) -> None:
    err_console.print(f"error: {_one_line(message)}", markup=False, highlight=False, soft_wrap=True)


def user_errors(command: Callable) -> Callable:
    """Turn modsim's user-facing errors into one line on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ModsimError as exc:
            fail(str(exc))
        except MemoryError:
            fail("out of memory; lower the scenario's counts, rates or horizon, or run fewer --workers")
        except OSError as exc:
            # The environment failed (disk full, folder not writable) outside modsim's own checks.
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            fail(f"{exc.strerror or exc}{where}")

    return wrapper


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar with ETA on stderr; yields a function to call once per finished item."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("eta"), TimeRemainingColumn(), console=err_console, transient=True,
        disable=not err_console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


def print_summary(summary: pd.DataFrame, outcomes: list[str], title: str) -> None:
    """Print the key outcomes with their 95% confidence intervals."""
    from rich.table import Table

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


def interrupted(message: str = "interrupted") -> NoReturn:
    """Say that the command was interrupted (and what was kept), then exit with status 130."""
    global _interrupt_reported
    _interrupt_reported = True
    try:
        err_console.print(message, markup=False, highlight=False, soft_wrap=True)
    except (OSError, KeyboardInterrupt):
        pass
    raise typer.Exit(EXIT_INTERRUPTED)


_interrupt_reported = False


def command_line(name: str, signature: inspect.Signature, values: dict) -> list[str]:
    """The words of a command line asking for the same work as ``values`` (a command's arguments by name).

    Every given argument and option is kept but ``--out``, ``--force`` and ``--resume``; each option
    by its long name, as its Typer declaration in ``signature`` names it.
    """
    words = ["modsim", name]
    for key, param in signature.parameters.items():
        value = values.get(key)
        if key in ("out", "force", "resume") or value is None or value is False or value in ((), []):
            continue
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if isinstance(param.default, typer.models.ArgumentInfo):
            words += [str(item) for item in items]
            continue
        flag = max(param.default.param_decls, key=len)
        if value is True:
            words.append(flag)
        else:
            for item in items:
                words += [flag, str(item)]
    return words


def resume_command(words: list[str], work) -> str:
    """The complete command line that continues an interrupted command (``command_line``) in ``work``."""
    return shlex.join([*words, "--resume", str(work)])


def main() -> None:
    """Console-script entry point: exit 0 ok, 2 user error, 3 some replications failed, 130 interrupted.

    Typer turns a Ctrl-C that a command does not handle into a silent exit 130; modsim says
    "interrupted" (once: commands that handle it say what they kept, through ``interrupted``).
    """
    # modsim uses no pydantic plugin; looking for them scans every installed package's entry points.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        app()
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED and not _interrupt_reported:
            _say_interrupted()
        raise
    except KeyboardInterrupt:
        if not _interrupt_reported:
            _say_interrupted()
        sys.exit(EXIT_INTERRUPTED)
    except ModsimError as exc:  # raised outside a command's own handling
        _print_error(str(exc))
        sys.exit(EXIT_USER_ERROR)


def _say_interrupted() -> None:
    try:
        err_console.print("interrupted", markup=False)
    except (OSError, KeyboardInterrupt):
        pass
