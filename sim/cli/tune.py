"""`modsim tune`: Optuna over policy parameters, one objective or a Pareto front, with constraints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from sim.cli import study as st
from sim.cli.common import EXIT_FAILURES, console, err_console, format_number, progress_bar
from sim.interrupts import plain_data

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiment.replicate import TaskReport


@st.study_command("study")
def tune(
    scenario_path: Path = typer.Argument(..., metavar="SCENARIO", help="Scenario YAML file."),
    param: List[str] = typer.Option(..., "--param", help="path=low..high to tune (integers when both bounds are; durations like 6h..72h) (repeatable)."),
    objective: List[str] = typer.Option(..., "--objective", help="min:OUTCOME or max:OUTCOME, or min:PARAM / max:PARAM for a tuned --param path (fewest reviewers meeting the constraints); several give a Pareto front (repeatable)."),
    constraint: Optional[List[str]] = typer.Option(None, "--constraint", help="OUTCOME<=VALUE or OUTCOME>=VALUE on the mean (repeatable)."),
    trials: int = typer.Option(30, "--trials", min=1, help="Distinct settings to evaluate (all of them when the ranges hold fewer; a resumed study runs only the remaining ones)."),
    batch: int = typer.Option(4, "--batch", min=1, help="Trials asked together and run at once, every replication of them spread over the workers (the trials depend on it and the seed, never on --workers; 1 asks one trial at a time)."),
    *,
    options: st.StudyOptions,
) -> None:
    """Tune parameters with Optuna (TPE for one objective, NSGA-II for several) under constraints.

    Every trial is the mean over the same common-random-number replications, with 95% intervals. An
    objective may be a tuned parameter itself (min:PARAM: the fewest reviewers meeting the
    constraints). --trials counts distinct settings: a setting is never evaluated twice. Writes
    trials.parquet, study.db (the Optuna study: --resume continues it, with the trials of an
    uninterrupted study), objectives.json and best/*.yaml, the best (or Pareto-optimal) settings as
    ready-to-run scenarios, and the charts tuning_history (and tuning_pareto for two objectives).

    Example: modsim tune scenarios/validation/mmc.yaml --param review.pools.agents.reviewers=18..30 --objective max:reviewer_utilization --constraint 'queue_wait_mean_h<=0.1' --trials 20 -n 3

    Example: modsim tune scenarios/validation/mmc.yaml --param review.pools.agents.reviewers=18..30 --objective min:review.pools.agents.reviewers --constraint 'queue_wait_mean_h<=0.1' -n 3
    """
    import yaml

    from sim.experiment import sweep as swp
    from sim.experiment import tune as tun
    from sim.experiment import tune_answer as tun_answer
    from sim.experiment.executors import executor_for
    from sim.experiment.replicate import Failure, Task, TaskReport, run_tasks
    from sim.metrics import Replication
    from sim.results import manifest, scenario_document, scenario_hash
    from sim.scenario import check_workload, load_scenario

    ranges = [swp.parse_range(p, "--param") for p in param]
    swp._check_paths([r.path for r in ranges], "--param")
    objectives = [tun.parse_objective(o) for o in objective]
    tun.check_objectives(objectives, ranges)
    constraints = [tun.parse_constraint(c) for c in constraint or ()]
    sets = options.sets
    base = load_scenario(scenario_path, sets)
    document = st.read_once(scenario_path)
    count = options.replications or base.replications
    seed = base.seed if options.seed is None else options.seed
    for corner in (0.0, 1.0):  # every bound must make a valid scenario, before any trial runs
        values = {r.path: r.value(corner) for r in ranges}
        check_workload(st.load_point(document, sets, swp.set_expressions(list(values), tuple(values.values())),
                                     "--param bounds"), count, options.insist)
    study_folder = st.Study(f"tune-{base.name}", options)
    spec = {"objectives": [o.text for o in objectives], "constraints": [c.text for c in constraints],
            "params": list(param), "seed": seed, "replications": count, "scenario_hash": scenario_hash(base),
            "batch": batch, "format": tun.FORMAT}
    study = None
    try:
        spec_path = study_folder.work / "objectives.json"
        if options.resume and spec_path.exists():
            saved = json.loads(spec_path.read_text())
            if saved.get("format") != tun.FORMAT:
                raise st.ExperimentError(f"--resume {options.resume}: that study was made by an older modsim, whose trials "
                                         "cannot be continued the same way; start a new study")
            if saved != spec:
                raise st.ExperimentError(f"--resume {options.resume}: the parameters, objectives, constraints, seed, "
                                         "replications or --batch differ from the interrupted study's")
        spec_path.write_text(json.dumps(spec, indent=2))
        study = tun.open_study(study_folder.work / "study.db", objectives, seed, bool(constraints))
        cut, kept = tun.recover_interrupted(study)
        if cut:
            err_console.print(f"{cut} interrupted trial(s) marked failed; they run again"
                              + (f" ({kept} reusing the result stored before the interruption)" if kept else ""),
                              markup=False)
        size = tun.space_size(ranges)
        if size is not None and size < trials and tun.finished_trials(study) < size:
            err_console.print(f"the parameters hold {size} settings: each is tried once (fewer than --trials {trials})",
                              markup=False)
        reports = TaskReport()
        with executor_for(options.workers, options.scheduler, 2 * count * batch) as executor, \
                progress_bar(f"tune {base.name}", min(trials, size or trials)) as advance:
            for _ in range(min(tun.finished_trials(study), trials)):
                advance()

            def tasks_of(params: dict, position: int) -> list[Task]:
                point = st.load_point(document, sets, swp.set_expressions(list(params), tuple(params.values())),
                                      "trial")
                data = plain_data(point)
                return [Task((position, i), data, seed, i) for i in range(count)]

            drawing = [False]  # whether this process has imported what draws the charts

            def evaluate_many(settings: list[dict], done, more) -> None:
                records: dict = {}
                handed = [0]  # settings handed to the executor so far: the next one's position

                def tasks_for(batch: list[dict]) -> list[Task]:
                    tasks = []
                    for values in batch:
                        records[handed[0]] = {}
                        tasks += tasks_of(values, handed[0])
                        handed[0] += 1
                    return tasks

                def finished(key, record) -> None:
                    if not drawing[0]:  # the first replication is in: the others are queued, the workers busy
                        drawing[0] = True
                        st.import_drawing()
                    position, index = key
                    records[position][index] = record
                    if len(records[position]) == count:
                        own = records.pop(position)
                        outs = [own[i].outcomes for i in sorted(own) if isinstance(own[i], Replication)]
                        done(position, outs, sum(isinstance(r, Failure) for r in own.values()))

                step = run_tasks(tasks_for(settings), executor, finished, more=lambda: tasks_for(more()))
                reports.restarts += step.restarts
                reports.retried += step.retried
                reports.lost += step.lost

            def evaluate(params: dict) -> tuple[list[dict], int]:
                got: list = []
                evaluate_many([params], lambda position, outs, failed: got.append((outs, failed)), lambda: [])
                return got[0]

            tun.optimize(study, ranges, objectives, constraints, trials, seed, evaluate, advance, batch=batch,
                         evaluate_many=evaluate_many)
        shown = st.outcome_list(options.outcomes, tun_answer.measured_outcomes(study)) if options.outcomes else []
        table = tun_answer.trials_table(study, ranges, objectives, constraints, shown)
        best = tun_answer.best_trials(table, objectives)
        settings = {int(n): tun_answer.trial_sets(study, int(n)) for n in table.trial}
        (study_folder.work / "best").mkdir(exist_ok=True)
        for number in best:
            values = settings[number]
            scenario = st.load_point(document, sets, swp.set_expressions(list(values), tuple(values.values())),
                                     f"trial {number}")  # the file as the trials read it
            text = yaml.safe_dump(scenario_document(scenario), sort_keys=False, allow_unicode=True)
            header = f"# modsim tune: trial {number} of {base.name}: " + ", ".join(f"{k}={v}" for k, v in values.items())
            (study_folder.work / "best" / f"trial-{number:04d}.yaml").write_text(header + "\n" + text)
        failed = int(table.failures.sum()) if len(table) else 0
        extra = dict(objectives=spec["objectives"], constraints=spec["constraints"], params=list(param), trials=trials,
                     evaluated=len(table), settings=size, replications=count, workers=options.workers,
                     scheduler=options.scheduler, batch=batch, best_trials=best, failures=failed, resumed=study_folder.resumed,
                     worker_restarts=reports.restarts)
        study = None  # closes the database before the folder is renamed
        path = study_folder.finish({"trials.parquet": table}, base, manifest("tune", base, seed, study_folder.started, **extra))
    except KeyboardInterrupt:
        if study is not None:
            try:  # the trial cut short is failed now, not left RUNNING
                tun.fail_interrupted(study, study_folder.work / "study.db", objectives, seed, bool(constraints))
            except Exception as exc:  # noqa: BLE001 - then the resume marks it failed
                err_console.print(f"the trial cut short is marked failed when the study resumes ({type(exc).__name__})",
                                  markup=False)
        if study_folder.work.is_dir():  # not yet renamed into place: it resumes
            study_folder.interrupted()
        study_folder.folder.close()
        raise
    except BaseException:
        study_folder.folder.close()  # the folder's lock, for a caller that goes on (tests, the Python API)
        raise
    print_best(table, best, ranges, [o.outcome for o in objectives], [c.outcome for c in constraints] + shown,
               len(objectives) > 1, f"tune {base.name}: {len(table)} trials x {count} replications, seed {seed}",
               settings)
    if not best:
        err_console.print("no trial met every constraint: best/ is empty", markup=False)
    _say_tuned(path, failed, reports, tun_answer.answer(table, best, ranges, objectives, constraints, settings))


def _say_tuned(path: Path, failed: int, report: TaskReport, sentence: str) -> None:
    console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)
    console.print(sentence, markup=False, highlight=False, soft_wrap=True)
    if report.restarts:
        err_console.print(f"a worker process died: the pool was restarted {report.restarts} time(s)", markup=False)
    if failed:
        err_console.print(f"{failed} replication(s) failed (trial means use the others); see trials.parquet",
                          markup=False)
        raise typer.Exit(EXIT_FAILURES)


def print_best(table: pd.DataFrame, best: list[int], ranges, objectives: list[str], shown: list[str], pareto: bool,
               title: str, settings: dict[int, dict] | None = None) -> None:
    """The best trial (or the Pareto front): its parameters, objectives and the other shown outcomes, each
    outcome with its 95% interval over the trial's replications."""
    from rich.table import Table

    from sim.experiment.tune_answer import with_interval

    out = Table(title=title + (" - Pareto front" if pareto else " - best"), title_justify="left")
    paths = [r.path for r in ranges]
    columns = ["trial", *paths, *(c for c in dict.fromkeys([*objectives, *shown]) if c not in paths)]
    for name in columns:
        out.add_column(name, justify="right")
    rows = table.set_index("trial", drop=False)
    for number in best:
        row = rows.loc[number].to_dict()
        cells = []
        for c in columns[1:]:
            if c in paths:
                value = (settings or {}).get(number, {}).get(c, row[c])
                cells.append(str(value) if not isinstance(value, float) else format_number(value))
            else:
                cells.append(with_interval(row, c))
        out.add_row(str(number), *cells)
    console.print(out)
