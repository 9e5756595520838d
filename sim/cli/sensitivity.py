"""`modsim sensitivity`: which parameters move which outcomes, by Morris or Sobol indices (SALib)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from sim.cli import study as st
from sim.interrupts import plain_data

if TYPE_CHECKING:
    import pandas as pd


@st.study_command("analysis")
def sensitivity(
    scenario_path: Path = typer.Argument(..., metavar="SCENARIO", help="Scenario YAML file."),
    param: List[str] = typer.Option(..., "--param", help=st.PARAM_HELP),
    method: str = typer.Option("morris", "--method", help="morris (screening: mu_star, sigma) or sobol (S1, ST)."),
    samples: Optional[int] = typer.Option(None, "--samples", min=2, help="Morris trajectories (default 10) or Sobol base samples, a power of two (default 16)."),
    *,
    options: st.StudyOptions,
) -> None:
    """Which parameters move which outcomes: Morris or Sobol indices (SALib) with 95% intervals.

    Intervals are a percentile bootstrap over the trajectories (Sobol: base samples) and the
    replications (-n, common random numbers). mu_star is in the outcome's unit per unit of the
    parameter's range scaled to 0..1. Writes sensitivity.csv (outcome, parameter, index, value,
    ci_low, ci_high, method) and points.csv.

    Example: modsim sensitivity scenarios/baseline.yaml --param review.pools.khmer.reviewers=5..40 --param detection.classifier.recall=0.3..0.9 --method morris --samples 8 -n 3
    """
    from sim.experiment import sensitivity as sens
    from sim.experiment import sweep as swp
    from sim.results import manifest, scenario_hash
    from sim.scenario import check_workload, load_scenario

    if method not in sens.METHODS:
        raise st.ExperimentError(f"--method {method!r}: expected morris or sobol")
    ranges = [swp.parse_range(p, "--param") for p in param]
    swp._check_paths([r.path for r in ranges], "--param")
    sets = options.sets
    base = load_scenario(scenario_path, sets)
    count = options.replications or base.replications
    seed = base.seed if options.seed is None else options.seed
    samples = samples or (10 if method == "morris" else 16)
    points, units = sens.design(ranges, method, samples, seed)
    paths = [r.path for r in ranges]
    scenarios = st.points_scenarios(scenario_path, sets, paths, points)
    for scenario in scenarios:
        check_workload(scenario, count, options.insist)
    study = st.Study(f"sensitivity-{base.name}", options)
    study.start({"command": "sensitivity", "scenarios": [scenario_hash(s) for s in scenarios], "seed": seed})
    todo = swp.tasks([plain_data(s) for s in scenarios], seed, count, set(study.records))
    report = study.execute(todo, options.workers, options.scheduler, f"{method} {base.name}", count * len(points))
    outputs = sens.replication_outcomes(study.records, swp.part_key, len(points), count)
    available = list(outputs)
    chosen = st.outcome_list(options.outcomes, available) if options.outcomes else available
    table, skipped = sens.analyze(ranges, method, units, outputs, chosen, seed)
    points_table = swp.points_table(paths, points)
    failures = swp.failures_table(points_table, seed, count, study.records)
    files = {"sensitivity.csv": table, "points.csv": points_table}
    if len(failures):
        files["failures.csv"] = failures
    extra = dict(params=list(param), method=method, samples=samples, points=len(points), replications=count,
                 workers=options.workers, scheduler=options.scheduler, failures=len(failures), skipped_outcomes=skipped,
                 interval_method=sens.interval_method(method, count), bootstrap_draws=sens.BOOTSTRAP_DRAWS,
                 resumed=study.resumed, worker_restarts=report.restarts)
    shown = st.outcome_list(options.outcomes, available)
    path = study.finish(files, base, manifest("sensitivity", base, seed, study.started, **extra),
                        outcomes=shown if options.outcomes else None)
    print_sensitivity(table, [o for o in shown if o not in skipped], "ST" if method == "sobol" else "mu_star",
                      f"{method} sensitivity of {base.name}: {len(points)} points x {count} replications, seed {seed}",
                      replications=count)
    st.say_finished(path, len(failures), report)


MEANING = {
    "mu_star": "mu_star: the mean absolute change in the outcome, in the outcome's own unit, per unit of the "
               "parameter's range scaled to 0..1 (about how much the outcome moves when the parameter goes from "
               "its low to its high bound; 0 = it does not move it)",
    "sigma": "sigma: the spread of those changes across the design, in the outcome's unit per unit of the scaled "
             "range (large against mu_star: interactions or a non-linear effect)",
    "S1": "S1: the share of the outcome's variance over the ranges due to the parameter alone (0..1; beyond "
          "that is estimation noise)",
    "ST": "ST: the share of the outcome's variance over the ranges that involves the parameter, interactions "
          "included (0..1; an interval reaching below 0 or above 1 is estimation noise: one that includes 0 "
          "means no detectable effect, one far outside 0..1 asks for more --samples)",
}


def print_sensitivity(table: pd.DataFrame, outcomes: list[str], index: str, title: str,
                      replications: int | None = None) -> None:
    """One row per outcome, one column per parameter (shortened, with a legend): the index with its interval,
    then what the index means in the outcome's unit and how the intervals were made."""
    from sim.cli import tables

    out = tables.new_table(f"{title} ({index}, 95% CI)")
    parameters = list(dict.fromkeys(table.parameter))
    short = tables.short_paths(parameters)
    for name in parameters:
        tables.add_number_column(out, short[name])
    rows = table[table["index"] == index].set_index(["outcome", "parameter"])
    for label, outcome in tables.grouped(outcomes):
        cells = [label]
        for name in parameters:
            if outcome is not None and (outcome, name) in rows.index:
                row = rows.loc[(outcome, name)]
                cells.append(tables.estimate(row.value, row.ci_low, row.ci_high))
            else:
                cells.append("" if outcome is None else "-")
        out.add_row(*cells)
    notes = [tables.legend(short), MEANING.get(index)]
    if "method" in table.columns and len(table):
        notes.append(f"intervals: {table['method'].iloc[0]}")
    if replications == 1:
        notes.append("with -n 1 the intervals show only which trajectories or samples were drawn, not the "
                     "simulation noise: use -n 3 or more")
    tables.show(out, "\n".join(n for n in notes if n))
