"""What the experiment commands (compare, sweep, tune, sensitivity) share: one home for their skeleton.

Each of them runs scenarios (or points of a design) times replications on common random numbers
(replication k of everything uses the same seed, stream by stream), on the executors of
`modsim run` (serial, local process pool, Dask), with a progress bar, into a results folder. A
``Study`` is that folder's life: opened (or resumed), its tasks run with every finished
replication saved at once (so an interrupted study keeps them and prints the complete command
that resumes it), then its tables, manifest, charts and report written and the folder renamed
into place. The options they share are defined here once (``study_command``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import inspect
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, Optional

import typer

from sim.cli.common import (
    EXIT_FAILURES, app, command_line, console, err_console, interrupted, keep_on_interrupt, progress_bar,
    resume_command, user_errors,
)
from sim.errors import ModsimError

if TYPE_CHECKING:
    from sim.experiment.replicate import Task, TaskReport
    from sim.results import ResultsFolder
    from sim.scenario.extends import Resolved
    from sim.scenario.schema import Scenario

PARAM_HELP = "path=low..high (integers when both bounds are; durations like 6h..72h) (repeatable)."


@dataclass(frozen=True)
class StudyOptions:
    """The options every study command takes, with the names and meaning they have in `modsim run`."""

    replications: Optional[int]
    seed: Optional[int]
    set_: Optional[List[str]]
    outcomes: Optional[str]
    out: Optional[Path]
    workers: Optional[int]
    scheduler: Optional[str]
    resume: Optional[Path]
    force: bool
    insist: bool
    asked: tuple[str, ...]  # the command line asking for this work (see ``command_line``)

    @property
    def sets(self) -> list[str]:
        """The ``--set`` expressions, in order."""
        return list(self.set_ or ())


def _shared_options(what: str) -> list[tuple[str, Any, Any]]:
    return [
        ("replications", Optional[int], typer.Option(None, "--replications", "-n", min=1, help="Replications per scenario or point (default: the scenario's).")),
        ("seed", Optional[int], typer.Option(None, "--seed", min=0, max=2**63 - 1, help="Seed shared by everything compared, 0 to 2**63-1 (default: the (first) scenario's).")),
        ("set_", Optional[List[str]], typer.Option(None, "--set", help="Override a value in every scenario: dotted.path=value (repeatable).")),
        ("outcomes", Optional[str], typer.Option(None, "--outcomes", help="Outcomes to print, comma-separated (default: the key ones and tracked_*).")),
        ("out", Optional[Path], typer.Option(None, "--out", help="Write results exactly here (default results/<command>-<name>-<UTC time>/).")),
        ("workers", Optional[int], typer.Option(None, "--workers", min=1, help="Local worker processes (1 = serial; default: all cores).")),
        ("scheduler", Optional[str], typer.Option(None, "--scheduler", help="Dask scheduler address, or 'local' for a LocalCluster (default: $DASK_SCHEDULER_ADDRESS, else local processes).")),
        ("resume", Optional[Path], typer.Option(None, "--resume", help=f"Continue an interrupted {what} in this folder.")),
        ("force", bool, typer.Option(False, "--force", help="Replace a non-empty --out folder.")),
        ("insist", bool, typer.Option(False, "--insist", help="Run even when the estimated work is absurd.")),
    ]


def study_command(what: str) -> Callable:
    """Register a study command: its own parameters, then the shared ones, handed to it as ``options``.

    The decorated function takes its own arguments and options and a keyword ``options``
    (``StudyOptions``); the command line shows its own options first, then the shared ones.
    """

    def decorate(function: Callable) -> Callable:
        own = [p for name, p in inspect.signature(function).parameters.items() if name != "options"]
        shared = _shared_options(what)
        names = [name for name, _, _ in shared]

        @functools.wraps(function)
        def command(**kwargs):
            asked = tuple(command_line(function.__name__, command.__signature__, kwargs))
            options = StudyOptions(**{name: kwargs.pop(name) for name in names}, asked=asked)
            from sim.experiment.executors import start_pool_early

            start_pool_early(options.workers, options.scheduler)  # its imports run beside the study's checks
            return function(**kwargs, options=options)

        hints = typing.get_type_hints(function)
        command.__signature__ = inspect.Signature(
            [p.replace(annotation=hints[p.name]) for p in own]
            + [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
               for name, kind, default in shared])
        command.__annotations__ = {**{p.name: hints[p.name] for p in own}, **{n: k for n, k, _ in shared}}
        del command.__wrapped__  # Typer reads the signature above, not the function's own
        return app.command(function.__name__)(user_errors(command))

    return decorate


class ExperimentError(ModsimError):
    """An experiment that cannot run as asked."""


class Study:
    """The results folder of one experiment command, from opening it to renaming it into place.

    The folder's lock is held from opening to ``finish`` (or ``interrupted``, or the end of the
    process): a second command on the same folder refuses at once. Every saved replication carries
    what it belongs to (its scenario's hash, the seed, its number, the ``--set`` expressions) and a
    checksum; on ``--resume`` one that does not match is named in a warning and run again.
    """

    def __init__(self, name: str, options: StudyOptions):
        from sim.results import ResultsFolder

        self.started = dt.datetime.now(dt.timezone.utc)
        self.resumed = bool(options.resume)
        self.asked = list(options.asked)
        self.sets = [str(s) for s in options.sets]
        self.folder: ResultsFolder = (
            ResultsFolder.resume(options.resume) if options.resume
            else ResultsFolder.create(name, options.out, options.force,
                                      resume_with=lambda work: resume_command(self.asked, work)))
        self.records: dict = {}
        keep_on_interrupt(self._kept)

    @property
    def work(self) -> Path:
        """The folder being written (renamed into place by ``finish``)."""
        return self.folder.work

    def start(self, info: dict) -> None:
        """Check that a resumed folder holds this same experiment, record it, and load what finished.

        ``info`` names the command, the seed and the hash of each scenario (or design point), by the
        position its replications' keys carry (``s001-r000002``, ``p00003-r000002``); the ``--set``
        expressions are added here. Results that were complete when a kill stopped their renaming
        are moved into place, and the command ends there.
        """
        record = {**info, "sets": self.sets}
        with self._closed_on_failure():
            self.folder.check_experiment(record)
            if self.folder.complete:
                self._finish_stranded()
            self.folder.start_experiment(record)
            if self.resumed:
                self.records.update(self.folder.load_parts(functools.partial(_expected_part, record), warn=_warn))

    def execute(self, tasks: list[Task], workers: Optional[int], scheduler: Optional[str], label: str,
                total: int) -> TaskReport:
        """Run the tasks with a progress bar, saving each finished one; Ctrl-C keeps them and says how to resume."""
        from sim.experiment.executors import executor_for
        from sim.experiment.replicate import run_tasks
        from sim.results import data_hash

        by_key = {task.key: task for task in tasks}
        hashes: dict[int, str] = {}
        imported = False

        with self.stopped_cleanly("finished replications are"):
            with progress_bar(label, total, _expected(tasks, workers)) as advance:
                for _ in range(total - len(tasks)):
                    advance()

                def finished(key, record):
                    nonlocal imported
                    task = by_key[key]
                    if id(task.scenario) not in hashes:
                        hashes[id(task.scenario)] = data_hash(task.scenario)
                    self.folder.save_part(key, record, index=task.index, seed=task.seed,
                                          scenario_hash=hashes[id(task.scenario)], sets=self.sets)
                    self.records[key] = record
                    advance()
                    if not imported:
                        imported = True
                        import_drawing()

                with executor_for(workers, scheduler, len(tasks)) as executor:
                    return run_tasks(tasks, executor, finished)

    @contextlib.contextmanager
    def stopped_cleanly(self, kept: str) -> Iterator[None]:
        """Around a study's work: a Ctrl-C says what was kept (`kept`: "finished replications are") and the command
        that resumes; a lost Dask scheduler says the same in its error; any other failure closes the folder."""
        from sim.experiment.executors import ExecutorLost

        try:
            yield
        except KeyboardInterrupt:
            self.interrupted()
        except ExecutorLost as exc:
            self.folder.close()
            raise ExecutorLost(f"{exc}; {kept} kept in {self.work}; resume with: "
                               f"{resume_command(self.asked, self.work)} (without --scheduler: on this machine)") from None
        except BaseException:
            self.folder.close()
            raise

    def interrupted(self) -> None:
        """Say what was kept and the complete command that resumes, then exit with status 130."""
        self.folder.close()
        interrupted(f"interrupted: {self._kept()}")

    def _kept(self) -> str | None:
        """Where the finished replications are kept and the command that resumes; None once in place."""
        if not self.work.is_dir():
            return None
        return f"finished replications are kept in {self.work}\nresume with: {resume_command(self.asked, self.work)}"

    def finish(self, files: dict, scenario: Scenario | None, info: dict, report: bool = False,
               outcomes: list[str] | None = None) -> Path:
        """Write the tables and manifest, draw the charts of ``outcomes`` (and the report), and rename the folder
        into place."""
        with self._closed_on_failure():
            self.folder.write_tables(files, scenario, info)
            draw_and_report(self.work, report=report, outcomes=outcomes)
            path = self.folder.finalize()
        self.folder.close()
        return path

    @contextlib.contextmanager
    def _closed_on_failure(self) -> Iterator[None]:
        """Release the folder's lock when what runs inside fails (or ends the command), then go on failing."""
        try:
            yield
        except BaseException:
            self.folder.close()
            raise

    def _finish_stranded(self) -> None:
        """Move complete results into place (a kill stopped their renaming), say so, and end the command."""
        import json

        path = self.folder.finalize()
        self.folder.close()
        info = json.loads((path / "manifest.json").read_text())
        err_console.print(f"the interrupted {info.get('command') or 'command'} had finished its tables; they are "
                          "now in place", markup=False, highlight=False, soft_wrap=True)
        console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)
        failures = int(info.get("failures") or 0)
        if failures:
            err_console.print(f"{failures} replication(s) failed; see {path / 'failures.csv'}", markup=False)
            raise typer.Exit(EXIT_FAILURES)
        raise typer.Exit(0)


