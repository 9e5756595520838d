"""The ABC-SMC loop of ``modsim calibrate``, one generation at a time from its database.

Each generation starts from the database (``abc.db``, pyabc's History in SQLite in the results
folder): a fresh ``pyabc.ABCSMC`` loads it (the first one creates it), fits its perturbation kernels
to the last population stored, sets its threshold (the median distance of that population) and runs
one generation, which pyabc stores. numpy's global random state, which pyabc's perturbations draw
from, is seeded by (seed, generation) before each, and draws from the prior depend on (seed,
generation, proposal) alone (``IndexedPrior``), so a calibration interrupted and resumed follows
exactly the path of one that never stopped. Inside a generation every evaluated proposal is saved at
once in the results folder's ``parts/`` (with its replication number, seed, ``--set`` expressions, a
hash of its parameters and a checksum, as ``modsim run`` saves replications), so a resumed generation
proposes the same parameters again and reuses their results instead of simulating them again.

Proposals are never simulated on common random numbers: proposal i of generation t runs replication
``(t + 1) * 10**7 + i`` of the seed. Sharing one noise draw among all particles would turn the posterior
into the posterior given that draw, far too narrow; the noise of each simulation is part of what ABC
must see. (Common random numbers serve the comparison of the calibrated scenario with the original,
where ``modsim compare`` uses them.)
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from sim.calibration.priors import Prior, prior_draw, set_expressions
from sim.calibration.targets import Target
from sim.errors import ModsimError

DB = "abc.db"
STRIDE = 10_000_000  # replication numbers per generation
PREDICTIVE = 1_000_000_000  # replication numbers of the posterior predictive check start here


class CalibrationError(ModsimError):
    """A calibration that cannot run as asked."""


@dataclass
class Setup:
    """What a calibration fits, to what, and how long it may search."""

    scenario_path: Path
    sets: list[str]
    priors: list[Prior]
    targets: list[Target]
    seed: int
    particles: int
    generations: int
    min_epsilon: float = 0.0
    max_evaluations: int | None = None
    workers: int = 1

    @property
    def observed(self) -> dict[str, float]:
        return {t.name: float(t.observed) for t in self.targets}

    def payload(self, scenario_data: dict) -> dict:
        """What a worker receives: the scenario's plain data and the targets."""
        return {"scenario": scenario_data, "targets": [t.model_dump(mode="json") for t in self.targets]}


def distance(targets: list[Target]) -> Callable[[dict, dict], float]:
    """The distance of simulated from observed: the root mean square of the targets' terms (in tolerances)."""

    def d(x: dict, x0: dict) -> float:
        terms = [t.term(float(x.get(t.name, math.nan))) for t in targets]
        return float(math.sqrt(sum(v * v for v in terms) / len(terms)))

    return d


def generation_seed(seed: int, t: int) -> int:
    """The seed of numpy's global state for generation ``t`` (-1: the calibration sample)."""
    return int(np.random.SeedSequence([seed, t + 2]).generate_state(1)[0])


def part_key(t: int, i: int) -> str:
    return f"g{t + 1:03d}-{i:06d}"


