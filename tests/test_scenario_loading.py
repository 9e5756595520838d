"""Scenario loading: safe YAML with positions, extends, --set, durations and one-line errors."""

from __future__ import annotations

import datetime as dt
import math
import os
import pickle
import time
from typing import Annotated, Literal

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sim.errors import ModsimError, ScenarioError
from sim.scenario import source
from sim.scenario.durations import HOURS_PER_UNIT, format_duration, parse_duration
from sim.scenario.extends import resolve
from sim.scenario.loader import load_document
from sim.scenario.overrides import apply_sets, parse_set
from sim.scenario.source import MAX_FILE_BYTES, load_yaml
from sim.scenario.suggest import did_you_mean


def write(directory, name: str, text: str | bytes):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(call, *args, **kwargs) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        call(*args, **kwargs)
    assert "\n" not in str(info.value)
    return info.value


def check(err: ScenarioError, file=None, line=None, column=None, key=None, *fragments: str) -> None:
    text = str(err)
    if file is not None:
        assert err.file.endswith(file), text
        assert text.startswith(err.file), text
    if line is not None:
        assert (err.line, err.column) == (line, column), text
        assert f":{line}:{column}: " in text, text
    if key is not None:
        assert err.key == key, text
        assert f": {key}: " in text, text
    for fragment in fragments:
        assert fragment in text, text


# --- ScenarioError ------------------------------------------------------------------------------


def test_scenario_error_renders_present_parts_only():
    assert str(ScenarioError("a.yaml", 3, 7, "review.pools.khmer", "bad")) == "a.yaml:3:7: review.pools.khmer: bad"
    assert str(ScenarioError("a.yaml", 3, 7, None, "bad")) == "a.yaml:3:7: bad"
    assert str(ScenarioError("a.yaml", 3, None, "k", "bad")) == "a.yaml:3: k: bad"
    assert str(ScenarioError("a.yaml", message="bad")) == "a.yaml: bad"
    assert str(ScenarioError("--set", None, 4, "a..b", "empty")) == "--set: column 4: a..b: empty"
    assert str(ScenarioError("a.yaml", message="two\n   lines")) == "a.yaml: two lines"


def test_scenario_error_is_a_modsim_error_and_pickles():
    err = ScenarioError("a.yaml", 1, 2, "k", "bad")
    assert isinstance(err, ModsimError)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.key == "k"


# --- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, hours",
    [
        ("36h", 36.0),
        ("1.5h", 1.5),
        ("90min", 1.5),
        ("30s", 30 / 3600),
        ("3600s", 1.0),
        ("14d", 336.0),
        ("14 d", 336.0),
        ("2w", 336.0),
        ("6mo", 365.25 * 24 / 2),
        ("1mo", 365.25 * 24 / 12),
        ("1y", 365.25 * 24),
        ("0h", 0.0),
        (".5d", 12.0),
        ("1e3h", 1000.0),
        (" 8h ", 8.0),
    ],
)
def test_parse_duration_accepts_units(text, hours):
    assert parse_duration(text) == pytest.approx(hours, rel=1e-15)


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("36", "found '36'"),
        (36, "found 36"),
        (1.5, "found 1.5"),
        (True, "found true"),
        ("", "found ''"),
        ("   ", "found '   '"),
        ("5 parsecs", "unknown unit 'parsecs'"),
        ("5m", "ambiguous"),
        ("5H", "did you mean 'h'"),
        ("-5h", "cannot be negative"),
        ("nan h", "found 'nan h'"),
        ("infh", "found 'infh'"),
        ("1e999y", "must be finite"),
        (None, "found null"),
        ([1, 2], "found a list"),
        ("1" * 500 + "h", "found a text of 501 characters"),
    ],
)
def test_parse_duration_refuses(value, fragment):
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    message = str(info.value)
    assert fragment in message
    assert "expected a duration" in message or "negative" in message or "finite" in message


def test_duration_units_table():
    assert HOURS_PER_UNIT["h"] == 1.0
    assert HOURS_PER_UNIT["d"] == 24.0
    assert HOURS_PER_UNIT["y"] == 365.25 * 24
    assert HOURS_PER_UNIT["mo"] == HOURS_PER_UNIT["y"] / 12


@pytest.mark.parametrize(
    "hours, text",
    [(36.0, "36h"), (336.0, "14d"), (4383.0, "6mo"), (8766.0, "1y"), (0.5, "30min"), (0.0, "0h"), (24.0, "1d")],
)
def test_format_duration_is_compact(hours, text):
    assert format_duration(hours) == text


