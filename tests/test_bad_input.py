"""Bad input, end to end through the command line: one clear line, exit status 2, nothing written.

The corpus under ``tests/broken/`` holds one small broken scenario per case; each starts with
``# expect: <part of the message>`` and, where the message has a position in that file,
``# at: LINE:COL``. Add a file there for every bug found.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.scenario import load_scenario
from sim.scenario.source import MAX_FILE_BYTES
from sim.scenario.workload import HARD_MAX_COUNT, WorkloadError, check_workload

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(BROKEN.glob("*.yaml"))
TINY = (BROKEN / "wrong_type_count.yaml").read_text().split("\n", 2)[2].replace("count: many", "count: 1000")
ERROR_LINE = re.compile(r"^error: \S.*$")


def header(path: Path) -> tuple[str, str | None]:
    raw = path.read_bytes()
    text = raw.decode("utf-16") if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else raw.decode("latin-1")
    expect = re.search(r"^# expect: (.*)$", text, re.M)
    at = re.search(r"^# at: (\d+:\d+)$", text, re.M)
    assert expect, f"{path.name} has no '# expect:' line"
    return expect.group(1), at.group(1) if at else None


def invoke(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: the test fails with it
    return result


def one_error_line(result) -> str:
    """The single `error: ...` line on stderr (asserting there is exactly one and no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert ERROR_LINE.match(lines[0]), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def written(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_corpus_is_big_enough():
    assert len(CASES) >= 50


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_validate_gives_one_clear_line(path):
    expect, at = header(path)
    result = invoke("validate", path)
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert expect.strip() in line, line
    if at is not None:
        assert f"{path}:{at}: " in line, line


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_run_refuses_and_writes_nothing(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expect, _ = header(path)
    result = invoke("run", path, "-n", "1", "--workers", "1", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert expect.strip() in one_error_line(result)
    assert written(tmp_path) == []


def test_tiny_scenario_of_the_tests_is_valid(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    assert load_scenario(path).name == "tiny"


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p, "file not found"),
    (lambda p: (p.mkdir(), p)[1], "is a directory"),
    (lambda p: (p.write_bytes(b"# " + b"x" * (MAX_FILE_BYTES + 10)), p)[1], "the limit for a scenario file is"),
    (lambda p: (p.write_text("name: x\n"), p / "below")[1], "file not found"),
])
def test_files_that_cannot_be_read(tmp_path, make, fragment, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = make(tmp_path / "scenario.yaml")
    before = written(tmp_path)
    for command in (["validate", path], ["run", path]):
        result = invoke(*command)
        assert result.exit_code == 2
        assert fragment in one_error_line(result)
    assert written(tmp_path) == before


@pytest.mark.parametrize("expr, fragment", [
    ("horizon", "expected KEY=VALUE"),
    ("=5", "key path before '=' is empty"),
    ("horizon=", "no value after '='"),
    ("a..b=1", "empty segment"),
    ("horizon=[1,", "invalid YAML"),
    ("horizon=90", "expected a duration with a unit"),
    ("horizon=1d=2", "expected a duration with a unit"),
    ("accounts.users.count=-1", "(from --set accounts.users.count=-1)"),
    ("accounts.users.count.x=1", "not a mapping"),
    ("nosuch=1", "unknown key 'nosuch'"),
    ("review.policy=fifoo", "did you mean 'fifo'?"),
    ("review.pools.khmr.reviewers=3", "did you mean 'khmer'?"),
    ("scripted_posts.5.reach=1", "--set"),
    ("name=!!python/object:os.system x", "unsupported tag"),
    ("accounts.users.count=1e400", "expected a finite number"),
])
def test_bad_set_expressions(tmp_path, monkeypatch, expr, fragment):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    for command in ("validate", "run"):
        result = invoke(command, path, "--set", expr)
        assert result.exit_code == 2, result.output
        line = one_error_line(result)
        assert fragment in line, line
        assert "--set" in line, line
    assert written(tmp_path) == ["tiny.yaml"]


# --- absurd work -----------------------------------------------------------------------------


@pytest.mark.parametrize("sets, fragment", [
    (["horizon=300y"], "300 years is beyond the 50-year limit"),
    (["accounts.users.count=5000000000", "accounts.users.posts_per_day=10"], "posts"),
    (["accounts.users.count=20000000000"], "more than the 10 billion people on Earth"),
    (["accounts.users.reach_mean=1e12", "accounts.users.report_probability=0.5"], "trillion reports"),
    (["review.pools.khmer.reviewers=1000000000000"], "reviewers on duty"),
    (["accounts.users.posts_per_day=1e9"], "events per replication"),
])
def test_absurd_work_is_refused_with_an_estimate(tmp_path, monkeypatch, sets, fragment):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    args = [a for s in sets for a in ("--set", s)]
    result = invoke("run", path, *args, "-n", "2", "--workers", "1")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert fragment in line and "--insist" in line, line
    assert written(tmp_path) == ["tiny.yaml"]


def test_estimate_names_memory_and_time(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    scenario = load_scenario(path, ["accounts.users.count=1e9", "horizon=1y"])
    with pytest.raises(WorkloadError) as err:
        check_workload(scenario, 8)
    text = str(err.value)
    assert re.search(r"~[\d.]+ (GB|TB|PB) of memory", text) and re.search(r"~[\d.]+ (hours|days|years)", text), text
    check_workload(scenario, 8, insist=True)  # --insist lets it through


@pytest.mark.parametrize("count", [HARD_MAX_COUNT, 10**30, 10**400])
def test_counts_beyond_the_model_are_refused_even_with_insist(tmp_path, monkeypatch, count):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY.replace("count: 1000", f"count: {count}"))
    result = invoke("run", path, "-n", "1", "--workers", "1", "--insist")
    assert result.exit_code == 2
    message = one_error_line(result)
    assert "accounts.users.count" in message and "less than or equal to 1000000000000" in message, message
    assert written(tmp_path) == ["tiny.yaml"]


def test_rates_that_overflow_are_refused_even_with_insist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    result = invoke("run", path, "--set", "horizon=1e300y", "--set", "accounts.users.posts_per_day=1e300",
                    "-n", "1", "--insist")
    assert result.exit_code == 2
    assert "at most 1000y" in one_error_line(result)


def test_bundled_scenarios_are_not_refused():
    from sim.scenario import bundled_scenarios

    for path in bundled_scenarios():
        scenario = load_scenario(path)
        check_workload(scenario, scenario.replications)


def test_unreadable_file_when_not_root(tmp_path):
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "secret.yaml"
    path.write_text(TINY)
    path.chmod(0)
    result = invoke("validate", path)
    assert result.exit_code == 2 and "permission denied" in one_error_line(result)
