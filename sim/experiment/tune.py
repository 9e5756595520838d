"""Tuning policy parameters with Optuna: one objective (TPE) or several (NSGA-II, a Pareto front).

Each trial runs the same common-random-number replications (the same seeds for every trial), so
trials differ only by their parameters; its value is the mean over them, kept with a 95% interval
per outcome. An objective is an outcome (``max:reviewer_utilization``) or a tuned parameter itself
(``min:review.pools.agents.reviewers``: the fewest reviewers that meet the constraints). Constraints
(``outcome<=value``) reach Optuna as violations (``Trial.set_constraint`` in Optuna 5,
``constraints_func`` before), positive when violated.

A study a user can trust and resume:

- **Every worker busy, the same trials however many.** Trials are asked in fixed batches of
  ``batch`` (``--batch``, default ``BATCH``): trials ``b*batch .. (b+1)*batch-1`` are all asked
  before any is told, and two batches are in flight: batch b+2 is asked as soon as batch b is all
  told, so its replications are queued behind batch b+1's and no worker waits while the parent tells
  one batch and asks the next (``_Flight``). Every replication goes to the executor as soon as its
  batch is asked (a worker takes the next as soon as it is free), and trials are told in trial order as
  their replications finish. The batch, not the number of workers, decides what each trial sees, so
  serial, pool and Dask give the same trials; ``--batch 1`` asks one trial at a time, each from every
  trial but the one before it.
- **Reproducible, whenever it stops.** Trial k is asked from a fresh sampler seeded by (seed, k,
  attempt), and a sampler sees only the finished trials (COMPLETE, in order), so what it suggests
  depends on the trials of the batches before the one before k's and nothing else: not on an earlier process's
  random state, nor on trials an interruption cut short. Those (RUNNING when the process died, or
  WAITING) are marked failed and ``interrupted`` on resume and run again as trial k, with the
  setting they were asked (stored on them at once, since batch-mates told meanwhile would change a
  fresh suggestion), so an interrupted and resumed study has the trials of an uninterrupted one. The trials' own numbers (``trial`` in
  trials.parquet) count only evaluated trials, whatever Optuna numbered them.
- **Never the same setting twice.** A suggestion already evaluated is not a new trial: the sampler
  is asked again (up to ``ASKS`` times, each try a failed Optuna trial marked ``repeat_of``), then
  the nearest setting not yet tried is taken (when the space is finite: integers and durations,
  which are whole minutes). A study whose space has fewer settings than ``--trials`` tries each
  once and stops. A result is stored on its trial before the trial is told, so one evaluated just
  before an interruption is reused, not run again.

The study lives in the results folder as SQLite under a fixed name (``study.db``).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from sim.errors import ModsimError
from sim.experiment.statistics import as_float
from sim.experiment.sweep import Range, duration_text
from sim.interrupts import held_back

STUDY_NAME = "modsim-tune"
FORMAT = 4  # objectives.json "format": how trials are numbered and asked (a study of another format is not resumed)
BATCH = 4  # trials asked together and evaluated at once (``--batch``): the trials depend on it, not on the workers
ASKS = 8  # tries at a setting not yet evaluated before the nearest untried one is taken
ENUMERABLE = 200_000  # finite spaces up to this many settings are searched for the nearest untried one
_CONSTRAINT = re.compile(r"\s*([A-Za-z0-9_]+)\s*(<=|>=|<|>)\s*(\S+)\s*")


class TuneError(ModsimError):
    """An objective or constraint that cannot be read, or a study that cannot be resumed."""


@dataclass(frozen=True)
class Objective:
    direction: str  # "minimize" or "maximize"
    outcome: str  # an outcome, or the path of a tuned parameter

    @property
    def text(self) -> str:
        return f"{self.direction[:3]}:{self.outcome}"

    @property
    def sign(self) -> float:
        """+1 to minimise, -1 to maximise (cost = sign * value)."""
        return 1.0 if self.direction == "minimize" else -1.0


@dataclass(frozen=True)
class Constraint:
    outcome: str
    op: str
    bound: float

    @property
    def text(self) -> str:
        return f"{self.outcome}{self.op}{self.bound:g}"

    def violation(self, value: float) -> float:
        """Positive when violated, zero or negative when satisfied (NaN counts as violated)."""
        if not math.isfinite(value):
            return math.inf
        return value - self.bound if self.op in ("<=", "<") else self.bound - value


def parse_objective(text: str) -> Objective:
    direction, sep, outcome = text.partition(":")
    directions = {"min": "minimize", "max": "maximize", "minimize": "minimize", "maximize": "maximize"}
    if not sep or direction.strip() not in directions or not outcome.strip():
        raise TuneError(f"--objective {text!r}: expected min:OUTCOME, max:OUTCOME or min:PARAM (a tuned --param "
                        "path), like max:reviewer_utilization")
    return Objective(directions[direction.strip()], outcome.strip())


def parse_constraint(text: str) -> Constraint:
    match = _CONSTRAINT.fullmatch(text)
    try:
        bound = float(match.group(3)) if match else math.nan
    except ValueError:
        bound = math.nan
    if not match or not math.isfinite(bound):
        raise TuneError(f"--constraint {text!r}: expected OUTCOME<=NUMBER or OUTCOME>=NUMBER, like queue_wait_mean_h<=0.5")
    return Constraint(match.group(1), match.group(2), bound)


def check_objectives(objectives: list[Objective], ranges: list[Range]) -> None:
    """An objective naming a dotted path must name a tuned parameter (outcomes have no dots)."""
    paths = {r.path for r in ranges}
    for o in objectives:
        if "." in o.outcome and o.outcome not in paths:
            raise TuneError(f"--objective {o.text}: {o.outcome} is not a tuned parameter (tuned: {', '.join(paths)}); "
                            "a parameter objective needs its --param")
    if len({o.outcome for o in objectives}) < len(objectives):
        raise TuneError("--objective: the same objective is given twice")


def parameter_objectives(objectives: list[Objective], ranges: list[Range]) -> set[str]:
    """The objectives that are tuned parameters rather than outcomes."""
    paths = {r.path for r in ranges}
    return {o.outcome for o in objectives if o.outcome in paths}


# ------------------------------------------------------------------------------------ the search space


def suggest(trial, r: Range) -> Any:
    """The trial's value of one parameter, as it goes into ``--set``."""
    if r.kind == "int":
        return trial.suggest_int(r.path, int(r.low), int(r.high))
    if r.kind == "duration":
        return r.value((trial.suggest_float(r.path, r.low, r.high) - r.low) / (r.high - r.low))
    return trial.suggest_float(r.path, r.low, r.high)