@given(st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False))
def test_format_duration_round_trips(hours):
    assert parse_duration(format_duration(hours)) == hours


def test_format_duration_refuses_what_is_not_hours_even_after_an_equal_number():
    """Texts are remembered by number (a scenario's dumps format the same durations again and again), yet a
    boolean equal to a formatted number, a list or a negative number is still refused with a ValueError."""
    assert format_duration(1) == format_duration(1.0) == "1h"
    for bad in (True, False, [1.0], "1h", -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            format_duration(bad)


@pytest.mark.parametrize("text", ["36h", "1.5h", "90min", "30s", "14d", "2w", "6mo", "1y", "0.1s", "7.25d"])
def test_format_duration_round_trips_written_durations(text):
    hours = parse_duration(text)
    assert parse_duration(format_duration(hours)) == hours


def test_format_duration_refuses_nonsense():
    for bad in (-1.0, math.nan, math.inf, True):
        with pytest.raises(ValueError):
            format_duration(bad)


# --- load_yaml: files ---------------------------------------------------------------------------


def test_load_yaml_reads_plain_values_with_positions(tmp_path):
    path = write(
        tmp_path, "ok.yaml",
        "# a comment\n"
        "name: demo\n"
        "start: 2023-01-09\n"
        "when: 2023-01-09 10:30:00\n"
        "rate: 0.5\n"
        "flag: true\n"
        "nothing: null\n"
        "review:\n"
        "  pools:\n"
        "    khmer:\n"
        "      reviewers: 4\n"
        "list:\n"
        "  - a: 1\n"
        "  - {b: 2}\n",
    )
    doc = load_yaml(path)
    assert doc.path == str(path)
    assert doc.data == {
        "name": "demo",
        "start": dt.date(2023, 1, 9),
        "when": dt.datetime(2023, 1, 9, 10, 30),
        "rate": 0.5,
        "flag": True,
        "nothing": None,
        "review": {"pools": {"khmer": {"reviewers": 4}}},
        "list": [{"a": 1}, {"b": 2}],
    }
    assert doc.locate(("name",)) == (2, 7)
    assert doc.locate(("name",), at_key=True) == (2, 1)
    assert doc.locate(("review", "pools", "khmer", "reviewers")) == (11, 18)
    assert doc.locate(("list", 1, "b")) == (14, 9)
    assert doc.locate(("list", "1", "b")) == (14, 9)
    # Paths beyond the document point at the key of the deepest existing node.
    assert doc.locate(("review", "pools", "khmer", "handling_time", "mean")) == (10, 5)
    assert doc.locate(("list", 7)) == (12, 1)
    assert doc.locate(("nope",)) == (2, 1)
    assert doc.has(("review", "pools")) and not doc.has(("review", "nope"))


def test_missing_file(tmp_path):
    err = error_of(load_yaml, tmp_path / "nope.yaml")
    check(err, "nope.yaml", None, None, None, "file not found", str(tmp_path))


def test_directory_is_refused(tmp_path):
    err = error_of(load_yaml, tmp_path)
    check(err, str(tmp_path), None, None, None, "is a directory")


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, "secret.yaml", "a: 1\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(source, "open", refuse, raising=False)
    err = error_of(load_yaml, path)
    check(err, "secret.yaml", None, None, None, "permission denied")


def test_oversized_file_says_size_and_limit(tmp_path):
    path = write(tmp_path, "big.yaml", "a: '" + "x" * MAX_FILE_BYTES + "'\n")
    err = error_of(load_yaml, path)
    check(err, "big.yaml", None, None, None,
          f"is {MAX_FILE_BYTES + 6:,} bytes", f"the limit for a scenario file is {MAX_FILE_BYTES:,}")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n# and another\n", "---\n"])
def test_empty_file(tmp_path, text):
    err = error_of(load_yaml, write(tmp_path, "empty.yaml", text))
    check(err, "empty.yaml", None, None, None, "empty", "expected a mapping")


def test_binary_file(tmp_path):
    err = error_of(load_yaml, write(tmp_path, "bin.yaml", b"a: 1\nbb: \x00\x01\x02"))
    check(err, "bin.yaml", 2, 5, None, "NUL byte at byte offset 9")


def test_non_utf8_file(tmp_path):
    err = error_of(load_yaml, write(tmp_path, "latin.yaml", "a: 1\nname: caf\xe9\n".encode("latin-1")))
    check(err, "latin.yaml", 2, 10, None, "not valid UTF-8", "byte 0xe9", "offset 14")


def test_utf16_file(tmp_path):
    err = error_of(load_yaml, write(tmp_path, "wide.yaml", "a: 1\n".encode("utf-16")))
    check(err, "wide.yaml", 1, 1, None, "UTF-16")


def test_utf8_bom_is_accepted(tmp_path):
    assert load_yaml(write(tmp_path, "bom.yaml", "\ufeffa: 1\n".encode())).data == {"a": 1}


def test_control_character(tmp_path):
    err = error_of(load_yaml, write(tmp_path, "ctl.yaml", "a: 1\nb: x\x07y\n"))
    check(err, "ctl.yaml", 2, 5, None, "U+0007")


@pytest.mark.parametrize(
    "text, line, column, fragment",
    [
        ("a: 1\n b: 2\n", 2, 3, "mapping values are not allowed"),
        ("a: [1, 2\nb: 3\n", 2, 2, "expected ',' or ']'"),
        ('a: "abc\n', 2, 1, "end of stream"),
        ("a:\n  - 1\n  b: 2\n", 3, 3, "expected '-'"),
        ("a: 1\n\tb: 2\n", 2, 1, "tabs"),
        ("a: 1\n---\nb: 2\n", 2, 1, "single document"),
        ("a: *nowhere\n", 1, 4, "undefined alias 'nowhere'"),
        ("a: &x 1\nb: &x 2\n", 2, 4, "duplicate anchor 'x'"),
    ],
)
def test_invalid_yaml_syntax(tmp_path, text, line, column, fragment):
    err = error_of(load_yaml, write(tmp_path, "syntax.yaml", text))
    check(err, "syntax.yaml", line, column, None, fragment)


@pytest.mark.parametrize(
    "text, found",
    [("- 1\n- 2\n", "found a list"), ("just text\n", "found a string 'just text'"), ("42\n", "found '42'")],
)
def test_top_level_must_be_a_mapping(tmp_path, text, found):
    err = error_of(load_yaml, write(tmp_path, "top.yaml", text))
    check(err, "top.yaml", 1, 1, None, "expected a mapping of scenario keys at the top level", found)


def test_duplicate_key_is_reported_at_the_second(tmp_path):
    err = error_of(load_yaml, write(tmp_path, "dup.yaml", "a: 1\nb:\n  c: 2\n  d: 3\n  c: 4\n"))
    check(err, "dup.yaml", 5, 3, None, "duplicate key 'c'", "line 3")


@pytest.mark.parametrize(
    "text, found",
    [("1: x\n", "found 1"), ("on: x\n", "found true"), ("null: x\n", "found null"), ("2023-01-01: x\n", "2023-01-01"),
     ("? [a, b]\n: x\n", "found a list")],
)
def test_keys_must_be_strings(tmp_path, text, found):
    err = error_of(load_yaml, write(tmp_path, "keys.yaml", text))
    check(err, "keys.yaml", 1, 1 if not text.startswith("?") else 3, None, "mapping keys must be strings", found)


@pytest.mark.parametrize(
    "text, tag",
    [
        ("a: !!python/object/apply:os.system ['echo hacked']\n", "!!python/object/apply:os.system"),
        ("a: !!python/name:os.system\n", "!!python/name:os.system"),
        ("a: !custom 5\n", "!custom"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!set {x, y}\n", "!!set"),
    ],
)
def test_unsafe_or_unknown_tags_are_refused(tmp_path, text, tag):
    err = error_of(load_yaml, write(tmp_path, "tag.yaml", text))
    check(err, "tag.yaml", 1, 4, None, f"unsupported tag '{tag}'")


def test_explicit_standard_tags_work(tmp_path):
    doc = load_yaml(write(tmp_path, "std.yaml", "a: !!str 123\nb: !!float '2'\nc: !!int '7'\n"))
    assert doc.data == {"a": "123", "b": 2.0, "c": 7}


@pytest.mark.parametrize(
    "text, fragment", [("a: 2023-13-01\n", "invalid date '2023-13-01'"), ("a: !!int abc\n", "invalid integer 'abc'")]
)
def test_bad_scalars(tmp_path, text, fragment):
    err = error_of(load_yaml, write(tmp_path, "scalar.yaml", text))
    check(err, "scalar.yaml", 1, 4, None, fragment)


def test_merge_keys_and_their_positions(tmp_path):
    doc = load_yaml(
        write(tmp_path, "merge.yaml", "base: &b\n  x: 1\n  y: 2\nchild:\n  <<: *b\n  y: 3\n")
    )
    assert doc.data["child"] == {"x": 1, "y": 3}
    assert doc.locate(("child", "x")) == (2, 6)
    assert doc.locate(("child", "y")) == (6, 6)


def test_billion_laughs_is_refused_quickly(tmp_path):
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    path = write(tmp_path, "laughs.yaml", "\n".join(lines) + "\n")
    started = time.perf_counter()
    err = error_of(load_yaml, path)
    assert time.perf_counter() - started < 0.5
    check(err, "laughs.yaml", None, None, None, "more than 200,000 values")
    assert err.line is not None


class _LibyamlLimit(source.PURE_LOADER):
    """A parser that stops at a nesting limit of its own, as libyaml 0.2.6 and later do at 1,000 levels."""

    def get_event(self):
        event = super().get_event()
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)) and event.start_mark.column > 45:
            raise yaml.parser.ParserError("while increasing flow level", event.start_mark,
                                          "exceeded maximum nesting depth", event.start_mark)
        return event


