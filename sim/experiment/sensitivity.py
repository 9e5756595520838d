"""Global sensitivity analysis with SALib: which parameters move which outcomes.

Morris elementary effects (``mu_star``, the mean absolute effect, and ``sigma``, its spread:
interactions or non-linearity) are cheap screening; Sobol indices (``S1`` first order, ``ST``
total) apportion an outcome's variance. Every sample point is the scenario with its values set,
replicated on common random numbers (the same seed everywhere), and the analysis uses the mean
over replications.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.errors import ModsimError
from sim.experiment.sweep import Range

SENSITIVITY_COLUMNS = ["outcome", "parameter", "index", "value", "ci_low", "ci_high"]
METHODS = ("morris", "sobol")


class SensitivityError(ModsimError):
    """A sensitivity analysis that cannot be set up as asked."""


def problem(ranges: list[Range]) -> dict:
    return {"num_vars": len(ranges), "names": [r.path for r in ranges],
            "bounds": [[0.0, 1.0] for _ in ranges]}


def design(ranges: list[Range], method: str, samples: int, seed: int) -> list[tuple]:
    """The sample points (parameter values as they go into ``--set``) for the method.

    SALib samples the unit cube; each unit value is mapped to the parameter's range (integers when
    both bounds are integers, durations written back with a unit). Sobol needs a power of two."""
    if method not in METHODS:
        raise SensitivityError(f"--method {method!r}: expected morris or sobol")
    if method == "morris":
        if samples < 2:
            raise SensitivityError("--samples: morris needs at least 2 trajectories")
        from SALib.sample import morris

        units = morris.sample(problem(ranges), samples, num_levels=4, seed=seed)
    else:
        if samples < 2 or samples & (samples - 1):
            raise SensitivityError(f"--samples {samples}: sobol needs a power of two, like 16 or 64")
        from SALib.sample import sobol

        units = sobol.sample(problem(ranges), samples, calc_second_order=False, seed=seed)
    return [tuple(r.value(u) for r, u in zip(ranges, row)) for row in units], units


def analyze(ranges: list[Range], method: str, units: np.ndarray, means: pd.DataFrame, outcomes: list[str],
            seed: int) -> tuple[pd.DataFrame, list[str]]:
    """``sensitivity.csv`` from the outcome means at each sample (rows in design order).

    Returns the table and the outcomes skipped because some sample had no finite value."""
    rows, skipped = [], []
    names = [r.path for r in ranges]
    for outcome in outcomes:
        y = pd.to_numeric(means[outcome], errors="coerce").to_numpy(dtype=float) if outcome in means else None
        if y is None or not np.isfinite(y).all():
            skipped.append(outcome)
            continue
        if method == "morris":
            from SALib.analyze import morris

            result = morris.analyze(problem(ranges), units, y, num_levels=4, conf_level=0.95, seed=seed)
            for k, name in enumerate(names):
                mu, conf = float(result["mu_star"][k]), float(result["mu_star_conf"][k])
                rows.append([outcome, name, "mu_star", mu, mu - conf, mu + conf])
                rows.append([outcome, name, "sigma", float(result["sigma"][k]), math.nan, math.nan])
        else:
            from SALib.analyze import sobol

            result = sobol.analyze(problem(ranges), y, calc_second_order=False, conf_level=0.95, seed=seed)
            for k, name in enumerate(names):
                for index in ("S1", "ST"):
                    value, conf = float(result[index][k]), float(result[f"{index}_conf"][k])
                    rows.append([outcome, name, index, value, value - conf, value + conf])
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS), skipped
