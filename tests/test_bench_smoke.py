"""The benchmark suite's non-timing parts: every row is there and counts are sane (no timed assertions)."""

from __future__ import annotations

import pytest

from bench import run as bench


def test_quick_table_has_every_row(monkeypatch):
    tiny = dict(bench.QUICK, bare=2_000, customers=500, mmc_h="150h", baseline=["horizon=1d"],
                cambodia=["horizon=10d"], scale_h="2h", scales=(1, 10), reps=(1, 2), rep_h="2h", pool_h="2h", pool_n=2)
    monkeypatch.setitem(bench.__dict__, "QUICK", tiny)
    results = bench.run_suite(quick=True, dask=False, log=lambda s: None)
    names = [r["name"] for r in results["rows"]]
    assert names[0].startswith("bare SimPy") and names[1].startswith("idiomatic SimPy")
    assert any(n.startswith("modsim mmc.yaml") for n in names)
    assert any(n.startswith("modsim baseline.yaml") for n in names)
    for r in results["rows"]:
        assert r["items"] > 0 and r["seconds"] > 0
        assert r["runs"] == 1  # quick mode: one round
        if r["name"].startswith("modsim"):
            assert r["events_per_item"] is not None and 1.0 <= r["events_per_item"] < 10.0
    assert [s["factor"] for s in results["scaling_reports"]] == [1, 10]
    assert [s["replications"] for s in results["scaling_replications"]] == [1, 2]
    assert results["parallel"]["same_tables"]
    assert "modsim mmc.yaml" in bench.render(results)


def test_best_of_rounds_interleaves_and_keeps_the_fastest():
    calls, sampled = [], []
    times = {"a": iter([3.0, 1.0, 2.0]), "b": iter([1.0, 2.0, 3.0])}

    def measure(name):
        def go(memory):
            calls.append(name)
            sampled.append(memory)
            seconds = next(times[name])
            return {"seconds": seconds, "peak_rss": int(seconds * 10)}
        return go

    def once(memory):  # returns None: drops out after its first call
        calls.append("c")

    logged = []
    best = bench.best_of_rounds({"a": measure("a"), "b": measure("b"), "c": once}, 3, logged.append)
    assert calls == ["a", "b", "c", "a", "b", "a", "b"]
    assert sampled == [True, True, False, False, False, False]  # memory is sampled in the first round only
    assert logged[3] == "a (run 2 of 3) ..."
    assert best["a"] == {"seconds": 1.0, "peak_rss": 30, "runs": 3}  # fastest time, first run's memory
    assert best["b"] == {"seconds": 1.0, "peak_rss": 10, "runs": 3}
    assert "c" not in best


@pytest.mark.slow
def test_studies_table_has_every_study(monkeypatch):
    """``python -m bench --studies --quick`` at a tiny size: every study runs to the end and is measured."""
    from bench import studies

    tiny = dict(studies.QUICK, compare=(2, ["horizon=10d"]), tune=(2, 1, ["horizon=300h"]), sweep=(1, ["horizon=2d"]),
                morris=(2, 1, ["horizon=2d"]), customers=2_000, mmc_h="111h",
                memory=[("mmc.yaml 2k tickets", studies.MMC, 1, ["horizon=111h"])])
    monkeypatch.setitem(studies.__dict__, "QUICK", tiny)
    results = studies.run_studies(quick=True, workers=2, log=lambda s: None)
    rows = {s["name"]: s for s in results["studies"]}
    assert list(rows) == ["compare", "tune", "sweep", "morris", "calibrate"]
    expected = {"compare": 4, "tune": 2, "sweep": 4, "morris": 6}  # scenarios/settings/points x replications
    for name, count in expected.items():
        row = rows[name]
        assert row["exit"] == 0, row
        assert row["replications"] == count and row["sim_cpu_s"] > 0
        assert row["head_s"] > 0 and row["tail_s"] > 0 and 0 < row["fixed_share"] < 1
        assert row["efficiency"] == pytest.approx(row["sim_cpu_s"] / (row["wall_s"] * 2))
    assert rows["calibrate"].get("unavailable") or rows["calibrate"]["exit"] in (0, 3)
    whole = results["whole_process"]
    assert whole["ratio"] == pytest.approx(whole["simpy_s"] / whole["modsim_s"])
    assert set(whole["phases"]) >= {"simulation", "tables", "charts", "report", "exit"}
    memory = results["memory"]
    assert memory["worker_imports"]["heavy_loaded"] == [] and memory["worker_imports"]["rss"] > 0
    [probe] = memory["replications"]
    assert probe["tickets"] > 1000 and probe["peak_rss"] > 0
    text = studies.render_studies(results)
    assert "calibrate" in text and "whole process" in text and "a worker's imports" in text


def test_only_runs_the_named_studies_as_often_as_named(monkeypatch):
    from bench import studies

    tiny = dict(studies.QUICK, sweep=(1, ["horizon=2d"]))
    monkeypatch.setitem(studies.__dict__, "QUICK", tiny)
    results = studies.run_studies(quick=True, workers=2, log=lambda s: None, only=["sweep", "sweep"])
    assert [s["name"] for s in results["studies"]] == ["sweep", "sweep"]
    assert all(s["exit"] == 0 and s["replications"] == 4 for s in results["studies"])
    assert "whole_process" not in results and "memory" not in results
    with pytest.raises(SystemExit, match="no study swep"):
        studies.run_studies(quick=True, workers=2, log=lambda s: None, only=["swep"])


def test_study_figures_split_the_wall_time():
    from bench.studies import study_figures

    tasks = [(10.0, 14.0, 3.8), (10.5, 15.0, 4.2), (14.0, 18.0, 4.0)]  # (start, end, CPU s)
    f = study_figures(8.0, 19.0, tasks, 2)
    assert f["wall_s"] == 11.0 and f["sim_cpu_s"] == pytest.approx(12.0) and f["replications"] == 3
    assert f["head_s"] == 2.0 and f["tail_s"] == 1.0 and f["fixed_share"] == pytest.approx(3 / 11)
    assert f["efficiency"] == pytest.approx(12.0 / 22.0)
