"""`modsim schema` serves editors: every bundled scenario validates against it with the jsonschema package."""

from __future__ import annotations

import json

import jsonschema
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.scenario import bundled_scenarios
from sim.scenario.source import load_yaml


@pytest.fixture(scope="module")
def validator():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def as_json(data):
    """A scenario's values as an editor sees them: JSON, with YAML dates as ISO strings."""
    return json.loads(json.dumps(data, default=lambda value: value.isoformat()))


@pytest.mark.parametrize("path", bundled_scenarios(), ids=lambda p: p.name)
def test_every_bundled_scenario_validates(validator, path):
    errors = [e.message for e in validator.iter_errors(as_json(load_yaml(path).data))]
    assert errors == []


def test_a_file_that_extends_is_partial_but_still_strict(validator):
    assert list(validator.iter_errors({"extends": "baseline.yaml", "horizon": "30d"})) == []
    unknown = [e.message for e in validator.iter_errors({"extends": "baseline.yaml", "horizonn": "30d"})]
    assert any("horizonn" in m for m in unknown)
    wrong = [e.message for e in validator.iter_errors({"extends": "baseline.yaml", "review": {"policy": "lifo"}})]
    assert wrong, "an unknown policy is refused in a partial file too"


def test_a_file_that_stands_alone_needs_every_required_key(validator):
    missing = [e.message for e in validator.iter_errors({"horizon": "30d"})]
    assert any("'accounts' is a required property" in m for m in missing)