_PARSERS = {"libyaml": getattr(yaml, "CSafeLoader", None), "pure-python": yaml.SafeLoader,
            "libyaml-with-own-limit": _LibyamlLimit}


@pytest.mark.parametrize("parser", list(_PARSERS))
def test_depth_limit_is_ours_whatever_the_parser(tmp_path, monkeypatch, parser):
    if _PARSERS[parser] is None:
        pytest.skip("this PyYAML has no libyaml; the other parsers cover the message")
    monkeypatch.setattr(source, "FAST_LOADER", source._with_exponent_floats(_PARSERS[parser]))
    assert load_yaml(write(tmp_path, "ok.yaml", "a: " + "[" * 39 + "]" * 39 + "\n"))
    err = error_of(load_yaml, write(tmp_path, "deep.yaml", "a: " + "[" * 100_000 + "]" * 100_000 + "\n"))
    check(err, "deep.yaml", 1, 43, None, "nested deeper than 40 levels")
    block = "".join(" " * (2 * i) + f"k{i}:\n" for i in range(60)) + " " * 120 + "v: 1\n"
    err = error_of(load_yaml, write(tmp_path, "deep_block.yaml", block))
    check(err, "deep_block.yaml", 41, 81, None, "nested deeper than 40 levels")


def test_depth_limit_counts_through_aliases(tmp_path):
    lines = ["x0: &x0 [1]"] + [f"x{i}: &x{i} [*x{i - 1}]" for i in range(1, 60)]
    err = error_of(load_yaml, write(tmp_path, "chain.yaml", "\n".join(lines) + "\n"))
    check(err, "chain.yaml", None, None, None, "nested deeper than 40 levels")


