"""modsim's benchmark suite: one command, one table, one JSON file.

    python -m bench                 # full suite (a few minutes on 2 cores)
    python -m bench --quick         # smoke version (about 20 seconds)
    python -m bench --compare A.json B.json   # ratios of two saved runs, side by side

Every speed is also given as a ratio to the idiomatic SimPy M/M/c reference timed in the same
run, because only ratios measured in the same process are comparable on a shared machine.
The table's rows are timed in interleaved rounds (each round runs every row once, in table
order; 3 rounds in the full suite, 1 with --quick), so that a disturbance from another process
hits all rows alike, and each row keeps its fastest run. Memory is the peak resident-set-size
increase during a row's first run (psutil RSS sampled every 5 ms, minus RSS at the start), so
numpy arrays count as well as Python objects; later runs reuse memory the first left behind, and
run without the sampling thread, whose turns at the GIL slow the timed code by a few per cent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.references import bare_simpy_timeouts, ciw_mmc, idiomatic_simpy_mmc, processed_events  # noqa: E402
from bench.startup import measure_startup, render_startup  # noqa: E402

OUT = ROOT / "bench" / "out"
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
CAMBODIA = ROOT / "scenarios" / "cambodia_2023.yaml"
C, LAM, MU, SEED = 20, 18.0, 1.0, 12345

FULL = {"bare": 1_000_000, "customers": 200_000, "mmc_h": "11100h", "baseline": [], "cambodia": [],
        "scale_h": "1d", "scales": (1, 10, 100), "reps": (1, 4, 16), "rep_h": "2d", "pool_h": "90d", "pool_n": 16,
        "pool_work_s": 40, "repeats": 3, "startup_rounds": 7}
QUICK = {"bare": 200_000, "customers": 20_000, "mmc_h": "1110h", "baseline": ["horizon=10d"],
         "cambodia": ["horizon=12d"], "scale_h": "12h", "scales": (1, 10, 100), "reps": (1, 4, 16), "rep_h": "12h",
         "pool_h": "4d", "pool_n": 8, "pool_work_s": 0, "repeats": 1, "startup_rounds": 2}


class PeakRSS:
    """Peak RSS increase (bytes) while the block runs, sampled by a thread; None without psutil."""

    def __init__(self, interval: float = 0.005):
        self.interval, self.peak = interval, None

    def __enter__(self) -> PeakRSS:
        try:
            import psutil
        except ImportError:
            return self
        gc.collect()
        self._proc = psutil.Process()
        self._start = self._top = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._top = max(self._top, self._proc.memory_info().rss)

    def __exit__(self, *exc) -> None:
        if hasattr(self, "_thread"):
            self._stop.set()
            self._thread.join()
            self._top = max(self._top, self._proc.memory_info().rss)
            self.peak = self._top - self._start


def timed(fn: Callable[[], Any], memory: bool = True) -> tuple[Any, float, int | None]:
    """Result, wall seconds and peak RSS increase of fn() (None without `memory`: the sampling thread takes the
    GIL every 5 ms, which costs the timed code a few per cent, unevenly)."""
    if not memory:
        start = time.perf_counter()
        result = fn()
        return result, time.perf_counter() - start, None
    with PeakRSS() as sampler:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    return result, seconds, sampler.peak


def modsim_world(path: Path, sets: list[str], seed: int = 1, index: int = 0, memory: bool = True) -> dict[str, Any]:
    """One replication through modsim's own API, counting SimPy events and items."""
    import sim
    from sim.metrics import collect
    from sim.model.streams import Streams, replication_seed
    from sim.model.world import World

    scenario = sim.load_scenario(path, sets)

    def go():
        world = World(scenario, Streams(replication_seed(seed, index)))
        world.run()
        return world, collect(world)

    (world, record), seconds, peak = timed(go, memory)
    return {"world": world, "record": record, "seconds": seconds, "peak_rss": peak,
            "events": processed_events(world.env)}


