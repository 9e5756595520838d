"""What every command shares: the Typer app, error handling, progress bars and the outcome table."""

from __future__ import annotations

import functools
import inspect
import os
import shlex
import signal
import sys
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, NoReturn

import typer
import typer.models

from sim.errors import ModsimError, _one_line
from sim.formatting import format_number
from sim.interrupts import exit_status, exiting, signal_name, stop_on_signals, stop_signal

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
            if not self._console.is_terminal:
                self._console.width = 100  # piped or captured: tables as wide as a wide terminal, not 80
        return getattr(self._console, name)


console = _Console()
err_console = _Console(stderr=True)

EXIT_USER_ERROR = 2
EXIT_FAILURES = 3
EXIT_INTERRUPTED = 130


def fail(message: str) -> None:
    """Print one error line and exit with the user-error status."""
    print_error(message)
    raise typer.Exit(EXIT_USER_ERROR)


def print_error(message: object) -> None:
    """One error line on stderr: ``error: MESSAGE``, the message on one line whatever it holds."""
    err_console.print(f"error: {_one_line(str(message))}", markup=False, highlight=False, soft_wrap=True)


def user_errors(command: Callable) -> Callable:
    """Turn modsim's user-facing errors into one line on stderr and exit status 2; at the end, release what the
    command held for the collector."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from sim.collector import release

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
        finally:
            release()  # what the command held for the collector (sim.collector)

    return wrapper


# Work expected to take longer than this is announced before it starts.
ANNOUNCE_AFTER_S = 30.0


@contextmanager
def progress_bar(description: str, total: int, expected_s: float | None = None) -> Iterator[Callable[[], None]]:
    """A progress bar with ETA on stderr; yields a function to call once per finished item.

    ``expected_s`` (the workload estimate of the whole work) is said before long work starts, and is
    the ETA until the first items finish and the bar can measure its own speed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    class Remaining(TimeRemainingColumn):
        def render(self, task):
            if task.time_remaining is None and task.fields.get("expected"):
                from rich.text import Text

                left = max(task.fields["expected"] - (task.elapsed or 0.0), 0.0)
                return Text(f"~{int(left) // 3600}:{int(left) % 3600 // 60:02d}:{int(left) % 60:02d}",
                            style="progress.remaining")
            return super().render(task)

    if expected_s is not None and expected_s > ANNOUNCE_AFTER_S:
        from sim.scenario.workload import say_expected

        err_console.print(f"{description}: {say_expected(expected_s)}", markup=False, highlight=False,
                          soft_wrap=True)
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("eta"), Remaining(), console=err_console, transient=True,
        disable=not err_console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total, expected=expected_s)
        yield lambda: progress.advance(task)


def print_summary(summary: pd.DataFrame, outcomes: list[str], title: str) -> None:
    """Print the key outcomes with their 95% confidence intervals (tracked posts grouped, names never cut)."""
    from sim.cli import tables

    table = tables.new_table(title)
    for header in ("mean", "95% CI", "n"):
        tables.add_number_column(table, header)
    rows = summary.set_index("outcome")
    for label, name in tables.grouped([o for o in outcomes if o in rows.index]):
        if name is None:
            table.add_row(label, "", "", "")
            continue
        row = rows.loc[name]
        ci = "-" if row.ci_low != row.ci_low else f"{format_number(row.ci_low)} .. {format_number(row.ci_high)}"
        table.add_row(label, format_number(row["mean"]), ci, str(int(row.n)))
    tables.show(table)


def interrupted(message: str = "interrupted") -> NoReturn:
    """Say that the command was interrupted (and what was kept), then exit with 128 + the signal.

    130 for Ctrl-C (SIGINT), 143 for SIGTERM, 129 for SIGHUP; for SIGTERM and SIGHUP the message says
    which ("interrupted by SIGTERM: ..."). The message goes to stderr even when that is a pipe whose
    reader is gone (``| tee``, stopped by the same Ctrl-C): then to the terminal, if there is one.
    """
    global _interrupt_reported
    _interrupt_reported = True
    exiting()
    signum = stop_signal()
    if signum not in (None, signal.SIGINT) and message.startswith("interrupted"):
        message = f"interrupted by {signal_name(signum)}{message[len('interrupted'):]}"
    _say(message)
    raise typer.Exit(exit_status(signum))


_interrupt_reported = False
_kept: Callable[[], str | None] | None = None


def keep_on_interrupt(describe: Callable[[], str | None] | None) -> None:
    """Say what an interruption keeps wherever it lands: ``describe()`` gives the lines that follow
    "interrupted: " (what is kept, "resume with: ..."), or None once there is nothing to resume (the
    results are in place). A command registers it as soon as its results folder exists, so that a
    Ctrl-C outside its own handling (while its tables are computed or its charts drawn) still prints the
    command that resumes it; ``main`` says it when the command did not."""
    global _kept
    _kept = describe


def _quiet_from_now_on() -> None:
    """Nothing more is worth saying once the command said it was interrupted: log records that the
    libraries' teardown emits while the process exits (a cancelled task, a closed connection) are
    dropped. Only for the console script (``main``), which exits next."""
    import logging

    logging.disable(logging.CRITICAL)


