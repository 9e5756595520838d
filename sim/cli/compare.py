"""`modsim compare`: scenarios side by side on common random numbers, with paired differences."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from sim.cli import study as st

if TYPE_CHECKING:
    import pandas as pd


@st.study_command("compare")
def compare(
    scenario_paths: List[Path] = typer.Argument(..., metavar="SCENARIO...", help="Two or more scenario YAML files."),
    precision: Optional[List[str]] = typer.Option(None, "--precision", help="Add replications until every scenario's intervals are this narrow: 5% (relative half-width, every shown outcome), NAME=0.5 or NAME=5% (repeatable)."),
    max_replications: int = typer.Option(200, "--max-replications", min=2, help="With --precision: stop adding replications here."),
    *,
    options: st.StudyOptions,
) -> None:
    """Compare scenarios on common random numbers: means with 95% intervals and the paired difference to the first.

    Replication k of every scenario uses the same seeds, so a policy change is judged on the same
    arrivals. Writes comparison.csv, summary.csv, the replication tables with a scenario column and
    scenarios/<name>.yaml. With --precision, replications are added to every scenario alike (common
    random numbers kept) until each scenario's targeted intervals are narrow enough.

    Example: modsim compare scenarios/cambodia_2023.yaml scenarios/counterfactuals/more_khmer_reviewers.yaml -n 10 --seed 7
    """
    import yaml

    from sim.experiment import compare as cmp
    from sim.experiment import precision as prec
    from sim.experiment.executors import default_workers
    from sim.results import manifest, scenario_document, scenario_hash
    from sim.scenario import check_workload, load_scenario

    scenarios = [load_scenario(p, options.sets) for p in scenario_paths]
    cmp.check_names(scenarios)
    count = options.replications or scenarios[0].replications
    seed = scenarios[0].seed if options.seed is None else options.seed
    for scenario in scenarios:
        check_workload(scenario, count, options.insist)
    names = [s.name for s in scenarios]
    study = st.Study("compare-" + "-".join(names)[:80], options)
    study.start({"command": "compare", "scenarios": [scenario_hash(s) for s in scenarios], "seed": seed})
    targets = [prec.parse_target(t) for t in precision or ()]
    stopped = None
    while True:
        todo = cmp.tasks(scenarios, seed, count, set(study.records))
        report = study.execute(todo, options.workers, options.scheduler, "compare", count * len(scenarios))
        tables = cmp.tables(scenarios, seed, count, study.records)
        if not targets:
            break
        widths = {}
        for name in names:
            own = tables.summary[tables.summary.scenario == name]
            shown = st.outcome_list(options.outcomes, list(own.outcome), own)
            widths.update({f"{name}: {k}": v for k, v in prec.half_widths(own, targets, shown).items()})
        if not prec.unmet(widths) or count >= max_replications:
            stopped = prec.stop_reason(widths, count, max_replications)
            break
        count = prec.next_count(widths, count, max_replications, options.workers or default_workers())
        for scenario in scenarios:
            check_workload(scenario, count, options.insist)
    (study.work / "scenarios").mkdir(exist_ok=True)
    for scenario in scenarios:
        text = yaml.safe_dump(scenario_document(scenario), sort_keys=False, allow_unicode=True)
        (study.work / "scenarios" / f"{scenario.name}.yaml").write_text(text)
    extra = dict(scenarios=names, scenario_hashes=[scenario_hash(s) for s in scenarios], replications=count,
                 workers=options.workers, scheduler=options.scheduler, failures=len(tables.failures), resumed=study.resumed,
                 worker_restarts=report.restarts, precision=[t.text for t in targets] or None, precision_stop=stopped)
    shown = st.outcome_list(options.outcomes, list(dict.fromkeys(tables.comparison.outcome)), tables.comparison)
    path = study.finish(tables.files(), None, manifest("compare", None, seed, study.started, **extra), report=True,
                        outcomes=shown if options.outcomes else None)
    print_comparison(tables.comparison, names, shown,
                     f"{' vs '.join(names)}: {count} replications each, seed {seed} (common random numbers)")
    if stopped:
        st.console.print(stopped, markup=False, highlight=False, soft_wrap=True)
    st.say_finished(path, len(tables.failures), report)


def print_comparison(comparison: pd.DataFrame, names: list[str], outcomes: list[str], title: str) -> None:
    """Means with intervals side by side, then the paired difference of each scenario to the first."""
    from sim.cli import tables

    table = tables.new_table(title)
    for position, name in enumerate(names):
        tables.add_number_column(table, f"{name}\nmean (95% CI)")
        if position:
            tables.add_number_column(table, f"{name} - {names[0]}\npaired (95% CI)")
    rows = comparison.set_index(["outcome", "scenario"])
    for label, outcome in tables.grouped(outcomes):
        cells = [label]
        for position, name in enumerate(names):
            if outcome is None or (outcome, name) not in rows.index:
                cells.extend(["" if outcome is None else "-"] * (2 if position else 1))
                continue
            row = rows.loc[(outcome, name)]
            cells.append(tables.estimate(row["mean"], row.ci_low, row.ci_high))
            if position:
                cells.append(tables.estimate(row.diff_mean, row.diff_low, row.diff_high))
        table.add_row(*cells)
    tables.show(table)