def scaled(scenario, factor: float):
    """The scenario with every account class posting `factor` times as much and every reviewer pool
    `factor` times as large (same utilisation, `factor` times the reports and tickets)."""
    from sim.scenario.schema import Scenario

    data = scenario.model_dump(mode="json")
    for account in data["accounts"].values():
        account["posts_per_day"] *= factor
    for pool in [*data["review"]["pools"].values(), data["review"]["cross_check"]]:
        if pool.get("reviewers") is not None:
            pool["reviewers"] = int(round(pool["reviewers"] * factor))
        for shift in pool.get("shifts") or ():
            shift["reviewers"] = int(round(shift["reviewers"] * factor))
    return Scenario.model_validate(data)


def row(name: str, item: str, items: float, seconds: float, events: int | None, peak: int | None,
        ref_rate: float | None, note: str = "", runs: int = 1) -> dict[str, Any]:
    """One row of the table (as saved in the JSON): rate, events per item and ratio to ``ref_rate``;
    ``runs`` is the number of runs ``seconds`` is the best of."""
    rate = items / seconds if seconds > 0 else float("nan")
    return {"name": name, "item": item, "items": items, "seconds": seconds, "items_per_s": rate,
            "events_per_item": (events / items) if events and items else None,
            "ratio_to_idiomatic": rate / ref_rate if ref_rate else None, "peak_rss_mb": None if peak is None else peak / 2**20,
            "note": note, "runs": runs}


def best_of_rounds(measurements: dict[str, Callable[[bool], dict[str, Any] | None]], repeats: int,
                   log=print) -> dict[str, dict[str, Any]]:
    """Run every measurement once per round, in the given order, for ``repeats`` rounds, so that a
    disturbance on the machine hits all of them alike; per name, keep the run with the smallest
    ``"seconds"``.

    Each measurement is called as ``measure(memory)``, with ``memory`` true in the first round only: it
    then samples the peak RSS too, which slows the timed code a little, so later rounds time it
    undisturbed. It returns a dict with ``"seconds"`` and ``"peak_rss"``, or None to drop out (it is not
    run again; a name that never returned a dict is missing from the result). The kept dict's
    ``"peak_rss"`` is that of the first run, since later runs reuse memory the first left behind, and
    ``"runs"`` counts the runs it is the best of. Discarded runs are not kept.
    """
    best: dict[str, dict[str, Any]] = {}
    active = dict(measurements)
    for n in range(1, repeats + 1):
        for name, measure in list(active.items()):
            log(f"{name} (run {n} of {repeats}) ...")
            result = measure(n == 1)
            if result is None:
                del active[name]
                continue
            kept = best.get(name)
            if kept is None:
                best[name] = {**result, "runs": 1}
            elif result["seconds"] < kept["seconds"]:
                best[name] = {**result, "peak_rss": kept["peak_rss"], "runs": kept["runs"] + 1}
            else:
                kept["runs"] += 1
            del result  # not held during the next run
    return best


def _reference(fn: Callable[[], dict[str, Any] | None]) -> Callable[[bool], dict[str, Any] | None]:
    """A measurement for ``best_of_rounds``: fn()'s own result (timed by fn itself, None stays None),
    with the peak RSS increase during the call if asked for."""

    def measure(memory: bool):
        result, _, peak = timed(fn, memory)
        return None if result is None else {**result, "peak_rss": peak}

    return measure


def _modsim(path: Path, sets: list[str]) -> Callable[[bool], dict[str, Any]]:
    """A measurement for ``best_of_rounds``: ``modsim_world`` without the world, released at once so that
    it holds no memory (and gives the cycle collector nothing to walk) during the following runs."""

    def measure(memory: bool):
        m = modsim_world(path, list(sets), memory=memory)
        m.pop("world").release()
        return m

    return measure