def test_recursive_alias(tmp_path):
    err = error_of(load_yaml, write(tmp_path, "rec.yaml", "a: &x [1, *x]\n"))
    check(err, "rec.yaml", 1, 4, None, "contains it")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_random_bytes_load_or_raise_scenario_error(tmp_path, raw):
    path = tmp_path / "random.yaml"
    path.write_bytes(raw)
    try:
        doc = load_yaml(path)
    except ScenarioError as err:
        assert "\n" not in str(err)
    else:
        assert isinstance(doc.data, dict)


_YAMLISH = st.text(
    alphabet=st.sampled_from(list("ab1 :-[]{},&*!|>'\"#?%@`\t\n.=<~") + ["\u00e9", "\x07", "\ufeff", "\r"]),
    max_size=120,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=200), _YAMLISH))
def test_random_text_loads_or_raises_scenario_error(tmp_path, text):
    path = tmp_path / "random.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        doc = load_yaml(path)
    except ScenarioError as err:
        assert "\n" not in str(err)
    else:
        assert isinstance(doc.data, dict)
        for key in doc.data:
            assert isinstance(key, str)
            assert doc.locate((key,)) is not None


# --- --set --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, path, value",
    [
        ("horizon=30d", ("horizon",), "30d"),
        ("review.policy=fifo", ("review", "policy"), "fifo"),
        ("a.b=[1,2]", ("a", "b"), [1, 2]),
        ("a.b=0.5", ("a", "b"), 0.5),
        ("a.b={x: 1, y: [a]}", ("a", "b"), {"x": 1, "y": ["a"]}),
        ("scripted_posts.0.reach=1e6", ("scripted_posts", 0, "reach"), 1e6),
        ("a=2.5E-3", ("a",), 0.0025),
        ("review.pools.khmer.reviewers=40", ("review", "pools", "khmer", "reviewers"), 40),
        ("a-b.c_d=null", ("a-b", "c_d"), None),
        ("a=''", ("a",), ""),
        ("a=x=y", ("a",), "x=y"),
        ("start=2023-02-01", ("start",), dt.date(2023, 2, 1)),
        ("flag=true", ("flag",), True),
    ],
)
def test_parse_set(expr, path, value):
    assert parse_set(expr) == (path, value)


