"""Coverage of `modsim calibrate` over several synthetic truths (simulation-based calibration, reduced size).

Each draw takes true parameters from the prior (seeded), simulates the observations once at them (a
replication whose seed the calibration never uses), calibrates back and records whether each true value
lies inside its 90% posterior interval. Over N = draws x parameters such checks, a calibrated posterior
covers about 90%; the test fails when the coverage falls below 0.9 - 2.33 sd, sd = sqrt(0.9 x 0.1 / N)
(a one-sided 99% bound for a binomial share). It is one-sided on purpose: ABC at a finite threshold
accepts particles a little away from the data, so its posterior is somewhat wider than the exact one
and over-covers; under-coverage (overconfident intervals) is the failure that matters.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.test_calibration import PARAMS, calibrate, observed_targets

DRAWS = 6


@pytest.mark.slow
def test_posterior_intervals_cover_the_truth_over_draws(tmp_path):
    rng = np.random.default_rng(2024)
    inside = []
    for k in range(DRAWS):
        minutes = float(np.exp(rng.uniform(np.log(40), np.log(80))))
        rate = int(rng.integers(300, 561))
        truth = {"review.pools.agents.handling_time.mean": f"{minutes:.2f}min", "accounts.customers.posts_per_day": rate}
        folder = tmp_path / f"draw{k}"
        folder.mkdir()
        targets = observed_targets(folder, truth, seed=10_000 + k)
        result = calibrate(targets, folder / "out", "--particles", "20", "--generations", "3", "-n", "2",
                           "--seed", str(k + 1))
        assert result.exit_code == 0, result.output
        summary = pd.read_csv(folder / "out" / "posterior.csv").set_index("parameter")
        for path, value in (("review.pools.agents.handling_time.mean", minutes / 60),
                            ("accounts.customers.posts_per_day", rate)):
            inside.append(summary.loc[path, "q05"] <= value <= summary.loc[path, "q95"])
    n = len(inside)
    assert n == DRAWS * len(PARAMS) // 2
    bound = 0.9 - 2.33 * math.sqrt(0.9 * 0.1 / n)
    print(f"coverage of the 90% intervals: {np.mean(inside):.2f} of {n} (bound {bound:.2f})")
    assert np.mean(inside) >= bound, f"coverage {np.mean(inside):.2f} of {n} below {bound:.2f}"