def run_suite(quick: bool, dask: bool = True, log=print) -> dict[str, Any]:
    """Every measurement of the suite (``QUICK`` or ``FULL`` sizes): the table's rows, each the best of
    ``repeats`` interleaved runs, then the scaling and parallel sections."""
    cfg = QUICK if quick else FULL
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    ciw_errors: list[str] = []

    def ciw(memory: bool):
        try:
            return _reference(lambda: ciw_mmc(C, LAM, MU, cfg["customers"], SEED))(memory)
        except Exception as exc:  # noqa: BLE001 - an optional reference
            ciw_errors.append(f"Ciw failed: {exc}")
            return None

    modsim_files = (("baseline.yaml", BASELINE, cfg["baseline"]), ("cambodia_2023.yaml", CAMBODIA, cfg["cambodia"]))
    measurements = {"bare SimPy loop": _reference(lambda: bare_simpy_timeouts(cfg["bare"])),
                    "idiomatic SimPy M/M/c": _reference(lambda: idiomatic_simpy_mmc(C, LAM, MU, cfg["customers"], SEED)),
                    "Ciw M/M/c": ciw,
                    "modsim mmc.yaml": _modsim(MMC, [f"horizon={cfg['mmc_h']}"])}
    for label, path, sets in modsim_files:
        if path.exists():
            measurements[f"modsim {label}"] = _modsim(path, sets)
        else:
            notes.append(f"{label} skipped: {path.relative_to(ROOT)} does not exist yet")
    best = best_of_rounds(measurements, cfg["repeats"], log)

    bare, ref = best["bare SimPy loop"], best["idiomatic SimPy M/M/c"]
    ref_rate = ref["items_per_s"]
    rows.append(row("bare SimPy loop (timeouts)", "timeout", bare["n"], bare["seconds"], bare["events"],
                    bare["peak_rss"], None, "1 event per item; the event-loop ceiling", bare["runs"]))
    rows.append(row(f"idiomatic SimPy M/M/{C} rho=0.9", "customer", ref["items"], ref["seconds"], ref["events"],
                    ref["peak_rss"], ref_rate, f"Wq {ref['mean_wait']:.3f} h", ref["runs"]))
    ciw_ref = best.get("Ciw M/M/c")
    if ciw_ref is not None:
        rows.append(row(f"Ciw M/M/{C} rho=0.9", "customer", ciw_ref["items"], ciw_ref["seconds"], None,
                        ciw_ref["peak_rss"], ref_rate, f"Wq {ciw_ref['mean_wait']:.3f} h; Ciw has no event count",
                        ciw_ref["runs"]))
    notes.extend(ciw_errors)
    if ciw_ref is None and not ciw_errors:
        notes.append("Ciw reference skipped (not installed: pip install -e .[bench])")

    m = best["modsim mmc.yaml"]
    out = m["record"].outcomes
    rows.append(row(f"modsim mmc.yaml c=20 rho=0.9 {cfg['mmc_h']}", "ticket reviewed", out["reviews"], m["seconds"],
                    m["events"], m["peak_rss"], ref_rate, f"Wq {out['queue_wait_mean_h']:.3f} h; incl. collect()",
                    m["runs"]))
    for label, _, sets in modsim_files:
        m = best.get(f"modsim {label}")
        if m is None:
            continue
        out = m["record"].outcomes
        suffix = f" {' '.join(sets)}" if sets else ""
        rows.append(row(f"modsim {label}{suffix}", "ticket", out["tickets"], m["seconds"], m["events"], m["peak_rss"],
                        ref_rate, f"{out['reports_filed']:,.0f} reports filed = "
                        f"{out['reports_filed'] / m['seconds']:,.0f} reports/s", m["runs"]))

    results: dict[str, Any] = {"rows": rows, "notes": notes, "repeats": cfg["repeats"]}
    log("start-up of the quick commands ...")
    results["startup"] = {"rounds": cfg["startup_rounds"], "rows": measure_startup(cfg["startup_rounds"])}
    if BASELINE.exists():
        results["scaling_reports"] = scale_reports(cfg, log)
        results["scaling_replications"] = scale_replications(cfg, log)
        results["parallel"] = parallel(cfg, dask, log)
    return results