@pytest.mark.parametrize(
    "expr, column, key, fragment",
    [
        ("horizon", 8, None, "expected KEY=VALUE"),
        ("=5", 1, None, "key path before '=' is empty"),
        ("a..b=1", 3, "a..b", "empty segment"),
        (".a=1", 1, ".a", "empty segment"),
        ("a.=1", 3, "a.", "empty segment"),
        ("a.b c=1", 4, "a.b c", "character ' ' is not allowed"),
        ("a.b/c=1", 4, "a.b/c", "character '/' is not allowed"),
        ("a=", 3, "a", "no value"),
        ("a=[1, 2", 8, "a", "expected ',' or ']'"),
        ("a=!!python/object/apply:os.system [x]", 3, "a", "unsupported tag"),
        ("a={x: 1, x: 2}", 10, "a", "duplicate key 'x'"),
        ("a=b: c", 3, "a", "quote the value"),
    ],
)
def test_parse_set_errors(expr, column, key, fragment):
    err = error_of(parse_set, expr)
    assert (err.file, err.line, err.column, err.key) == ("--set", None, column, key), str(err)
    assert str(err).startswith(f"--set: column {column}: ")
    assert fragment in str(err)


def test_apply_sets_copies_and_creates_mappings():
    data = {"review": {"policy": "severity", "pools": {"k": {"reviewers": 3}}}, "posts": [{"reach": 1}], "d": None}
    result = apply_sets(
        data,
        [
            (("review", "policy"), "fifo"),
            (("review", "pools", "k", "reviewers"), 40),
            (("detection", "classifier", "recall"), 0.5),
            (("posts", 0, "reach"), 9),
            (("d", "x"), 1),
        ],
    )
    assert result["review"] == {"policy": "fifo", "pools": {"k": {"reviewers": 40}}}
    assert result["detection"] == {"classifier": {"recall": 0.5}}
    assert result["posts"] == [{"reach": 9}]
    assert result["d"] == {"x": 1}
    assert data["review"]["policy"] == "severity" and data["posts"] == [{"reach": 1}] and "detection" not in data


@pytest.mark.parametrize(
    "path, key, fragment",
    [
        (("posts", 5, "reach"), "posts.5", "list of 2 items (numbered 0 to 1); there is no item 5"),
        (("posts", "first"), "posts.first", "name its items by number"),
        (("horizon", "x"), "horizon.x", "'horizon': it is a text ('90d'), not a mapping"),
        (("empty", 0), "empty.0", "an empty list; there is no item 0"),
    ],
)
def test_apply_sets_errors(path, key, fragment):
    data = {"posts": [{}, {}], "horizon": "90d", "empty": []}
    err = error_of(apply_sets, data, [(path, 1)])
    assert (err.file, err.key) == ("--set", key)
    assert fragment in str(err)


# --- extends ------------------------------------------------------------------------------------


BASE = """\
name: base
horizon: 90d
tags: [a, b, c]
review:
  policy: severity
  pools:
    khmer:
      reviewers: 4
      languages: [khmer]
    english:
      reviewers: 9
"""


