"""Global sensitivity analysis: which parameters move which outcomes, with honest intervals.

Morris elementary effects (``mu_star``, the mean absolute effect, and ``sigma``, its spread:
interactions or non-linearity) are cheap screening; Sobol indices (``S1`` first order, ``ST``
total) apportion an outcome's variance. SALib draws the design; every design point is the scenario
with its values set, replicated on common random numbers (replication k uses the same seed at
every point), and the indices are computed here with numpy from the mean over replications.

Their 95% intervals come from a bootstrap over both sources of uncertainty: the design (which
trajectories, or Sobol base samples, were drawn) and the simulation noise (which replications).
Each bootstrap draw resamples the trajectories (base samples) with replacement and, once for all
points since they share seeds, the replication numbers with replacement; the index is recomputed
on that draw and the interval is the 2.5-97.5 percentile range of the draws. Resampling rows and
columns of a crossed design independently is Owen's "pigeonhole" bootstrap (Ann. Appl. Stat.
2007): mildly conservative, never blind to noise that common random numbers share across points.
mu_star and sigma are means of absolute values and standard deviations, so each draw, and so
each interval, is non-negative. The bootstrap is seeded from the run's seed: same seed, same
intervals.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from sim.errors import ModsimError
from sim.experiment.statistics import as_float
from sim.experiment.sweep import Range

SENSITIVITY_COLUMNS = ["outcome", "parameter", "index", "value", "ci_low", "ci_high", "method"]
METHODS = ("morris", "sobol")
NUM_LEVELS = 4
BOOTSTRAP_DRAWS = 1000
CONFIDENCE = 0.95
_BOOTSTRAP_STREAM = 0x5E45  # keeps the bootstrap's random numbers apart from anything else seeded by the run's seed


class SensitivityError(ModsimError):
    """A sensitivity analysis that cannot be set up as asked."""


def problem(ranges: list[Range]) -> dict:
    return {"num_vars": len(ranges), "names": [r.path for r in ranges],
            "bounds": [[0.0, 1.0] for _ in ranges]}


def design(ranges: list[Range], method: str, samples: int, seed: int) -> tuple[list[tuple], np.ndarray]:
    """The sample points (parameter values as they go into ``--set``) for the method, and the unit design.

    SALib samples the unit cube; each unit value is mapped to the parameter's range (integers when
    both bounds are integers, durations written back with a unit). Sobol needs a power of two."""
    if method not in METHODS:
        raise SensitivityError(f"--method {method!r}: expected morris or sobol")
    if method == "morris":
        if samples < 2:
            raise SensitivityError("--samples: morris needs at least 2 trajectories")
        from SALib.sample import morris

        units = morris.sample(problem(ranges), samples, num_levels=NUM_LEVELS, seed=seed)
    else:
        if samples < 2 or samples & (samples - 1):
            raise SensitivityError(f"--samples {samples}: sobol needs a power of two, like 16 or 64")
        from SALib.sample import sobol

        units = sobol.sample(problem(ranges), samples, calc_second_order=False, seed=seed)
    return [tuple(r.value(u) for r, u in zip(ranges, row)) for row in units], units


def replication_outcomes(records: Mapping, key, points: int, replications: int) -> dict[str, np.ndarray]:
    """Every outcome as a (points x replications) array, NaN where a replication failed or is missing.

    ``key(point, replication)`` names a record (``sweep.part_key``); records that are not
    ``Replication`` (failures) count as missing. Outcomes keep the order they first appear in;
    values that are not numbers are NaN."""
    from sim.metrics import Replication

    found: dict[tuple[int, int], dict] = {}
    for p in range(points):
        for r in range(replications):
            record = records.get(key(p, r))
            if isinstance(record, Replication):
                found[(p, r)] = record.outcomes
    names = list(dict.fromkeys(name for outs in found.values() for name in outs))
    arrays = {name: np.full((points, replications), np.nan) for name in names}
    for (p, r), outs in found.items():
        for name, value in outs.items():
            arrays[name][p, r] = as_float(value)
    return arrays


def interval_method(method: str, replications: int, draws: int = BOOTSTRAP_DRAWS) -> str:
    """What the intervals of ``sensitivity.csv`` are, for its ``method`` column."""
    design_part = "trajectories" if method == "morris" else "base samples"
    if replications > 1:
        return f"percentile bootstrap over {design_part} and replications ({draws} draws)"
    return f"percentile bootstrap over {design_part} only ({draws} draws; 1 replication: simulation noise not included)"


# ------------------------------------------------------------------------------------ Morris


def morris_steps(units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a Morris design (trajectories of k+1 rows, consecutive rows differing in one variable):
    the step that moves each variable, ``(trajectories, k)``, and the signed size of that step."""
    units = np.asarray(units, dtype=float)
    k = units.shape[1]
    if len(units) % (k + 1):
        raise SensitivityError(f"a Morris design has trajectories of {k + 1} rows; got {len(units)} rows")
    steps = np.diff(units.reshape(-1, k + 1, k), axis=1)  # (T, k steps, k variables)
    moved = np.abs(steps) > 1e-12
    if not (moved.sum(axis=2) == 1).all():
        raise SensitivityError("not a Morris design: a step between consecutive rows moves other than one variable")
    variable = moved.argmax(axis=2)  # (T, step) -> variable moved
    if not (np.sort(variable, axis=1) == np.arange(k)).all():
        raise SensitivityError("not a Morris design: a trajectory does not move every variable once")
    step_of = np.argsort(variable, axis=1)  # (T, variable) -> its step
    size = np.take_along_axis(steps, step_of[:, :, None], axis=1)  # (T, variable, k)
    return step_of, np.take_along_axis(size, np.arange(k)[None, :, None], axis=2)[:, :, 0]