def scale_reports(cfg, log) -> list[dict[str, Any]]:
    """Time and allocated memory of one replication of baseline.yaml as posting and reviewers grow by
    each factor in ``cfg["scales"]``."""
    import sim

    base = sim.load_scenario(BASELINE, [f"horizon={cfg['scale_h']}"])
    out = []
    for factor in cfg["scales"]:
        log(f"scaling x{factor} ...")
        from sim.experiment.replicate import simulate

        scenario = scaled(base, factor)
        # Time: best of two, as the first run of a size also pays the system for the fresh memory it touches.
        # Memory: the peak of what was allocated (tracemalloc, numpy included) in a third, slower run, which
        # unlike the resident set does not depend on what earlier runs left to reuse.
        (record, first, _), (_, again, _) = (timed(lambda: simulate(scenario, 1, 0)) for _ in range(2))
        o = record.outcomes
        out.append({"factor": factor, "reports_filed": o["reports_filed"], "tickets": o["tickets"],
                    "seconds": min(first, again), "first_seconds": first,
                    "peak_alloc_mb": allocated_peak(lambda: simulate(scenario, 1, 0)) / 2**20})
    return out


def allocated_peak(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (Python objects and numpy arrays, via tracemalloc) while fn() runs."""
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def scale_replications(cfg, log) -> list[dict[str, Any]]:
    """Time and allocated memory of ``sim.run`` (serial) for each replication count in ``cfg["reps"]``."""
    import sim

    scenario = sim.load_scenario(BASELINE, [f"horizon={cfg['rep_h']}"])
    sim.run(scenario, replications=2, seed=2, workers=1)  # warm-up: the first run() also imports what it needs
    out = []
    for n in cfg["reps"]:
        log(f"replications {n} (serial) ...")
        _, seconds, _ = timed(lambda: sim.run(scenario, replications=n, seed=1, workers=1))
        peak = allocated_peak(lambda: sim.run(scenario, replications=n, seed=1, workers=1))
        out.append({"replications": n, "seconds": seconds, "peak_alloc_mb": peak / 2**20})
    return out


def parallel(cfg, dask: bool, log) -> dict[str, Any]:
    """Serial, a process pool of 2 and a Dask LocalCluster of 2 on the same replications of baseline.yaml.

    ``pool_n`` replications, raised (to an even count) until the serial work is about ``pool_work_s``
    seconds, judged from one replication timed first: start-up costs are only fairly compared on work
    that takes a while, and the model's speed changes. The pool is timed through ``run(workers=2)``,
    the first pool of this process: its time includes starting the fork server, which imports the
    model once for every worker. Dask goes through the exact ``--scheduler local`` code path
    (``executor_for(2, "local")``), timed in three parts: starting the cluster until both workers are
    up (forked from the fork server the pool left running), the work on the started cluster (what a
    user with a running cluster waits for), and closing it. Wall time only: no memory sampling.
    """
    import math

    import sim
    from sim.experiment.replicate import simulate
    from sim.experiment.runner import run

    scenario = sim.load_scenario(BASELINE, [f"horizon={cfg['pool_h']}"])
    n = cfg["pool_n"]
    result: dict[str, Any] = {"workers": 2, "scenario": f"baseline.yaml horizon={cfg['pool_h']}"}
    if cfg.get("pool_work_s"):
        log("one replication, to size the parallel work ...")
        _, one = _wall(lambda: simulate(scenario, 1, 0))
        n = max(n, 2 * math.ceil(cfg["pool_work_s"] / one / 2))
        result["one_replication_s"] = one
    result.update({"replications": n, "load_before": {}, "others_cpu_s": {}})

    log(f"{n} replications serial ...")
    serial, t_serial = _measured("serial", lambda: run(scenario, replications=n, seed=1, workers=1), result)
    log(f"{n} replications, process pool of 2 ...")
    pooled, t_pool = _measured("pool", lambda: run(scenario, replications=n, seed=1, workers=2), result)
    result.update({"serial_s": t_serial, "pool_s": t_pool, "pool_speedup": t_serial / t_pool,
                   "same_tables": _same_tables(serial, pooled)})
    if dask:
        try:
            import distributed  # noqa: F401
        except ImportError:
            result["dask_note"] = "distributed not installed"
            return result
        log(f"{n} replications, Dask LocalCluster of 2 ...")
        try:
            (tables, parts), _ = _measured("dask", lambda: _dask_local(scenario, n), result)
        except Exception as exc:  # noqa: BLE001
            result["dask_note"] = f"Dask failed: {type(exc).__name__}: {exc}"
            return result
        t_dask = parts["start_s"] + parts["run_s"] + parts["close_s"]
        result.update({"dask_s": t_dask, "dask_speedup": t_serial / t_dask, "dask_vs_pool": t_dask / t_pool,
                       "dask_start_s": parts["start_s"], "dask_run_s": parts["run_s"], "dask_close_s": parts["close_s"],
                       "dask_run_vs_pool": parts["run_s"] / t_pool, "dask_same_tables": _same_tables(serial, tables)})
    return result


def _wall(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Result and wall seconds of fn(), without the memory sampler of ``timed`` (its thread would compete
    with a serial run for the GIL, and not with a pool's workers, flattering the speed-up)."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


class Others:
    """CPU seconds used by every process but this one and its descendants while the block runs: the
    machine's busy time (``/proc/stat``) minus this process tree's (psutil, sampled every 0.2 s, so a
    worker's last fraction of a second may be missed). ``cpu`` stays None without psutil or /proc/stat.

    On a shared 2-core machine a parallel timing means little when someone else took a core meanwhile;
    this says whether they did.
    """

    def __init__(self, interval: float = 0.2):
        self.interval, self.cpu = interval, None

    @staticmethod
    def _machine() -> float:
        with open("/proc/stat") as stat:
            ticks = [int(x) for x in stat.readline().split()[1:9]]
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait

    def _sample(self) -> None:
        import psutil

        for proc in [self._me, *self._me.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                self._seen[(proc.pid, proc.create_time())] = times.user + times.system
            except psutil.Error:
                pass

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> Others:
        try:
            import psutil

            self._me, self._seen = psutil.Process(), {}
            self._sample()
            self._start, self._machine_start = dict(self._seen), self._machine()
        except (ImportError, OSError, ValueError):
            return self
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if not hasattr(self, "_thread"):
            return
        self._stop.set()
        self._thread.join()
        self._sample()
        mine = sum(cpu - self._start.get(key, 0.0) for key, cpu in self._seen.items())
        self.cpu = max(self._machine() - self._machine_start - mine, 0.0)


def _measured(label: str, fn: Callable[[], Any], result: dict[str, Any]) -> tuple[Any, float]:
    """fn() timed by ``_wall``, noting the load average before and other processes' CPU during it."""
    result["load_before"][label] = os.getloadavg()[0]
    with Others() as others:
        value, seconds = _wall(fn)
    result["others_cpu_s"][label] = others.cpu
    return value, seconds


def _same_tables(a, b) -> bool:
    """Whether two runs' tables are identical (replications, daily series, tracked timelines, survival)."""
    return all(getattr(a, name).equals(getattr(b, name)) for name in ("replications", "timeseries", "tracked", "survival"))


def _dask_local(scenario, n: int):
    """``run(scheduler="local")`` taken apart: its tables, and the seconds to start the cluster, to run the
    replications on it (and assemble the tables), and to close it."""
    import contextlib

    from sim.experiment.executors import executor_for
    from sim.experiment.replicate import run_replications
    from sim.experiment.runner import tables_from

    records: dict = {}
    parts = {}
    with contextlib.ExitStack() as stack:
        start = time.perf_counter()
        executor = stack.enter_context(executor_for(2, "local", n))
        parts["start_s"] = time.perf_counter() - start
        start = time.perf_counter()
        run_replications(scenario, 1, range(n), executor, records.__setitem__)
        tables = tables_from(scenario, 1, records)
        parts["run_s"] = time.perf_counter() - start
        start = time.perf_counter()
    parts["close_s"] = time.perf_counter() - start
    return tables, parts


def _fmt(x, spec: str, dash: str = "-") -> str:
    return dash if x is None else format(x, spec)


def render(results: dict[str, Any]) -> str:
    """The one table, then the scaling and parallel sections."""
    header = (f"{'row':<44} {'item':<16} {'items':>9} {'items/s':>10} {'ev/item':>7} {'x idiom':>7} "
              f"{'wall s':>7} {'peak MB':>8}  note")
    lines = []
    repeats = results.get("repeats")
    if repeats == 1:
        lines.append("rows timed in one run each")
    elif repeats:
        lines.append(f"rows timed as the best of {repeats} runs, interleaved (each round runs every row once, "
                     "in this order); peak MB from each row's first run, the only one with the memory sampler running")
    lines += [header, "-" * len(header)]
    for r in results["rows"]:
        runs = r.get("runs", repeats)
        odd = f" (best of {runs} runs only)" if runs != repeats else ""  # e.g. Ciw failing after its first run
        lines.append(f"{r['name']:<44} {r['item']:<16} {r['items']:>9,.0f} {r['items_per_s']:>10,.0f} "
                     f"{_fmt(r['events_per_item'], '7.2f'):>7} {_fmt(r['ratio_to_idiomatic'], '7.2f'):>7} "
                     f"{r['seconds']:>7.2f} {_fmt(r['peak_rss_mb'], '8.1f'):>8}  {r['note']}{odd}")
    if "startup" in results:
        lines.append("")
        lines.extend(render_startup(results["startup"]["rows"], results["startup"]["rounds"]))
    if "scaling_reports" in results:
        lines.append("")
        lines.append("scaling in reports (baseline, posts_per_day and reviewers x factor; wall: best of two runs):")
        first = results["scaling_reports"][0]
        for s in results["scaling_reports"]:
            per = s["seconds"] / max(s["tickets"], 1) * 1e6
            memory = s.get("peak_alloc_mb")
            lines.append(f"  x{s['factor']:<4} reports {s['reports_filed']:>10,.0f} tickets {s['tickets']:>10,.0f}  "
                         f"wall {s['seconds']:7.2f} s ({s['seconds'] / first['seconds']:6.1f}x, {per:5.1f} us/ticket)"
                         f"  allocated peak {_fmt(memory, '7.1f')} MB "
                         f"({_fmt(None if memory is None else memory * 2**20 / max(s['tickets'], 1), '5.0f')} B/ticket)")
    if "scaling_replications" in results:
        lines.append("scaling in replications (serial, run() holding outcomes only):")
        for s in results["scaling_replications"]:
            lines.append(f"  {s['replications']:>3} replications  wall {s['seconds']:7.2f} s  "
                         f"allocated peak {_fmt(s.get('peak_alloc_mb'), '7.1f')} MB")
    if "parallel" in results:
        lines.extend(_render_parallel(results["parallel"]))
    for note in results.get("notes", ()):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _render_parallel(p: dict[str, Any]) -> list[str]:
    """The parallel section: one line per way of running the same replications and what its time includes,
    with the load average before it and the CPU other processes took meanwhile."""
    load, others = p.get("load_before", {}), p.get("others_cpu_s", {})
    one = f", one replication {p['one_replication_s']:.2f} s" if "one_replication_s" in p else ""
    lines = [f"parallel ({p['replications']} replications of {p['scenario']}{one}; {p['workers']} workers; wall "
             "seconds; load: 1-min load average before; others: CPU s other processes used meanwhile):"]

    def line(label: str, seconds: float, speedup: float, extra: str, key: str | None) -> str:
        at = f"load {load[key]:4.2f}" if key in load else " " * 9
        cpu = f"others {others[key]:5.1f}" if others.get(key) is not None else " " * 12
        return f"  {label:<46} {seconds:8.2f} s {speedup:6.2f}x  {at}  {cpu}  {extra}"

    lines.append(line("serial (workers=1)", p["serial_s"], 1.0, "", "serial"))
    lines.append(line("process pool (incl. its start-up)", p["pool_s"], p["pool_speedup"],
                      f"tables identical to serial: {p['same_tables']}", "pool"))
    if "dask_s" in p:
        lines.append(line("Dask LocalCluster, incl. start-up and close", p["dask_s"], p["dask_speedup"],
                          f"{p['dask_vs_pool']:.2f}x the pool's time (start {p['dask_start_s']:.2f} s with the fork server "
                          f"already up, close {p['dask_close_s']:.2f} s; tables identical: {p['dask_same_tables']})", "dask"))
        lines.append(line("Dask LocalCluster, work only (cluster started)", p["dask_run_s"], p["serial_s"] / p["dask_run_s"],
                          f"{p['dask_run_vs_pool']:.2f}x the pool's time", None))
    elif "dask_note" in p:
        lines.append(f"  Dask: {p['dask_note']}")
    busy = [k for k, cpu in others.items() if cpu is not None and cpu > max(0.5, 0.05 * p.get(f"{k}_s", 0.0))]
    if busy:
        lines.append(f"  note: other processes took CPU during {', '.join(busy)} (over 5% of a core): "
                     "those times are not the software's alone; run again on a quiet machine")
    if p["serial_s"] < 30:
        lines.append(f"  note: {p['serial_s']:.1f} s of serial work: too little to judge parallel overheads "
                     "(start-up dominates); the full suite sizes it to about 40 s")
    return lines


def compare(a_path: str, b_path: str) -> str:
    """Rates of two saved runs side by side: B / A for items/s and for the ratio to idiomatic SimPy."""
    a, b = (json.loads(Path(p).read_text()) for p in (a_path, b_path))
    rows_a = {r["name"]: r for r in a["rows"]}
    lines = [f"A = {a_path} ({a['meta'].get('commit', '?')})", f"B = {b_path} ({b['meta'].get('commit', '?')})",
             f"{'row':<44} {'A items/s':>10} {'B items/s':>10} {'B/A':>6} {'A x idiom':>9} {'B x idiom':>9} {'B/A':>6}"]
    for r in b["rows"]:
        o = rows_a.get(r["name"])
        if o is None:
            lines.append(f"{r['name']:<44} {'-':>10} {r['items_per_s']:>10,.0f}")
            continue
        ra, rb = o.get("ratio_to_idiomatic"), r.get("ratio_to_idiomatic")
        lines.append(f"{r['name']:<44} {o['items_per_s']:>10,.0f} {r['items_per_s']:>10,.0f} "
                     f"{r['items_per_s'] / o['items_per_s']:>6.2f} {_fmt(ra, '9.2f'):>9} {_fmt(rb, '9.2f'):>9} "
                     f"{_fmt(rb / ra if ra and rb else None, '6.2f'):>6}")
    pa, pb = a.get("parallel"), b.get("parallel")
    if pa and pb:
        lines.append(f"pool speed-up: A {pa['pool_speedup']:.2f}x, B {pb['pool_speedup']:.2f}x")
    return "\n".join(lines)


def _commit() -> str:
    try:
        import subprocess

        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:  # noqa: BLE001
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke version (about 20 seconds)")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster measurement")
    parser.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"), help="print B's rates over A's")
    parser.add_argument("--studies", action="store_true", help="whole studies instead: compare, tune, sweep, Morris, "
                        "calibrate; whole-process run; memory (bench/studies.py)")
    parser.add_argument("--workers", type=int, default=None, help="with --studies: local workers (default all cores)")
    parser.add_argument("--only", nargs="+", default=None, metavar="STUDY", help="with --studies: only these studies "
                        "(compare, tune, sweep, morris, calibrate; repeat a name to run it again), nothing else")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write (default bench/out/bench-<UTC>.json)")
    args = parser.parse_args(argv)
    if args.compare:
        print(compare(*args.compare))
        return 0
    started = dt.datetime.now(dt.timezone.utc)
    if args.studies:
        return _studies(args, started)
    results = run_suite(args.quick, dask=not args.no_dask, log=lambda s: print(s, file=sys.stderr, flush=True))
    results["meta"] = {"utc": started.isoformat(timespec="seconds"), "quick": args.quick, "commit": _commit(),
                       "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
                       "memory": "peak RSS increase during the call (psutil, sampled every 5 ms)"}
    print(render(results))
    path = args.out or OUT / f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}{'-quick' if args.quick else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str))
    print(f"written {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


def _studies(args, started: dt.datetime) -> int:
    """``--studies``: run bench/studies.py, print its table, save its JSON."""
    from bench.studies import render_studies, run_studies

    results = run_studies(args.quick, args.workers, log=lambda s: print(s, file=sys.stderr, flush=True), only=args.only)
    results["meta"] = {"utc": started.isoformat(timespec="seconds"), "quick": args.quick, "commit": _commit(),
                       "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    print(render_studies(results))
    path = args.out or OUT / f"studies-{started.strftime('%Y%m%dT%H%M%SZ')}{'-quick' if args.quick else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str))
    print(f"written {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
