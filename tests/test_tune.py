"""modsim tune: a study a user can trust and resume.

- Interrupted at any moment (kill -9, Ctrl-C) and resumed, a study has the trials of an
  uninterrupted one: in process, by stopping it before every n-th write to its database; for real,
  by SIGKILL and SIGINT of the command at a few moments and its printed "resume with:" command.
- A setting is never evaluated twice, and ``--trials`` counts distinct settings.
- An objective may be a tuned parameter (the fewest reviewers meeting a constraint).
- The best trial is printed with 95% intervals over its replications, and one sentence answers.
- A tune folder gets its charts (tuning_history, and tuning_pareto for two objectives).
"""

from __future__ import annotations

import json
import math
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.experiment import tune as tun
from sim.experiment import tune_answer as tun_answer
from sim.experiment.sweep import parse_range

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
SHORT = ["--set", "horizon=300h"]
REVIEWERS = "review.pools.agents.reviewers"
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


# ------------------------------------------------------------------------------------ reading the options


def test_an_objective_may_name_a_tuned_parameter():
    ranges = [parse_range(f"{REVIEWERS}=18..30")]
    objective = tun.parse_objective(f"min:{REVIEWERS}")
    assert objective.direction == "minimize" and objective.outcome == REVIEWERS
    tun.check_objectives([objective], ranges)
    assert tun.parameter_objectives([objective, tun.parse_objective("max:reviewer_utilization")], ranges) == {REVIEWERS}
    with pytest.raises(tun.TuneError, match="not a tuned parameter"):
        tun.check_objectives([tun.parse_objective("min:review.pools.agents.handling_time.mean")], ranges)


def test_space_size_and_the_nearest_untried_setting():
    ints = parse_range(f"{REVIEWERS}=18..30")
    minutes = parse_range("review.auto_close_after=6h..7h")
    assert tun.space_size([ints]) == 13
    assert tun.space_size([ints, minutes]) == 13 * 61
    assert tun.space_size([parse_range("detection.classifier.recall=0.3..0.9")]) is None
    tried = {tun.key_of({REVIEWERS: v}) for v in (20, 21, 22, 23)}
    rng = np.random.default_rng(0)
    assert tun.nearest_untried([ints], {REVIEWERS: 22}, tried, rng) == {REVIEWERS: 24}  # 19 is farther
    everything = {tun.key_of({REVIEWERS: v}) for v in range(18, 31)}
    assert tun.nearest_untried([ints], {REVIEWERS: 22}, everything, rng) is None
    # a duration setting comes back as Optuna's value (hours) of a whole minute
    tried = {tun.key_of({"review.auto_close_after": minutes.value(0.5)})}
    found = tun.nearest_untried([minutes], {"review.auto_close_after": 6.5}, tried, rng)
    assert found["review.auto_close_after"] * 60 in (389.0, 391.0)


def test_trial_seeds_depend_only_on_the_trial():
    assert tun.trial_seed(5, 3, 0) == tun.trial_seed(5, 3, 0)
    assert len({tun.trial_seed(5, k, a) for k in range(20) for a in range(4)}) == 80


# ------------------------------------------------------------------------------------ the study, in process

OBJECTIVES = {
    "tpe": ([f"{REVIEWERS}=16..40"], ["max:util"], ["wait<=0.1"]),
    "tpe-small": ([f"{REVIEWERS}=18..24"], ["max:util"], ["wait<=0.1"]),  # 7 settings: repeats are asked again
    "parameter": ([f"{REVIEWERS}=16..40"], [f"min:{REVIEWERS}"], ["wait<=0.1"]),
    "nsga": ([f"{REVIEWERS}=16..30", "review.auto_close_after=6h..12h"], ["min:wait", "max:util"], []),
}


def fake_outcomes(values: dict) -> tuple[list[dict], int]:
    """Three replications of an M/M/c-like queue: waits and utilisation fall with more reviewers."""
    from sim.scenario.durations import parse_duration

    c = values[REVIEWERS]
    close = parse_duration(values.get("review.auto_close_after", "6h"))
    return [{"util": 18 / c + 0.01 * i, "wait": 2.0 / (c - 15) ** 2 + 0.002 * i + 0.001 * close} for i in range(3)], 0