def elementary_effects(units: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(trajectories, k, ...)``: the change of ``y`` (points first, any trailing axes) over each
    variable's step, per unit of the scaled (0..1) range."""
    step_of, size = morris_steps(units)
    trajectories, k = step_of.shape
    y = np.asarray(y, dtype=float)
    dy = np.diff(y.reshape(trajectories, k + 1, *y.shape[1:]), axis=1)
    extra = (slice(None), slice(None)) + (None,) * (y.ndim - 1)
    index = step_of[extra] if y.ndim > 1 else step_of
    index = np.broadcast_to(index, dy.shape)
    return np.take_along_axis(dy, index, axis=1) / size[extra]


def morris_indices(effects: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """mu_star (mean absolute effect) and sigma (standard deviation, ddof 1) over trajectories.

    ``effects`` is ``(T, k)`` or ``(T, k, B)``; ``weights`` ``(B, T)`` counts how often each
    bootstrap draw took each trajectory (None: every trajectory once)."""
    trajectories = effects.shape[0]
    if weights is None:
        mu_star = np.abs(effects).mean(axis=0)
        sigma = effects.std(axis=0, ddof=1) if trajectories > 1 else np.full(mu_star.shape, np.nan)
        return mu_star, sigma
    mu_star = np.einsum("bt,tkb->kb", weights, np.abs(effects)) / trajectories
    mean = np.einsum("bt,tkb->kb", weights, effects) / trajectories
    spread = np.einsum("bt,tkb->kb", weights, (effects - mean[None]) ** 2)
    sigma = np.sqrt(spread / (trajectories - 1)) if trajectories > 1 else np.full(mu_star.shape, np.nan)
    return mu_star, sigma


# ------------------------------------------------------------------------------------ Sobol


def sobol_indices(y: np.ndarray, k: int, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """S1 (Saltelli 2010) and ST (Jansen) from a Saltelli design without second order, as SALib.

    ``y`` is ``(N*(k+2),)`` or ``(N*(k+2), B)`` in design order (A, AB_1..AB_k, B per base
    sample); ``weights`` ``(B, N)`` counts how often each draw took each base sample. The output
    is centred on its (weighted) mean as SALib does; an outcome that does not vary gets zeros."""
    y = np.asarray(y, dtype=float)
    single = y.ndim == 1
    if single:
        y = y[:, None]
    n = len(y) // (k + 2)
    blocks = y.reshape(n, k + 2, y.shape[1])
    w = np.ones((y.shape[1], n)) if weights is None else np.asarray(weights, dtype=float)
    wt = w.T  # (N, B)
    centre = np.einsum("nb,njb->b", wt, blocks) / (n * (k + 2))
    blocks = blocks - centre
    a, b, ab = blocks[:, 0], blocks[:, k + 1], blocks[:, 1:k + 1]  # (N, B), (N, B), (N, k, B)
    mean_ab = (wt * (a + b)).sum(axis=0) / (2 * n)
    variance = (wt * ((a - mean_ab) ** 2 + (b - mean_ab) ** 2)).sum(axis=0) / (2 * n)
    first = np.einsum("nb,nb,nkb->kb", wt, b, ab - a[:, None]) / n
    total = 0.5 * np.einsum("nb,nkb->kb", wt, (a[:, None] - ab) ** 2) / n
    ok = variance > np.finfo(float).eps
    s1 = np.where(ok, first / np.where(ok, variance, 1.0), 0.0)
    st = np.where(ok, total / np.where(ok, variance, 1.0), 0.0)
    return (s1[:, 0], st[:, 0]) if single else (s1, st)


# ------------------------------------------------------------------------------------ analysis


def _counts(rng: np.random.Generator, n: int, draws: int) -> np.ndarray:
    """``(draws, n)``: how often each of n units is taken by each draw of n with replacement."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=draws).astype(float)


def _weighted_means(y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``(points, B)``: each point's mean over the replications each draw took (failed ones left out)."""
    finite = np.isfinite(y)
    # einsum, not a BLAS product: these products are tiny, and BLAS threads cost more than they bring
    total = np.einsum("pr,br->pb", np.where(finite, y, 0.0), weights)
    count = np.einsum("pr,br->pb", finite.astype(float), weights)
    return np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)


def _interval(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval of the finite draws (last axis), NaN where there are none."""
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.full(draws.shape[:-1], np.nan), np.full(draws.shape[:-1], np.nan)
    for idx in np.ndindex(draws.shape[:-1]):
        finite = draws[idx][np.isfinite(draws[idx])]
        if len(finite):
            low[idx], high[idx] = np.percentile(finite, [tail, 100 - tail])
    return low, high


def _indices(method: str, units: np.ndarray, k: int, y: np.ndarray, weights: np.ndarray | None = None):
    """The method's two indices, each ``(k,)`` (or ``(k, B)`` for bootstrap draws with ``weights``)."""
    if method == "morris":
        return morris_indices(elementary_effects(units, y), weights)
    return sobol_indices(y, k, weights)


def analyze(ranges: list[Range], method: str, units: np.ndarray, outputs: Mapping[str, np.ndarray],
            outcomes: list[str], seed: int, draws: int = BOOTSTRAP_DRAWS) -> tuple[pd.DataFrame, list[str]]:
    """``sensitivity.csv`` from each outcome's ``(points x replications)`` array (points in design order).

    The value of an index is computed on each point's mean over its finished replications; its
    interval is the percentile interval of ``draws`` bootstrap draws over the trajectories (or base
    samples) and the replications, the same draws for every outcome (see the module's docstring).
    Returns the table and the outcomes skipped because some point had no finite value."""
    if method not in METHODS:
        raise SensitivityError(f"--method {method!r}: expected morris or sobol")
    names = [r.path for r in ranges]
    k = len(names)
    units = np.asarray(units, dtype=float)
    points = len(units)
    if method == "morris":
        morris_steps(units)  # a design that is not Morris fails here, before any outcome
    elif points % (k + 2):
        raise SensitivityError(f"a Sobol design (no second order) has {k + 2} rows per base sample; got {points}")
    groups = points // (k + 1 if method == "morris" else k + 2)
    shaped = {o: np.asarray(outputs[o], dtype=float) for o in outcomes if o in outputs}
    shaped = {o: (y[:, None] if y.ndim == 1 else y) for o, y in shaped.items()}
    widths = {y.shape[1] for y in shaped.values()}
    if len(widths) > 1:
        raise SensitivityError(f"every outcome needs the same replications; got {sorted(widths)}")
    replications = widths.pop() if widths else 1
    rng = np.random.default_rng([seed, _BOOTSTRAP_STREAM])
    design_weights = _counts(rng, groups, draws)  # drawn once, before looking at any outcome
    replication_weights = _counts(rng, replications, draws)
    chunk = max(1, 2_000_000 // max(points, 1))  # bootstrap draws at a time: bounded memory for big designs
    label = interval_method(method, replications, draws)
    index_names = ("mu_star", "sigma") if method == "morris" else ("S1", "ST")
    rows, skipped = [], []
    for outcome in outcomes:
        y = shaped.get(outcome)
        if y is None or len(y) != points or not np.isfinite(y).any(axis=1).all():
            skipped.append(outcome)
            continue
        estimates = _indices(method, units, k, np.nanmean(y, axis=1))
        parts = [_indices(method, units, k, _weighted_means(y, replication_weights[s:s + chunk]),
                          design_weights[s:s + chunk]) for s in range(0, draws, chunk)]
        intervals = [_interval(np.concatenate([part[i] for part in parts], axis=1)) for i in range(2)]
        for j, name in enumerate(names):
            for i, index in enumerate(index_names):
                rows.append([outcome, name, index, float(estimates[i][j]), float(intervals[i][0][j]),
                             float(intervals[i][1][j]), label])
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS), skipped
