"""Charts and the HTML report: each chart from a real run or a small synthetic folder, and a report
that parses, embeds every chart and points at nothing outside itself."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from sim.plots import build_charts, draw_charts
from sim.report import write_report

SCENARIO_YAML = """name: synthetic
description: A <small> synthetic "folder" & its charts.
start: '2023-01-01'
scripted_posts:
- name: speech
  at: '2023-01-09T10:00:00'
  real_removal: '2023-06-29'
"""


def _run_tables(rng, scenario: str | None = None) -> dict[str, pd.DataFrame]:
    grid = np.geomspace(1 / 60, 365 * 24, 40)
    surv = [{"replication": r, "time_h": t, "survival": float(np.exp(-t / (5 + r)))} for r in range(3) for t in grid]
    series = [{"replication": r, "day": d, "series": s, "value": float(rng.poisson(20))}
              for r in range(3) for d in range(30)
              for s in ("queue_length", "cross_check_queue_length", "live_violating_views", "grievance")]
    events = [("published", 201), ("report", 203), ("report", 230), ("board_decision", 3000), ("removed", 3100)]
    tracked = [{"replication": r, "post": "speech", "time_h": t + 10 * r, "date": pd.Timestamp("2023-01-01"),
                "event": e, "detail": ""} for r in range(3) for e, t in events]
    tracked += [{"replication": r, "post": "government", "time_h": 2000.0 + 50 * r, "date": pd.Timestamp("2023-01-01"),
                 "event": e, "detail": ""} for r in range(3) for e in ("gov_threat", "gov_staff_expelled")]
    tables = {"survival.parquet": pd.DataFrame(surv), "timeseries.parquet": pd.DataFrame(series),
              "tracked.parquet": pd.DataFrame(tracked)}
    if scenario:
        tables = {k: v.assign(scenario=scenario) for k, v in tables.items()}
    return tables


def _write(folder: Path, tables: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(folder / name, index=False) if name.endswith(".csv") else table.to_parquet(folder / name, index=False)
    (folder / "scenario.yaml").write_text(SCENARIO_YAML)
    (folder / "manifest.json").write_text(json.dumps({"command": "run", "seed": 1, "replications": 3}))
    return folder


@pytest.fixture
def compare_folder(tmp_path):
    rng = np.random.default_rng(1)
    parts = [_run_tables(rng, s) for s in ("base", "policy")]
    tables = {k: pd.concat([p[k] for p in parts]) for k in parts[0]}
    rows = []
    for outcome, m in (("violating_views", 1e6), ("removed_share", 0.8), ("queue_wait_mean_h", 0.4)):
        rows.append({"outcome": outcome, "scenario": "base", "mean": m, "ci_low": m * .9, "ci_high": m * 1.1, "n": 3,
                     "diff_mean": np.nan, "diff_low": np.nan, "diff_high": np.nan})
        rows.append({"outcome": outcome, "scenario": "policy", "mean": m * 0.8, "ci_low": m * .7, "ci_high": m * .9,
                     "n": 3, "diff_mean": -0.2 * m, "diff_low": -0.3 * m, "diff_high": -0.1 * m})
    tables["comparison.csv"] = pd.DataFrame(rows)
    tables["summary.csv"] = pd.DataFrame(rows)[["scenario", "outcome", "mean", "ci_low", "ci_high", "n"]]
    return _write(tmp_path / "cmp", tables)


@pytest.fixture
def experiment_folder(tmp_path):
    points = pd.DataFrame({"point": range(6), "review.reviewers": [10, 20, 30] * 2, "review.policy": ["fifo"] * 3 + ["severity"] * 3})
    sweep = pd.concat([points.assign(outcome=o, mean=points["review.reviewers"] * k, ci_low=points["review.reviewers"] * k - 1,
                                     ci_high=points["review.reviewers"] * k + 1, n=4)
                       for o, k in (("violating_views", 100.0), ("removed_share", 0.01))])
    trials = pd.DataFrame({"number": range(12), "params_review.reviewers": np.linspace(5, 50, 12),
                           "values_0": np.linspace(10, 1, 12), "values_1": np.linspace(1, 10, 12) ** 1.2,
                           "state": ["COMPLETE"] * 11 + ["FAIL"]})
    sens = pd.DataFrame([{"outcome": o, "parameter": p, "index": i, "value": v, "ci_low": v - .05, "ci_high": v + .05}
                         for o in ("violating_views",) for p, v in (("a", .5), ("b", .2)) for i in ("S1", "ST")])
    folder = _write(tmp_path / "exp", {"sweep.parquet": sweep, "points.csv": points, "trials.parquet": trials,
                                       "sensitivity.csv": sens})
    (folder / "objectives.json").write_text(json.dumps({"objectives": [["min", "violating_views"], ["min", "cost"]],
                                                        "constraints": []}))
    return folder


@pytest.fixture
def narrow_folder(tmp_path):
    """Charts at their narrowest: one calibrated parameter and one target, and Morris indices of long parameter
    names."""
    name = "review.pools.agents.handling_time.mean"
    rng = np.random.default_rng(2)
    posterior = pd.DataFrame({"particle": range(20), "generation": 1, "weight": 1 / 20,
                              name: rng.uniform(0.7, 1.3, 20), "distance": rng.uniform(0, 1, 20)})
    summary = pd.DataFrame([{"parameter": name, "prior": "uniform 40min..80min", "low": 2 / 3, "high": 4 / 3,
                             "median": 0.95, "q05": 0.8, "q95": 1.1, "mean": 0.95, "unit": "h", "width_share": 0.4}])
    predictive = pd.DataFrame({"draw": range(8), "particle": range(8), "target": "mean_wait_h",
                               "value": rng.uniform(0, 1, 8)})
    checks = pd.DataFrame([{"target": "mean_wait_h", "observed": 0.25, "tolerance": 0.1, "bound": "equal",
                            "median": 0.4, "q05": 0.1, "q95": 0.9, "within_tolerance": 0.25,
                            "at_or_below_observed": 0.5, "defined": 8, "draws": 8}])
    sens = pd.DataFrame([{"outcome": o, "parameter": p, "index": i, "value": v, "ci_low": 0.0, "ci_high": 2 * v}
                         for o in ("removal_time_median_h", "removed_share", "violating_views")
                         for p, v in ((name, 20.0), ("review.pools.agents.reviewers", 10.0))
                         for i in ("mu_star", "sigma")])
    return _write(tmp_path / "narrow", {"posterior.parquet": posterior, "posterior.csv": summary,
                                        "predictive.parquet": predictive, "predictive.csv": checks,
                                        "sensitivity.csv": sens})


@pytest.mark.parametrize("which", ["compare_folder", "experiment_folder", "narrow_folder"])
def test_no_chart_reaches_past_the_edge_of_its_image(which, request):
    """Charts are saved as laid out, without cropping to what they draw (``sim.plots.style.figure``): every title,
    label and legend must lie inside the figure, with its margin, or the file would cut it off."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    import matplotlib.pyplot as plt

    from sim.plots.style import MARGIN, RC

    figures = build_charts(request.getfixturevalue(which), strict=True)
    if which == "narrow_folder":
        assert {"calibration_marginals", "calibration_predictive", "sensitivity"} <= set(figures)
    for stem, fig in figures.items():
        with plt.rc_context(RC):
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            drawn = fig.get_tightbbox(canvas.get_renderer())
        width, height = fig.get_size_inches()
        edge = MARGIN / 2  # the layout keeps MARGIN; half of it is room for rounding
        assert edge <= drawn.x0 and drawn.x1 <= width - edge, (stem, drawn, width)
        assert edge <= drawn.y0 and drawn.y1 <= height - edge, (stem, drawn, height)