def _grain(r: Range) -> int:
    """Steps per hour of a duration range (``sweep.duration_text``: whole minutes, or seconds below an hour)."""
    return 60 if r.high - r.low >= 1 else 3600


def _steps(r: Range) -> tuple[int, int] | None:
    """The first and last step of a finite range (integers, durations in steps of ``_grain``), or None."""
    if r.kind == "int":
        return int(r.low), int(r.high)
    if r.kind == "duration":
        g = _grain(r)
        return round(r.low * g), round(r.high * g)  # as duration_text rounds the sampled hours
    return None


def space_size(ranges: list[Range]) -> int | None:
    """How many settings the ranges hold, or None when one is continuous (a float range)."""
    size = 1
    for r in ranges:
        steps = _steps(r)
        if steps is None:
            return None
        size *= steps[1] - steps[0] + 1
    return size


def _setting(r: Range, step: int) -> tuple[Any, Any]:
    """(Optuna's value, the ``--set`` value) of one step of a finite range."""
    if r.kind == "int":
        return step, step
    hours = min(max(step / _grain(r), r.low), r.high)
    return hours, duration_text(hours, r.high - r.low)


def key_of(values: dict) -> str:
    """A setting (``--set`` values by path) as a key: equal settings, equal keys, across JSON round trips."""
    return json.dumps(values, sort_keys=True)


def nearest_untried(ranges: list[Range], near: dict, tried: set[str], rng: np.random.Generator) -> dict | None:
    """Optuna values of the untried setting nearest to ``near`` (Optuna values; ties drawn by ``rng``),
    or None when every setting was tried or the space is continuous or too large to search."""
    size = space_size(ranges)
    if size is None or size > ENUMERABLE:
        return None
    axes = [range(a, b + 1) for a, b in (_steps(r) for r in ranges)]
    best, best_distance = [], math.inf
    for steps in itertools.product(*axes):
        pairs = [_setting(r, s) for r, s in zip(ranges, steps)]
        if key_of({r.path: shown for r, (_, shown) in zip(ranges, pairs)}) in tried:
            continue
        distance = sum(((value - float(near[r.path])) / (r.high - r.low)) ** 2 for r, (value, _) in zip(ranges, pairs))
        if distance < best_distance - 1e-12:
            best, best_distance = [pairs], distance
        elif abs(distance - best_distance) <= 1e-12:
            best.append(pairs)
    if not best:
        return None
    chosen = best[int(rng.integers(len(best)))]
    return {r.path: value for r, (value, _) in zip(ranges, chosen)}


