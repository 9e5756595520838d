"""`modsim compare | sweep | tune | sensitivity`: experiments over scenarios and their parameters.

All four run replications on common random numbers (replication k of everything uses the same
seed, stream by stream), on the same executors as `modsim run` (serial, local process pool, Dask),
show a progress bar, and write a results folder. compare, sweep and sensitivity save each finished
replication as it finishes, so `--resume DIR` continues an interrupted one; tune keeps its Optuna
study in the folder (study.db), so `--resume DIR` continues the study.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Callable, List, Optional

import pandas as pd
import typer
import yaml
from rich.table import Table

from sim.cli.common import (
    EXIT_FAILURES, EXIT_INTERRUPTED, app, console, err_console, format_number, progress_bar, user_errors,
)
from sim.errors import ModsimError, ScenarioError
from sim.experiment import compare as cmp
from sim.experiment import sensitivity as sens
from sim.experiment import sweep as swp
from sim.experiment import tune as tun
from sim.experiment.executors import executor_for
from sim.experiment.replicate import Failure, Task, TaskReport, run_tasks
from sim.metrics import KEY_OUTCOMES, Replication, shown_outcomes
from sim.results import ResultsFolder, manifest, scenario_document, scenario_hash
from sim.scenario import check_workload, load_scenario
from sim.scenario.schema import Scenario

# Options shared with `modsim run` (same names and meaning).
_REPLICATIONS = typer.Option(None, "--replications", "-n", min=1, help="Replications per scenario or point (default: the scenario's).")
_SEED = typer.Option(None, "--seed", min=0, help="Seed shared by everything compared (default: the (first) scenario's).")
_SET = typer.Option(None, "--set", help="Override a value in every scenario: dotted.path=value (repeatable).")
_OUT = typer.Option(None, "--out", help="Write results exactly here (default results/<command>-<name>-<UTC time>/).")
_WORKERS = typer.Option(None, "--workers", min=1, help="Local worker processes (1 = serial; default: all cores).")
_SCHEDULER = typer.Option(None, "--scheduler", help="Dask scheduler address, or 'local' for a LocalCluster (default: $DASK_SCHEDULER_ADDRESS, else local processes).")
_FORCE = typer.Option(False, "--force", help="Replace a non-empty --out folder.")
_INSIST = typer.Option(False, "--insist", help="Run even when the estimated work is absurd.")
_OUTCOMES = typer.Option(None, "--outcomes", help="Outcomes to print, comma-separated (default: the key ones and tracked_*).")


class ExperimentError(ModsimError):
    """An experiment that cannot run as asked."""


# ---------------------------------------------------------------------------------------------- shared


def draw_and_report(work: Path, report: bool = False) -> None:
    """Charts (and for compare the report) from the tables, skipped only while those modules do not exist yet."""
    _optional("sim.plots", "draw_charts", work)
    if report:
        _optional("sim.report", "write_report", work)


def _optional(module_name: str, function: str, work: Path) -> None:
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name in (module_name, module_name.rpartition(".")[0]):
            return  # not written yet
        raise
    draw = getattr(module, function, None)
    if draw is None and getattr(module, "__file__", None) is None:
        return  # a bare folder (namespace package) while the module is being written
    try:
        draw(work)
    except Exception as exc:  # noqa: BLE001 - the tables are written; a chart bug must not lose them
        err_console.print(f"warning: {module_name}.{function} failed: {type(exc).__name__}: {exc}", markup=False)


def _open(name: str, out: Optional[Path], force: bool, resume: Optional[Path]) -> ResultsFolder:
    return ResultsFolder.resume(resume) if resume else ResultsFolder.create(name, out, force)


def _execute(tasks: list[Task], folder: Optional[ResultsFolder], workers: Optional[int], scheduler: Optional[str],
             label: str, total: int, records: dict) -> TaskReport:
    """Run tasks on the executor with a progress bar; each finished one is saved (when a folder is given)."""
    with progress_bar(label, total) as advance:
        for _ in range(total - len(tasks)):
            advance()

        def finished(key, record):
            if folder is not None:
                folder.save_part(key, record)
            records[key] = record
            advance()

        with executor_for(workers, scheduler, len(tasks)) as executor:
            return run_tasks(tasks, executor, finished)


def _interrupted(folder: ResultsFolder, again: str) -> None:
    err_console.print(f"interrupted: finished replications are kept in {folder.work}\n"
                      f"resume with: {again} --resume {folder.work}", markup=False)
    raise typer.Exit(EXIT_INTERRUPTED)


def _finish(path: Path, failures: int, report: TaskReport) -> None:
    console.print(f"results: {path}", markup=False, highlight=False)
    if report.restarts:
        err_console.print(f"a worker process died: the pool was restarted {report.restarts} time(s) and "
                          f"{len(report.retried)} replication(s) run again; {len(report.lost)} lost twice "
                          "are recorded as failures", markup=False)
    if failures:
        err_console.print(f"{failures} replication(s) failed; see {path / 'failures.csv'}", markup=False)
        raise typer.Exit(EXIT_FAILURES)


def _outcome_list(text: Optional[str], available: list[str], summary=None) -> list[str]:
    if text:
        chosen = [o.strip() for o in text.split(",") if o.strip()]
        unknown = [o for o in chosen if o not in available]
        if unknown:
            raise ExperimentError(f"--outcomes: unknown outcome(s) {', '.join(unknown)}")
        return chosen
    return [o for o in shown_outcomes(summary) if o in available] if summary is not None else [
        o for o in (*KEY_OUTCOMES, *(a for a in available if a.startswith("tracked_"))) if o in available]


def _interval(mean: float, low: float, high: float) -> str:
    return f"{format_number(mean)} ({format_number(low)} .. {format_number(high)})"


def _load_point(path: Path, sets: list[str], extra: list[str], label: str) -> Scenario:
    try:
        return load_scenario(path, [*sets, *extra])
    except ScenarioError as exc:
        raise ExperimentError(f"{label} ({', '.join(extra)}): {exc}") from None


def _points_scenarios(path: Path, sets: list[str], paths: list[str], points: list[tuple]) -> list[Scenario]:
    return [_load_point(path, sets, swp.set_expressions(paths, p), f"point {i}") for i, p in enumerate(points)]


def _replication_means(records: dict, keys: Callable[[int], list[str]], count: int) -> pd.DataFrame:
    rows = []
    for point in range(count):
        outs = [records[k].outcomes for k in keys(point) if isinstance(records.get(k), Replication)]
        rows.append(pd.DataFrame(outs).apply(pd.to_numeric, errors="coerce").mean() if outs else pd.Series(dtype=float))
    return pd.DataFrame(rows).reset_index(drop=True)


# --------------------------------------------------------------------------------------------- compare


@app.command()
@user_errors
def compare(
    scenario_paths: List[Path] = typer.Argument(..., metavar="SCENARIO...", help="Two or more scenario YAML files."),
    replications: Optional[int] = _REPLICATIONS,
    seed: Optional[int] = _SEED,
    set_: Optional[List[str]] = _SET,
    outcomes: Optional[str] = _OUTCOMES,
    out: Optional[Path] = _OUT,
    workers: Optional[int] = _WORKERS,
    scheduler: Optional[str] = _SCHEDULER,
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue an interrupted compare in this folder."),
    force: bool = _FORCE,
    insist: bool = _INSIST,
) -> None:
    """Compare scenarios on common random numbers: means with 95% intervals and the paired difference to the first.

    Replication k of every scenario uses the same seeds, so a policy change is judged on the same
    arrivals. Writes comparison.csv, summary.csv, the replication tables with a scenario column and
    scenarios/<name>.yaml.

    Example: modsim compare scenarios/cambodia_2023.yaml scenarios/counterfactuals/more_khmer_reviewers.yaml -n 10 --seed 7
    """
    started = dt.datetime.now(dt.timezone.utc)
    scenarios = [load_scenario(p, set_ or ()) for p in scenario_paths]
    cmp.check_names(scenarios)
    count = replications or scenarios[0].replications
    seed = scenarios[0].seed if seed is None else seed
    for scenario in scenarios:
        check_workload(scenario, count, insist)
    names = [s.name for s in scenarios]
    folder = _open("compare-" + "-".join(names)[:80], out, force, resume)
    info = {"command": "compare", "scenarios": [scenario_hash(s) for s in scenarios], "seed": seed}
    folder.check_experiment(info)
    folder.start_experiment(info)
    records: dict = dict(folder.load_parts()) if resume else {}
    todo = cmp.tasks(scenarios, seed, count, set(records))
    again = "modsim compare " + " ".join(map(str, scenario_paths))
    try:
        report = _execute(todo, folder, workers, scheduler, "compare", count * len(scenarios), records)
    except KeyboardInterrupt:
        _interrupted(folder, again)
    tables = cmp.tables(scenarios, seed, count, records)
    (folder.work / "scenarios").mkdir(exist_ok=True)
    for scenario in scenarios:
        text = yaml.safe_dump(scenario_document(scenario), sort_keys=False, allow_unicode=True)
        (folder.work / "scenarios" / f"{scenario.name}.yaml").write_text(text)
    extra = dict(scenarios=names, scenario_hashes=[scenario_hash(s) for s in scenarios], replications=count,
                 workers=workers, scheduler=scheduler, failures=len(tables.failures), resumed=bool(resume),
                 worker_restarts=report.restarts)
    folder.write_tables(tables.files(), None, manifest("compare", None, seed, started, **extra))
    draw_and_report(folder.work, report=True)
    path = folder.finalize()
    print_comparison(tables.comparison, names, _outcome_list(outcomes, list(dict.fromkeys(tables.comparison.outcome)), tables.comparison),
                     f"{' vs '.join(names)}: {count} replications each, seed {seed} (common random numbers)")
    _finish(path, len(tables.failures), report)


def print_comparison(comparison: pd.DataFrame, names: list[str], outcomes: list[str], title: str) -> None:
    """Means with intervals side by side, then the paired difference of each scenario to the first."""
    table = Table(title=title, title_justify="left")
    table.add_column("outcome")
    for position, name in enumerate(names):
        table.add_column(f"{name}\nmean (95% CI)", justify="right")
        if position:
            table.add_column(f"{name} - {names[0]}\npaired (95% CI)", justify="right")
    rows = comparison.set_index(["outcome", "scenario"])
    for outcome in outcomes:
        cells = [outcome]
        for position, name in enumerate(names):
            if (outcome, name) not in rows.index:
                cells.extend(["-"] * (2 if position else 1))
                continue
            row = rows.loc[(outcome, name)]
            cells.append(_interval(row["mean"], row.ci_low, row.ci_high))
            if position:
                cells.append(_interval(row.diff_mean, row.diff_low, row.diff_high))
        table.add_row(*cells)
    console.print(table)


# ----------------------------------------------------------------------------------------------- sweep


@app.command()
@user_errors
def sweep(
    scenario_path: Path = typer.Argument(..., metavar="SCENARIO", help="Scenario YAML file."),
    vary: List[str] = typer.Option(..., "--vary", help="path=start:stop:step, path=a,b,c, or path=low..high with --samples (repeatable)."),
    samples: Optional[int] = typer.Option(None, "--samples", min=1, help="Latin-hypercube design of this many points over low..high ranges (default: a full grid)."),
    replications: Optional[int] = _REPLICATIONS,
    seed: Optional[int] = _SEED,
    set_: Optional[List[str]] = _SET,
    outcomes: Optional[str] = _OUTCOMES,
    out: Optional[Path] = _OUT,
    workers: Optional[int] = _WORKERS,
    scheduler: Optional[str] = _SCHEDULER,
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue an interrupted sweep in this folder."),
    force: bool = _FORCE,
    insist: bool = _INSIST,
) -> None:
    """Sweep parameters over a grid or a Latin-hypercube design; every point replicated on common random numbers.

    Each point is the scenario with --set path=value applied, validated like a file. Writes
    sweep.parquet (point, one column per varied path, outcome, mean, ci_low, ci_high, n) and points.csv.

    Example: modsim sweep scenarios/baseline.yaml --vary review.pools.khmer.reviewers=10:40:10 --vary review.policy=fifo,severity -n 5
    """
    started = dt.datetime.now(dt.timezone.utc)
    base = load_scenario(scenario_path, set_ or ())
    count = replications or base.replications
    seed = base.seed if seed is None else seed
    if samples:
        paths, points = swp.latin_hypercube(vary, samples, seed)
    else:
        paths, points = swp.grid(vary)
    scenarios = _points_scenarios(scenario_path, list(set_ or ()), paths, points)
    for scenario in scenarios:
        check_workload(scenario, count, insist)
    points_table = swp.points_table(paths, points)
    folder = _open(f"sweep-{base.name}", out, force, resume)
    info = {"command": "sweep", "scenarios": [scenario_hash(s) for s in scenarios], "seed": seed}
    folder.check_experiment(info)
    folder.start_experiment(info)
    records: dict = dict(folder.load_parts()) if resume else {}
    todo = swp.tasks([s.model_dump(mode="json") for s in scenarios], seed, count, set(records))
    try:
        report = _execute(todo, folder, workers, scheduler, f"sweep {base.name}", count * len(points), records)
    except KeyboardInterrupt:
        _interrupted(folder, f"modsim sweep {scenario_path} " + " ".join(f"--vary {v}" for v in vary))
    table, reps, failures = swp.sweep_tables(points_table, seed, count, records)
    files = {"sweep.parquet": table, "points.csv": points_table, "replications.parquet": reps}
    if len(failures):
        files["failures.csv"] = failures
    extra = dict(vary=list(vary), samples=samples, points=len(points), replications=count, workers=workers,
                 scheduler=scheduler, failures=len(failures), resumed=bool(resume), worker_restarts=report.restarts)
    folder.write_tables(files, base, manifest("sweep", base, seed, started, **extra))
    draw_and_report(folder.work)
    path = folder.finalize()
    shown = _outcome_list(outcomes, list(dict.fromkeys(table.outcome)))
    print_sweep(table, paths, shown, f"sweep of {base.name}: {len(points)} points x {count} replications, seed {seed}")
    _finish(path, len(failures), report)


def print_sweep(table: pd.DataFrame, paths: list[str], outcomes: list[str], title: str, limit: int = 60) -> None:
    wide = table[table.outcome.isin(outcomes)].pivot(index=["point", *paths], columns="outcome", values="mean")
    out = Table(title=title, title_justify="left")
    for name in ["point", *paths]:
        out.add_column(name, justify="right")
    shown = [o for o in outcomes if o in wide.columns]
    for name in shown:
        out.add_column(name, justify="right")
    for key, row in list(wide.iterrows())[:limit]:
        out.add_row(*(str(k) for k in key), *(format_number(row[o]) for o in shown))
    console.print(out)
    if len(wide) > limit:
        console.print(f"... {len(wide) - limit} more points in sweep.parquet", markup=False)


# ------------------------------------------------------------------------------------------------ tune


@app.command()
@user_errors
def tune(
    scenario_path: Path = typer.Argument(..., metavar="SCENARIO", help="Scenario YAML file."),
    param: List[str] = typer.Option(..., "--param", help="path=low..high to tune (integers when both bounds are; durations like 6h..72h) (repeatable)."),
    objective: List[str] = typer.Option(..., "--objective", help="min:OUTCOME or max:OUTCOME; several give a Pareto front (repeatable)."),
    constraint: Optional[List[str]] = typer.Option(None, "--constraint", help="OUTCOME<=VALUE or OUTCOME>=VALUE on the mean (repeatable)."),
    trials: int = typer.Option(30, "--trials", min=1, help="Trials in the study (a resumed study runs only the remaining ones)."),
    replications: Optional[int] = _REPLICATIONS,
    seed: Optional[int] = _SEED,
    set_: Optional[List[str]] = _SET,
    out: Optional[Path] = _OUT,
    workers: Optional[int] = _WORKERS,
    scheduler: Optional[str] = _SCHEDULER,
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue an interrupted study in this folder."),
    force: bool = _FORCE,
    insist: bool = _INSIST,
) -> None:
    """Tune parameters with Optuna (TPE for one objective, NSGA-II for several) under constraints.

    Every trial is the mean over the same common-random-number replications. Writes trials.parquet,
    study.db (the Optuna study: --resume continues it), objectives.json and best/*.yaml, the best
    (or Pareto-optimal) settings as ready-to-run scenarios.

    Example: modsim tune scenarios/validation/mmc.yaml --param review.pools.agents.reviewers=18..30 --objective max:reviewer_utilization --constraint 'queue_wait_mean_h<=0.1' --trials 20 -n 3
    """
    started = dt.datetime.now(dt.timezone.utc)
    ranges = [swp.parse_range(p, "--param") for p in param]
    swp._check_paths([r.path for r in ranges], "--param")
    objectives = [tun.parse_objective(o) for o in objective]
    constraints = [tun.parse_constraint(c) for c in constraint or ()]
    sets = list(set_ or ())
    base = load_scenario(scenario_path, sets)
    count = replications or base.replications
    seed = base.seed if seed is None else seed
    for corner in (0.0, 1.0):  # every bound must make a valid scenario, before any trial runs
        values = {r.path: r.value(corner) for r in ranges}
        check_workload(_load_point(scenario_path, sets, swp.set_expressions(list(values), tuple(values.values())),
                                   "--param bounds"), count, insist)
    folder = _open(f"tune-{base.name}", out, force, resume)
    spec = {"objectives": [o.text for o in objectives], "constraints": [c.text for c in constraints],
            "params": list(param), "seed": seed, "replications": count, "scenario_hash": scenario_hash(base)}
    spec_path = folder.work / "objectives.json"
    if resume and spec_path.exists() and json.loads(spec_path.read_text()) != spec:
        raise ExperimentError(f"--resume {resume}: the parameters, objectives, constraints, seed or replications "
                              "differ from the interrupted study's")
    spec_path.write_text(json.dumps(spec, indent=2))
    study = tun.open_study(folder.work / "study.db", objectives, seed, bool(constraints))
    requeued = tun.recover_interrupted(study)
    if requeued:
        err_console.print(f"{requeued} interrupted trial(s) will run again", markup=False)
    cache: dict = {}
    failures = [0]
    reports = TaskReport()
    try:
        with executor_for(workers, scheduler, count) as executor, \
                progress_bar(f"tune {base.name}", trials) as advance:
            for _ in range(min(tun.finished_trials(study), trials)):
                advance()

            def evaluate(params: dict) -> tuple[dict[str, float], int]:
                key = tuple(sorted((k, str(v)) for k, v in params.items()))
                if key not in cache:
                    scenario = _load_point(scenario_path, sets, swp.set_expressions(list(params), tuple(params.values())), "trial")
                    data = scenario.model_dump(mode="json")
                    records: dict = {}
                    step = run_tasks([Task(i, data, seed, i) for i in range(count)], executor, records.__setitem__)
                    reports.restarts += step.restarts
                    reports.retried += step.retried
                    reports.lost += step.lost
                    outs = [r.outcomes for r in records.values() if isinstance(r, Replication)]
                    lost = sum(isinstance(r, Failure) for r in records.values())
                    means = pd.DataFrame(outs).apply(pd.to_numeric, errors="coerce").mean().to_dict() if outs else {}
                    cache[key] = ({k: float(v) for k, v in means.items()}, lost)
                means, lost = cache[key]
                failures[0] += lost
                return means, lost

            tun.optimize(study, ranges, objectives, constraints, trials, evaluate, advance)
    except KeyboardInterrupt:
        _interrupted(folder, f"modsim tune {scenario_path} ...")
    table = tun.trials_table(study, ranges, objectives, constraints)
    best = tun.best_trials(table, objectives)
    (folder.work / "best").mkdir(exist_ok=True)
    for number in best:
        values = tun.trial_sets(study, number)
        scenario = load_scenario(scenario_path, [*sets, *swp.set_expressions(list(values), tuple(values.values()))])
        text = yaml.safe_dump(scenario_document(scenario), sort_keys=False, allow_unicode=True)
        header = f"# modsim tune: trial {number} of {base.name}: " + ", ".join(f"{k}={v}" for k, v in values.items())
        (folder.work / "best" / f"trial-{number:04d}.yaml").write_text(header + "\n" + text)
    failed = int(table.failures.sum()) if len(table) else 0
    extra = dict(objectives=spec["objectives"], constraints=spec["constraints"], params=list(param), trials=trials,
                 replications=count, workers=workers, scheduler=scheduler, best_trials=best, failures=failed,
                 resumed=bool(resume), worker_restarts=reports.restarts)
    folder.write_tables({"trials.parquet": table}, base, manifest("tune", base, seed, started, **extra))
    del study
    draw_and_report(folder.work)
    path = folder.finalize()
    print_best(table, best, ranges, objectives, constraints, f"tune {base.name}: {len(table)} trials x {count} replications, seed {seed}")
    if not best:
        err_console.print("no trial met every constraint: best/ is empty", markup=False)
    _finish_tune(path, failed, reports)


def _finish_tune(path: Path, failed: int, report: TaskReport) -> None:
    console.print(f"results: {path}", markup=False, highlight=False)
    if report.restarts:
        err_console.print(f"a worker process died: the pool was restarted {report.restarts} time(s)", markup=False)
    if failed:
        err_console.print(f"{failed} replication(s) failed (trial means use the others); see trials.parquet",
                          markup=False)
        raise typer.Exit(EXIT_FAILURES)


def print_best(table: pd.DataFrame, best: list[int], ranges, objectives, constraints, title: str) -> None:
    out = Table(title=title + (" - Pareto front" if len(objectives) > 1 else " - best"), title_justify="left")
    columns = ["trial", *(r.path for r in ranges), *dict.fromkeys([*(o.outcome for o in objectives),
                                                                      *(c.outcome for c in constraints)])]
    for name in columns:
        out.add_column(name, justify="right")
    rows = table.set_index("trial")
    for number in best:
        row = rows.loc[number]
        out.add_row(str(number), *(str(row[c]) if not isinstance(row[c], float) else format_number(row[c])
                                   for c in columns[1:]))
    console.print(out)


# ----------------------------------------------------------------------------------------- sensitivity


@app.command()
@user_errors
def sensitivity(
    scenario_path: Path = typer.Argument(..., metavar="SCENARIO", help="Scenario YAML file."),
    param: List[str] = typer.Option(..., "--param", help="path=low..high (integers when both bounds are; durations like 6h..72h) (repeatable)."),
    method: str = typer.Option("morris", "--method", help="morris (screening: mu_star, sigma) or sobol (S1, ST)."),
    samples: Optional[int] = typer.Option(None, "--samples", min=2, help="Morris trajectories (default 10) or Sobol base samples, a power of two (default 16)."),
    replications: Optional[int] = _REPLICATIONS,
    seed: Optional[int] = _SEED,
    set_: Optional[List[str]] = _SET,
    outcomes: Optional[str] = _OUTCOMES,
    out: Optional[Path] = _OUT,
    workers: Optional[int] = _WORKERS,
    scheduler: Optional[str] = _SCHEDULER,
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue an interrupted analysis in this folder."),
    force: bool = _FORCE,
    insist: bool = _INSIST,
) -> None:
    """Which parameters move which outcomes: Morris or Sobol indices (SALib) with 95% intervals.

    Writes sensitivity.csv (outcome, parameter, index, value, ci_low, ci_high) and points.csv.

    Example: modsim sensitivity scenarios/baseline.yaml --param review.pools.khmer.reviewers=5..40 --param detection.classifier.recall=0.3..0.9 --method morris --samples 8 -n 2
    """
    started = dt.datetime.now(dt.timezone.utc)
    if method not in sens.METHODS:
        raise ExperimentError(f"--method {method!r}: expected morris or sobol")
    ranges = [swp.parse_range(p, "--param") for p in param]
    swp._check_paths([r.path for r in ranges], "--param")
    sets = list(set_ or ())
    base = load_scenario(scenario_path, sets)
    count = replications or base.replications
    seed = base.seed if seed is None else seed
    samples = samples or (10 if method == "morris" else 16)
    points, units = sens.design(ranges, method, samples, seed)
    paths = [r.path for r in ranges]
    scenarios = _points_scenarios(scenario_path, sets, paths, points)
    for scenario in scenarios:
        check_workload(scenario, count, insist)
    folder = _open(f"sensitivity-{base.name}", out, force, resume)
    info = {"command": "sensitivity", "scenarios": [scenario_hash(s) for s in scenarios], "seed": seed}
    folder.check_experiment(info)
    folder.start_experiment(info)
    records: dict = dict(folder.load_parts()) if resume else {}
    todo = swp.tasks([s.model_dump(mode="json") for s in scenarios], seed, count, set(records))
    try:
        report = _execute(todo, folder, workers, scheduler, f"{method} {base.name}", count * len(points), records)
    except KeyboardInterrupt:
        _interrupted(folder, f"modsim sensitivity {scenario_path} ...")
    means = _replication_means(records, lambda p: [swp.part_key(p, i) for i in range(count)], len(points))
    available = list(means.columns)
    chosen = _outcome_list(outcomes, available) if outcomes else [o for o in available]
    table, skipped = sens.analyze(ranges, method, units, means, chosen, seed)
    failures = swp.sweep_tables(swp.points_table(paths, points), seed, count, records)[2]
    files = {"sensitivity.csv": table, "points.csv": swp.points_table(paths, points)}
    if len(failures):
        files["failures.csv"] = failures
    extra = dict(params=list(param), method=method, samples=samples, points=len(points), replications=count,
                 workers=workers, scheduler=scheduler, failures=len(failures), skipped_outcomes=skipped,
                 resumed=bool(resume), worker_restarts=report.restarts)
    folder.write_tables(files, base, manifest("sensitivity", base, seed, started, **extra))
    draw_and_report(folder.work)
    path = folder.finalize()
    shown = _outcome_list(outcomes, available)
    print_sensitivity(table, [o for o in shown if o not in skipped], "ST" if method == "sobol" else "mu_star",
                      f"{method} sensitivity of {base.name}: {len(points)} points x {count} replications, seed {seed}")
    _finish(path, len(failures), report)


def print_sensitivity(table: pd.DataFrame, outcomes: list[str], index: str, title: str) -> None:
    out = Table(title=f"{title} ({index}, 95% CI)", title_justify="left")
    out.add_column("outcome")
    parameters = list(dict.fromkeys(table.parameter))
    for name in parameters:
        out.add_column(name, justify="right")
    rows = table[table["index"] == index].set_index(["outcome", "parameter"])
    for outcome in outcomes:
        cells = [outcome]
        for name in parameters:
            if (outcome, name) in rows.index:
                row = rows.loc[(outcome, name)]
                cells.append(_interval(row.value, row.ci_low, row.ci_high))
            else:
                cells.append("-")
        out.add_row(*cells)
    console.print(out)