def test_extends_merges_mappings_and_replaces_the_rest(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(
        tmp_path, "sub/child.yaml",
        "extends: ../base.yaml\n"
        "name: child\n"
        "tags: [z]\n"
        "review:\n"
        "  pools:\n"
        "    khmer:\n"
        "      reviewers: 40\n"
        "    english: null\n",
    )
    resolved = resolve(child)
    assert resolved.data == {
        "name": "child",
        "horizon": "90d",
        "tags": ["z"],
        "review": {
            "policy": "severity",
            "pools": {"khmer": {"reviewers": 40, "languages": ["khmer"]}, "english": None},
        },
    }
    assert resolved.path == str(child)
    assert [os.path.basename(f) for f in resolved.files] == ["child.yaml", "base.yaml"]
    base = os.path.normpath(str(tmp_path / "base.yaml"))
    assert resolved.locate(("horizon",)) == (base, 2, 10)
    assert resolved.locate(("review", "policy")) == (base, 5, 11)
    assert resolved.locate(("review", "pools", "khmer", "languages", 0)) == (base, 9, 19)
    assert resolved.locate(("review", "pools", "khmer", "reviewers")) == (str(child), 7, 18)
    assert resolved.locate(("review", "pools", "english")) == (str(child), 8, 14)
    # The child's list replaced the parent's longer one: item 2 no longer exists anywhere.
    assert resolved.locate(("tags", 2)) == (str(child), 3, 1)
    assert resolved.locate(("tags", 0)) == (str(child), 3, 8)
    # Missing keys point at the deepest existing node, in the file that defined it.
    assert resolved.locate(("review", "pools", "khmer", "handling_time")) == (str(child), 6, 5)
    assert resolved.locate(("review", "policy"), at_key=True) == (base, 5, 3)


def test_extends_chain_of_three(tmp_path):
    write(tmp_path, "a.yaml", "x: 1\ny: {p: 1, q: 1}\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\ny: {q: 2}\n")
    c = write(tmp_path, "c.yaml", "extends: b.yaml\nz: 3\n")
    resolved = resolve(c)
    assert resolved.data == {"x": 1, "y": {"p": 1, "q": 2}, "z": 3}
    assert resolved.locate(("y", "q"))[0].endswith("b.yaml")
    assert resolved.locate(("y", "p"))[0].endswith("a.yaml")


def test_extends_missing_parent(tmp_path):
    child = write(tmp_path, "child.yaml", "name: x\nextends: nowhere.yaml\n")
    err = error_of(resolve, child)
    check(err, "child.yaml", 2, 10, "extends", "parent file 'nowhere.yaml' not found", f"looked in {tmp_path}")


def test_extends_cycle(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    err = error_of(resolve, tmp_path / "a.yaml")
    check(err, "b.yaml", 1, 10, "extends", "extends cycle:", "a.yaml -> ", "b.yaml -> ")
    assert str(err).rstrip().endswith("a.yaml")


def test_extends_itself(tmp_path):
    err = error_of(resolve, write(tmp_path, "self.yaml", "extends: self.yaml\n"))
    check(err, "self.yaml", 1, 10, "extends", "extends cycle: ")


@pytest.mark.parametrize(
    "value, found", [("5", "found 5"), ("[a.yaml]", "found a list"), ("''", "found an empty text")]
)
def test_extends_must_be_a_file_name(tmp_path, value, found):
    err = error_of(resolve, write(tmp_path, "bad.yaml", f"extends: {value}\n"))
    check(err, "bad.yaml", 1, 10, "extends", "expected the file name of a parent scenario", found)


def test_extends_chain_too_deep(tmp_path):
    write(tmp_path, "f0.yaml", "x: 0\n")
    for i in range(1, 13):
        write(tmp_path, f"f{i}.yaml", f"extends: f{i - 1}.yaml\n")
    assert resolve(tmp_path / "f10.yaml").data == {"x": 0}
    err = error_of(resolve, tmp_path / "f12.yaml")
    check(err, "f2.yaml", 1, 10, "extends", "longer than 10 parents")


def test_errors_in_a_parent_name_the_parent(tmp_path):
    write(tmp_path, "base.yaml", "a: 1\na: 2\n")
    err = error_of(resolve, write(tmp_path, "child.yaml", "extends: base.yaml\n"))
    check(err, "base.yaml", 2, 1, None, "duplicate key 'a'")


# --- suggestions --------------------------------------------------------------------------------


def test_did_you_mean():
    assert did_you_mean("reviewrs", ["reviewers", "languages"]) == "did you mean 'reviewers'?"
    assert did_you_mean("Policy", ["policy", "pools"]) == "did you mean 'policy'?"
    assert did_you_mean("zzz", ["reviewers", "languages"]) is None


# --- load_document ------------------------------------------------------------------------------

Hours = Annotated[float, BeforeValidator(parse_duration)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Handling(Strict):
    mean: Hours
    cv: float = Field(1.0, ge=0)


class Pool(Strict):
    languages: list[str]
    reviewers: int = Field(ge=0)
    handling_time: Handling


class Review(Strict):
    policy: Literal["fifo", "severity"] = "severity"
    pools: dict[Annotated[str, Field(pattern=r"^[a-z]+$")], Pool]


class Post(Strict):
    name: str
    at: dt.datetime | dt.date
    account: str


class Doc(Strict):
    name: str
    horizon: Hours
    review: Review
    posts: list[Post] = []
    note: str | None = None

    @model_validator(mode="after")
    def _accounts_exist(self) -> Doc:
        for i, post in enumerate(self.posts):
            if post.account != "ordinary":
                raise ValueError(f"posts.{i}.account: no account class {post.account!r} (classes: ordinary)")
        return self


DOC = """\
name: demo
horizon: 90d
review:
  policy: severity
  pools:
    khmer:
      languages: [khmer]
      reviewers: 4
      handling_time:
        mean: 10min
posts:
  - name: speech
    at: 2023-01-09
    account: ordinary
"""


def load(tmp_path, text, sets=(), name="doc.yaml"):
    return load_document(write(tmp_path, name, text), sets, model=Doc)


def test_load_document_validates(tmp_path):
    doc, resolved = load(tmp_path, DOC)
    assert isinstance(doc, Doc)
    assert doc.horizon == 90 * 24
    assert doc.review.pools["khmer"].handling_time.mean == pytest.approx(1 / 6)
    assert doc.posts[0].at == dt.date(2023, 1, 9)
    assert resolved.data["name"] == "demo"


def test_load_document_applies_sets(tmp_path):
    doc, _ = load(tmp_path, DOC, ["horizon=30d", (("review", "pools", "khmer", "reviewers"), 40), "review.policy=fifo"])
    assert doc.horizon == 720 and doc.review.pools["khmer"].reviewers == 40 and doc.review.policy == "fifo"


def test_unknown_key_with_did_you_mean_points_at_the_key(tmp_path):
    text = DOC.replace("      reviewers: 4", "      reviewrs: 4")
    err = error_of(load, tmp_path, text)
    check(err, "doc.yaml", 8, 7, "review.pools.khmer.reviewrs", "unknown key 'reviewrs'", "did you mean 'reviewers'?")
    assert "more error" not in str(err)  # the missing 'reviewers' is this same mistake


def test_unknown_top_level_key_lists_allowed_keys(tmp_path):
    err = error_of(load, tmp_path, DOC + "zzzzzz: 1\n")
    check(err, "doc.yaml", 15, 1, "zzzzzz", "unknown key 'zzzzzz'",
          "expected one of: name, horizon, review, posts, note")


def test_unknown_key_in_list_item(tmp_path):
    err = error_of(load, tmp_path, DOC + "    acount: x\n")
    check(err, "doc.yaml", 15, 5, "posts.0.acount", "unknown key 'acount'", "did you mean 'account'?")


def test_missing_key_points_at_its_parent(tmp_path):
    text = DOC.replace("      handling_time:\n        mean: 10min\n", "")
    err = error_of(load, tmp_path, text)
    check(err, "doc.yaml", 6, 5, "review.pools.khmer.handling_time", "missing required key 'handling_time'")


def test_bad_duration_says_expected_and_found(tmp_path):
    err = error_of(load, tmp_path, DOC.replace("horizon: 90d", "horizon: 90"))
    check(err, "doc.yaml", 2, 10, "horizon", "expected a duration with a unit", "found 90")


def test_bad_number_says_found(tmp_path):
    err = error_of(load, tmp_path, DOC.replace("reviewers: 4", "reviewers: -4"))
    check(err, "doc.yaml", 8, 18, "review.pools.khmer.reviewers", "greater than or equal to 0", "found -4")


def test_literal_with_did_you_mean(tmp_path):
    err = error_of(load, tmp_path, DOC.replace("policy: severity", "policy: fifi"))
    check(err, "doc.yaml", 4, 11, "review.policy", "'fifo' or 'severity'", "found 'fifi'", "did you mean 'fifo'?")


def test_wrong_kind_of_value(tmp_path):
    err = error_of(load, tmp_path, "name: demo\nhorizon: 90d\nreview:\n  pools: 5\n")
    check(err, "doc.yaml", 4, 10, "review.pools", "expected a mapping", "found 5")


def test_union_names_are_stripped_from_the_key(tmp_path):
    err = error_of(load, tmp_path, DOC.replace("at: 2023-01-09", "at: tomorrow"))
    check(err, "doc.yaml", 13, 9, "posts.0.at", "found 'tomorrow'")
    assert "datetime.at" not in str(err) and "at.date" not in str(err)


def test_invalid_mapping_key(tmp_path):
    err = error_of(load, tmp_path, DOC.replace("    khmer:", "    Khmer9:"))
    check(err, "doc.yaml", 6, 5, "review.pools.Khmer9", "invalid key 'Khmer9'", "found 'Khmer9'")


def test_model_validator_message_with_a_key_prefix(tmp_path):
    err = error_of(load, tmp_path, DOC.replace("account: ordinary", "account: opposition"))
    check(err, "doc.yaml", 14, 14, "posts.0.account", "no account class 'opposition'")


def test_more_errors_are_counted(tmp_path):
    text = DOC.replace("horizon: 90d", "horizon: 90").replace("reviewers: 4", "reviewers: x") + "extra: 1\n"
    err = error_of(load, tmp_path, text)
    check(err, "doc.yaml", 2, 10, "horizon", "(and 2 more errors)")


def test_error_in_inherited_value_points_into_the_parent(tmp_path):
    write(tmp_path, "base.yaml", DOC.replace("mean: 10min", "mean: 10"))
    err = error_of(load, tmp_path, "extends: base.yaml\nname: child\n", name="child.yaml")
    check(err, "base.yaml", 10, 15, "review.pools.khmer.handling_time.mean", "found 10")


def test_error_from_a_set_names_the_set(tmp_path):
    err = error_of(load, tmp_path, DOC, ["review.pools.khmer.reviewrs=5"])
    check(err, "--set", None, None, "review.pools.khmer.reviewrs", "did you mean 'reviewers'?",
          "from --set review.pools.khmer.reviewrs=5")
    assert str(err).startswith("--set: review.pools.khmer.reviewrs: unknown key")
    err = error_of(load, tmp_path, DOC, ["horizon=30"])
    check(err, "--set", None, None, "horizon", "found 30", "from --set horizon=30")


def test_bad_set_expression_in_load_document(tmp_path):
    err = error_of(load, tmp_path, DOC, ["horizon"])
    check(err, "--set", None, None, None, "expected KEY=VALUE")


def test_set_through_a_missing_list_item(tmp_path):
    err = error_of(load, tmp_path, DOC, ["posts.3.name=x"])
    check(err, "--set", None, None, "posts.3", "list of 1 item")


def test_load_document_reports_file_errors(tmp_path):
    err = error_of(load_document, tmp_path / "nope.yaml", model=Doc)
    check(err, "nope.yaml", None, None, None, "file not found")


class Window(Strict):
    start: Hours = 0.0
    end: Hours

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError(f"end: expected a time after start; found {self.end:g} (start is {self.start:g}{{at:start}})")
        return self


class Windows(Strict):
    name: str
    windows: list[Window]


WINDOWS = "name: w\nwindows:\n  - {start: 1h, end: 2h}\n  - start: 5h\n    end: 4h\n"


def test_a_validator_names_a_second_key_with_its_line(tmp_path):
    err = error_of(load_document, write(tmp_path, "w.yaml", WINDOWS), model=Windows)
    check(err, "w.yaml", 5, 10, "windows.1.end", "expected a time after start; found 4 (start is 5 at line 4)")


def test_the_second_key_in_another_file_by_set_or_by_default(tmp_path):
    write(tmp_path, "base.yaml", WINDOWS)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nwindows:\n  - {start: 5h, end: 6h}\n  - {end: 0h}\n")
    err = error_of(load_document, child, model=Windows)
    check(err, "child.yaml", 4, 11, "windows.1.end", "(start is 0 by default)")
    err = error_of(load_document, child, ["windows.1.start=3h", "windows.1.end=2h"], model=Windows)
    assert str(err) == ("--set: windows.1.end: expected a time after start; found 2 (start is 3 from --set "
                        "windows.1.start=3h) (from --set windows.1.end=2h)")
    err = error_of(load_document, child, ["windows.1.start=3h"], model=Windows)
    check(err, "child.yaml", 4, 11, "windows.1.end", "(start is 3 from --set windows.1.start=3h)")
    err = error_of(load_document, write(tmp_path, "own.yaml", "extends: base.yaml\nname: own\n"),
                   ["windows.1.end=1h"], model=Windows)
    assert f"(start is 5 at {tmp_path / 'base.yaml'}:4)" in str(err), str(err)


def test_positioned_error_points_at_the_key_a_message_starts_with(tmp_path):
    from sim.scenario.loader import positioned_error

    _, resolved = load_document(write(tmp_path, "w.yaml", WINDOWS.replace("end: 4h", "end: 6h")), model=Windows)
    check(positioned_error("windows.1.end: too late", resolved), "w.yaml", 5, 10, "windows.1.end", "too late")
    err = positioned_error("name: too short", resolved, [parse_set("name=x")])
    assert str(err) == "--set: name: too short (from --set name=x)"
    err = positioned_error("windows: too many", resolved, [parse_set("windows.0.end=3h")])
    check(err, "w.yaml", 3, 3, "windows", "too many (with --set windows.0.end=3h)")
    assert str(positioned_error("absurd work: too much", resolved)) == f"{tmp_path / 'w.yaml'}: absurd work: too much"
