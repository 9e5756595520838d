"""--precision: replications added in batches until the targeted intervals are narrow enough."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.experiment.precision import PrecisionError, next_count, parse_target, unmet

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
SHORT = ["--set", "horizon=300h", "--workers", "2"]


def test_targets_parse_and_bad_ones_are_refused():
    assert parse_target("5%").outcome is None and parse_target("5%").relative
    target = parse_target("removed_share=0.01")
    assert (target.outcome, target.value, target.relative) == ("removed_share", 0.01, False)
    for bad in ("x=", "five", "x=-1", "0%"):
        with pytest.raises(PrecisionError):
            parse_target(bad)


def test_batches_keep_every_worker_busy_and_grow_at_most_fourfold():
    widths = {"a": (1.0, 0.01)}
    assert next_count(widths, 4, 1000, 3) == 16  # four times, rounded to whole batches of 3 (4 + 12)
    assert next_count(widths, 4, 10, 3) == 10  # never past the cap
    assert unmet({"a": (0.5, 1.0), "b": (float("nan"), 1.0)}) == []  # undefined outcomes do not hold a run


def test_run_stops_when_the_target_is_met_and_equals_a_plain_run_of_that_size(tmp_path):
    runner = CliRunner()
    adaptive = runner.invoke(app, ["run", str(MMC), "-n", "2", "--precision", "reviewer_utilization=0.01", *SHORT,
                                   "--out", str(tmp_path / "adaptive")])
    assert adaptive.exit_code == 0, adaptive.output
    info = json.loads((tmp_path / "adaptive" / "manifest.json").read_text())
    count = info["replications"]
    assert 2 < count < 200 and info["precision_stop"].startswith("precision reached")
    summary = pd.read_csv(tmp_path / "adaptive" / "summary.csv").set_index("outcome")
    row = summary.loc["reviewer_utilization"]
    assert (row.ci_high - row.ci_low) / 2 <= 0.01 and row.n == count
    plain = runner.invoke(app, ["run", str(MMC), "-n", str(count), *SHORT, "--out", str(tmp_path / "plain")])
    assert plain.exit_code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "adaptive" / "replications.parquet"),
                                  pd.read_parquet(tmp_path / "plain" / "replications.parquet"))


def test_the_cap_stops_it_and_says_which_interval_is_still_wide(tmp_path):
    result = CliRunner().invoke(app, ["run", str(MMC), "-n", "2", "--precision", "queue_wait_mean_h=0.0001",
                                      "--max-replications", "6", *SHORT, "--out", str(tmp_path / "capped")])
    assert result.exit_code == 0, result.output
    assert "stopped at --max-replications 6" in result.stdout and "queue_wait_mean_h" in result.stdout
    assert json.loads((tmp_path / "capped" / "manifest.json").read_text())["replications"] == 6


def test_compare_adds_replications_to_every_scenario_alike(tmp_path):
    result = CliRunner().invoke(app, ["compare", str(MMC), str(ROOT / "scenarios" / "validation" / "priority_mmc.yaml"),
                                      "-n", "2", "--precision", "reviewer_utilization=0.02", *SHORT,
                                      "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    reps = pd.read_parquet(tmp_path / "cmp" / "replications.parquet")
    counts = reps.groupby("scenario").replication.apply(sorted)
    assert counts.iloc[0] == counts.iloc[1] and len(counts.iloc[0]) > 2  # replication k in both: paired