def _expected(tasks: list[Task], workers: Optional[int]) -> float:
    """Wall seconds the tasks should take, from the workload estimate of each of their scenarios."""
    from sim.experiment.executors import default_workers
    from sim.scenario.schema import Scenario
    from sim.scenario.workload import estimate, expected_seconds

    events: dict[int, float] = {}
    for task in tasks:
        if id(task.scenario) not in events:
            events[id(task.scenario)] = estimate(Scenario.model_validate(task.scenario)).events
    total = sum(events[id(task.scenario)] for task in tasks)
    return expected_seconds(total, len(tasks), workers or default_workers())


def _expected_part(record: dict, key: str) -> dict | None:
    """What the saved replication under ``key`` must be: its number, seed, --set and scenario (by position)."""
    import re

    match = re.fullmatch(r"[a-z](\d+)-r(\d+)", key)
    scenarios = record.get("scenarios") or []
    if not match or int(match.group(1)) >= len(scenarios):
        return None
    return {"replication": int(match.group(2)), "seed": record.get("seed"), "sets": record.get("sets"),
            "scenario_hash": scenarios[int(match.group(1))]}


def _warn(message: str) -> None:
    err_console.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)


def import_drawing() -> None:
    """Import what draws the charts and the report (matplotlib: about 1.4 s) while the workers still run the
    replications (called once the first has finished; the workers have the rest queued), rather than after
    the last one, when they would sit idle; then hold what this process imported (``sim.collector``)."""
    import sim.plots  # noqa: F401
    import sim.report  # noqa: F401
    from sim.collector import hold

    hold()  # everything heavy is in now


