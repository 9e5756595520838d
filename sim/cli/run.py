"""`modsim run`: replications of one scenario, a summary with confidence intervals, a results folder."""

from __future__ import annotations

import datetime as dt
import inspect
from pathlib import Path
from typing import List, Optional

import typer

from sim.cli.common import (
    EXIT_FAILURES, app, command_line, console, err_console, interrupted, keep_on_interrupt, print_summary, progress_bar,
    resume_command, user_errors,
)


@app.command()
@user_errors
def run(
    scenario_path: Path = typer.Argument(..., metavar="SCENARIO", help="Scenario YAML file."),
    replications: Optional[int] = typer.Option(None, "--replications", "-n", min=1, help="Replications (default: the scenario's)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, max=2**63 - 1, help="Seed of the run, 0 to 2**63-1 (default: the scenario's)."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a value: dotted.path=value (repeatable)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write results exactly here (default results/<scenario>-<UTC time>/)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Local worker processes (1 = serial; default: all cores)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, or 'local' for a LocalCluster."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue an interrupted run in this folder."),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty --out folder."),
    insist: bool = typer.Option(False, "--insist", help="Run even when the estimated work is absurd."),
    precision: Optional[List[str]] = typer.Option(None, "--precision", help="Add replications until intervals are this narrow: 5% (half-width, relative, every shown outcome), NAME=0.5 or NAME=5% (repeatable)."),
    max_replications: int = typer.Option(200, "--max-replications", min=2, help="With --precision: stop adding replications here."),
) -> None:
    """Run replications of a scenario; print key outcomes with 95% intervals; write a results folder.

    With --precision, replications are added in batches over all workers until every targeted
    interval is narrow enough or --max-replications is reached; the summary says which.

    Example: modsim run scenarios/baseline.yaml --replications 8 --seed 7 --set review.policy=fifo
    """
    asked = command_line("run", inspect.signature(run), dict(locals()))
    from sim.experiment import precision as prec
    from sim.experiment.executors import ExecutorLost, default_workers
    from sim.experiment.head_start import HeadStart
    from sim.results import ResultsFolder, manifest
    from sim.scenario import check_workload, load_scenario
    from sim.scenario.workload import estimate, expected_seconds

    started = dt.datetime.now(dt.timezone.utc)
    targets = [prec.parse_target(t) for t in precision or ()]
    scenario = load_scenario(scenario_path, set_ or ())
    count = replications or scenario.replications
    seed = scenario.seed if seed is None else seed
    check_workload(scenario, count, insist)
    folder = (ResultsFolder.resume(resume) if resume else
              ResultsFolder.create(scenario.name, out, force, resume_with=lambda work: resume_command(asked, work)))
    keep_on_interrupt(lambda: _kept(folder, asked))
    with folder:
        folder.check_same(scenario, seed, set_ or ())
        if folder.complete:
            _finish_stranded(folder, scenario)
            return
        folder.start(scenario, seed, count, set_ or ())
        done = folder.load_done(warn) if resume else {}
        stopped = None
        # One replication, and more than one process allowed: it starts in a child now, while this process imports
        # the rest.
        head_start = count == 1 and not done and not scheduler and (workers or default_workers()) > 1
        head = HeadStart(scenario, seed, 0) if head_start and HeadStart.possible() else None
        try:
            from sim.experiment.runner import run as run_scenario
            from sim.metrics import shown_outcomes
            from sim.plots import draw_charts
            from sim.report import write_report

            if head is not None and head.running():
                # The child is still simulating, and this process's core is idle: it draws a throwaway chart, so
                # that the real ones find matplotlib's fonts and savers ready (0.03-0.17 s off the charts, for
                # about 0.12 s here); then it collects its garbage and holds the rest (``sim.collector``: one full
                # collection fell in the report, 0.09 s).
                import gc

                from sim.collector import hold
                from sim.plots.style import warm_up

                warm_up()
                gc.collect()
                hold()
            while True:
                todo = count - len([i for i in done if i < count])
                expected = expected_seconds(estimate(scenario).events * todo, todo, workers or default_workers())
                with progress_bar(f"{scenario.name}", count, expected) as advance:
                    for _ in range(min(len(done), count)):
                        advance()

                    def finished(index, record):
                        folder.save_replication(index, record)
                        done[index] = record
                        advance()

                    if head is not None:
                        record, head = head.result(), None
                        if record is not None:  # else the child died: the replication runs here
                            finished(0, record)
                    tables = run_scenario(scenario, count, seed, workers, on_done=finished, done=dict(done),
                                          scheduler=scheduler)
                if not targets:
                    break
                widths = prec.half_widths(tables.summary, targets, shown_outcomes(tables.summary))
                if not prec.unmet(widths) or count >= max_replications:
                    stopped = prec.stop_reason(widths, count, max_replications)
                    break
                count = prec.next_count(widths, count, max_replications, workers or default_workers())
                check_workload(scenario, count, insist)
        except KeyboardInterrupt:
            interrupted(f"interrupted: {_kept(folder, asked)}")
        except ExecutorLost as exc:
            kept = len(list(folder.parts.glob("*.json")))
            raise ExecutorLost(f"{exc}; {kept} finished replication(s) are kept in {folder.work}; resume with: "
                               f"{resume_command(asked, folder.work)} (without --scheduler: on this machine)") from None
        finally:
            if head is not None:
                head.stop()
        files = tables.files()
        info = manifest("run", scenario, seed, started, replications=count, workers=workers, scheduler=scheduler,
                        failures=len(tables.failures), resumed=bool(resume),
                        precision=[t.text for t in targets] or None, precision_stop=stopped)
        folder.write_tables(files, scenario, info)
        draw_charts(folder.work, processes=workers or default_workers())
        write_report(folder.work)
        path = folder.finalize()
    print_summary(tables.summary, shown_outcomes(tables.summary), f"{scenario.name}: {count} replications, seed {seed}")
    if stopped:
        console.print(stopped, markup=False, highlight=False, soft_wrap=True)
    console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)
    if len(tables.failures):
        err_console.print(f"{len(tables.failures)} replication(s) failed; see {path / 'failures.csv'}", markup=False)
        raise typer.Exit(EXIT_FAILURES)


def _kept(folder, asked: list[str]) -> str | None:
    """What an interrupted run keeps and the command that resumes it; None once it is in place."""
    if not folder.work.is_dir():
        return None
    kept = len(list(folder.parts.glob("*.json"))) if folder.parts.is_dir() else 0
    what = f"{kept} finished replication(s) are" if folder.parts.is_dir() else "its finished tables are"
    return f"{what} kept in {folder.work}\nresume with: {resume_command(asked, folder.work)}"


def warn(message: str) -> None:
    """One warning line on stderr (a saved replication that cannot be used, and is run again)."""
    err_console.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)


def _finish_stranded(folder, scenario) -> None:
    """A resumed run whose tables were complete (killed while being moved into place): finish moving it."""
    import json

    import pandas as pd

    from sim.metrics import shown_outcomes

    path = folder.finalize()
    info = json.loads((path / "manifest.json").read_text())
    err_console.print("the interrupted run had finished its tables; they are now in place", markup=False,
                      highlight=False, soft_wrap=True)
    summary = pd.read_csv(path / "summary.csv")
    print_summary(summary, shown_outcomes(summary),
                  f"{scenario.name}: {info.get('replications')} replications, seed {info.get('seed')}")
    console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)
    failures = int(info.get("failures") or 0)
    if failures:
        err_console.print(f"{failures} replication(s) failed; see {path / 'failures.csv'}", markup=False)
        raise typer.Exit(EXIT_FAILURES)
