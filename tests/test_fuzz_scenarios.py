"""Fuzzing: generated scenario documents, valid and broken, never give a traceback or partial output.

Documents start from the baseline's data and are mutated (keys deleted, types changed, unknown keys,
out-of-range numbers, random durations, random ``--set`` expressions). Each is either accepted or
refused with exit status 2 and one line starting with ``error: ``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from sim.cli import app

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text())
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from paths(value, (*prefix, index))


ALL_PATHS = [p for p in paths(BASE) if p]
junk = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.from_regex(r"-?[0-9]{1,4}(\.[0-9])?\s?(s|min|h|d|w|mo|y|m|H|days|)", fullmatch=True),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def documents(draw):
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = data
        try:
            for segment in path[:-1]:
                parent = parent[segment]
            kind = draw(st.sampled_from(["delete", "replace", "unknown"]))
            if kind == "delete" and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif kind == "unknown" and isinstance(parent, dict):
                parent[draw(st.from_regex(r"[a-z_]{1,12}", fullmatch=True))] = draw(junk)
            else:
                parent[path[-1]] = draw(junk)
        except (KeyError, IndexError, TypeError):
            pass
    return data


def check_clean(result, tmp_path):
    assert "Traceback" not in result.stdout + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    if result.exit_code == 0:
        return True
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(r"^error: \S", lines[0]), lines
    return False


@FUZZ
@given(data=documents())
def test_mutated_documents_validate_or_fail_cleanly(tmp_path, data):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    check_clean(CliRunner().invoke(app, ["validate", str(path)]), tmp_path)


@FUZZ
@given(text=st.text(max_size=200))
def test_random_text_validates_or_fails_cleanly(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text)
    check_clean(CliRunner().invoke(app, ["validate", str(path)]), tmp_path)


set_paths = st.sampled_from([".".join(map(str, p)) for p in ALL_PATHS] + ["", "a..b", "x.0.y", "review.pools.new.x"])


@FUZZ
@given(key=set_paths, value=st.text(max_size=20), sep=st.sampled_from(["=", "", "==", " = "]))
def test_random_set_expressions_validate_or_fail_cleanly(tmp_path, key, value, sep):
    result = CliRunner().invoke(app, ["validate", str(ROOT / "scenarios" / "baseline.yaml"), "--set", key + sep + value])
    check_clean(result, tmp_path)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=documents())
def test_mutated_documents_run_or_refuse_without_partial_output(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("run")
    path = tmp / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    out = tmp / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--set", "horizon=1d", "-n", "1", "--workers", "1",
                                      "--out", str(out)])
    ok = check_clean(result, tmp) or result.exit_code == 3
    leftovers = sorted(p.name for p in tmp.iterdir())
    assert leftovers == (["fuzz.yaml", "out"] if ok else ["fuzz.yaml"]), (leftovers, result.output)