class Killed(BaseException):
    """The process dies here (before the write it interrupts)."""


WRITES = ("create_new_trial", "set_trial_param", "set_trial_state_values", "set_trial_user_attr",
          "set_trial_system_attr", "set_study_system_attr")


def die_before_write(study, n: int | None) -> list[int]:
    """Make the study's n-th write to its database (from now on) kill it, before anything is written;
    returns the count of writes so far (n None: only count)."""
    backend = study._storage._backend
    count = [0]
    for name in WRITES:
        real = getattr(backend, name)

        def write(*args, _real=real, **kwargs):
            count[0] += 1
            if count[0] == n:
                raise Killed
            return _real(*args, **kwargs)

        setattr(backend, name, write)
    return count


def die_telling(study, number: int) -> None:
    """Kill the study as it tells trial ``number`` (its result is stored on the trial by then)."""
    from optuna.trial import TrialState

    backend = study._storage._backend
    real = backend.set_trial_state_values

    def tell(trial_id, state, values=None):
        if state != TrialState.RUNNING and backend.get_trial(trial_id).user_attrs.get("trial") == number:
            raise Killed
        return real(trial_id, state, values)

    backend.set_trial_state_values = tell


@pytest.fixture
def fast_tmp(tmp_path):
    """A folder for in-process studies: in memory (tmpfs) where there is one, for SQLite's many small commits."""
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="modsim-tune-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_study(db: Path, case: str, trials: int, die_at: int | None = None, calls: list | None = None,
              writes: list | None = None, kill=None, batch: int = 1):
    """Open (or resume) the study in ``db`` and run it; returns its trials table (None if it died)."""
    params, objectives, constraints = OBJECTIVES[case]
    ranges = [parse_range(p) for p in params]
    objectives = [tun.parse_objective(o) for o in objectives]
    constraints = [tun.parse_constraint(c) for c in constraints]
    study = tun.open_study(db, objectives, 7, bool(constraints))
    tun.recover_interrupted(study)
    count = die_before_write(study, die_at)
    if kill is not None:
        kill(study)

    def evaluate(values):
        if calls is not None:
            calls.append(tun.key_of(values))
        return fake_outcomes(values)

    try:
        tun.optimize(study, ranges, objectives, constraints, trials, 7, evaluate, batch=batch)
    except Killed:
        return None
    finally:
        if writes is not None:
            writes.append(count[0])
    return tun_answer.trials_table(study, ranges, objectives, constraints)


@pytest.mark.parametrize("case,trials,batch", [("tpe", 12, 1), ("tpe-small", 9, 1), ("parameter", 8, 1), ("nsga", 6, 1),
                                              ("tpe", 12, 3), ("tpe-small", 9, 4), ("nsga", 6, 4)])
