"""Fuzzing: generated scenario documents, valid and broken, never give a traceback or partial output.

Documents start from the baseline's data and are mutated (keys deleted, types changed, unknown keys,
out-of-range numbers, random durations, random ``--set`` expressions). Each is either accepted or
refused with exit status 2 and one line starting with ``error: ``.

The document they start from also carries the keys the baseline leaves out (``outcomes.deadlines``,
``review.newsworthiness.exceptions``, ``review.cross_check.exceptions``), and a second generator
aims at them and at the strict values (a boolean or a quoted number where a number belongs, a
number without unit where a duration does): each such document either loads or is refused with one
``ScenarioError`` line, and one that loads also runs a replication of two days.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings, strategies as st
from typer.testing import CliRunner

from sim.cli import app
from sim.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
BASELINE = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text())
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def with_recent_keys(data: dict) -> dict:
    """The baseline with the keys added lately, which it does not set: so that mutations reach them too."""
    data = copy.deepcopy(data)
    data["outcomes"] = {"deadlines": ["1h", "24h", "7d"]}
    data["review"]["newsworthiness"]["exceptions"] = [{"category": "violence_incitement",
                                                       "account": "head_of_government"}]
    data["review"]["cross_check"]["exceptions"] = [{"category": "violence_incitement",
                                                    "account": "opposition_politicians"}]
    return data


BASE = with_recent_keys(BASELINE)


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
@example(key="name", value="\x1e=", sep="")  # found by this test: a control character that splitlines takes for a break
@example(key="name", value="\u2028x=1", sep="")
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


# --- the keys added lately and the strict values --------------------------------------------------

def _at(data, path):
    for segment in path:
        data = data[segment]
    return data


def _put(data, path, value, delete=False) -> None:
    """Set (or delete) the value at ``path``; nothing when a mutation before took the way there away."""
    try:
        parent = _at(data, path[:-1])
        if delete:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = value
    except (KeyError, IndexError, TypeError, AttributeError):
        pass


RECENT = [("outcomes", "deadlines"), ("review", "newsworthiness", "exceptions"), ("review", "cross_check", "exceptions")]
NUMBER_PATHS = [p for p in ALL_PATHS if isinstance(leaf := _at(BASE, p), (int, float)) and not isinstance(leaf, bool)]
DURATION = re.compile(r"-?[0-9.]+\s*[a-z]+")
DURATION_PATHS = [p for p in ALL_PATHS if isinstance(leaf := _at(BASE, p), str) and DURATION.fullmatch(leaf)]
names = st.one_of(
    st.sampled_from(["violence_incitement", "hate_speech", "bullying", "head_of_government", "opposition_politicians",
                     "ordinary", "state_trolls", "nobody", "Head_Of_Government", "", " ", "a.b", "x" * 80]),
    junk)
pair = st.one_of(
    st.fixed_dictionaries({"category": names, "account": names}),
    st.dictionaries(st.sampled_from(["category", "account", "accounts", "Category", "extra"]), names, max_size=3),
    junk)
durations = st.one_of(
    st.sampled_from(["1h", "24h", "7d", "0h", "0s", "-1h", "1e3h", "1.5d", "2w", "6mo", "1y", "100y", "h", "5"]),
    st.from_regex(r"-?[0-9]{1,5}(\.[0-9]{1,2})?\s?(s|min|h|d|w|mo|y|m|H|days|)", fullmatch=True))
deadline_lists = st.one_of(st.lists(st.one_of(durations, junk), max_size=14), junk)
# Values that are right, so that many documents load and run with them.
good_deadlines = st.lists(st.sampled_from(["1s", "30min", "1h", "4h", "24h", "36h", "2d", "7d", "30d", "1y"]),
                          min_size=1, max_size=12, unique=True)
good_pairs = st.lists(st.fixed_dictionaries({
    "category": st.sampled_from(["violence_incitement", "hate_speech", "bullying", "spam"]),
    "account": st.sampled_from(["ordinary", "english_speakers", "opposition_politicians", "head_of_government",
                                "state_trolls"])}), max_size=5)


def _strict(value):
    """What a strict reader must refuse where ``value`` belongs: a boolean, the number quoted, a bare number."""
    if isinstance(value, str):  # a duration
        number = re.match(r"-?[0-9.]+", value)
        return st.sampled_from([True, False, value.upper(), *([float(number.group()), number.group()] if number else [])])
    return st.sampled_from([True, False, str(value), repr(float(value)), f" {value}", f"{value}h"])


@st.composite
def recent_documents(draw):
    """The base with its recent keys and its numbers and durations mutated, or set right (1 to 3 edits)."""
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["deadlines", "exceptions", "pair_field", "strict_number", "strict_duration",
                                     "delete", "good_deadlines", "good_exceptions", "good_exceptions"]))
        if kind == "good_deadlines":
            _put(data, ("outcomes", "deadlines"), draw(good_deadlines))
        elif kind == "good_exceptions":
            policy = draw(st.sampled_from(["newsworthiness", "cross_check"]))
            _put(data, ("review", policy, "exceptions"), draw(good_pairs))
        elif kind == "deadlines":
            _put(data, ("outcomes", "deadlines"), draw(deadline_lists))
        elif kind == "exceptions":
            policy = draw(st.sampled_from(["newsworthiness", "cross_check"]))
            _put(data, ("review", policy, "exceptions"), draw(st.one_of(st.lists(pair, max_size=4), junk)))
        elif kind == "pair_field":
            policy = draw(st.sampled_from(["newsworthiness", "cross_check"]))
            _put(data, ("review", policy, "exceptions", 0, draw(st.sampled_from(["category", "account"]))),
                 draw(names))
        elif kind == "strict_number":
            path = draw(st.sampled_from(NUMBER_PATHS))
            _put(data, path, draw(_strict(_at(BASE, path))))
        elif kind == "strict_duration":
            path = draw(st.sampled_from(DURATION_PATHS))
            _put(data, path, draw(_strict(_at(BASE, path))))
        else:
            path = draw(st.sampled_from(RECENT + [("outcomes",), ("review", "newsworthiness"), ("review", "cross_check")]))
            _put(data, path, None, delete=True)
    return data


def load_or_refuse(path: Path, sets=()):
    """The scenario, or None when it is refused with one clean ScenarioError line naming the file."""
    from sim.scenario import load_scenario

    try:
        return load_scenario(path, sets)
    except ScenarioError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and "Traceback" not in message, message
        assert message.startswith(f"{path}:") or message.startswith("--set "), message
        return None


def test_the_recent_keys_are_in_the_fuzzed_document(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(BASE, sort_keys=False, allow_unicode=True))
    scenario = load_or_refuse(path)
    assert scenario is not None and scenario.outcomes.deadlines and scenario.review.cross_check.exceptions
    assert ("outcomes", "deadlines", 0) in ALL_PATHS and ("review", "cross_check", "exceptions", 0, "account") in ALL_PATHS
    assert NUMBER_PATHS and DURATION_PATHS


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=recent_documents())
def test_recent_keys_and_strict_values_load_or_fail_cleanly_and_run(tmp_path, data):
    from sim.experiment.replicate import simulate
    from sim.scenario.workload import WorkloadError, check_workload, estimate

    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    loaded = load_or_refuse(path)
    validated = check_clean(CliRunner().invoke(app, ["validate", str(path)]), tmp_path)
    if loaded is None:
        assert not validated, "modsim validate accepts what the loader refuses"
        return
    short = load_or_refuse(path, ["horizon=2d", "warmup=0h"])
    if short is None:
        return
    try:
        check_workload(short, 1)
    except WorkloadError:
        return  # refused by `run` too, in one line
    if estimate(short).events > 5e6:
        return  # valid, but too much work for a fuzz test
    simulate(short, short.seed, 0)
