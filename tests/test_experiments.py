"""compare / sweep / tune / sensitivity: common random numbers, designs, resume, failures, the CLI."""

from __future__ import annotations

import json
import signal
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from sim.cli import app
from sim.cli.common import EXIT_FAILURES
from sim.experiment import compare as cmp
from sim.experiment import sweep as swp
from sim.experiment.replicate import simulate_data
from sim.experiment.theory import mmc_mean_wait
from sim.results import ResultsFolder, data_hash

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
SHORT = ["--set", "horizon=150h", "--set", "warmup=10h"]
runner = CliRunner()


@pytest.fixture(autouse=True)
def no_charts(request, monkeypatch):
    """Charts are another module's work (and slow): skipped here except where a test asks for them."""
    if not request.node.name.startswith("test_common_random_numbers"):
        import sim.cli.study as study

        monkeypatch.setattr(study, "draw_and_report", lambda work, **options: None)


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def half_done(out: Path, command: str, scenarios: list[dict], seed: int, tasks) -> None:
    """A study folder as a kill half-way through leaves it: its record and the parts of ``tasks``."""
    folder = ResultsFolder.create("x", out)
    folder.start_experiment({"command": command, "scenarios": [data_hash(d) for d in scenarios], "seed": seed,
                             "sets": SHORT[1::2]})
    for task in tasks:
        folder.save_part(task.key, simulate_data(task.scenario, task.seed, task.index), index=task.index,
                         seed=task.seed, scenario_hash=data_hash(task.scenario), sets=SHORT[1::2])
    folder.close()


def two_policies(tmp_path: Path) -> tuple[Path, Path]:
    """Two M/M/c scenarios that differ only in staffing (they share every arrival)."""
    a = tmp_path / "c20.yaml"
    b = tmp_path / "c22.yaml"
    a.write_text(f"extends: {MMC}\nname: c20\n")
    b.write_text(f"extends: {MMC}\nname: c22\nreview:\n  pools:\n    agents:\n      reviewers: 22\n")
    return a, b


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".parquet":
            out[path.name] = pd.read_parquet(path)
        elif path.suffix == ".csv":
            out[path.name] = pd.read_csv(path)
    return out


def assert_same_tables(a: Path, b: Path, names=None) -> None:
    ta, tb = read_tables(a), read_tables(b)
    assert set(ta) == set(tb)
    for name in names or ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], check_like=False)


# ------------------------------------------------------------------------------------------- designs


def test_grid_includes_stop_when_a_step_lands_on_it():
    assert swp.parse_values("a=10:100:10")[1] == list(range(10, 101, 10))
    assert swp.parse_values("a=10:95:10")[1] == list(range(10, 91, 10))
    assert swp.parse_values("a=0.1:0.3:0.1")[1] == [0.1, 0.2, 0.3]
    assert swp.parse_values("a=6h:1d:6h")[1] == ["6h", "12h", "18h", "1d"]
    assert swp.parse_values("review.policy=fifo,severity")[1] == ["fifo", "severity"]
    paths, points = swp.grid(["a=1:2:1", "b=x,y"])
    assert paths == ["a", "b"] and points == [(1, "x"), (1, "y"), (2, "x"), (2, "y")]


def test_latin_hypercube_is_seeded_and_typed():
    paths, points = swp.latin_hypercube(["n=10..20", "d=6h..72h", "x=0.1..0.9"], 8, seed=3)
    assert paths == ["n", "d", "x"] and len(points) == 8
    assert points == swp.latin_hypercube(["n=10..20", "d=6h..72h", "x=0.1..0.9"], 8, seed=3)[1]
    from sim.scenario.durations import parse_duration

    for n, d, x in points:
        assert isinstance(n, int) and 10 <= n <= 20
        assert 6 <= parse_duration(d) <= 72
        assert 0.1 <= x <= 0.9
    # one point per stratum of each dimension
    assert sorted(int((x - 0.1) / 0.8 * 8) for _, _, x in points) == list(range(8))


@pytest.mark.parametrize("spec", ["a=10..", "a=x..y", "a=5..1", "noequals", "a=1:2", "a=1h..5"])
def test_bad_ranges_are_one_clear_error(spec):
    with pytest.raises(swp.DesignError):
        swp.parse_range(spec) if ".." in spec or ":" not in spec else swp.parse_values(spec)


def test_range_without_samples_is_refused():
    with pytest.raises(swp.DesignError, match="--samples"):
        swp.grid(["a=1..3"])


