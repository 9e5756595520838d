"""Tuning policy parameters with Optuna: one objective (TPE) or several (NSGA-II, a Pareto front).

Each trial's value is the mean over replications run on common random numbers (the same seed for
every trial), so trials differ only by their parameters. Constraints (``outcome<=value``) reach
Optuna as violations (``Trial.set_constraint`` in Optuna 5, ``constraints_func`` before) (positive when violated). The study lives in the
results folder as SQLite under a fixed name, so an interrupted tuning resumes: finished trials are
kept and only the remaining ones run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from sim.errors import ModsimError
from sim.experiment.sweep import Range

STUDY_NAME = "modsim-tune"
_CONSTRAINT = re.compile(r"\s*([A-Za-z0-9_]+)\s*(<=|>=|<|>)\s*(\S+)\s*")


class TuneError(ModsimError):
    """An objective or constraint that cannot be read, or a study that cannot be resumed."""


@dataclass(frozen=True)
class Objective:
    direction: str  # "minimize" or "maximize"
    outcome: str

    @property
    def text(self) -> str:
        return f"{self.direction[:3]}:{self.outcome}"


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
        raise TuneError(f"--objective {text!r}: expected min:OUTCOME or max:OUTCOME, like max:reviewer_utilization")
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


def suggest(trial, r: Range) -> Any:
    """The trial's value of one parameter, as it goes into ``--set``."""
    if r.kind == "int":
        return trial.suggest_int(r.path, int(r.low), int(r.high))
    if r.kind == "duration":
        return r.value((trial.suggest_float(r.path, r.low, r.high) - r.low) / (r.high - r.low))
    return trial.suggest_float(r.path, r.low, r.high)


def _constraints(frozen) -> list[float]:
    return list(frozen.user_attrs.get("constraints", [math.inf]))


def open_study(db: Path, objectives: list[Objective], seed: int, has_constraints: bool):
    """Create or load the study stored in ``db`` (the sampler is seeded; constraints go to the sampler)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.disable_default_handler()
    # Optuna 5 takes constraints from the trial (set_constraint); older versions from constraints_func.
    modern = hasattr(optuna.trial.Trial, "set_constraint")
    cf = _constraints if has_constraints and not modern else None
    if len(objectives) == 1:
        sampler = optuna.samplers.TPESampler(seed=seed, constraints_func=cf)
    else:
        sampler = optuna.samplers.NSGAIISampler(seed=seed, constraints_func=cf)
    return optuna.create_study(storage=f"sqlite:///{db}", study_name=STUDY_NAME, sampler=sampler,
                               directions=[o.direction for o in objectives], load_if_exists=True)


def recover_interrupted(study) -> int:
    """Trials an interruption left unfinished are marked failed and queued to run again; returns how many."""
    from optuna.trial import TrialState

    count = 0
    for frozen in study.get_trials(deepcopy=False):
        if frozen.state == TrialState.RUNNING or (frozen.state == TrialState.FAIL
                                                  and "evaluated" not in frozen.user_attrs
                                                  and "requeued" not in frozen.user_attrs):
            if frozen.state == TrialState.RUNNING:
                study._storage.set_trial_state_values(frozen._trial_id, TrialState.FAIL)
            study._storage.set_trial_user_attr(frozen._trial_id, "requeued", True)
            study.enqueue_trial(frozen.params, skip_if_exists=False)
            count += 1
    return count


def finished_trials(study) -> int:
    """Trials that count towards ``--trials``: evaluated ones, whatever their result."""
    return sum(1 for t in study.get_trials(deepcopy=False) if "evaluated" in t.user_attrs)


def optimize(study, ranges: list[Range], objectives: list[Objective], constraints: list[Constraint], trials: int,
             evaluate: Callable[[dict], tuple[dict[str, float], int]],
             on_trial: Callable[[], None] = lambda: None) -> None:
    """Run trials until ``trials`` have been evaluated in this study."""

    def objective(trial):
        params = {r.path: suggest(trial, r) for r in ranges}
        means, failures = evaluate(params)
        violations = [c.violation(means.get(c.outcome, math.nan)) for c in constraints]
        trial.set_user_attr("constraints", violations)
        if hasattr(trial, "set_constraint"):
            for k, v in enumerate(violations):
                trial.set_constraint(f"c{k}", v)
        trial.set_user_attr("set", params)
        trial.set_user_attr("failures", failures)
        named = {*(o.outcome for o in objectives), *(c.outcome for c in constraints)}
        trial.set_user_attr("outcomes", {**{k: math.nan for k in named}, **means})
        trial.set_user_attr("evaluated", True)
        values = [means.get(o.outcome, math.nan) for o in objectives]
        return values[0] if len(values) == 1 else values

    remaining = trials - finished_trials(study)
    if remaining <= 0:
        return
    study.optimize(objective, n_trials=remaining, callbacks=[lambda study, trial: on_trial()], catch=())


def measured_outcomes(study) -> list[str]:
    """Every outcome whose mean the study's trials recorded."""
    return sorted({name for t in study.get_trials(deepcopy=False) for name in t.user_attrs.get("outcomes", {})})


