"""Golden tests of the command line: every bundled scenario's summary at a fixed seed and short horizon.

Each bundled scenario is run by ``modsim run`` (serially, 2 replications, seed 1, a short horizon)
and its ``summary.csv`` is compared with the one kept in ``tests/golden/``: counts and every ``n``
exactly, other numbers to a relative 1e-9. A change that is meant to alter results regenerates them
with ``python -m pytest tests/test_golden.py --update-golden``, and its commit message says why.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.scenario import bundled_scenarios

GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).resolve().parents[1]
REPLICATIONS = 2
SEED = 1
# Long enough for each scenario's mechanisms to act (the 2023 case reaches its board decision in
# late June), short enough to keep the suite quick.
HORIZONS = {"cambodia_2023": "200d", "validation": "400h", "default": "10d"}


def _horizon(path: Path) -> str:
    text = path.read_text()
    if "cambodia_2023.yaml" in text or path.stem == "cambodia_2023":
        return HORIZONS["cambodia_2023"]
    return HORIZONS["validation"] if path.parent.name == "validation" else HORIZONS["default"]


def _golden_name(path: Path) -> str:
    return "__".join(path.relative_to(ROOT / "scenarios").with_suffix("").parts) + ".csv"


SCENARIOS = sorted(bundled_scenarios())


def test_every_bundled_scenario_has_a_golden_file(request):
    expected = {_golden_name(p) for p in SCENARIOS}
    if request.config.getoption("--update-golden"):
        for stale in set(p.name for p in GOLDEN.glob("*.csv")) - expected:
            (GOLDEN / stale).unlink()
    assert {p.name for p in GOLDEN.glob("*.csv")} == expected


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(ROOT / "scenarios")))
def test_summary_matches_golden(path, tmp_path, request):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "-n", str(REPLICATIONS), "--seed", str(SEED),
                                      "--workers", "1", "--set", f"horizon={_horizon(path)}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "summary.csv")
    golden = GOLDEN / _golden_name(path)
    if request.config.getoption("--update-golden"):
        summary.to_csv(golden, index=False, float_format="%.17g")
    expected = pd.read_csv(golden)
    assert list(summary.outcome) == list(expected.outcome), "the outcomes changed"
    assert list(summary.n) == list(expected.n), "the number of replications defining an outcome changed"
    assert list(summary.method) == list(expected.method), "the interval methods changed"
    for column in ("mean", "ci_low", "ci_high"):
        for outcome, got, want in zip(summary.outcome, summary[column], expected[column]):
            if math.isnan(want):
                assert math.isnan(got), f"{outcome} {column}: {got} where the golden file has none"
            elif float(want).is_integer():
                assert got == want, f"{outcome} {column}: {got} != {want}"
            else:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-12), f"{outcome} {column}"