def _bands(fig) -> int:
    return sum(isinstance(c, PolyCollection) for ax in fig.axes for c in ax.collections)


def test_real_run_draws_survival_and_timeseries(tmp_path):
    import sim

    scenario = sim.load_scenario(Path(__file__).parents[1] / "scenarios/baseline.yaml", ["horizon=5d"])
    tables = sim.run(scenario, replications=2, seed=3, workers=1)
    folder = _write(tmp_path / "run", tables.files())
    figures = build_charts(folder, strict=True)
    assert {"survival", "timeseries"} <= set(figures)
    ax = figures["survival"].axes[0]
    assert "hours, log scale" in ax.get_xlabel() and ax.get_xscale() == "log"
    assert _bands(figures["survival"]) >= 1 and _bands(figures["timeseries"]) >= 1
    labels = [a.get_ylabel() for a in figures["timeseries"].axes]
    assert "views per day" in labels and "tickets waiting" in labels


def test_comparison_folder_has_a_line_per_scenario_and_a_forest_plot(compare_folder):
    figures = build_charts(compare_folder, strict=True)
    assert {"comparison", "survival", "timeseries", "tracked_speech", "government"} <= set(figures)
    legend = [t.get_text() for t in figures["survival"].axes[0].get_legend().get_texts()]
    assert legend == ["base", "policy"]
    assert _bands(figures["survival"]) == 2
    forest = figures["comparison"].axes[0]
    assert "% of base" in forest.get_xlabel()
    assert [t.get_text() for t in forest.get_yticklabels()] == ["removed share", "violating views", "queue wait mean h"]


