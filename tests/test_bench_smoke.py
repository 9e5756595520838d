"""The benchmark suite's non-timing parts: every row is there and counts are sane (no timed assertions)."""

from __future__ import annotations

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