# ------------------------------------------------------------------------------------------- compare


def test_common_random_numbers_give_a_narrower_paired_interval(tmp_path):
    a, b = two_policies(tmp_path)
    out = tmp_path / "cmp"
    result = invoke("compare", a, b, "-n", 6, "--seed", 5, "--workers", 1, "--out", out, *SHORT)
    assert result.exit_code == 0, result.output
    comparison = pd.read_csv(out / "comparison.csv")
    assert list(comparison.columns) == cmp.COMPARISON_COLUMNS
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == cmp.SUMMARY_COLUMNS
    reps = pd.read_parquet(out / "replications.parquet")
    assert reps.columns[0] == "scenario"
    for name in ("timeseries.parquet", "survival.parquet", "tracked.parquet"):
        assert pd.read_parquet(out / name).columns[0] == "scenario"
    assert (out / "scenarios" / "c20.yaml").exists() and (out / "manifest.json").exists()
    row = comparison[(comparison.outcome == "queue_wait_mean_h") & (comparison.scenario == "c22")].iloc[0]
    first = comparison[(comparison.outcome == "queue_wait_mean_h") & (comparison.scenario == "c20")].iloc[0]
    assert np.isnan(first.diff_mean)
    x = reps[reps.scenario == "c20"].queue_wait_mean_h.to_numpy()
    y = reps[reps.scenario == "c22"].queue_wait_mean_h.to_numpy()
    assert row.diff_mean == pytest.approx(np.mean(y - x))
    se = np.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
    unpaired_width = 2 * stats.t.ppf(0.975, 2 * len(x) - 2) * se
    paired_width = row.diff_high - row.diff_low
    assert paired_width < unpaired_width
    # arrivals are shared stream by stream: the same posts in both policies
    assert (reps[reps.scenario == "c20"].tickets.to_numpy() == reps[reps.scenario == "c22"].tickets.to_numpy()).all()


def test_duplicate_names_are_refused(tmp_path):
    result = invoke("compare", MMC, MMC, "--out", tmp_path / "x", *SHORT)
    assert result.exit_code == 2 and "repeated: mmc" in result.output


def test_compare_resumed_equals_uninterrupted(tmp_path):
    a, b = two_policies(tmp_path)
    full = tmp_path / "full"
    args = ["-n", 3, "--seed", 9, "--workers", 1, *SHORT]
    assert invoke("compare", a, b, "--out", full, *args).exit_code == 0
    # simulate a kill half-way: some (scenario, replication) parts already saved
    from sim import load_scenario

    scenarios = [load_scenario(p, ["horizon=150h", "warmup=10h"]) for p in (a, b)]
    half_done(tmp_path / "part", "compare", [s.model_dump(mode="json") for s in scenarios], 9,
              cmp.tasks(scenarios, 9, 3)[:3])
    result = invoke("compare", a, b, "--resume", tmp_path / "part", *args)
    assert result.exit_code == 0, result.output
    assert_same_tables(full, tmp_path / "part")


def test_a_failing_replication_is_reported_not_fatal(tmp_path, failing_replication):
    failing_replication(1, "c22")
    a, b = two_policies(tmp_path)
    out = tmp_path / "f"
    result = invoke("compare", a, b, "-n", 3, "--workers", 1, "--out", out, *SHORT)
    assert result.exit_code == EXIT_FAILURES, result.output
    failures = pd.read_csv(out / "failures.csv")
    assert list(failures[["scenario", "replication"]].itertuples(index=False, name=None)) == [("c22", 1)]
    assert "boom" in failures.error[0] and "seed" in failures.columns
    comparison = pd.read_csv(out / "comparison.csv")
    wait = comparison[(comparison.scenario == "c22") & (comparison.outcome == "queue_wait_mean_h")]
    assert list(wait.n) == [2]


# -------------------------------------------------------------------------------------- sweep & co