@dataclass
class Evaluator:
    """Simulates batches of proposals on an executor, saving each result as it finishes."""

    setup: Setup
    folder: object  # sim.results.ResultsFolder
    executor: object
    on_done: Callable[[], None] = lambda: None
    evaluations: int = 0
    reused: int = 0
    failures: int = 0
    invalid: int = 0
    first_error: str | None = None

    @cached_property
    def _document(self):
        """The scenario file, read and resolved once for every proposal: read again each time, a proposal's
        scenario took 0.97 ms instead of 0.47 (mmc, one process), and the bench's calibration makes 457."""
        from sim.scenario.extends import resolve

        return resolve(self.setup.scenario_path)

    def scenario_data(self, values: dict, counted: bool = True) -> dict | None:
        """The plain data of the scenario at one proposal, or None when those values make it invalid (``counted``:
        counted as an invalid proposal)."""
        from sim.errors import ScenarioError
        from sim.scenario.loader import validate_resolved
        from sim.scenario.schema import Scenario

        try:
            scenario, _ = validate_resolved(self._document, [*self.setup.sets,
                                                             *set_expressions(self.setup.priors, values)], Scenario)
            return scenario.model_dump(mode="json")
        except ScenarioError as exc:
            if counted:
                self.invalid += 1
                self.first_error = self.first_error or str(exc)
            return None

    def want(self, key: str, index: int, values: dict) -> dict:
        from sim.results import data_hash

        return {"replication": index, "seed": self.setup.seed, "sets": list(self.setup.sets),
                "scenario_hash": data_hash({"parameters": values, "key": key})}

    def saved(self, key: str, want: dict) -> dict | None:
        """The targets' values saved under ``key`` before an interruption, if intact and this proposal's."""
        from sim.results import read_part

        path = self.folder.parts / f"{key}.json"
        record, _ = read_part(path, want) if path.exists() else (None, None)
        if record is None:
            return None
        self.reused += 1
        return dict(record.outcomes)

    def save(self, key: str, want: dict, record) -> None:
        """Save one evaluated proposal (atomically, with its identity and checksum)."""
        self.folder.save_part(key, record, index=want["replication"], seed=want["seed"],
                              scenario_hash=want["scenario_hash"], sets=want["sets"])

    def stream(self, propose: Callable[[], list[tuple[str, int, dict]]], on_value: Callable[[str, dict | None], None],
               executor, counted: bool = True, enough: Callable[[], bool] | None = None) -> None:
        """Simulate each (key, replication index, parameter values) that ``propose()`` returns, asking it again after
        each result, until it returns nothing and nothing runs, or ``enough()`` is true (what still runs then is left
        to end unheeded); ``on_value(key, target values)`` as each result comes (None where the scenario is invalid or
        the replication failed). A result saved under its key before an interruption is handed on without simulating
        it again; each new one is saved. ``counted`` results add to the evaluations and failures this calibration
        reports."""
        from sim.calibration.simulate import simulate_targets
        from sim.experiment.replicate import Failure, Task, run_tasks

        wants: dict[str, dict] = {}
        ready: deque = deque()

        def tasks_for(items) -> list:
            tasks = []
            for key, index, values in items:
                want = wants[key] = self.want(key, index, values)
                saved = self.saved(key, want)
                if saved is not None:
                    ready.append((key, saved))
                    continue
                data = self.scenario_data(values)
                if data is None:
                    ready.append((key, None))
                    continue
                tasks.append(Task(key, self.setup.payload(data), self.setup.seed, index))
            return tasks

        def more() -> list:
            tasks = tasks_for(propose())
            while ready:  # results at hand may let the caller propose more
                while ready:
                    on_value(*ready.popleft())
                    if enough is not None and enough():
                        ready.clear()
                        return []
                tasks += tasks_for(propose())
            return tasks

        def done(key, record) -> None:
            self.save(key, wants[key], record)
            failed = isinstance(record, Failure)
            if counted:
                if failed:
                    self.failures += 1
                    self.first_error = self.first_error or record.error
                self.evaluations += 1
            on_value(key, None if failed else dict(record.outcomes))

        run_tasks(more(), executor, done, function=simulate_targets, more=more, enough=enough)

    def evaluate(self, items: list[tuple[str, int, dict]], executor, on_result: Callable[[], None] = lambda: None,
                 counted: bool = True) -> dict[str, dict | None]:
        """Simulate the given (key, replication index, parameter values) as ``stream`` does: the target values by key
        (None where none could be had); ``on_result()`` after each."""
        results: dict[str, dict | None] = {}
        batches = [list(items)]

        def on_value(key: str, values: dict | None) -> None:
            results[key] = values
            on_result()

        self.stream(lambda: batches.pop() if batches else [], on_value, executor, counted)
        return results

    def prefetch(self, items: list[tuple[str, int, dict]]) -> None:
        """Start simulating these (key, replication index, parameter values) before they are asked for, on an executor
        that can (``sim.experiment.executors.Prefetching``): ``stream`` takes each one's result when it asks for it."""
        from sim.calibration.simulate import simulate_targets

        for key, index, values in items:
            if (self.folder.parts / f"{key}.json").exists():
                continue
            data = self.scenario_data(values, counted=False)
            if data is not None:
                self.executor.prefetch(simulate_targets, self.setup.payload(data), self.setup.seed, index)

    def generation(self, t: int, propose: Callable[[], list[tuple[int, dict]]],
                   arrived: Callable[[int, dict], None], enough: Callable[[], bool]) -> None:
        """The sampler's stream: generation t's proposals (index, values) simulated as replications
        ``(t + 1) * STRIDE + index``, ``arrived(index, target values)`` as each ends (NaN where it could not run),
        until ``enough()``."""
        nan = {target.name: math.nan for target in self.setup.targets}
        index_of: dict[str, int] = {}

        def items() -> list[tuple[str, int, dict]]:
            proposed = propose()
            index_of.update((part_key(t, k), k) for k, _ in proposed)
            return [(part_key(t, k), (t + 1) * STRIDE + k, values) for k, values in proposed]

        def on_value(key: str, values: dict | None) -> None:
            self.on_done()
            arrived(index_of.pop(key), dict(nan) if values is None else values)

        self.stream(items, on_value, self.executor, enough=enough)

    def forget(self, t: int) -> None:
        """Remove the saved proposals of generation ``t`` (and of the calibration sample): now in the database."""
        for prefix in {part_key(t, 0)[:4], part_key(-1, 0)[:4]}:
            for path in self.folder.parts.glob(f"{prefix}-*.json"):
                path.unlink(missing_ok=True)


