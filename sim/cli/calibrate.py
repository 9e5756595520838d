"""`modsim calibrate`: fit assumed parameters to observed facts by ABC-SMC (pyabc), with honest uncertainty."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from sim.cli import study as st
from sim.cli.common import console, err_console, format_number, progress_bar
from sim.interrupts import plain_data

if TYPE_CHECKING:
    import pandas as pd


@st.study_command("calibration")
def calibrate(
    scenario_path: Path = typer.Argument(..., metavar="SCENARIO", help="Scenario YAML file."),
    targets: Path = typer.Option(..., "--targets", help="Targets file: the observed facts and their tolerances."),
    param: List[str] = typer.Option(..., "--param", help="PATH=LOW..HIGH (uniform prior) or PATH=log:LOW..HIGH (log-uniform); durations like 20d..200d (repeatable)."),
    particles: int = typer.Option(100, "--particles", min=2, help="Particles per generation (the posterior sample's size)."),
    generations: int = typer.Option(5, "--generations", min=1, help="Most ABC-SMC generations (each halves the distance threshold, roughly); may change on --resume."),
    min_epsilon: float = typer.Option(0.0, "--min-epsilon", min=0.0, help="Stop once the threshold (root mean square distance, in tolerances) is at or below this."),
    max_evaluations: Optional[int] = typer.Option(None, "--max-evaluations", min=1, help="Start no generation once this many replications were simulated."),
    *,
    options: st.StudyOptions,
) -> None:
    """Calibrate parameters to observed facts with ABC-SMC (pyabc): a posterior, not a point.

    Each particle is one replication with its own seed, measured against every target; its distance is
    the root mean square of (simulated - observed) / tolerance over the targets. Each generation keeps
    the particles within the median distance of the last one. -n sets the replications of the
    posterior predictive check (default: the scenario's). Writes posterior.parquet, posterior.csv (median
    and 90% interval of each parameter), generations.csv, predictive.parquet and predictive.csv (each
    target simulated under the posterior against its observed value), calibrated.yaml (the original
    with the posterior medians, each commented), abc.db (pyabc's database: --resume continues from it,
    with the posterior of an uninterrupted calibration), charts and report.html.

    Example: modsim calibrate scenarios/validation/mmc.yaml --targets scenarios/targets/mmc.yaml --param review.pools.agents.handling_time.mean=40min..80min --set horizon=300h --particles 20 --generations 2 -n 10
    """
    from sim.calibration import targets as tg
    from sim.calibration.priors import parse_priors
    from sim.results import scenario_hash
    from sim.scenario import check_workload, load_scenario

    priors = parse_priors(param)
    loaded = tg.load_targets(targets)
    base = load_scenario(scenario_path, options.sets)
    tg.check_against(loaded, base)
    count = options.replications or base.replications
    seed = base.seed if options.seed is None else options.seed
    for corner in (0.0, 1.0):  # every bound must make a valid scenario before anything runs
        sets = [f"{p.path}={p.setting(p.range.low + corner * (p.range.high - p.range.low))}" for p in priors]
        check_workload(st.load_point(scenario_path, options.sets, sets, "--param bounds"), 1, options.insist)
    _check_outcomes(loaded, base, seed)
    study = st.Study(f"calibrate-{base.name}", options)
    record = {"command": "calibrate", "seed": seed, "scenario_hash": scenario_hash(base), "params": list(param),
              "targets": [plain_data(t) for t in loaded.targets], "particles": particles,
              "stopping": {"generations": generations, "min_epsilon": min_epsilon, "max_evaluations": max_evaluations},
              "sets": study.sets}
    with study._closed_on_failure():
        study.folder.check_experiment(record)
        if study.folder.complete:
            study._finish_stranded()
        study.folder.start_experiment(record)
    _run(study, scenario_path, base, priors, loaded, seed, count, particles, generations, min_epsilon,
         max_evaluations, options)


def _check_outcomes(loaded, base, seed: int) -> None:
    """Run one replication of the scenario (serially) to check that every outcome target names an outcome."""
    from sim.calibration import targets as tg
    from sim.calibration.simulate import simulate_targets
    from sim.experiment.replicate import Failure

    if not any(t.outcome for t in loaded.targets):
        return
    data = {"scenario": plain_data(base), "targets": [plain_data(t) for t in loaded.targets],
            "outcomes": True}
    record = simulate_targets(data, seed, 2**40)
    if isinstance(record, Failure):
        raise st.ExperimentError(f"the scenario's first replication failed: {record.error}")
    tg.check_measured(loaded, [k[len("outcome:"):] for k in record.outcomes if k.startswith("outcome:")])


def _run(study, scenario_path, base, priors, loaded, seed, count, particles, generations, min_epsilon,
         max_evaluations, options) -> None:
    from sim.calibration import abc as ab
    from sim.calibration import outputs as out
    from sim.experiment.executors import default_workers, executor_for
    from sim.results import manifest, scenario_document

    workers = options.workers or default_workers()
    setup = ab.Setup(Path(scenario_path), study.sets, priors, loaded.targets, seed, particles, generations,
                     min_epsilon, max_evaluations, workers if not options.scheduler else max(workers, 4))

    def said(g: ab.Generation) -> None:
        err_console.print(f"generation {g.t + 1}/{generations}: threshold {format_number(g.epsilon)} tolerances "
                          f"(root mean square), {g.accepted} accepted of {g.proposals} proposals "
                          f"({g.accepted / max(g.proposals, 1):.0%}), {g.seconds:.0f} s", markup=False,
                          highlight=False, soft_wrap=True)

    stored = ab.stored_generations(study.work / ab.DB)
    if stored:
        err_console.print(f"resumed: {stored} generation(s) stored in {study.work / ab.DB}", markup=False,
                          highlight=False, soft_wrap=True)
    with study.stopped_cleanly("the calibration is"):
        with executor_for(options.workers, options.scheduler, max(particles, 2)) as executor:
            evaluator = ab.Evaluator(setup, study.folder, executor)
            ab.start_early(evaluator)
            import pyabc  # noqa: F401 - 1.5-3 s (18 s from a cold disk), while the workers simulate what start_early gave them

            from sim.collector import hold

            hold()  # pyabc, sklearn and scipy.stats are in (sim.collector)
            ab.run_abc(evaluator, said)
            db = study.work / ab.DB
            post = ab.posterior(db, priors)
            summary = out.posterior_summary(post, priors)
            draws = out.predictive_draws(post, count, seed)
            values = _predictive(setup, evaluator, post, draws, executor)
    ppc_long, ppc = out.predictive_tables(values, draws, loaded.targets)
    label = f"{Path(loaded.path).name}, seed {seed}, {len(post)} particles"
    text = out.calibrated_yaml(Path(scenario_path), study.folder.final, scenario_document(base), priors, summary,
                               label, study.sets)
    (study.work / "calibrated.yaml").write_text(text)
    st.load_point(study.work / "calibrated.yaml", [], [], "calibrated.yaml")  # it must run as it is
    files = {"posterior.parquet": post, "posterior.csv": summary, "generations.csv": ab.generations_table(db),
             "predictive.parquet": ppc_long, "predictive.csv": ppc}
    extra = dict(targets=str(loaded.path), params=[p.text + f" ({p.path})" for p in priors],
                 particles=particles, generations=generations, replications=count, evaluations=evaluator.evaluations,
                 reused=evaluator.reused, failures=evaluator.failures, invalid=evaluator.invalid,
                 workers=options.workers, scheduler=options.scheduler, resumed=study.resumed)
    path = study.finish(files, base, manifest("calibrate", base, seed, study.started, **extra), report=True)
    print_posterior(summary, priors, f"calibrate {base.name}: {len(post)} particles, seed {seed}")
    console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)
    if evaluator.failures or evaluator.invalid:
        err_console.print(f"{evaluator.failures} replication(s) failed and {evaluator.invalid} proposal(s) made an "
                          f"invalid scenario (counted as far from every target); the first: {evaluator.first_error}",
                          markup=False, highlight=False, soft_wrap=True)


def _predictive(setup, evaluator, post, draws: list[int], executor) -> dict[int, dict]:
    """Simulate the posterior predictive check: one replication at each drawn particle (saved as it ends)."""
    import math

    from sim.calibration.abc import PREDICTIVE

    items = []
    for k, particle in enumerate(draws):
        row = post.iloc[particle]
        params = {p.name: math.log10(float(row[p.path])) if p.log else float(row[p.path]) for p in setup.priors}
        items.append((f"ppc-{k:06d}", PREDICTIVE + k, params))
    with progress_bar("posterior predictive check", len(items)) as advance:
        results = evaluator.evaluate(items, executor, advance, counted=False)
    return {k: results[key] or {} for k, (key, _, _) in enumerate(items)}


def print_posterior(summary: pd.DataFrame, priors, title: str) -> None:
    """Each parameter's posterior median and 90% interval, with its prior."""
    from sim.cli import tables

    table = tables.new_table(title, first="parameter")
    for header in ("median", "90% interval", "prior"):
        tables.add_number_column(table, header)
    by_path = {p.path: p for p in priors}
    for row in summary.itertuples():
        p = by_path[row.parameter]
        table.add_row(row.parameter, p.shown(row.median), f"{p.shown(row.q05)} .. {p.shown(row.q95)}", p.text)
    tables.show(table)
