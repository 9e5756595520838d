"""Scenarios: the YAML format, its validation, and loading with precise error messages.

``load_scenario(path, sets)`` is the one way in: it reads the file safely, follows ``extends:``,
applies ``--set dotted.path=value`` overrides and validates everything against ``Scenario``,
raising one ``ScenarioError`` (file:line:column, key, what was expected) on any mistake.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from sim.errors import ScenarioError

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["Scenario", "ScenarioError", "WorkloadError", "load_scenario", "check_workload", "bundled_scenarios",
           "SCENARIO_DIR"]

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"

# Imported when first used, so that `modsim list` does not build the schema's models.
_LAZY = {"Scenario": "sim.scenario.schema", "WorkloadError": "sim.scenario.workload",
         "check_workload": "sim.scenario.workload"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim.scenario' has no attribute {name!r}")


def load_scenario(path: str | os.PathLike, sets: Iterable = ()) -> Scenario:
    """Load, resolve and validate a scenario file, with `--set` expressions applied: texts (``"horizon=30d"``) or
    (dotted key, value) pairs, whose value may be a Python object such as your own priority policy
    (``("review.policy", OldestFirst())``, see docs/extending.md)."""
    from sim.scenario.loader import load_document
    from sim.scenario.schema import Scenario

    scenario, _ = load_document(str(path), list(sets), model=Scenario)
    return scenario


def bundled_scenarios() -> list[Path]:
    """The scenario files that ship with modsim (not the calibration targets of ``scenarios/targets/``)."""
    targets = SCENARIO_DIR / "targets"
    return sorted(p for p in SCENARIO_DIR.rglob("*.yaml") if targets not in p.parents)
