"""Nothing silently wrong: strict numbers, positive scales, rules across keys, validate as strict as run.

The broken files of each rule are in ``tests/broken/`` (checked by tests/test_bad_input.py); these
tests cover what a corpus file cannot: --set and extends in messages, folders, the workload
estimate in ``validate``, and files that are not regular files (a FIFO must not hang).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.errors import ScenarioError
from sim.scenario import bundled_scenarios, load_scenario

ROOT = Path(__file__).resolve().parents[1]
TINY = (ROOT / "tests" / "broken" / "wrong_type_count.yaml").read_text().split("\n", 2)[2].replace(
    "count: many", "count: 1000")
TIMEOUT = 60


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def error_lines(result) -> list[str]:
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines


def error_of(path, sets=()) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, sets)
    return str(info.value)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


# --- strict numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("expr, key", [
    ("accounts.users.count=true", "accounts.users.count"),
    ("accounts.users.report_probability=true", "accounts.users.report_probability"),
    ("accounts.users.posts_per_day=false", "accounts.users.posts_per_day"),
    ("review.pools.khmer.reviewers=true", "review.pools.khmer.reviewers"),
    ("review.cross_check.reviewers=true", "review.cross_check.reviewers"),
    ("seed=true", "seed"),
    ("enforcement.strikes_per_removal=true", "enforcement.strikes_per_removal"),
    ("board.capacity_per_year=true", "board.capacity_per_year"),
])
def test_a_boolean_is_not_a_number(tiny, expr, key):
    message = error_of(tiny, [expr])
    assert message.startswith(f"--set: {key}: expected a ") and "(a boolean)" in message, message


@pytest.mark.parametrize("expr, key", [
    ("accounts.users.count='5'", "accounts.users.count"),
    ("accounts.users.reach_mean='1e3'", "accounts.users.reach_mean"),
    ("detection.classifier.recall='0.5'", "detection.classifier.recall"),
    ("replications='3'", "replications"),
    ("accounts.users.count='1_000'", "accounts.users.count"),
])
def test_a_number_in_quotes_is_not_a_number(tiny, expr, key):
    message = error_of(tiny, [expr])
    assert message.startswith(f"--set: {key}: expected a ") and "write the number without quotes" in message, message


def test_whole_numbers_may_be_written_as_floats(tiny):
    scenario = load_scenario(tiny, ["accounts.users.count=1e3", "seed=7.0", "accounts.users.posts_per_day=2"])
    assert scenario.accounts["users"].count == 1000 and isinstance(scenario.accounts["users"].count, int)
    assert scenario.seed == 7 and isinstance(scenario.seed, int)
    assert scenario.accounts["users"].posts_per_day == 2.0
    assert "expected a whole number; found 10.5" in error_of(tiny, ["accounts.users.count=10.5"])


def test_texts_that_are_not_numbers_get_no_hint(tiny):
    message = error_of(tiny, ["accounts.users.count=many"])
    assert message.endswith("expected a whole number; found 'many' (from --set accounts.users.count=many)"), message


# --- positive scales -----------------------------------------------------------------------------


@pytest.mark.parametrize("expr", [
    "accounts.users.view_decay=0h",
    "government.half_life=0d",
    "board.deliberation=0s",
    "review.pools.khmer.handling_time={distribution: lognormal, mean: 0min}",
    "review.pools.khmer.handling_time={distribution: fixed, mean: 0h}",
    "review.cross_check.handling_time.mean=0h",
])
def test_durations_that_divide_or_scale_are_positive(tiny, expr):
    assert "expected a duration greater than zero, like 36h; found 0h" in error_of(tiny, [expr])


@pytest.mark.parametrize("expr", ["detection.trusted_flaggers.delay=0h", "appeals.delay=0h", "warmup=0h",
                                  "enforcement.strike_expiry=0h", "review.auto_close_after=0h"])
def test_durations_that_may_be_zero_still_may(tiny, expr):
    load_scenario(tiny, [expr])


# --- rules across keys ---------------------------------------------------------------------------


def test_second_key_in_a_parent_file_is_named_with_its_file(tmp_path):
    (tmp_path / "base.yaml").write_text(TINY.replace("horizon: 2d\n", "horizon: 2d\nwarmup: 1d\n"))
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\nhorizon: 20h\n")
    message = error_of(child)
    assert message.startswith(f"{child}:3:10: horizon: expected a duration longer than warmup; found 20h "
                              f"(warmup is 1d at {tmp_path / 'base.yaml'}:3)"), message


def test_second_key_from_a_set_or_by_default(tiny):
    message = error_of(tiny, ["warmup=3d"])
    assert message.endswith("horizon: expected a duration longer than warmup; found 2d (warmup is 3d from --set warmup=3d)")
    post = "scripted_posts=[{name: s, account: users, at: 2023-02-01, category: x, reach: 1, view_decay: 1d}]"
    message = error_of(tiny, [post])
    assert "(start is 2023-01-01 by default, horizon is 2d at " in message, message


def test_a_shorter_horizon_by_set_is_named_as_the_set(load):
    with pytest.raises(ScenarioError) as info:
        load("validation/mmc.yaml", "horizon=100h")
    message = str(info.value)
    assert message.startswith("--set: horizon: expected a duration longer than warmup; found 100h (warmup is 100h at ")
    assert message.endswith("mmc.yaml:18) (from --set horizon=100h)"), message


def test_one_day_unrest_and_one_rung_are_fine(tiny):
    load_scenario(tiny, ["harm.unrest=[{name: vote, start: 2023-07-23, end: 2023-07-23}]",
                         "enforcement.ladder=[{strikes: 3, restriction: suspension, duration: 1d}]"])


def test_a_pool_may_read_several_languages_once(tiny):
    scenario = load_scenario(tiny, ["review.pools.khmer.languages=[khmer, english]"])
    assert scenario.review.pools["khmer"].languages == ("khmer", "english")
    message = error_of(tiny, ["review.pools.extra={languages: [english], reviewers: 1, handling_time: {mean: 1h}}",
                              "review.pools.khmer.languages=[khmer, english]"])
    assert "review.pools.extra.languages.0: expected at most one reviewer pool per language; found 'english', " \
           "which pool 'khmer' reviews too (review.pools.khmer.languages.1 from --set" in message, message


def test_bundled_scenarios_mean_what_they_meant():
    for path in bundled_scenarios():
        scenario = load_scenario(path)
        assert scenario.horizon > scenario.warmup
        strikes = [rung.strikes for rung in scenario.enforcement.ladder]
        assert strikes == sorted(set(strikes))


# --- validate: the workload estimate and folders -------------------------------------------------


def test_validate_refuses_absurd_work_as_run_does(tiny):
    result = invoke("validate", tiny, "--set", "horizon=300y")
    assert result.exit_code == 2
    (line,) = error_lines(result)
    assert line.startswith("error: --set: horizon: 300 years is beyond the 50-year limit"), line
    assert "(modsim run refuses it without --insist) (from --set horizon=300y)" in line, line
    result = invoke("validate", tiny, "--set", "horizon=300y", "--insist")
    assert result.exit_code == 0 and result.stdout.strip() == f"{tiny}: ok", result.output


def test_validate_points_absurd_work_at_the_key_in_the_file(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(TINY.replace("horizon: 2d", "horizon: 80y"))
    (line,) = error_lines(invoke("validate", path))
    assert line.startswith(f"error: {path}:2:10: horizon: 80 years is beyond the 50-year limit"), line


def test_validate_checks_every_yaml_below_a_folder(tmp_path):
    (tmp_path / "a" / "deeper").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    good = [tmp_path / "a" / "one.yaml", tmp_path / "a" / "deeper" / "two.yaml"]
    for path in good:
        path.write_text(TINY)
    bad = tmp_path / "b" / "bad.yaml"
    bad.write_text(TINY.replace("count: 1000", "count: true"))
    (tmp_path / "b" / "notes.txt").write_text("not a scenario")
    (tmp_path / "b" / "dir.yaml").mkdir()
    result = invoke("validate", tmp_path)
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [f"{path}: ok" for path in sorted(good)]
    (line,) = error_lines(result)
    assert line.startswith(f"error: {bad}:5:12: accounts.users.count:"), line
    result = invoke("validate", tmp_path / "a", good[0])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 3


def test_validate_an_empty_folder(tmp_path):
    result = invoke("validate", tmp_path)
    assert result.exit_code == 2
    assert error_lines(result) == [f"error: {tmp_path}: is a directory with no *.yaml file below it"]


def test_validate_the_bundled_folder():
    result = invoke("validate", ROOT / "scenarios")
    assert result.exit_code == 0, result.output
    every_file = sorted((ROOT / "scenarios").rglob("*.yaml"))  # the scenarios and the targets files among them
    assert len(every_file) > len(bundled_scenarios())
    assert result.stdout.splitlines() == [f"{path}: ok" for path in every_file]


def test_a_bad_set_is_said_once_for_many_files(tiny):
    result = invoke("validate", tiny, tiny, "--set", "horizon")
    assert result.exit_code == 2 and len(error_lines(result)) == 1


# --- files that are not regular files ------------------------------------------------------------


def modsim(*args, cwd, stdin=subprocess.DEVNULL):
    """``modsim ARGS`` in a new process, so that a read that blocks fails the test instead of hanging it."""
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd, stdin=stdin,
                          capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture
def fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_at_once(tmp_path, fifo):
    done = modsim("validate", fifo.name, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: pipe.yaml: is a pipe (FIFO), not a scenario file"
    done = modsim("run", fifo.name, "-n", "1", "--workers", "1", cwd=tmp_path)
    assert done.returncode == 2 and "is a pipe (FIFO), not a scenario file" in done.stderr


def test_extends_of_a_fifo_is_refused_at_its_line(tmp_path, fifo):
    (tmp_path / "child.yaml").write_text("name: child\nextends: pipe.yaml\n")
    done = modsim("validate", "child.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: child.yaml:2:10: extends: expected the file name of a parent scenario; "
                                   "found 'pipe.yaml', which is a pipe (FIFO)")


def test_a_fifo_in_a_folder_is_refused_and_the_rest_checked(tmp_path, fifo):
    (tmp_path / "tiny.yaml").write_text(TINY)
    done = modsim("validate", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout.strip() == "tiny.yaml: ok"
    assert done.stderr.strip() == "error: pipe.yaml: is a pipe (FIFO), not a scenario file"


@pytest.mark.skipif(not os.path.exists("/dev/stdin"), reason="no /dev/stdin")
def test_stdin_is_refused(tmp_path):
    done = modsim("validate", "/dev/stdin", cwd=tmp_path, stdin=subprocess.PIPE)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: /dev/stdin: is a pipe (FIFO), not a scenario file"


def test_validate_of_a_folder_with_the_estimate_imports_nothing_heavy():
    from tests.test_quick_commands import HEAVY, PROBE

    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), '["validate", "scenarios"]'], cwd=ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
    assert done.stdout.count(": ok") == len(list((ROOT / "scenarios").rglob("*.yaml")))
