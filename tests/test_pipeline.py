"""The moderation pipeline: view curves, priority policies, Little's law, determinism, the results folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import simpy
from scipy import integrate
from typer.testing import CliRunner

from sim import load_scenario, run
from sim.cli import app
from sim.experiment.statistics import mean_ci
from sim.metrics import daily_views
from sim.model.content import views_by
from sim.model.policies import POLICIES
from sim.model.review import ReviewQueue
from sim.model.tickets import FLOAT_FIELDS, INT_FIELDS, Ticket
from tests.conftest import SCENARIOS


def test_exposure_matches_numerical_integration_of_the_view_rate():
    reach, decay = 12_345.0, 17.0
    for age in (0.5, 3.0, 40.0, 500.0):
        integral, _ = integrate.quad(lambda t: reach / decay * np.exp(-t / decay), 0, age)
        assert views_by(age, reach, decay) == pytest.approx(integral, rel=1e-9)


def test_daily_views_add_up_to_the_exposure_before_removal():
    rng = np.random.default_rng(4)
    created = rng.uniform(0, 200, 50)
    end = np.minimum(created + rng.exponential(30, 50), 240.0)
    reach, decay = rng.uniform(10, 1e4, 50), rng.uniform(2, 50, 50)
    daily = daily_views(created, end, reach, decay, 240.0)
    assert len(daily) == 10
    assert sum(daily) == pytest.approx(views_by(end - created, reach, decay).sum(), rel=1e-9)


def _ticket(i, severity, reach=1000.0, created=0.0, decay=10.0, p=0.5, reports=None):
    fields = dict(post=i, klass=0, author=i, severity=severity, violating=1, source_is_report=1, government_flag=0,
                  index=i, created=created, reach=reach, decay=decay, p_violating=p)
    return Ticket([fields[name] for name in INT_FIELDS], [fields.get(name, 0.5) for name in FLOAT_FIELDS],
                  sorted(reports or []), None, entered=0.0)


def _policy(name):
    return next(kind for kind in POLICIES if kind.model_fields["kind"].default == name)()


def _order(policy_name, tickets, boost=0.25):
    env = simpy.Environment()
    queue = ReviewQueue(env, _policy(policy_name), boost)
    for t in tickets:
        queue.push(t)
    order = []
    while (t := queue.pop()) is not None:
        order.append(t.post)
    return order


def test_fifo_serves_in_arrival_order_whatever_the_severity():
    assert _order("fifo", [_ticket(0, 1), _ticket(1, 4), _ticket(2, 2)]) == [0, 1, 2]


def test_severity_serves_most_severe_first_then_arrival():
    assert _order("severity", [_ticket(0, 1), _ticket(1, 4), _ticket(2, 2), _ticket(3, 4)]) == [1, 3, 2, 0]


def test_predicted_views_serves_most_remaining_views_first():
    tickets = [_ticket(0, 4, reach=100), _ticket(1, 1, reach=5000), _ticket(2, 2, reach=1000)]
    assert _order("predicted_views", tickets) == [1, 2, 0]


def test_expected_harm_weighs_severity_views_and_probability():
    tickets = [_ticket(0, 4, reach=1000, p=0.1),   # 400
               _ticket(1, 1, reach=1000, p=0.9),   # 900
               _ticket(2, 2, reach=1000, p=0.9)]   # 1800
    assert _order("expected_harm", tickets) == [2, 1, 0]


def test_duplicate_reports_raise_priority_not_load():
    env = simpy.Environment()
    queue = ReviewQueue(env, _policy("severity"), 1.0)
    quiet, reported = _ticket(0, 2), _ticket(1, 2, reports=[0.0, 1.0, 2.0])
    queue.push(quiet)
    queue.push(reported)
    env.run(until=5)
    queue.push(reported)  # a duplicate report re-ranks the waiting ticket
    assert queue.waiting == 2 and queue.arrivals == 2
    assert queue.pop() is reported and queue.pop() is quiet and queue.pop() is None


def test_auto_close_closes_old_report_tickets():
    scenario = load_scenario(SCENARIOS / "baseline.yaml", ["horizon=6d", "review.auto_close_after=2h",
                                                          "review.pools.khmer.shifts=[{start: 0h, end: 1h, reviewers: 1}]"])
    table = run(scenario, replications=1, seed=2, workers=1).replications
    assert table.reports_auto_closed[0] > 0


@pytest.mark.slow
def test_littles_law_on_the_baseline():
    """L = lambda * W: the time-average queue length equals arrivals per hour times the mean wait."""
    scenario = load_scenario(SCENARIOS / "baseline.yaml", ["horizon=30d", "review.auto_close_after=null"])
    table = run(scenario, replications=8, seed=21, workers=2).replications
    predicted = table.ticket_arrivals_per_h * table.queue_wait_mean_h
    mean, low, high, _ = mean_ci(table.queue_length_mean - predicted, 0.99)
    assert low <= 0 <= high or abs(mean) < 0.01 * table.queue_length_mean.mean(), (mean, low, high)


def test_serial_and_pool_runs_are_identical():
    scenario = load_scenario(SCENARIOS / "baseline.yaml", ["horizon=5d"])
    serial = run(scenario, replications=3, seed=9, workers=1)
    pooled = run(scenario, replications=3, seed=9, workers=2)
    pd.testing.assert_frame_equal(serial.replications, pooled.replications)
    pd.testing.assert_frame_equal(serial.timeseries, pooled.timeseries)
    pd.testing.assert_frame_equal(serial.summary, pooled.summary)


def test_common_random_numbers_share_arrivals_across_policies():
    base = load_scenario(SCENARIOS / "baseline.yaml", ["horizon=5d"])
    fifo = load_scenario(SCENARIOS / "baseline.yaml", ["horizon=5d", "review.policy=fifo"])
    a = run(base, replications=2, seed=3, workers=1).replications
    b = run(fifo, replications=2, seed=3, workers=1).replications
    assert (a.violating_posts == b.violating_posts).all() and (a.tickets == b.tickets).all()


def test_run_command_writes_the_results_folder(tmp_path):
    out = tmp_path / "run"
    args = ["run", str(SCENARIOS / "baseline.yaml"), "-n", "2", "--set", "horizon=3d", "--workers", "1",
            "--out", str(out), "--seed", "17"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in ("manifest.json", "scenario.yaml", "replications.parquet", "timeseries.parquet",
                 "tracked.parquet", "survival.parquet", "summary.csv"):
        assert (out / name).is_file(), name
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["outcome", "mean", "ci_low", "ci_high", "n", "method"]
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("modsim_version", "git_commit", "seed", "scenario_hash", "command_line", "wall_seconds"):
        assert key in manifest
    assert manifest["seed"] == 17
    assert "results:" in result.output and "removal_time_median_h" in result.output
    again = tmp_path / "again"
    result = CliRunner().invoke(app, args[:-4] + ["--out", str(again), "--seed", "17"])
    assert result.exit_code == 0, result.output
    assert (out / "summary.csv").read_text() == (again / "summary.csv").read_text()
    # The resolved scenario runs as it is and gives the same numbers.
    third = tmp_path / "third"
    result = CliRunner().invoke(app, ["run", str(out / "scenario.yaml"), "-n", "2", "--workers", "1",
                                      "--out", str(third), "--seed", "17"])
    assert result.exit_code == 0, result.output
    assert (third / "summary.csv").read_text() == (out / "summary.csv").read_text()


def test_out_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(app, ["run", str(SCENARIOS / "baseline.yaml"), "-n", "1", "--set", "horizon=1d",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2 and "not empty" in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_list_and_schema_commands(monkeypatch):
    monkeypatch.chdir(SCENARIOS.parent)
    listing = CliRunner().invoke(app, ["list"])
    assert listing.exit_code == 0 and "baseline.yaml" in listing.output and "cambodia_2023.yaml" in listing.output
    lines = listing.output.splitlines()
    assert any(line.startswith("scenarios/baseline.yaml  ") for line in lines), "paths relative to where it runs"
    schema = CliRunner().invoke(app, ["schema"])
    assert schema.exit_code == 0
    document = json.loads(schema.output)
    scenario = document["$defs"]["Scenario"]
    assert "accounts" in scenario["properties"]
    assert all(field.get("description") for field in scenario["properties"].values())


def test_long_work_says_how_long_it_will_take_before_it_starts(tmp_path, monkeypatch):
    import sim.cli.common as common

    monkeypatch.setattr(common, "ANNOUNCE_AFTER_S", 0.0)  # everything counts as long here
    result = CliRunner().invoke(app, ["run", str(SCENARIOS / "validation" / "mmc.yaml"), "-n", "2", "--workers", "1",
                                      "--set", "horizon=150h", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "mmc: expected to take about" in result.stderr and "(from the workload estimate)" in result.stderr