def test_stopped_before_any_write_and_resumed_equals_uninterrupted(fast_tmp, case, trials, batch):
    tmp_path = fast_tmp
    writes: list = []
    full = run_study(tmp_path / "full.db", case, trials, writes=writes, batch=batch)
    assert len(full) == min(trials, tun.space_size([parse_range(p) for p in OBJECTIVES[case][0]]) or trials)
    for n in sorted({1, 3, *np.linspace(5, writes[0], 6 if batch > 1 else 4).astype(int)}):
        db = tmp_path / f"stopped-{n}.db"
        first, second, third = [], [], []
        assert run_study(db, case, trials, die_at=n, calls=first, batch=batch) is None
        run_study(db, case, trials, die_at=n // 2 + 3, calls=second, batch=batch)  # the resumed study is interrupted too
        resumed = run_study(db, case, trials, calls=third, batch=batch)
        pd.testing.assert_frame_equal(resumed, full, obj=f"{case}, stopped before write {n}")
        # a setting runs again only when the process died before storing its result (its last evaluation)
        for calls in (first, second, third):
            assert len(calls) == len(set(calls)), f"a setting was evaluated twice in one run ({case}, write {n})"
        assert not set(first[:-1]) & set(second + third) and not set(second[:-1]) & set(third)
        states = {row[0] for row in sqlite3.connect(db).execute("select state from trials")}
        assert "RUNNING" not in states and "WAITING" not in states


def test_a_result_stored_before_the_interruption_is_reused(fast_tmp):
    tmp_path = fast_tmp
    db = tmp_path / "s.db"
    calls: list = []
    assert run_study(db, "tpe", 6, calls=calls, kill=lambda study: die_telling(study, 3)) is None
    assert len(calls) == 4
    study = tun.open_study(db, [tun.parse_objective("max:util")], 7, True)
    # trials 3 and 4 (asked once trial 2 was told) failed, not left RUNNING; trial 3's result kept
    assert tun.recover_interrupted(study) == (2, 1)
    resumed = run_study(db, "tpe", 6, calls=calls)
    assert len(calls) == 6 and len(set(calls)) == 6  # trial 3 was not run again
    pd.testing.assert_frame_equal(resumed, run_study(tmp_path / "full.db", "tpe", 6))


def test_batches_depend_on_the_batch_not_on_the_order_settings_finish(fast_tmp):
    """A batch's settings evaluated at once and finishing in any order give the trials of one evaluated in turn."""
    params, objectives, constraints = OBJECTIVES["tpe"]
    ranges = [parse_range(p) for p in params]
    objectives = [tun.parse_objective(o) for o in objectives]
    constraints = [tun.parse_constraint(c) for c in constraints]
    tables, sizes = [], []
    for name, backwards in (("turn", None), ("reversed", True), ("forwards", False)):
        study = tun.open_study(fast_tmp / f"{name}.db", objectives, 7, True)

        def many(settings, done, more, backwards=backwards):
            # settings handed out in rounds, each round's finishing in the given order; a round's `more` joins the next
            handed = 0
            while settings:
                sizes.append(len(settings))
                order = range(len(settings) - 1, -1, -1) if backwards else range(len(settings))
                later = []
                for position in order:
                    done(handed + position, *fake_outcomes(settings[position]))
                    later += more()
                handed += len(settings)
                settings = later

        tun.optimize(study, ranges, objectives, constraints, 10, 7, fake_outcomes, batch=4,
                     evaluate_many=None if backwards is None else many)
        tables.append(tun_answer.trials_table(study, ranges, objectives, constraints))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    pd.testing.assert_frame_equal(tables[0], tables[2])
    assert sizes == [8, 2] * 2  # trials 0-3 and 4-7 asked at the start, 8-9 once trials 0-3 are told
    one = run_study(fast_tmp / "one.db", "tpe", 10)
    assert list(one.trial) == list(tables[0].trial)


def test_a_repeated_suggestion_is_not_a_new_trial(fast_tmp):
    tmp_path = fast_tmp
    calls: list = []
    table = run_study(tmp_path / "s.db", "tpe-small", 20, calls=calls)
    assert len(table) == 7 and sorted(table[REVIEWERS]) == list(range(18, 25))  # every setting once, then stop
    assert len(calls) == 7
    study = tun.open_study(tmp_path / "s.db", [tun.parse_objective("max:util")], 7, True)
    assert any("repeat_of" in t.user_attrs for t in study.trials)  # the sampler did repeat itself


# ------------------------------------------------------------------------------------ the command


@pytest.fixture(scope="module")
def fewest(tmp_path_factory):
    """min:reviewers subject to a wait bound, on M/M/c (lambda 18/h, mu 1/h)."""
    out = tmp_path_factory.mktemp("tune") / "fewest"
    result = invoke("tune", MMC, "--param", f"{REVIEWERS}=18..30", "--objective", f"min:{REVIEWERS}", "--constraint",
                    "queue_wait_mean_h<=0.1", "--trials", 30, "-n", 3, "--workers", 1, "--out", out,
                    "--outcomes", "reviewer_utilization", *SHORT)
    return result, out


def test_fewest_reviewers_meeting_the_constraint(fewest):
    result, out = fewest
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "trials.parquet")
    assert len(table) == 13 and table[REVIEWERS].is_unique  # 13 settings: each once, not 30 trials
    feasible = table[table.feasible]
    best = int(feasible[REVIEWERS].min())
    assert (table[table[REVIEWERS] < best].feasible == False).all()  # noqa: E712 - every smaller one was tried and fails
    [chosen] = list((out / "best").glob("*.yaml"))
    import yaml

    assert yaml.safe_load(chosen.read_text())["review"]["pools"]["agents"]["reviewers"] == best
    last = result.stdout.strip().splitlines()[-1]
    row = table.set_index(REVIEWERS).loc[best].to_dict()
    assert last.startswith(f"{best} reviewers ({REVIEWERS}): the fewest tried that meets every constraint, with "
                           f"queue_wait_mean_h {tun_answer.with_interval(row, 'queue_wait_mean_h')} <= 0.1")
    assert f"; {best - 1} does not (queue_wait_mean_h " in last
    assert "[" in tun_answer.with_interval(row, "queue_wait_mean_h")  # three replications: an interval


