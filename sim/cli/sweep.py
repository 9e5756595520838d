"""`modsim sweep`: a grid or Latin-hypercube design over dotted parameters, each point replicated."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from sim.cli import study as st
from sim.cli.common import format_number
from sim.interrupts import plain_data

if TYPE_CHECKING:
    import pandas as pd


@st.study_command("sweep")
def sweep(
    scenario_path: Path = typer.Argument(..., metavar="SCENARIO", help="Scenario YAML file."),
    vary: List[str] = typer.Option(..., "--vary", help="path=start:stop:step, path=a,b,c, or path=low..high with --samples (repeatable)."),
    samples: Optional[int] = typer.Option(None, "--samples", min=1, help="Latin-hypercube design of this many points over low..high ranges (default: a full grid)."),
    *,
    options: st.StudyOptions,
) -> None:
    """Sweep parameters over a grid or a Latin-hypercube design; every point replicated on common random numbers.

    Each point is the scenario with --set path=value applied, validated like a file. Writes
    sweep.parquet (point, one column per varied path, outcome, mean, ci_low, ci_high, n, method) and points.csv.

    Example: modsim sweep scenarios/baseline.yaml --vary review.pools.khmer.reviewers=10:40:10 --vary review.policy=fifo,severity -n 5
    """
    from sim.experiment import sweep as swp
    from sim.metrics import upper_bounds
    from sim.results import manifest, scenario_hash
    from sim.scenario import check_workload, load_scenario

    base = load_scenario(scenario_path, options.sets)
    count = options.replications or base.replications
    seed = base.seed if options.seed is None else options.seed
    paths, points = swp.latin_hypercube(vary, samples, seed) if samples else swp.grid(vary)
    scenarios = st.points_scenarios(scenario_path, options.sets, paths, points)
    for scenario in scenarios:
        check_workload(scenario, count, options.insist)
    points_table = swp.points_table(paths, points)
    study = st.Study(f"sweep-{base.name}", options)
    study.start({"command": "sweep", "scenarios": [scenario_hash(s) for s in scenarios], "seed": seed})
    todo = swp.tasks([plain_data(s) for s in scenarios], seed, count, set(study.records))
    report = study.execute(todo, options.workers, options.scheduler, f"sweep {base.name}", count * len(points))
    table, reps, failures = swp.sweep_tables(points_table, seed, count, study.records,
                                             [upper_bounds(s) for s in scenarios])
    files = {"sweep.parquet": table, "points.csv": points_table, "replications.parquet": reps}
    if len(failures):
        files["failures.csv"] = failures
    extra = dict(vary=list(vary), samples=samples, points=len(points), replications=count, workers=options.workers,
                 scheduler=options.scheduler, failures=len(failures), resumed=study.resumed, worker_restarts=report.restarts)
    shown = st.outcome_list(options.outcomes, list(dict.fromkeys(table.outcome)))
    path = study.finish(files, base, manifest("sweep", base, seed, study.started, **extra),
                        outcomes=shown if options.outcomes else None)
    print_sweep(table, paths, shown, f"sweep of {base.name}: {len(points)} points x {count} replications, seed {seed}")
    st.say_finished(path, len(failures), report)


def print_sweep(table: pd.DataFrame, paths: list[str], outcomes: list[str], title: str, limit: int = 60) -> None:
    """The mean of each shown outcome at each point (the first ``limit`` points); paths shortened, with a legend."""
    from sim.cli import tables

    wide = table[table.outcome.isin(outcomes)].pivot(index=["point", *paths], columns="outcome", values="mean")
    short = tables.short_paths(paths)
    out = tables.new_table(title, "point")
    for name in paths:
        tables.add_number_column(out, short[name])
    shown = [o for o in outcomes if o in wide.columns]
    for name in shown:
        tables.add_number_column(out, name)
    for key, row in list(wide.iterrows())[:limit]:
        out.add_row(*(str(k) for k in key), *(format_number(row[o]) for o in shown))
    more = f"... {len(wide) - limit} more points in sweep.parquet" if len(wide) > limit else None
    tables.show(out, "; ".join(n for n in (tables.legend(short), more) if n) or None)