def test_tracked_chart_marks_the_real_removal(compare_folder):
    fig = build_charts(compare_folder, strict=True)["tracked_speech"]
    ax = fig.axes[0]
    assert "days since publication" in ax.get_xlabel()
    texts = [t.get_text() for t in ax.texts]
    assert any("real removal" in t and "171 days" in t for t in texts)
    lanes = [t.get_text() for t in ax.get_yticklabels()]
    assert lanes[0] == "published" and "removed" in lanes and not any(l.startswith("gov") for l in lanes)


def test_government_chart_is_skipped_without_government_activity(tmp_path):
    tables = _run_tables(np.random.default_rng(0))
    tables["tracked.parquet"] = tables["tracked.parquet"].query("post != 'government'")
    tables["timeseries.parquet"] = tables["timeseries.parquet"].query("series != 'grievance'")
    assert "government" not in build_charts(_write(tmp_path / "quiet", tables), strict=True)


def test_sweep_tuning_and_sensitivity_charts(experiment_folder):
    figures = build_charts(experiment_folder, strict=True)
    assert {"sweep_violating_views", "tuning_pareto", "tuning_history", "sensitivity"} <= set(figures)
    assert _bands(figures["sweep_violating_views"]) >= 2
    assert "(views)" in figures["sweep_violating_views"].axes[0].get_ylabel()
    pareto = figures["tuning_pareto"].axes[0]
    assert "Pareto front" in [t.get_text() for t in pareto.get_legend().get_texts()]
    assert figures["sensitivity"].axes[0].get_yticklabels()[0].get_text() == "a"


def test_only_what_is_there_is_drawn(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    assert draw_charts(folder) == []
    (folder / "summary.csv").write_text("outcome,mean,ci_low,ci_high,n\nx,1,0,2,3\n")
    assert draw_charts(folder) == []
    assert write_report(folder).is_file()


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.svgs, self.refs, self.text = 0, 0, [], []

    def handle_starttag(self, tag, attrs):
        self.imgs += tag == "img"
        self.svgs += tag == "svg"
        self.refs += [v for k, v in attrs if k in ("src", "href") and v is not None]

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("which", ["compare_folder", "experiment_folder"])
def test_report_is_self_contained_and_embeds_every_chart(which, request):
    folder = request.getfixturevalue(which)
    written = draw_charts(folder)
    page_text = write_report(folder).read_text()
    page = _Page()
    page.feed(page_text)
    charts = {p.stem for p in written}
    assert page.imgs + page.svgs == len(charts) > 0
    assert all(r.startswith("data:") or r.startswith("#") for r in page.refs), page.refs
    assert not re.search(r"<script|<link|@import|url\(", page_text)
    assert 'A <small> synthetic "folder" & its charts.' in "".join(page.text)  # escaped, then read back
    if which == "compare_folder":
        assert "policy - base" in page_text


def test_cli_plot_and_report(compare_folder, tmp_path):
    from typer.testing import CliRunner

    from sim.cli import app

    for name in ("survival.parquet", "timeseries.parquet", "tracked.parquet"):  # keep it quick: the forest plot only
        (compare_folder / name).unlink()
    runner = CliRunner()
    result = runner.invoke(app, ["plot", str(compare_folder), "--outcomes", "violating_views"])
    assert result.exit_code == 0, result.output
    assert (compare_folder / "charts" / "comparison.svg").is_file()
    assert runner.invoke(app, ["report", str(compare_folder)]).exit_code == 0
    missing = runner.invoke(app, ["plot", str(tmp_path / "nope")])
    assert missing.exit_code == 2


def test_a_real_comparison_folder_reads_its_first_scenario_and_is_titled_by_its_names(compare_folder):
    # A comparison's folder has scenarios/<name>.yaml, no scenario.yaml, and its manifest names them.
    (compare_folder / "scenario.yaml").rename(compare_folder / "base.yaml")
    (compare_folder / "scenarios").mkdir()
    (compare_folder / "base.yaml").rename(compare_folder / "scenarios" / "base.yaml")
    (compare_folder / "manifest.json").write_text(json.dumps({"command": "compare", "scenarios": ["base", "policy"]}))
    fig = build_charts(compare_folder, strict=True)["tracked_speech"]
    assert any("real removal" in t.get_text() for t in fig.axes[0].texts)
    page = write_report(compare_folder).read_text()
    assert "<title>base vs policy: modsim report</title>" in page and "<h1>base vs policy</h1>" in page


def test_report_tables_scroll_in_their_box_and_keep_the_interval_on_a_phone(compare_folder):
    page = write_report(compare_folder).read_text()
    tables = page.count("<table>")
    assert tables > 0 and page.count('<div class="scroll"><table>') == tables
    assert '<span class="ci">[' in page  # the interval sits under the mean, in the same narrow column
    assert "position:sticky;left:0" in page and "@media (max-width:600px)" in page
    assert "removed_<wbr>share" in page  # long outcome names may break in a narrow first column
