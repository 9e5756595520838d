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


@pytest.fixture
def failing_replication(monkeypatch):
    """Make replication ``index`` (of the scenario named ``name``, or of any) raise RuntimeError("boom").

    Patches this process only: for serial runs (``--workers 1``)."""
    import sim.experiment.replicate as replicate

    real = replicate.simulate

    def fail(index: int, name: str | None = None) -> None:
        def flaky(scenario, seed, number):
            if number == index and name in (None, scenario.name):
                raise RuntimeError("boom")
            return real(scenario, seed, number)

        monkeypatch.setattr(replicate, "simulate", flaky)

    return fail