def test_sweep_grid_table_and_resume(tmp_path):
    args = ["sweep", MMC, "--vary", "review.pools.agents.reviewers=20:22:2", "--vary",
            "review.pools.agents.handling_time.mean=50min,1h", "-n", 2, "--workers", 1, *SHORT]
    full = tmp_path / "full"
    result = invoke(*args, "--out", full)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(full / "sweep.parquet")
    assert list(table.columns) == ["point", "review.pools.agents.reviewers", "review.pools.agents.handling_time.mean",
                                   "outcome", "mean", "ci_low", "ci_high", "n", "method"]
    assert sorted(table.point.unique()) == [0, 1, 2, 3]
    points = pd.read_csv(full / "points.csv")
    assert list(points.columns) == ["point", "review.pools.agents.reviewers", "review.pools.agents.handling_time.mean"]
    # interrupted after some points, then resumed
    from sim import load_scenario

    paths, grid_points = swp.grid(["review.pools.agents.reviewers=20:22:2", "review.pools.agents.handling_time.mean=50min,1h"])
    data = [load_scenario(MMC, ["horizon=150h", "warmup=10h", *swp.set_expressions(paths, p)]).model_dump(mode="json")
            for p in grid_points]
    seed = load_scenario(MMC).seed
    half_done(tmp_path / "part", "sweep", data, seed, swp.tasks(data, seed, 2)[:5])
    assert invoke(*args, "--resume", tmp_path / "part").exit_code == 0
    assert_same_tables(full, tmp_path / "part")


def test_sweep_latin_hypercube_and_bad_point(tmp_path):
    result = invoke("sweep", MMC, "--vary", "review.pools.agents.reviewers=20..24", "--vary",
                    "review.pools.agents.handling_time.mean=50min..1h", "--samples", 3, "-n", 1, "--workers", 1,
                    "--out", tmp_path / "lhs", *SHORT)
    assert result.exit_code == 0, result.output
    points = pd.read_csv(tmp_path / "lhs" / "points.csv")
    assert len(points) == 3 and points["review.pools.agents.reviewers"].between(20, 24).all()
    bad = invoke("sweep", MMC, "--vary", "review.pools.agents.reviewers=-1,2", "--out", tmp_path / "bad", *SHORT)
    assert bad.exit_code == 2 and "point 0" in bad.output


@pytest.mark.slow
def test_tune_finds_the_smallest_staffing_meeting_the_wait_bound(tmp_path):
    # lambda = 4/h, mu = 1/h: Erlang C mean waits c=6: 0.142 h, c=7: 0.045 h; bound 0.09 h -> c = 7
    lam, bound = 4.0, 0.09
    expected = min(c for c in range(5, 13) if mmc_mean_wait(c, lam, 1.0) <= bound)
    assert expected == 7 and mmc_mean_wait(6, lam, 1.0) > 1.5 * bound and mmc_mean_wait(7, lam, 1.0) < bound / 1.5
    out = tmp_path / "tune"
    result = invoke("tune", MMC, "--param", "review.pools.agents.reviewers=5..12", "--objective",
                    "max:reviewer_utilization", "--constraint", f"queue_wait_mean_h<={bound}", "--trials", 16,
                    "-n", 3, "--seed", 5, "--workers", 1, "--out", out, "--set", "horizon=1000h", "--set", "warmup=50h",
                    "--set", "accounts.customers.posts_per_day=96")
    assert result.exit_code == 0, result.output
    trials = pd.read_parquet(out / "trials.parquet")
    # 5..12 holds 8 settings: each is tried once (never twice), so 8 trials of the 16 asked.
    assert len(trials) == 8 and sorted(trials["review.pools.agents.reviewers"]) == list(range(5, 13))
    assert {"trial", "state", "review.pools.agents.reviewers", "reviewer_utilization",
                                  "queue_wait_mean_h", "feasible"} <= set(trials.columns)
    best = list((out / "best").glob("*.yaml"))
    assert len(best) == 1
    import yaml

    assert yaml.safe_load(best[0].read_text())["review"]["pools"]["agents"]["reviewers"] == expected
    assert json.loads((out / "objectives.json").read_text())["objectives"] == ["max:reviewer_utilization"]
    assert (out / "study.db").exists()


def test_tune_resume_runs_only_the_remaining_trials(tmp_path):
    args = ["tune", MMC, "--param", "review.pools.agents.reviewers=19..24", "--objective", "min:queue_wait_mean_h",
            "--objective", "max:reviewer_utilization", "-n", 1, "--workers", 1, *SHORT]
    out = tmp_path / "t"
    folder = ResultsFolder.create("x", out)  # an interrupted study: 3 of 5 trials done
    from sim.experiment import tune as tun

    first = invoke(*args, "--trials", 3, "--out", tmp_path / "t3")
    assert first.exit_code == 0, first.output
    import shutil

    shutil.rmtree(folder.work)
    shutil.copytree(tmp_path / "t3", folder.work)
    (folder.work / "parts").mkdir()
    result = invoke(*args, "--trials", 5, "--resume", out)
    assert result.exit_code == 0, result.output
    trials = pd.read_parquet(out / "trials.parquet")
    assert list(trials.trial) == [0, 1, 2, 3, 4]
    assert trials.head(3).reset_index(drop=True).equals(pd.read_parquet(tmp_path / "t3" / "trials.parquet"))
    assert len(list((out / "best").glob("*.yaml"))) >= 1
    assert tun.STUDY_NAME == "modsim-tune"