def test_trials_keep_each_outcome_with_its_interval_over_the_replications(fewest):
    import sim
    from sim.experiment.statistics import outcome_ci
    from sim.metrics import outcome_kind

    result, out = fewest
    table = pd.read_parquet(out / "trials.parquet")
    for name in ("queue_wait_mean_h", "reviewer_utilization"):
        assert {name, f"{name}:ci_low", f"{name}:ci_high"} <= set(table.columns)
        assert (table[f"{name}:ci_low"] <= table[name]).all() and (table[name] <= table[f"{name}:ci_high"]).all()
    assert (table.replications == 3).all()
    # a trial is exactly `modsim run` of its setting with the same seed and replications
    row = table.iloc[0]
    scenario = sim.load_scenario(MMC, [*SHORT[1::2], f"{REVIEWERS}={int(row[REVIEWERS])}"])
    reps = sim.run(scenario, replications=3, seed=scenario.seed, workers=1).replications
    mean, low, high, _, _ = outcome_ci(reps.queue_wait_mean_h.to_numpy(float), outcome_kind("queue_wait_mean_h"))
    assert (row.queue_wait_mean_h, row["queue_wait_mean_h:ci_low"], row["queue_wait_mean_h:ci_high"]) == \
        pytest.approx((mean, low, high), rel=1e-12)


def test_a_tune_folder_gets_its_charts(fewest, tmp_path):
    _, out = fewest
    assert {p.name for p in (out / "charts").glob("*.png")} == {"tuning_history.png"}
    both = tmp_path / "pareto"
    result = invoke("tune", MMC, "--param", f"{REVIEWERS}=18..26", "--objective", "min:queue_wait_mean_h",
                    "--objective", "max:reviewer_utilization", "--trials", 4, "-n", 1, "--workers", 1, "--out", both,
                    *SHORT)
    assert result.exit_code == 0, result.output
    assert {p.name for p in (both / "charts").glob("*.png")} == {"tuning_history.png", "tuning_pareto.png"}
    assert "Pareto front" in result.stdout.strip().splitlines()[-1]


def test_history_chart_reads_what_tune_writes(tmp_path):
    from sim.plots import build_charts

    folder = tmp_path / "t"
    folder.mkdir()
    table = pd.DataFrame({"trial": range(5), "state": ["COMPLETE"] * 4 + ["FAIL"], REVIEWERS: [20, 24, 22, 21, 19],
                          "queue_wait_mean_h": [.3, .05, .08, .12, np.nan],
                          "queue_wait_mean_h:ci_low": [.2, .04, .07, .1, np.nan],
                          "queue_wait_mean_h:ci_high": [.4, .06, .09, .14, np.nan],
                          "constraint:queue_wait_mean_h<=0.1": [.2, -.05, -.02, .02, math.inf],
                          "feasible": [False, True, True, False, False]})
    table.to_parquet(folder / "trials.parquet")
    (folder / "objectives.json").write_text(json.dumps({"objectives": [f"min:{REVIEWERS}"],
                                                        "constraints": ["queue_wait_mean_h<=0.1"]}))
    figures = build_charts(folder, strict=True)
    assert set(figures) == {"tuning_history"}
    ax = figures["tuning_history"].axes[0]
    assert ax.get_ylabel() == f"{REVIEWERS}, lower is better"
    best = [line for line in ax.get_lines() if line.get_label() == "best so far"][0]
    assert list(best.get_ydata())[1:] == [24, 22, 22, 22]
    (folder / "objectives.json").write_text(json.dumps({"objectives": ["min:queue_wait_mean_h", f"max:{REVIEWERS}"]}))
    assert set(build_charts(folder, strict=True)) == {"tuning_history", "tuning_pareto"}


