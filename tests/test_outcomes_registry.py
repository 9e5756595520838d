"""The outcomes' one home (sim.outcomes): the README's table is generated from it, and it covers every outcome."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from sim import outcomes
from tests.conftest import ROOT


def test_the_readme_table_is_the_generated_one():
    printed = subprocess.run([sys.executable, "-m", "sim.outcomes"], capture_output=True, text=True, check=True).stdout
    assert printed.strip() == outcomes.markdown_table()
    assert outcomes.markdown_table() in (ROOT / "README.md").read_text()


def test_every_outcome_of_every_bundled_scenario_has_a_meaning():
    """Each outcome in the golden tables (every bundled scenario, features on and off) is covered by a row."""
    names = set(outcomes.ORDER)
    for path in (ROOT / "tests" / "golden").glob("*.csv"):
        names |= set(pd.read_csv(path)["outcome"])
    missing = sorted(name for name in names if outcomes.meaning(name) is None)
    assert not missing, f"outcomes with no row in sim/outcomes.py: {missing}"
    assert outcomes.meaning("not_an_outcome") is None


def test_families_resolve_to_their_own_rows():
    assert "severity k" in outcomes.meaning("queue_wait_mean_h_severity_3")
    assert outcomes.meaning("tracked_bat_speech_views").startswith("each scripted post")
    assert outcomes.meaning("days_at_rung_throttle").startswith("days during which")
    assert outcomes.meaning("reviewer_utilization_khmer").startswith("reviewer busy time")
    assert set(outcomes.KEY) <= set(outcomes.ORDER) and set(outcomes.GOVERNANCE) <= set(outcomes.ORDER)
