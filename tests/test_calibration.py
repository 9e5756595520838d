"""`modsim calibrate`: it recovers known parameters, reproduces itself, resumes, and refuses bad input.

The recovery test is simulation-based calibration at a reduced size: observations are simulated from
known parameters of the M/M/c validation scenario (a replication whose seed the calibration never
uses), the parameters are calibrated back from them, and every true value must lie inside its 90%
posterior interval. The slow test repeats that over several draws (see test_calibration_slow.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from sim.cli import app

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
MINI = ROOT / "tests" / "scenarios" / "mini_case.yaml"
ERROR_LINE = re.compile(r"^error: \S.*$")
SHORT = ["--set", "horizon=300h"]
PARAMS = ["--param", "review.pools.agents.handling_time.mean=log:40min..80min",
          "--param", "accounts.customers.posts_per_day=300..560"]


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def observed_targets(tmp_path: Path, truth: dict, seed: int, index: int = 0) -> Path:
    """A targets file whose observed values are one replication of the M/M/c queue at the true parameters."""
    from sim import load_scenario
    from sim.calibration.simulate import measure_all, run_measured
    from sim.calibration.targets import Target

    sets = ["horizon=300h", *(f"{k}={v}" for k, v in truth.items())]
    scenario = load_scenario(MMC, sets)
    specs = [{"name": "utilization", "outcome": "reviewer_utilization", "tolerance": 0.02},
             {"name": "mean_wait_h", "outcome": "queue_wait_mean_h", "tolerance": 0.1},
             {"name": "tickets", "outcome": "tickets", "tolerance": 150}]
    placeholder = [Target(observed=0, **s) for s in specs]
    values = measure_all(placeholder, run_measured(scenario, seed, index), scenario.start)
    path = tmp_path / "targets.yml"
    path.write_text(yaml.safe_dump({"name": "synthetic", "targets": [{**s, "observed": float(values[s["name"]])}
                                                                      for s in specs]}, sort_keys=False))
    return path


def calibrate(targets: Path, out: Path, *extra) -> CliRunner:
    return invoke("calibrate", MMC, "--targets", targets, *PARAMS, *SHORT, "--out", out, *extra)


def test_calibration_recovers_known_parameters(tmp_path):
    truth = {"review.pools.agents.handling_time.mean": "55min", "accounts.customers.posts_per_day": 480}
    targets = observed_targets(tmp_path, truth, seed=987654321)
    out = tmp_path / "out"
    result = calibrate(targets, out, "--particles", "20", "--generations", "3", "-n", "6", "--seed", "5")
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "posterior.csv").set_index("parameter")
    hours = {"review.pools.agents.handling_time.mean": 55 / 60, "accounts.customers.posts_per_day": 480}
    for path, true in hours.items():
        low, high = summary.loc[path, "q05"], summary.loc[path, "q95"]
        assert low <= true <= high, f"{path}: true {true} outside the 90% interval {low}..{high}"
    # the data narrow the handling time below its prior's range (a 90% interval over the prior is 0.9)
    assert summary.loc["review.pools.agents.handling_time.mean", "width_share"] < 0.8
    for name in ("posterior.parquet", "predictive.parquet", "predictive.csv", "generations.csv", "abc.db",
                 "calibrated.yaml", "report.html", "charts/calibration_marginals.png",
                 "charts/calibration_pairs.png", "charts/calibration_predictive.png"):
        assert (out / name).exists(), name
    assert len(pd.read_parquet(out / "posterior.parquet")) == 20
    predictive = pd.read_csv(out / "predictive.csv")
    assert list(predictive.target) == ["utilization", "mean_wait_h", "tickets"]
    assert (predictive.draws == 6).all()
    assert "Calibration" in (out / "report.html").read_text()
    text = (out / "calibrated.yaml").read_text()
    assert "# calibrated (targets.yml" in text and "extends:" in text
    assert "median" in result.output and str(out) in result.output


def test_calibrated_yaml_runs_and_carries_the_medians(tmp_path):
    targets = observed_targets(tmp_path, {"review.pools.agents.handling_time.mean": "1h"}, seed=42)
    out = tmp_path / "out"
    result = invoke("calibrate", MMC, "--targets", targets, "--param",
                    "review.pools.agents.handling_time.mean=40min..80min", *SHORT, "--out", out, "--particles", "6",
                    "--generations", "1", "-n", "2", "--workers", "1")
    assert result.exit_code == 0, result.output
    from sim import load_scenario

    calibrated = load_scenario(out / "calibrated.yaml")
    median = pd.read_csv(out / "posterior.csv").loc[0, "median"]
    assert calibrated.review.pools["agents"].handling_time.mean == pytest.approx(median, abs=1 / 3600)
    assert calibrated.horizon == load_scenario(MMC).horizon  # the calibration's --set is not applied
    for chart in (out / "charts").glob("calibration_*.png"):
        chart.unlink()
    (out / "report.html").unlink()
    assert invoke("plot", out).exit_code == 0
    assert {p.stem for p in (out / "charts").glob("calibration_*.png")} == {  # one parameter: no pairs
        "calibration_marginals", "calibration_predictive"}
    assert invoke("report", out).exit_code == 0 and "Calibration" in (out / "report.html").read_text()


@pytest.mark.slow
def test_same_seed_same_posterior_serial_and_pool(tmp_path):
    targets = observed_targets(tmp_path, {"review.pools.agents.handling_time.mean": "50min"}, seed=7)
    tables = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        result = calibrate(targets, out, "--particles", "8", "--generations", "2", "-n", "2", "--workers", workers)
        assert result.exit_code == 0, result.output
        tables.append(pd.read_parquet(out / "posterior.parquet"))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_interrupted_calibration_resumes_to_the_same_posterior(tmp_path, monkeypatch):
    import sim.calibration.abc as ab

    targets = observed_targets(tmp_path, {"review.pools.agents.handling_time.mean": "50min"}, seed=8)
    options = ["--particles", "8", "--generations", "2", "-n", "2", "--workers", "1", "--seed", "3"]
    whole = tmp_path / "whole"
    assert calibrate(targets, whole, *options).exit_code == 0
    real = ab.Evaluator.save

    def cut(self, key, want, record):
        real(self, key, want, record)
        if key.startswith(ab.part_key(1, 0)[:4]):  # in the second generation, once its first proposal is saved
            raise KeyboardInterrupt

    monkeypatch.setattr(ab.Evaluator, "save", cut)
    cut_short = tmp_path / "cut"
    result = calibrate(targets, cut_short, *options)
    assert result.exit_code == 130, result.output
    work = tmp_path / ".cut.partial"
    assert (work / "abc.db").exists() and list((work / "parts").glob("g002-*.json"))
    monkeypatch.setattr(ab.Evaluator, "save", real)
    result = invoke("calibrate", MMC, "--targets", targets, *PARAMS, *SHORT, *options, "--resume", work)
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_parquet(whole / "posterior.parquet"),
                                  pd.read_parquet(cut_short / "posterior.parquet"))
    assert pd.read_json(cut_short / "manifest.json", typ="series")["reused"] > 0



def test_a_calibration_resumed_with_fewer_generations_stops_there(tmp_path, monkeypatch):
    """The stopping rules may change on --resume: a calibration cut short in its second generation and resumed
    with --generations 1 ends with the posterior of an uninterrupted one-generation calibration."""
    import sim.calibration.abc as ab

    targets = observed_targets(tmp_path, {"review.pools.agents.handling_time.mean": "50min"}, seed=8)
    options = ["--particles", "8", "-n", "2", "--workers", "1", "--seed", "3"]
    one = tmp_path / "one"
    assert calibrate(targets, one, *options, "--generations", "1").exit_code == 0
    real = ab.Evaluator.save

    def cut(self, key, want, record):
        if key.startswith(ab.part_key(1, 0)[:4]):  # the second generation's first result, before it is saved
            raise KeyboardInterrupt
        real(self, key, want, record)

    monkeypatch.setattr(ab.Evaluator, "save", cut)
    assert calibrate(targets, tmp_path / "cut", *options, "--generations", "3").exit_code == 130
    monkeypatch.setattr(ab.Evaluator, "save", real)
    result = invoke("calibrate", MMC, "--targets", targets, *PARAMS, *SHORT, *options, "--generations", "1",
                    "--resume", tmp_path / ".cut.partial")
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_parquet(one / "posterior.parquet"),
                                  pd.read_parquet(tmp_path / "cut" / "posterior.parquet"))
    assert len(pd.read_csv(tmp_path / "cut" / "generations.csv")) == 1


BAD_TARGETS = {
    "unknown_key": ("name: x\ntargets:\n  - name: a\n    outcome: tickets\n    observed: 1\n    tolerance: 1\n"
                    "    tolerence: 2\n", "targets.0.tolerence", "7:5"),
    "no_tolerance": ("name: x\ntargets:\n  - name: a\n    outcome: tickets\n    observed: 1\n", "tolerance", None),
    "zero_tolerance": ("name: x\ntargets:\n  - name: a\n    outcome: tickets\n    observed: 1\n    tolerance: 0\n",
                       "targets.0.tolerance", "6:16"),
    "two_measures": ("name: x\ntargets:\n  - name: a\n    outcome: tickets\n    count: {post: speech, event: report, "
                     "within: 2d}\n    observed: 1\n    tolerance: 1\n", "exactly one of outcome, count", None),
    "text_observed": ("name: x\ntargets:\n  - name: a\n    outcome: tickets\n    observed: '5'\n    tolerance: 1\n",
                      "targets.0.observed", "5:15"),
    "unknown_post": ("name: x\ntargets:\n  - name: a\n    count: {post: speach, event: report, within: 2d}\n"
                     "    observed: 1\n    tolerance: 1\n", "did you mean 'speech'", "4:19"),
    "unknown_outcome": ("name: x\ntargets:\n  - name: a\n    outcome: tickts\n    observed: 1\n    tolerance: 1\n",
                        "did you mean 'tickets'", "4:14"),
    "bad_bound": ("name: x\ntargets:\n  - name: a\n    outcome: tickets\n    observed: 1\n    tolerance: 1\n"
                  "    bound: above\n", "targets.0.bound", "7:12"),
    "duplicate_name": ("name: x\ntargets:\n  - {name: a, outcome: tickets, observed: 1, tolerance: 1}\n"
                       "  - {name: a, outcome: reviews, observed: 1, tolerance: 1}\n", "names two targets", None),
}


@pytest.mark.parametrize("case", sorted(BAD_TARGETS))
def test_bad_targets_file_is_one_line_exit_2(case, tmp_path):
    text, expect, at = BAD_TARGETS[case]
    path = tmp_path / "bad.yml"
    path.write_text(text)
    out = tmp_path / "out"
    result = invoke("calibrate", MINI, "--targets", path, "--param", "board.selection_delay=2d..20d",
                    "--out", out, "--particles", "4", "--generations", "1")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), result.output
    assert expect in lines[0]
    if at:
        assert f"{path}:{at}:" in lines[0], lines[0]
    assert not out.exists() and not (tmp_path / ".out.partial").exists()


BAD_PARAMS = {
    "no_equals": ("board.selection_delay", "expected path=values"),
    "no_range": ("board.selection_delay=5d", "expected a range low..high"),
    "reversed": ("board.selection_delay=20d..2d", "low bound must be below"),
    "log_of_zero": ("harm.base_per_day=log:0..0.1", "log-uniform prior needs a low bound above zero"),
    "mixed_units": ("board.selection_delay=2..20d", "both bounds must be durations"),
    "not_a_key": ("board.selection_dlay=2d..20d", "board.selection_dlay"),
    "out_of_range": ("board.referral_probability=0.5..1.5", "board.referral_probability"),
}


@pytest.mark.parametrize("case", sorted(BAD_PARAMS))
def test_bad_param_is_one_line_exit_2(case, tmp_path):
    spec, expect = BAD_PARAMS[case]
    path = tmp_path / "targets.yml"
    path.write_text("name: x\ntargets:\n  - {name: a, outcome: tickets, observed: 1, tolerance: 1}\n")
    out = tmp_path / "out"
    result = invoke("calibrate", MINI, "--targets", path, "--param", spec, "--out", out, "--particles", "4")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), result.output
    assert expect in lines[0], lines[0]
    assert not out.exists()


def test_targets_measure_tracked_events():
    """Counts and delays read the tracked timeline; series sum a daily series over dates."""
    import datetime as dt

    from sim.calibration.simulate import measure
    from sim.calibration.targets import Target
    from sim.metrics import Replication

    timeline = [("v", 10.0, "published", ""), ("v", 20.0, "report", ""), ("v", 40.0, "report", ""),
                ("v", 500.0, "report", ""), ("v", 2410.0, "board_decision", ""), ("government", 2434.0, "gov_threat", "")]
    record = Replication(outcomes={"x": 3.0}, series={"harm_events": [1.0, 0.0, 2.0, 5.0]}, timeline=timeline)
    start = dt.date(2023, 1, 1)

    def value(**spec):
        return measure(Target(name="t", observed=0, tolerance=1, **spec), record, start)

    assert value(count={"post": "v", "event": "report", "within": "2d"}) == 2
    assert value(delay={"post": "government", "event": "gov_threat",
                        "after": {"post": "v", "event": "board_decision"}}) == pytest.approx(1.0)
    assert value(delay={"post": "v", "event": "board_decision"}) == pytest.approx(100.0)
    assert value(delay={"post": "v", "event": "removed"}) != value(delay={"post": "v", "event": "removed"})  # NaN
    assert value(series={"name": "harm_events", "start": "2023-01-02", "end": "2023-01-03"}) == 2.0
    assert value(outcome="x") == 3.0
    one_sided = Target(name="t", outcome="x", observed=7, tolerance=2, bound="at_least")
    assert one_sided.term(9) == 0 and one_sided.term(5) == -1


def test_calibration_outcomes_are_shares():
    from sim import load_scenario
    from sim.calibration.simulate import run_measured
    from sim.metrics import CALIBRATION_OUTCOMES

    record = run_measured(load_scenario(MINI, ["horizon=20d"]), 1, 0)
    for name in CALIBRATION_OUTCOMES:
        assert 0.0 <= record.outcomes[name] <= 1.0, name
    assert record.outcomes["incitement_view_share"] <= record.outcomes["violating_view_share"]
    assert len(record.series["harm_events"]) == 20


def test_validate_checks_a_targets_file_as_one(tmp_path):
    good = tmp_path / "targets.yaml"
    good.write_text("name: x\ntargets:\n  - {name: a, outcome: tickets, observed: 1, tolerance: 1}\n")
    bad = tmp_path / "bad_targets.yaml"
    bad.write_text("name: x\ntargets:\n  - {name: a, outcome: tickets, observed: 1, tolerance: -1}\n")
    result = invoke("validate", good, bad)
    assert result.exit_code == 2, result.output
    assert f"{good}: ok" in result.stdout
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: {bad}:3:") and "targets.0.tolerance" in line, line


def test_validate_accepts_every_bundled_scenario_and_targets_file():
    result = invoke("validate", ROOT / "scenarios")
    assert result.exit_code == 0, result.output
    checked = {Path(line.split(": ")[0]).relative_to(ROOT).as_posix() for line in result.stdout.splitlines()}
    assert {"scenarios/targets/cambodia_2023.yaml", "scenarios/targets/mmc.yaml", "scenarios/baseline.yaml"} <= checked


def test_a_proposal_is_the_scenario_loaded_with_its_values(tmp_path):
    """A proposal's scenario (read once for the whole calibration) is exactly what loading the file with the
    proposal's --set gives; one the values make invalid is None, counted, with its error naming the --set."""
    from sim.calibration.abc import Evaluator, Setup
    from sim.calibration.priors import parse_priors, set_expressions
    from sim.scenario import load_scenario

    path = tmp_path / "mmc.yaml"
    path.write_text((ROOT / "scenarios" / "validation" / "mmc.yaml").read_text())
    [prior] = parse_priors(["warmup=10h..300h"])
    evaluator = Evaluator(Setup(path, ["horizon=200h"], [prior], [], 1, 2, 1), folder=None, executor=None)
    for warmup in (10.0, 55.5, 199.0):
        sets = ["horizon=200h", *set_expressions([prior], {prior.name: warmup})]
        assert evaluator.scenario_data({prior.name: warmup}) == load_scenario(path, sets).model_dump(mode="json")
    path.write_text("not: a scenario\n")  # read once: a change to the file after the start is not seen
    assert evaluator.scenario_data({prior.name: 20.0})["warmup"] == "20h"
    assert evaluator.scenario_data({prior.name: 250.0}) is None
    assert evaluator.scenario_data({prior.name: 260.0}, counted=False) is None
    assert evaluator.invalid == 1
    assert "horizon: expected a duration longer than warmup" in evaluator.first_error
    assert "--set warmup=" in evaluator.first_error