def _say(message: str) -> None:
    """Write lines to stderr, else (its reader gone, or a terminal hung up) to the terminal, else nowhere."""
    text = message.rstrip("\n") + "\n"
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
        if _read_from_the_pipe():
            return
    except (OSError, ValueError):
        pass
    _drop_broken_streams()
    try:
        with open("/dev/tty", "w") as tty:
            tty.write(text)
    except OSError:
        pass


def _read_from_the_pipe(patience: float = 2.0) -> bool:
    """Whether what was written to stderr reached a reader: False when stderr is a pipe whose reader
    went away with the lines unread. The Ctrl-C that stops modsim stops ``| tee`` too, and on a loaded
    machine tee may still be alive when modsim writes, then die before it reads: the write succeeded,
    yet nobody sees the lines. So wait (at most ``patience`` seconds) until the pipe is drained or its
    reader is gone. True for anything but a pipe, and when this system cannot tell."""
    import fcntl
    import select
    import stat
    import struct
    import termios

    try:
        fd = sys.stderr.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return True
        poller = select.poll()
        poller.register(fd, select.POLLERR)
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            unread = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
            if unread == 0:
                return True
            if any(events & select.POLLERR for _, events in poller.poll(20)):
                return False
        return True
    except (OSError, ValueError, AttributeError):
        return True


def _drop_broken_streams() -> None:
    """Send whatever stdout and stderr still hold to /dev/null when their reader is gone, so that
    Python's final flush neither prints an error nor turns the exit status into 120."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            stream.flush()
        except (OSError, ValueError):
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except (OSError, ValueError, AttributeError):
                pass
            setattr(sys, name, open(os.devnull, "w"))


def command_line(name: str, signature: inspect.Signature, values: dict) -> list[str]:
    """The words of a command line asking for the same work as ``values`` (a command's arguments by name).

    Every given argument and option is kept but ``--out``, ``--force`` and ``--resume``, and options
    left at their default; each option by its long name, as its Typer declaration in ``signature``
    names it.
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
        if value == param.default.default:
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
    """Console-script entry point: exit 0 ok, 2 user error, 3 some replications failed, 130 interrupted
    (Ctrl-C), 143 stopped by SIGTERM, 129 by SIGHUP.

    SIGTERM and SIGHUP stop a command as Ctrl-C does (``sim.interrupts.stop_on_signals``): finished
    replications are kept, the workers stopped, the resume command printed. Typer turns a Ctrl-C that
    a command does not handle into a silent exit 130; modsim says "interrupted" (once: commands that
    handle it say what they kept, through ``interrupted``).
    """
    # modsim uses no pydantic plugin; looking for them scans every installed package's entry points.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    code: object = 0
    keep_on_interrupt(None)
    try:
        try:
            stop_on_signals()
            app()
        except SystemExit as exc:
            code = exc.code
        except KeyboardInterrupt:  # Stopped (SIGTERM, SIGHUP) too
            code = EXIT_INTERRUPTED
        except ModsimError as exc:  # raised outside a command's own handling
            print_error(str(exc))
            code = EXIT_USER_ERROR
        finally:
            exiting()  # from now on a signal does not raise: the process is ending
    except KeyboardInterrupt:  # the first signal came just as the command ended
        code = EXIT_INTERRUPTED
    signum = stop_signal()
    if code == EXIT_INTERRUPTED or (signum is not None and code == exit_status(signum)):
        if not _interrupt_reported:
            _say_interrupted(signum)
        _quiet_from_now_on()
        code = exit_status(signum)
    if _is_program():
        _exit_now(code)
    sys.exit(code)


def _is_program() -> bool:
    """Whether this process is the ``modsim`` program itself (its console script or ``python -m sim``), not a
    caller of ``main`` that goes on afterwards."""
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    if spec is not None and spec.name in ("sim", "sim.__main__"):
        return True
    return os.path.basename(getattr(main_module, "__file__", "") or "") == "modsim"


def _exit_now(code: object) -> None:
    """End the program without tearing the interpreter down: the exit handlers run (multiprocessing's, logging's,
    modsim's), the output is flushed, then ``os._exit``.

    Freeing every module and object one by one at exit costs modsim about half a second (scipy.stats,
    pandas and matplotlib alone 0.1-0.3 s each), for nothing: the operating system reclaims the memory.
    Only when no other thread runs (a worker pool's or Dask's would be joined by a normal exit); else
    this returns and the exit is the usual one.
    """
    import atexit
    import threading

    if threading.active_count() > 1:
        return
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status & 0xFF)


def _say_interrupted(signum: int | None) -> None:
    head = "interrupted" if signum in (None, signal.SIGINT) else f"interrupted by {signal_name(signum)}"
    try:
        kept = _kept() if _kept is not None else None
    except Exception:  # noqa: BLE001 - the folder cannot be read: say no more than that it was interrupted
        kept = None
    _say(f"{head}: {kept}" if kept else head)