def test_a_misspelt_objective_is_a_user_error(tmp_path):
    result = invoke("tune", MMC, "--param", f"{REVIEWERS}=18..20", "--objective", "max:reviewer_utilisation",
                    "--trials", 2, "-n", 1, "--workers", 1, "--out", tmp_path / "x", *SHORT)
    assert result.exit_code == 2 and "did you mean reviewer_utilization" in result.output
    result = invoke("tune", MMC, "--param", f"{REVIEWERS}=18..20", "--objective", "min:review.pools.agents.handling",
                    "--out", tmp_path / "y", *SHORT)
    assert result.exit_code == 2 and "not a tuned parameter" in result.output


# ------------------------------------------------------------------------------------ real interrupts

ARGS = ["tune", str(MMC), "--param", f"{REVIEWERS}=16..40", "--objective", "max:reviewer_utilization",
        "--constraint", "queue_wait_mean_h<=0.1", "--trials", "6", "-n", "2", "--workers", "1", *SHORT]


def _modsim() -> list[str]:
    return [sys.executable, "-m", "sim"]


def _env() -> dict:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def _states(db: Path) -> dict[str, int]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05) as con:
            return dict(con.execute("select state, count(*) from trials group by state").fetchall())
    except sqlite3.Error:
        return {}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "full"
    done = subprocess.run([*_modsim(), *ARGS, "--out", str(out)], capture_output=True, timeout=300, env=_env())
    assert done.returncode == 0, done.stderr
    return pd.read_parquet(out / "trials.parquet")


@pytest.mark.parametrize("sig,complete,running", [
    (signal.SIGKILL, 0, True),   # during the first trial
    (signal.SIGKILL, 3, True),   # during a later trial
    (signal.SIGINT, 2, True),    # Ctrl-C during a trial
    (signal.SIGKILL, 4, False),  # between trials, or while the next is asked
    (signal.SIGINT, 6, False),   # Ctrl-C after the last trial: writing the tables and charts
])
def test_killed_or_interrupted_then_resumed_equals_uninterrupted(tmp_path, uninterrupted, sig, complete, running):
    out = tmp_path / "run"
    work = tmp_path / ".run.partial"
    process = subprocess.Popen([*_modsim(), *ARGS, "--out", str(out)], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=_env())
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        states = _states(work / "study.db") if (work / "study.db").exists() else {}
        if states.get("COMPLETE", 0) >= complete and (states.get("RUNNING", 0) or not running):
            break
        time.sleep(0.005)
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    if process.returncode == 0:  # it finished before the signal landed: nothing to resume
        pytest.skip("the study finished before the signal")
    if sig == signal.SIGINT:
        assert process.returncode == 130, err
        if b"resume with: " not in err:  # interrupted after the folder was renamed into place: it is complete
            assert not work.exists() and (out / "manifest.json").exists()
            pd.testing.assert_frame_equal(pd.read_parquet(out / "trials.parquet"), uninterrupted)
            return
        again = err.decode().split("resume with: ", 1)[1].strip()
        assert "RUNNING" not in _states(work / "study.db"), err  # Ctrl-C fails the trial it cut short at once
    else:
        assert process.returncode == -signal.SIGKILL
        again = shlex.join(["modsim", *ARGS, "--resume", str(work)])
        if (work / "study.db").exists():  # the same command again does not wipe the interrupted study
            refused = subprocess.run([*_modsim(), *ARGS, "--out", str(out)], cwd=tmp_path, capture_output=True,
                                     timeout=120, env=_env())
            assert refused.returncode == 2 and b"--resume" in refused.stderr
    resumed = subprocess.run(["bash", "-c", again], cwd=tmp_path, capture_output=True, timeout=300, env=_env())
    assert resumed.returncode == 0, resumed.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out / "trials.parquet"), uninterrupted)
    assert "RUNNING" not in _states(out / "study.db")