def test_sensitivity_morris(tmp_path):
    out = tmp_path / "s"
    result = invoke("sensitivity", MMC, "--param", "review.pools.agents.reviewers=20..26", "--param",
                    "review.pools.agents.handling_time.mean=50min..1h", "--samples", 2, "-n", 1, "--workers", 1,
                    "--out", out, "--outcomes", "queue_wait_mean_h,reviewer_utilization", *SHORT)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sensitivity.csv")
    assert list(table.columns) == ["outcome", "parameter", "index", "value", "ci_low", "ci_high", "method"]
    assert set(table["index"]) == {"mu_star", "sigma"}
    util = table[(table.outcome == "reviewer_utilization") & (table["index"] == "mu_star")]
    assert (util.value > 0).all()


@pytest.mark.parametrize("command", ["compare", "sweep", "tune", "sensitivity"])
def test_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Example:" in result.output
    for option in ("--replications", "--seed", "--set", "--out", "--workers", "--scheduler", "--resume", "--force"):
        assert option in result.output


# ------------------------------------------------------------------------------------ real interrupt


@pytest.mark.slow
def test_sigint_then_resume_equals_uninterrupted(tmp_path):
    args = [sys.executable, "-m", "sim", "sweep", str(MMC), "--vary", "review.pools.agents.reviewers=20:27:1",
            "-n", "3", "--workers", "1", "--set", "horizon=400h", "--set", "warmup=10h"]
    out = tmp_path / "run"
    process = subprocess.Popen([*args, "--out", str(out)], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    parts = tmp_path / ".run.partial" / "parts"
    deadline = time.time() + 120
    while time.time() < deadline and not (parts.is_dir() and len(list(parts.glob("*.json"))) >= 2):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert b"resume with" in err
    done = len(list(parts.glob("*.json")))
    assert 2 <= done < 24
    # The printed command, run as it is, resumes the same work.
    again = err.decode().split("resume with: ", 1)[1].strip()
    assert "..." not in again and "--vary review.pools.agents.reviewers=20:27:1" in again and "-n 3" not in again
    assert "--replications 3" in again and "--set horizon=400h --set warmup=10h" in again
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    resumed = subprocess.run(["bash", "-c", again], cwd=tmp_path, capture_output=True, timeout=300, env=env)
    assert resumed.returncode == 0, resumed.stderr
    full = subprocess.run([*args, "--out", str(tmp_path / "full")], cwd=tmp_path, capture_output=True, timeout=300)
    assert full.returncode == 0, full.stderr
    assert_same_tables(tmp_path / "full", out)


def test_a_designs_points_are_the_file_loaded_with_their_sets_as_it_was_when_read(tmp_path):
    """Sweep, sensitivity and tune read their scenario file once for all their points (``read_once``): each point
    is what loading the file with its ``--set``s gives, an invalid point is one error naming it, and a change to
    the file after it was read is not seen."""
    from sim.cli import study as st
    from sim.scenario import load_scenario

    path = tmp_path / "mmc.yaml"
    path.write_text(MMC.read_text())
    sets = ["horizon=300h"]
    paths = ["review.pools.agents.reviewers", "review.pools.agents.handling_time.mean"]
    points = [(18, "50min"), (22, "1h")]
    scenarios = st.points_scenarios(path, sets, paths, points)
    assert scenarios == [load_scenario(path, [*sets, *swp.set_expressions(paths, p)]) for p in points]
    assert [s.review.pools["agents"].reviewers for s in scenarios] == [18, 22]
    with pytest.raises(st.ExperimentError, match=r"^point 1 \(review.pools.agents.reviewers=-3, .*reviewers"):
        st.points_scenarios(path, sets, paths, [(18, "50min"), (-3, "1h")])
    document = st.read_once(path)
    path.write_text(path.read_text().replace("name: mmc", "name: changed"))
    assert st.load_point(document, sets, [], "point 0").name == "mmc"
    assert st.load_point(path, sets, [], "point 0").name == "changed"