def draw_and_report(work: Path, report: bool = False, outcomes: list[str] | None = None) -> None:
    """Charts of ``outcomes`` (default: the key ones) and, with ``report``, the HTML report, from the tables;
    a chart that fails is a warning."""
    from sim.experiment.executors import default_workers
    from sim.plots import draw_charts
    from sim.report import write_report

    steps = [("charts", lambda: draw_charts(work, outcomes, processes=default_workers()))]
    if report:
        steps.append(("report", lambda: write_report(work, outcomes)))
    for name, draw in steps:
        try:
            draw()
        except Exception as exc:  # noqa: BLE001 - the tables are written; a chart bug must not lose them
            err_console.print(f"warning: the {name} failed: {type(exc).__name__}: {exc}", markup=False)


def say_finished(path: Path, failures: int, report: TaskReport, failures_file: str = "failures.csv") -> None:
    """Print the results folder and what went wrong with the workers; exit 3 if replications failed."""
    console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)
    if report.restarts:
        err_console.print(f"a worker process died: the pool was restarted {report.restarts} time(s) and "
                          f"{len(report.retried)} replication(s) run again; {len(report.lost)} lost twice "
                          "are recorded as failures", markup=False)
    if failures:
        err_console.print(f"{failures} replication(s) failed; see {path / failures_file}", markup=False)
        raise typer.Exit(EXIT_FAILURES)


def outcome_list(text: Optional[str], available: list[str], summary=None) -> list[str]:
    """The outcomes to print: those named by ``--outcomes`` (checked), else the key ones and tracked ones."""
    from sim.metrics import KEY_OUTCOMES, shown_outcomes

    if text:
        chosen = [o.strip() for o in text.split(",") if o.strip()]
        unknown = [o for o in chosen if o not in available]
        if unknown:
            raise ExperimentError(f"--outcomes: unknown outcome(s) {', '.join(unknown)}")
        return chosen
    if summary is not None:
        return [o for o in shown_outcomes(summary) if o in available]
    return [o for o in (*KEY_OUTCOMES, *(a for a in available if a.startswith("tracked_"))) if o in available]


def load_point(source: Path | Resolved, sets: list[str], extra: list[str], label: str) -> Scenario:
    """The scenario at one point of a design: the scenario file, or the document a study read from it once
    (``read_once``), with the command's and the point's ``--set``s, validated like a file."""
    from sim.errors import ScenarioError
    from sim.scenario import load_scenario
    from sim.scenario.extends import Resolved
    from sim.scenario.loader import validate_resolved

    try:
        if isinstance(source, Resolved):
            return validate_resolved(source, [*sets, *extra])[0]
        return load_scenario(source, [*sets, *extra])
    except ScenarioError as exc:
        raise ExperimentError(f"{label} ({', '.join(extra)}): {exc}") from None


def read_once(path: Path) -> Resolved:
    """A study's scenario file, read and resolved once for all its points: a point's scenario then costs its
    validation only (reading and resolving the baseline again was three quarters of each of a Morris study's 21
    point loads under cProfile), and every point sees the file as it was when the study started."""
    from sim.scenario.extends import resolve

    return resolve(str(path))


def points_scenarios(path: Path, sets: list[str], paths: list[str], points: list[tuple]) -> list[Scenario]:
    """The scenario of every point of a design, each validated like a file (the file read once)."""
    from sim.experiment import sweep as swp

    document = read_once(path)
    return [load_point(document, sets, swp.set_expressions(paths, p), f"point {i}") for i, p in enumerate(points)]
