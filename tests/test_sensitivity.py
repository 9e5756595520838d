"""Sensitivity indices and their bootstrap intervals over the design and the replications.

The indices are computed with numpy (checked against SALib's point estimates); a synthetic model
with known sensitivities checks the intervals (mu_star non-negative, the true effect covered, an
irrelevant parameter at the level noise alone gives); the command is checked on the M/M/c case.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.experiment import sensitivity as sens
from sim.experiment import sweep as swp
from sim.experiment.replicate import Failure
from sim.experiment.sweep import Range
from sim.metrics import Replication

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
runner = CliRunner()


def _ranges(k: int) -> list[Range]:
    return [Range(f"x{i + 1}", 0.0, 1.0, "float") for i in range(k)]


def _morris(k: int, trajectories: int, seed: int) -> np.ndarray:
    from SALib.sample import morris

    return morris.sample(sens.problem(_ranges(k)), trajectories, num_levels=sens.NUM_LEVELS, seed=seed)


def _rows(table: pd.DataFrame, index: str) -> pd.DataFrame:
    return table[table["index"] == index].set_index("parameter")


# ------------------------------------------------------------------------------------ the estimators


@pytest.mark.parametrize("k", [2, 3, 5])
def test_elementary_effects_give_salibs_mu_star_and_sigma(k):
    from SALib.analyze import morris

    units = _morris(k, 12, seed=k)
    rng = np.random.default_rng(k)
    y = np.sin(3 * units[:, 0]) + units[:, 1] ** 2 * units[:, -1] + rng.normal(0, 0.1, len(units))
    expected = morris.analyze(sens.problem(_ranges(k)), units, y, num_levels=sens.NUM_LEVELS, seed=1)
    mu_star, sigma = sens.morris_indices(sens.elementary_effects(units, y))
    np.testing.assert_allclose(mu_star, expected["mu_star"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(sigma, expected["sigma"], rtol=0, atol=1e-9)
    # and analyze's value column is the same on per-replication outputs averaged over replications
    reps = y[:, None] + rng.normal(0, 0.1, (len(units), 4))
    table, skipped = sens.analyze(_ranges(k), "morris", units, {"y": reps}, ["y"], seed=1, draws=50)
    expected = morris.analyze(sens.problem(_ranges(k)), units, reps.mean(axis=1), num_levels=sens.NUM_LEVELS)
    assert skipped == []
    np.testing.assert_allclose(_rows(table, "mu_star").value, expected["mu_star"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(_rows(table, "sigma").value, expected["sigma"], rtol=0, atol=1e-9)


def test_sobol_indices_give_salibs_s1_and_st():
    from SALib.analyze import sobol as analyze_sobol
    from SALib.sample import sobol

    k = 3
    units = sobol.sample(sens.problem(_ranges(k)), 64, calc_second_order=False, seed=2)
    y = 4 * units[:, 0] + units[:, 1] ** 2 * units[:, 2] + 10
    expected = analyze_sobol.analyze(sens.problem(_ranges(k)), y, calc_second_order=False, seed=2)
    s1, st = sens.sobol_indices(y, k)
    np.testing.assert_allclose(s1, expected["S1"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(st, expected["ST"], rtol=0, atol=1e-9)


def test_a_design_that_is_not_morris_is_refused():
    units = _morris(2, 4, seed=0)
    units[1] = [0.5, 0.5]  # a step that moves both variables
    with pytest.raises(sens.SensitivityError, match="not a Morris design"):
        sens.elementary_effects(units, np.zeros(len(units)))


# ------------------------------------------------------------------------------------ known sensitivities


A = 2.0
NOISE = 0.3


def _synthetic(trajectories: int, replications: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """y = (A + b_r) x1 + c_r + e: x2 irrelevant; b_r and c_r shared by every point of replication r
    (common random numbers), e independent. Returns the design, the (points x replications) outputs
    and the mu_star that noise alone gives x2, E|mean over replications of (e' - e) / step|."""
    units = _morris(2, trajectories, seed)
    rng = np.random.default_rng(seed + 1000)
    slope = A + rng.normal(0, 0.3, replications)
    shift = rng.normal(0, 5.0, replications)
    y = slope[None, :] * units[:, [0]] + shift[None, :] + rng.normal(0, NOISE, (len(units), replications))
    step = sens.NUM_LEVELS / (2 * (sens.NUM_LEVELS - 1))
    noise_level = NOISE * np.sqrt(2 / replications) / step * np.sqrt(2 / np.pi)
    return units, y, noise_level


def test_known_sensitivities_are_found_with_intervals_that_cover_them():
    units, y, noise_level = _synthetic(trajectories=20, replications=8, seed=7)
    table, _ = sens.analyze(_ranges(2), "morris", units, {"y": y}, ["y"], seed=7)
    mu = _rows(table, "mu_star")
    assert abs(mu.value["x1"] - A) < 0.3
    assert mu.ci_low["x1"] <= A <= mu.ci_high["x1"]
    assert mu.value["x2"] < 0.5
    assert 0 <= mu.ci_low["x2"] <= noise_level <= mu.ci_high["x2"]
    assert mu.ci_high["x2"] < mu.ci_low["x1"]  # x1 matters, x2 does not, and the intervals say so
    sigma = _rows(table, "sigma")
    assert (sigma.ci_low >= 0).all() and (sigma.value >= 0).all()
    assert set(table.method) == {"percentile bootstrap over trajectories and replications (1000 draws)"}


def test_the_intervals_carry_the_noise_that_common_random_numbers_share():
    """The slope's noise b_r is shared by every trajectory: resampling trajectories alone (what the
    means of the replications allow) cannot see it; resampling the replications too does."""
    covered = {"both": 0, "trajectories only": 0}
    for seed in range(40):
        units, y, _ = _synthetic(trajectories=20, replications=5, seed=seed)
        for label, data in (("both", y), ("trajectories only", y.mean(axis=1))):
            table, _ = sens.analyze(_ranges(2), "morris", units, {"y": data}, ["y"], seed=seed, draws=300)
            mu = _rows(table, "mu_star")
            covered[label] += int(mu.ci_low["x1"] <= A <= mu.ci_high["x1"])
    assert covered["both"] >= 34  # about 95% of 40
    assert covered["trajectories only"] <= 32  # about 60%: blind to the shared noise


def test_mu_star_and_sigma_intervals_are_never_negative():
    units = _morris(3, 10, seed=3)
    rng = np.random.default_rng(3)
    outputs = {f"noise{i}": rng.normal(0, 1 + i, (len(units), 3)) for i in range(20)}
    table, _ = sens.analyze(_ranges(3), "morris", units, outputs, list(outputs), seed=3, draws=200)
    assert (table.ci_low >= 0).all() and (table.value >= 0).all()
    assert (table.ci_low <= table.ci_high).all()


def test_same_seed_same_intervals_whatever_outcomes_are_asked():
    units, y, _ = _synthetic(trajectories=10, replications=4, seed=1)
    outputs = {"y": y, "z": y ** 2}
    one, _ = sens.analyze(_ranges(2), "morris", units, outputs, ["y", "z"], seed=11, draws=200)
    two, _ = sens.analyze(_ranges(2), "morris", units, outputs, ["z", "y"], seed=11, draws=200)
    other, _ = sens.analyze(_ranges(2), "morris", units, outputs, ["y", "z"], seed=12, draws=200)
    key = ["outcome", "parameter", "index"]
    pd.testing.assert_frame_equal(one.sort_values(key).reset_index(drop=True),
                                  two.sort_values(key).reset_index(drop=True))
    assert not np.allclose(one.ci_low, other.ci_low)
    np.testing.assert_array_equal(one.value, other.value)


def test_sobol_bootstrap_over_base_samples_and_replications():
    from SALib.sample import sobol

    units = sobol.sample(sens.problem(_ranges(2)), 64, calc_second_order=False, seed=5)
    rng = np.random.default_rng(5)
    y = A * units[:, [0]] + rng.normal(0, 5.0, 3)[None, :] + rng.normal(0, 0.05, (len(units), 3))
    table, _ = sens.analyze(_ranges(2), "sobol", units, {"y": y}, ["y"], seed=5, draws=300)
    st = _rows(table, "ST")
    assert st.ci_low["x1"] <= 1 <= st.ci_high["x1"] and st.ci_high["x2"] < 0.05
    s1 = _rows(table, "S1")
    assert s1.ci_low["x2"] <= 0 <= s1.ci_high["x2"]  # no effect: an interval around 0, which may dip below
    assert set(table.method) == {"percentile bootstrap over base samples and replications (300 draws)"}


def test_failed_replications_are_left_out_and_an_outcome_missing_at_a_point_is_skipped():
    units, y, _ = _synthetic(trajectories=8, replications=3, seed=2)
    holed = y.copy()
    holed[4, 1] = np.nan
    empty = y.copy()
    empty[5, :] = np.nan
    table, skipped = sens.analyze(_ranges(2), "morris", units, {"y": holed, "e": empty}, ["y", "e", "absent"],
                                  seed=2, draws=100)
    assert skipped == ["e", "absent"]
    assert table.outcome.unique().tolist() == ["y"] and table[["ci_low", "ci_high"]].notna().all().all()


def test_replication_outcomes_are_a_points_by_replications_array():
    records = {swp.part_key(0, 0): Replication({"a": 1.0, "b": "x"}, {}),
               swp.part_key(0, 1): Replication({"a": 2.0, "b": 3}, {}),
               swp.part_key(1, 0): Failure("Boom", "detail"),
               swp.part_key(1, 1): Replication({"a": 4.0}, {})}
    arrays = sens.replication_outcomes(records, swp.part_key, 2, 2)
    assert list(arrays) == ["a", "b"]
    np.testing.assert_array_equal(arrays["a"], [[1.0, 2.0], [np.nan, 4.0]])
    np.testing.assert_array_equal(arrays["b"], [[np.nan, 3.0], [np.nan, np.nan]])


# ------------------------------------------------------------------------------------ the command


@pytest.fixture
def no_charts(monkeypatch):
    import sim.cli.study as study

    monkeypatch.setattr(study, "draw_and_report", lambda work, **options: None)


def _run(out: Path) -> tuple[pd.DataFrame, str]:
    result = runner.invoke(app, ["sensitivity", str(MMC), "--param", "review.pools.agents.reviewers=18..26",
                                 "--param", "review.pools.agents.handling_time.mean=50min..70min", "--method",
                                 "morris", "--samples", "3", "-n", "2", "--set", "horizon=300h", "--workers", "2",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "sensitivity.csv"), result.output


def test_command_writes_bootstrap_intervals_the_same_for_the_same_seed(tmp_path, no_charts):
    table, output = _run(tmp_path / "a")
    assert list(table.columns) == sens.SENSITIVITY_COLUMNS
    assert list(table.columns) == ["outcome", "parameter", "index", "value", "ci_low", "ci_high", "method"]
    assert set(table["index"]) == {"mu_star", "sigma"}
    assert set(table.parameter) == {"review.pools.agents.reviewers", "review.pools.agents.handling_time.mean"}
    assert set(table.method) == {"percentile bootstrap over trajectories and replications (1000 draws)"}
    mu = table[table["index"] == "mu_star"]
    assert mu[["value", "ci_low", "ci_high"]].notna().all().all()
    assert (mu.ci_low >= 0).all() and (mu.ci_low <= mu.ci_high).all()
    assert (table.ci_low.dropna() >= 0).all()
    util = mu[mu.outcome == "reviewer_utilization"]
    assert (util.ci_low > 0).all()  # more reviewers or shorter handling: certainly lower utilisation
    assert "in the outcome's own unit" in output and "bootstrap over trajectories and replications" in output
    again, _ = _run(tmp_path / "b")
    pd.testing.assert_frame_equal(table, again)
