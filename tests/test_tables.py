"""Terminal tables: names never cut, tracked outcomes grouped under their post, dotted paths shortened."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from sim.cli import app
from sim.cli.tables import grouped, legend, short_paths

ROOT = Path(__file__).resolve().parents[1]


def test_short_paths_are_the_shortest_distinct_tails():
    paths = ["review.pools.khmer.reviewers", "review.pools.english.reviewers", "review.cross_check.reviewers",
             "detection.classifier.recall"]
    short = short_paths(paths)
    assert short == {"review.pools.khmer.reviewers": "khmer.reviewers",
                     "review.pools.english.reviewers": "english.reviewers",
                     "review.cross_check.reviewers": "cross_check.reviewers",
                     "detection.classifier.recall": "classifier.recall"}
    assert "khmer.reviewers = review.pools.khmer.reviewers" in legend(short)
    assert short_paths(["horizon"]) == {"horizon": "horizon"} and legend(short_paths(["horizon"])) is None


def test_tracked_outcomes_come_together_under_their_post():
    rows = grouped(["tracked_a_up_d", "removed_share", "tracked_b_views", "tracked_a_views", "tracked_a_removed"])
    assert rows == [("removed_share", "removed_share"), ("tracked post a:", None), ("  up_d", "tracked_a_up_d"),
                    ("  views", "tracked_a_views"), ("  removed", "tracked_a_removed"), ("tracked post b:", None),
                    ("  views", "tracked_b_views")]


def test_run_and_sweep_tables_fit_100_columns_without_cutting_a_name(tmp_path):
    runner = CliRunner()
    run = runner.invoke(app, ["run", str(ROOT / "scenarios" / "cambodia_2023.yaml"), "-n", "2", "--workers", "1",
                              "--set", "horizon=12d", "--out", str(tmp_path / "run")])
    sweep = runner.invoke(app, ["sweep", str(ROOT / "scenarios" / "validation" / "mmc.yaml"), "--vary",
                                "review.pools.agents.reviewers=20,22", "-n", "1", "--workers", "1",
                                "--set", "horizon=150h", "--outcomes", "decided_within_24h_pool_agents,queue_wait_p90_h",
                                "--out", str(tmp_path / "sweep")])
    for result in (run, sweep):
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert max(len(line) for line in lines) <= 100
        assert "…" not in result.stdout
    assert "tracked post bat_speech:" in run.stdout and "  up_d" in run.stdout
    assert "agents.reviewers = review.pools.agents.reviewers" in sweep.stdout