def _quiet_pyabc() -> None:
    for name in ("ABC", "ABC.History", "ABC.Distance", "ABC.Epsilon", "ABC.Acceptor", "ABC.Sampler",
                 "ABC.Transition", "ABC.Population", "ABC.Adaptation", "ABC.Predictor", "ABC.Sumstat"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _history(db: Path):
    import pyabc

    return pyabc.History(f"sqlite:///{db}")


def stored_generations(db: Path) -> int:
    """How many generations the database holds (0 when it holds none, or cannot be read: it starts afresh)."""
    if not db.exists():
        return 0
    try:
        history = _history(db)
        return max(int(history.max_t) + 1, 0) if history.n_populations else 0
    except Exception:  # noqa: BLE001 - a database cut short while being created: start again
        return 0


@dataclass
class Generation:
    """What one generation did (for the progress line and generations.csv)."""

    t: int
    epsilon: float
    accepted: int
    proposals: int
    seconds: float


def prior_proposals(setup: Setup, t: int, count: int) -> list[tuple[str, int, dict]]:
    """The first ``count`` proposals of generation ``t`` drawn from the prior (-1, pyabc's calibration sample, and
    0), as (key, replication index, values): as ``IndexedPrior`` makes pyabc propose them."""
    return [(part_key(t, k), (t + 1) * STRIDE + k, prior_draw(setup.priors, setup.seed, t, k)) for k in range(count)]


def start_early(evaluator: Evaluator) -> None:
    """Start simulating, on a local pool or a Dask cluster, the proposals a new calibration is sure to need before
    pyabc can ask for them: its calibration sample (``particles`` draws from the prior, which set the first
    threshold) and the first ``particles`` proposals of generation 0 (also drawn from the prior; it needs that
    many at least). Meanwhile this process imports pyabc (1.5-3 s, more from a cold disk), creates its database
    and replays the calibration sample, work the workers would otherwise wait for. Nothing is started serially,
    or for a calibration resumed with a database (it reuses its saved parts)."""
    from sim.experiment.executors import Prefetching

    if evaluator.executor is None or (Path(evaluator.folder.work) / DB).exists():
        return
    evaluator.executor = Prefetching(evaluator.executor)
    n = evaluator.setup.particles
    evaluator.prefetch(prior_proposals(evaluator.setup, -1, n) + prior_proposals(evaluator.setup, 0, n))


def run_abc(evaluator: Evaluator, on_generation: Callable[[Generation], None],
            on_progress: Callable[[int, int, int], None] = lambda t, a, n: None) -> Evaluator:
    """Run the generations still missing from the database in the evaluator's folder; return the evaluator (its
    counts)."""
    import pyabc

    from sim.calibration.sampler import IndexedPrior, ProposalModel, StreamingSampler

    _quiet_pyabc()
    setup = evaluator.setup
    db = Path(evaluator.folder.work) / DB
    done = stored_generations(db)
    if done == 0:
        db.unlink(missing_ok=True)
    rate = [1.0]

    def window(n: int, accepted: int, tried: int) -> int:
        """Proposals to keep in flight: those still needed at the acceptance rate so far, between one and two per
        worker (one keeps every worker busy; the second, when more are needed, keeps them busy while a result
        that came early waits for an earlier one)."""
        here = accepted / tried if tried else rate[0]
        need = math.ceil((n - accepted) / max(here, 0.02))
        return min(max(need, setup.workers), 2 * setup.workers)

    names = [p.name for p in setup.priors]
    total = _total_evaluations(db) if done else 0
    if done and _last_epsilon(db) <= setup.min_epsilon:
        return evaluator  # it had stopped at its threshold before the interruption
    for t in range(done, setup.generations):
        if setup.max_evaluations is not None and total >= setup.max_evaluations:
            break
        started = time.monotonic()
        np.random.seed(generation_seed(setup.seed, t))
        model = ProposalModel(names, setup.observed)
        prior = IndexedPrior(setup.priors, setup.seed)
        sampler = StreamingSampler(model, prior, evaluator.generation, window, on_progress)
        sampler.show_progress = False
        abc = pyabc.ABCSMC(model, prior, distance(setup.targets), population_size=setup.particles, sampler=sampler)
        if t == 0:
            abc.new(f"sqlite:///{db}", setup.observed)
        else:
            abc.load(f"sqlite:///{db}", 1)
        t0 = abc.initialize_components_before_run(minimum_epsilon=setup.min_epsilon, max_nr_populations=1,
                                                  min_acceptance_rate=0.0, max_total_nr_simulations=np.inf,
                                                  max_walltime=None, min_eps_diff=0.0)
        epsilon = float(abc.eps(t0))
        result = abc.run_generation(t0)
        if not result.get("successful", True):
            raise CalibrationError(f"generation {t0} found no accepted particle")
        proposals = int(sampler.nr_evaluations_)
        rate[0] = setup.particles / max(proposals, 1)
        total += proposals
        evaluator.forget(t0)
        on_generation(Generation(t0, epsilon, setup.particles, proposals, time.monotonic() - started))
        if epsilon <= setup.min_epsilon:
            break
    return evaluator


def _last_epsilon(db: Path) -> float:
    pops = _history(db).get_all_populations()
    pops = pops[pops.t >= 0]
    return float(pops.epsilon.iloc[-1]) if len(pops) else math.inf


def _total_evaluations(db: Path) -> int:
    try:
        return int(_history(db).total_nr_simulations)
    except Exception:  # noqa: BLE001
        return 0


def generations_table(db: Path) -> pd.DataFrame:
    """``generations.csv``: generation, epsilon, accepted particles, proposals evaluated (and their share)."""
    history = _history(db)
    pops = history.get_all_populations()
    pops = pops[pops.t >= 0]
    n = [int(len(history.get_distribution(0, int(t))[1])) for t in pops.t]
    table = pd.DataFrame({"generation": pops.t.astype(int).to_numpy(), "epsilon": pops.epsilon.to_numpy(float),
                          "accepted": n, "proposals": pops.samples.astype(int).to_numpy()})
    table["acceptance"] = table.accepted / table.proposals
    return table


def posterior(db: Path, priors: list[Prior]) -> pd.DataFrame:
    """The last generation's particles: one row each, its weight, distance and every parameter's value
    (hours for durations, the value itself for log-uniform priors)."""
    history = _history(db)
    t = int(history.max_t)
    particles = history.get_population(t).particles
    table = pd.DataFrame({"particle": np.arange(len(particles)), "generation": t,
                          "weight": [float(q.weight) for q in particles]})
    table["weight"] /= table.weight.sum()
    for p in priors:
        table[p.path] = [p.natural(float(q.parameter[p.name])) for q in particles]
    table["distance"] = [float(q.distance) for q in particles]
    return table