# ------------------------------------------------------------------------------------ the study


def trial_seed(seed: int, number: int, attempt: int) -> int:
    """The sampler's seed for try ``attempt`` at trial ``number``: the same whenever that trial is asked."""
    return int(np.random.SeedSequence([seed, number, attempt]).generate_state(1)[0])


def make_sampler(objectives: int, seed: int, has_constraints: bool):
    """A fresh sampler: TPE for one objective, NSGA-II for several."""
    import optuna

    modern = hasattr(optuna.trial.Trial, "set_constraint")
    cf = _constraints if has_constraints and not modern else None
    if objectives == 1:
        return optuna.samplers.TPESampler(seed=seed, constraints_func=cf)
    return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=cf)


def _constraints(frozen) -> list[float]:
    return list(frozen.user_attrs.get("constraints", [math.inf]))


def open_study(db: Path, objectives: list[Objective], seed: int, has_constraints: bool):
    """Create or load the study stored in ``db``.

    A new study is made beside ``db`` and renamed into place, so that an interruption while Optuna
    creates its tables never leaves a half-made database. Each trial gets its own sampler (see
    ``optimize``); the one set here only serves code that asks the study directly.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.disable_default_handler()
    directions = [o.direction for o in objectives]
    sampler = make_sampler(len(objectives), seed, has_constraints)
    if not db.exists():
        fresh = db.with_name(db.name + ".new")
        fresh.unlink(missing_ok=True)
        optuna.create_study(storage=f"sqlite:///{fresh}", study_name=STUDY_NAME, directions=directions, sampler=sampler)
        os.replace(fresh, db)
    study = optuna.load_study(storage=f"sqlite:///{db}", study_name=STUDY_NAME, sampler=sampler)
    if [d.name.lower() for d in study.directions] != directions:
        raise TuneError(f"{db}: the study's directions differ from the objectives'")
    return study


def recover_interrupted(study) -> tuple[int, int]:
    """Mark the trials an interruption cut short (RUNNING or WAITING) failed, so they never stay so.

    Returns (how many, how many of them had been evaluated: their results are reused, not run again).
    Trial k then runs again (as a new Optuna trial) and is asked exactly as it was.
    """
    from optuna.trial import TrialState

    count = kept = 0
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        study._storage.set_trial_user_attr(frozen._trial_id, "interrupted", True)
        study._storage.set_trial_state_values(frozen._trial_id, TrialState.FAIL)
        count += 1
        kept += "result" in frozen.user_attrs
    return count, kept


def fail_interrupted(study, db: Path, objectives: list[Objective], seed: int, has_constraints: bool) -> int:
    """After Ctrl-C: mark the trial cut short failed now, so that it is never left RUNNING; returns how many.

    The interrupted process may have been inside a write: its transaction is rolled back and its
    connections closed (an open transaction would keep SQLite locked), then the study is read afresh.
    """
    backend = getattr(study._storage, "_backend", study._storage)
    session = getattr(backend, "scoped_session", None)
    if session is not None:
        try:
            session.rollback()
        finally:
            session.remove()
            backend.engine.dispose()
    return recover_interrupted(open_study(db, objectives, seed, has_constraints))[0]


def counted_trials(study) -> list:
    """The evaluated trials, by their number (``trial``): those that count towards ``--trials``."""
    found: dict[int, Any] = {}
    for t in study.get_trials(deepcopy=False):
        if "trial" in t.user_attrs and "interrupted" not in t.user_attrs and t.state.is_finished():
            found.setdefault(int(t.user_attrs["trial"]), t)
    return [found[k] for k in sorted(found)]


def finished_trials(study) -> int:
    """Trials that count towards ``--trials``: evaluated ones, whatever their result."""
    return len(counted_trials(study))


def _stored_results(study) -> dict[str, dict]:
    """Every result stored in the study, by setting (including those of interrupted trials)."""
    results: dict[str, dict] = {}
    for t in study.get_trials(deepcopy=False):
        if "result" in t.user_attrs and "set" in t.user_attrs:
            results.setdefault(key_of(t.user_attrs["set"]), t.user_attrs["result"])
    return results


def summarise(replications: list[dict], failures: int) -> dict:
    """A trial's result: each outcome's mean, 95% interval and n over its replications (as compare does)."""
    from sim.experiment.statistics import outcome_ci
    from sim.metrics import outcome_kind

    names = list(dict.fromkeys(name for r in replications for name in r))
    outcomes = {}
    for name in names:
        values = np.array([as_float(r.get(name)) for r in replications], dtype=float)
        mean, low, high, n, _ = outcome_ci(values, outcome_kind(name))
        outcomes[name] = [mean, low, high, n]
    return {"outcomes": outcomes, "replications": len(replications), "failures": int(failures)}


def _mean(result: dict, outcome: str) -> float:
    entry = result.get("outcomes", {}).get(outcome)
    return float(entry[0]) if entry else math.nan


def optimize(study, ranges: list[Range], objectives: list[Objective], constraints: list[Constraint], trials: int,
             seed: int, evaluate: Callable[[dict], tuple[list[dict], int]],
             on_trial: Callable[[], None] = lambda: None, batch: int = 1,
             evaluate_many: Callable[..., None] | None = None) -> None:
    """Run trials, ``batch`` at a time, until ``trials`` distinct settings are evaluated (or all there are).

    ``evaluate(values)`` runs the replications of a setting (``--set`` values by path) and returns
    (the outcomes of each finished replication, how many failed). ``evaluate_many(settings, done, more)``,
    when given, runs settings as a stream: every replication of every setting on the executor, so that each
    worker takes the next replication as soon as it is free; it calls ``done(position, outcomes, failed)``
    as each setting's replications have all finished (positions number the settings in the order given),
    and then ``more()``, whose settings it runs too. Without it the settings are evaluated one after
    another, in the same order. A setting already evaluated, in this process or before an interruption,
    is never evaluated again.

    Batches are deterministic and overlap (see ``_Flight``): batches 0 and 1 are asked at the start, and
    batch k+2 as soon as every trial of batch k is told, before any of batch k+1 is; trials are told in
    trial order. Each trial is therefore asked from the trials of the batches before the previous one, and
    the trials depend on ``batch`` and the seed, never on how many workers ran them or in which order their
    replications finished; and while one batch's last replications run, the next batch's are queued.
    """
    import optuna

    counted = counted_trials(study)
    flight = _Flight(study, ranges, objectives, constraints, seed, trials, batch, counted, on_trial)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            with held_back():
                settings = flight.launch() + flight.launch()
                flight.advance()
                settings += flight.more()
            if evaluate_many is not None:
                evaluate_many(settings, flight.done, flight.more)
                return
            queue, position = deque(settings), 0
            while queue:
                flight.done(position, *evaluate(queue.popleft()))
                position += 1
                queue.extend(flight.more())
        except TuneError:
            flight.abandon()
            raise


class _Flight:
    """The batches of trials asked and not yet all told, oldest first, and the settings they need evaluated.

    ``launch`` asks the next batch (avoiding every setting evaluated or in flight) and returns the settings
    of it that no earlier trial evaluates; ``done`` stores a setting's result on its trials and lets the
    oldest batch tell what it can, in trial order; once the oldest batch is all told, the batch after the
    newest is asked (``more`` hands its settings on). So the operations on the study come in one fixed
    order, whichever order the results arrive in: ask 0, ask 1, tell 0, ask 2, tell 1, ask 3, ...
    """

    def __init__(self, study, ranges, objectives, constraints, seed: int, trials: int, batch: int, counted: list,
                 on_trial: Callable[[], None]) -> None:
        self.study, self.ranges, self.objectives, self.constraints = study, ranges, objectives, constraints
        self.seed, self.trials, self.batch = seed, trials, max(int(batch), 1)
        self.counted, self.on_trial = counted, on_trial
        self.tried = {key_of(t.user_attrs["set"]) for t in counted}
        self.results = _stored_results(study)
        self.size = space_size(ranges)
        self.tellers: deque[_Teller] = deque()
        self.stream: list[str] = []  # the setting of each position handed out to be evaluated
        self.next_number = len(counted)
        self._new: list[dict] = []

    def launch(self) -> list[dict]:
        """Ask the next batch, if trials remain: the settings of it still to evaluate (added to the stream)."""
        first = self.next_number
        flying = {key for teller in self.tellers for _, _, key in teller.asked[teller.told:]}
        taken = self.tried | flying
        if first >= self.trials or (self.size is not None and len(taken) >= self.size):
            return []
        stop = min((first // self.batch + 1) * self.batch, self.trials)
        if self.size is not None:
            stop = min(stop, first + self.size - len(taken))
        asked = ask_batch(self.study, self.ranges, self.objectives, bool(self.constraints), self.seed,
                          range(first, stop), taken)
        self.next_number = stop
        self.tellers.append(_Teller(self.study, self.ranges, self.objectives, self.constraints, asked,
                                    self.results, self.counted, self.tried, self.on_trial))
        streamed = set(self.stream)
        todo = [key for key in dict.fromkeys(key for _, _, key in asked) if key not in self.results and key not in streamed]
        self.stream += todo
        return [json.loads(key) for key in todo]

    def done(self, position: int, outs: list[dict], failed: int) -> None:
        """The setting at ``position`` has all its replications: store its result, tell what can be told.

        A Ctrl-C arriving meanwhile waits until this is done: cut inside one of the study's database writes, it
        left the storage unusable, so the trials asked could not be marked failed at once (seen 1 run in 6 of
        tests/test_tune.py's Ctrl-C case once two batches were in flight)."""
        with held_back():
            key = self.stream[position]
            result = summarise(outs, failed)
            for teller in self.tellers:
                if teller.check(key, result):
                    break
            self.results[key] = result
            for teller in self.tellers:
                teller.store(key, result)
            self.advance()

    def advance(self) -> None:
        """Tell the oldest batch's trials that can be; once it is all told, ask the batch after the newest."""
        while self.tellers:
            oldest = self.tellers[0]
            oldest.tell_ready()
            if oldest.told < len(oldest.asked):
                return
            self.tellers.popleft()
            self._new += self.launch()

    def more(self) -> list[dict]:
        """The settings of the batches asked since the last call, to evaluate after those handed out."""
        new, self._new = self._new, []
        return new

    def abandon(self) -> None:
        """A user error ends the study: every trial asked and not told is failed, never left RUNNING."""
        for teller in self.tellers:
            teller.abandon()


class _Teller:
    """Stores each evaluated setting's result on its batch's trials at once, and tells the batch's trials in order."""

    def __init__(self, study, ranges, objectives, constraints, asked, results, counted, tried, on_trial):
        self.study, self.ranges, self.objectives, self.constraints = study, ranges, objectives, constraints
        self.asked, self.results, self.counted, self.tried, self.on_trial = asked, results, counted, tried, on_trial
        self.as_parameter = parameter_objectives(objectives, ranges)
        self.by_path = {r.path: r for r in ranges}
        self.told = 0
        self.stored: set[int] = set()

    def check(self, key: str, result: dict) -> bool:
        """Check a setting's result against the objectives on its first trial in this batch (a TuneError when an
        outcome is missing); whether the batch holds the setting."""
        for number, trial, own in self.asked[self.told:]:
            if own == key:
                _check_outcomes(self.study, trial, result, self.objectives, self.constraints, self.as_parameter)
                return True
        return False

    def store(self, key: str, result: dict) -> None:
        """Store a setting's result on its trials in this batch (one write each): from here on, an interruption keeps it."""
        for number, trial, own in self.asked[self.told:]:
            if own == key:
                trial.set_user_attr("result", result)
                self.stored.add(trial._trial_id)

    def tell_ready(self) -> None:
        """Tell, in trial order, every trial of the batch whose result is known and whose predecessors are told."""
        from optuna.trial import TrialState

        while self.told < len(self.asked) and self.asked[self.told][2] in self.results:
            number, trial, key = self.asked[self.told]
            result = self.results[key]
            values = json.loads(key)
            if trial._trial_id not in self.stored:  # a result reused from another trial or an earlier process
                trial.set_user_attr("result", result)
            scores = [self.by_path[o.outcome].number(values[o.outcome]) if o.outcome in self.as_parameter
                      else _mean(result, o.outcome) for o in self.objectives]
            violations = [c.violation(_mean(result, c.outcome)) for c in self.constraints]
            trial.set_user_attr("constraints", violations)
            if hasattr(trial, "set_constraint"):
                for k, v in enumerate(violations):
                    trial.set_constraint(f"c{k}", v)
            trial.set_user_attr("trial", number)
            if all(math.isfinite(s) for s in scores):
                self.study.tell(trial, scores[0] if len(scores) == 1 else scores)
            else:
                self.study.tell(trial, state=TrialState.FAIL)
            self.counted.append(self.study._storage.get_trial(trial._trial_id))
            self.tried.add(key)
            self.told += 1
            self.on_trial()

    def abandon(self) -> None:
        """A user error ends the study: the batch's trials not yet told are failed, never left RUNNING."""
        from optuna.trial import TrialState

        for _, trial, _ in self.asked[self.told:]:
            if self.study._storage.get_trial(trial._trial_id).state == TrialState.RUNNING:
                trial.set_user_attr("interrupted", True)
                self.study.tell(trial, state=TrialState.FAIL)


def ask_batch(study, ranges, objectives, has_constraints: bool, seed: int, numbers: range, tried: set[str]) -> list:
    """Ask trials ``numbers`` (one batch) before telling any: [(number, Optuna trial, setting key)].

    Each is asked from the trials told before the batch (the samplers read COMPLETE trials only, and
    none of the batch is told yet) and avoids ``tried`` and the settings of the batch's earlier trials. A trial that
    an interruption cut short after its batch was asked is asked again with the setting stored on it,
    since the trials of its batch told meanwhile would otherwise change what the sampler suggests.
    """
    before = _asked_settings(study)
    asked, taken = [], set(tried)
    for number in numbers:
        trial, values = _ask(study, ranges, objectives, has_constraints, seed, number, taken, before.get(number))
        key = key_of(values)
        trial.set_user_attr("asked", number)
        trial.set_user_attr("set", values)
        asked.append((number, trial, key))
        taken.add(key)
    return asked


def _asked_settings(study) -> dict[int, dict]:
    """Optuna values of the trials asked before an interruption, by trial number (their batch was asked)."""
    found: dict[int, dict] = {}
    for t in study.get_trials(deepcopy=False):
        if "asked" in t.user_attrs and "interrupted" in t.user_attrs and t.params:
            found.setdefault(int(t.user_attrs["asked"]), dict(t.params))
    return found


def _check_outcomes(study, trial, result: dict, objectives, constraints, as_parameter: set[str]) -> None:
    """An objective or constraint naming no outcome the replications measure is a user error (the trial is
    marked failed first, so it never stays RUNNING)."""
    import difflib

    from optuna.trial import TrialState

    measured = result.get("outcomes", {})
    if not measured:
        return  # every replication failed: nothing to check against
    names = [(f"--objective {o.text}", o.outcome) for o in objectives if o.outcome not in as_parameter]
    names += [(f"--constraint {c.text}", c.outcome) for c in constraints]
    for option, name in names:
        if name not in measured:
            trial.set_user_attr("interrupted", True)
            study.tell(trial, state=TrialState.FAIL)
            close = difflib.get_close_matches(name, list(measured), n=1)
            hint = f"; did you mean {close[0]}?" if close else f" (outcomes: {', '.join(measured)})"
            raise TuneError(f"{option}: {name} is not an outcome{hint}")


def _ask(study, ranges, objectives, has_constraints: bool, seed: int, number: int, tried: set[str],
         fixed: dict | None = None):
    """Ask trial ``number``: a setting not yet tried when the sampler (asked up to ``ASKS`` times) or
    the space allows, else the sampler's last suggestion (its stored result is then reused).
    ``fixed`` (Optuna values) asks exactly that setting: the one an interrupted trial was asked."""
    import optuna
    from optuna.trial import TrialState

    if fixed is not None:
        sampler = make_sampler(len(objectives), trial_seed(seed, number, 0), has_constraints)
        study.sampler = optuna.samplers.PartialFixedSampler(fixed, sampler)
        trial = study.ask()
        return trial, {r.path: suggest(trial, r) for r in ranges}
    near = None
    for attempt in range(ASKS + 1):
        sampler = make_sampler(len(objectives), trial_seed(seed, number, attempt), has_constraints)
        if attempt == ASKS:
            fixed = nearest_untried(ranges, near, tried, np.random.default_rng(trial_seed(seed, number, attempt)))
            if fixed is not None:
                sampler = optuna.samplers.PartialFixedSampler(fixed, sampler)
        study.sampler = sampler
        trial = study.ask()
        values = {r.path: suggest(trial, r) for r in ranges}
        if key_of(values) not in tried or attempt == ASKS:
            return trial, values
        near = dict(trial.params)
        trial.set_user_attr("repeat_of", values)
        study.tell(trial, state=TrialState.FAIL)
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------------------ results