def trials_table(study, ranges: list[Range], objectives: list[Objective], constraints: list[Constraint],
                 extra: Sequence[str] = ()) -> pd.DataFrame:
    """``trials.parquet``: trial, state, parameters (durations in hours), objective outcomes, constrained
    outcomes, the ``extra`` outcomes, constraint violations (``constraint:EXPR``, <= 0 when met), feasible,
    failures."""
    rows = []
    outcomes = list(dict.fromkeys([*(o.outcome for o in objectives), *(c.outcome for c in constraints), *extra]))
    for t in study.get_trials(deepcopy=False):
        if "evaluated" not in t.user_attrs:
            continue
        row = {"trial": t.number, "state": t.state.name}
        row.update({r.path: t.params.get(r.path, math.nan) for r in ranges})
        measured = t.user_attrs.get("outcomes", {})
        row.update({o: measured.get(o, math.nan) for o in outcomes})
        violations = t.user_attrs.get("constraints", [])
        row.update({f"constraint:{c.text}": v for c, v in zip(constraints, violations)})
        row["feasible"] = t.state.name == "COMPLETE" and all(v <= 0 for v in violations)
        row["failures"] = t.user_attrs.get("failures", 0)
        rows.append(row)
    columns = ["trial", "state", *(r.path for r in ranges), *outcomes, *(f"constraint:{c.text}" for c in constraints),
               "feasible", "failures"]
    return pd.DataFrame(rows, columns=columns)


def best_trials(table: pd.DataFrame, objectives: list[Objective]) -> list[int]:
    """The best feasible trial (one objective) or the feasible Pareto front (several), by trial number.

    Ties keep the earliest trial; identical parameter settings are listed once."""
    feasible = table[table.feasible].copy()
    names = [o.outcome for o in objectives]
    feasible = feasible.dropna(subset=names)
    if feasible.empty:
        return []
    signs = [1.0 if o.direction == "minimize" else -1.0 for o in objectives]
    costs = feasible[names].to_numpy(dtype=float) * signs
    if len(objectives) == 1:
        best = costs[:, 0].min()
        return [int(feasible.trial.iloc[[i for i in range(len(costs)) if costs[i, 0] == best][0]])]
    front, seen = [], set()
    for i in range(len(costs)):
        dominated = any((costs[j] <= costs[i]).all() and (costs[j] < costs[i]).any() for j in range(len(costs)))
        key = tuple(costs[i])
        if not dominated and key not in seen:
            seen.add(key)
            front.append(int(feasible.trial.iloc[i]))
    return front


def trial_sets(study, number: int) -> dict:
    """The ``--set`` values of a trial (durations as text with a unit)."""
    return dict(study.trials[number].user_attrs["set"])
