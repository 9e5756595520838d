"""Shared fixtures: paths of the bundled scenarios and a quick loader with overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def load():
    """Load a bundled scenario by relative path with --set style overrides."""
    from sim import load_scenario

    def _load(relative: str, *sets: str):
        return load_scenario(SCENARIOS / relative, sets)

    return _load


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="Rewrite tests/golden/ from this run (for a change meant to alter results).")
