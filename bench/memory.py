"""Memory probes of the study benchmark, each run in a fresh interpreter so that nothing else is loaded.

    python -c "from bench.memory import main; main()" worker_imports
    python -c "from bench.memory import main; main()" replication SCENARIO USERS_FACTOR SET...
    python -c "from bench.memory import main; main()" retained SCENARIO USERS_FACTOR SET...

Each prints one JSON line. RSS is read from ``/proc/self/status`` (``VmRSS``, ``VmHWM``: the
resident set now and at its peak), so numpy arrays count as well as Python objects.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "pyarrow", "matplotlib", "optuna", "SALib", "dask", "distributed")


def _status(field: str) -> int:
    """A ``/proc/self/status`` memory field in bytes (0 where there is no /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def worker_imports() -> dict:
    """RSS of a fresh interpreter before and after importing what a pool worker starts with, and which of
    the table, chart and study libraries that loaded (none should be)."""
    bare = _status("VmRSS")
    from sim.experiment.executors import WORKER_MODULES

    for name in WORKER_MODULES:
        __import__(name)
    return {"bare_rss": bare, "rss": _status("VmRSS"), "modules": list(WORKER_MODULES),
            "heavy_loaded": sorted(m for m in HEAVY if m in sys.modules)}


def scaled_users(scenario, factor: float):
    """The scenario with every account class ``factor`` times as many accounts and every reviewer pool (shifts
    and cross-check included) ``factor`` times as large: the same utilisation, ``factor`` times the tickets."""
    from sim.scenario.schema import Scenario

    data = scenario.model_dump(mode="json")
    for account in data["accounts"].values():
        account["count"] = int(round(account["count"] * factor))
    pools = [*data["review"]["pools"].values()]
    if data["review"].get("cross_check"):
        pools.append(data["review"]["cross_check"])
    for pool in pools:
        if pool.get("reviewers") is not None:
            pool["reviewers"] = int(round(pool["reviewers"] * factor))
        for shift in pool.get("shifts") or ():
            shift["reviewers"] = int(round(shift["reviewers"] * factor))
    return Scenario.model_validate(data)


def replication(path: str, factor: float, sets: list[str]) -> dict:
    """One replication of a scenario (``factor`` times the users), as a worker runs it: the peak RSS above the
    RSS before it started, what the world still holds when the run ends (before its record is taken and
    it is released; also once the C allocator returned its free pages), the tickets, and both per ticket."""
    import sim
    from sim.metrics import collect
    from sim.model.streams import Streams, replication_seed
    from sim.model.world import World

    scenario = sim.load_scenario(path, sets)
    if factor != 1:
        scenario = scaled_users(scenario, factor)
    gc.collect()
    before = _status("VmRSS")
    started = time.perf_counter()
    world = World(scenario, Streams(replication_seed(scenario.seed, 0)))
    world.run()
    seconds = time.perf_counter() - started
    gc.collect()
    retained = _status("VmRSS") - before
    trimmed = _trimmed_rss() - before
    record = collect(world)
    peak = _status("VmHWM") - before
    tickets = int(record.outcomes.get("tickets") or record.outcomes.get("reviews") or 0)
    world.release()
    return {"scenario": Path(path).name, "users_factor": factor, "sets": sets, "tickets": tickets,
            "seconds": seconds, "peak_rss": peak, "retained_rss": retained, "before_rss": before,
            "peak_per_ticket": peak / max(tickets, 1), "retained_per_ticket": retained / max(tickets, 1),
            "retained_trimmed_rss": trimmed, "retained_trimmed_per_ticket": trimmed / max(tickets, 1)}


def _trimmed_rss() -> int:
    """RSS once the C allocator has handed its free pages back to the system (glibc ``malloc_trim``; the RSS as
    it is elsewhere): what the world holds, without the freed memory the allocator keeps for later."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return _status("VmRSS")


def retained(path: str, factor: float, sets: list[str], top: int = 12) -> dict:
    """What a finished replication still holds, by the line that allocated it (tracemalloc): bytes per ticket
    of the ``top`` lines, and in all."""
    import tracemalloc

    import sim
    from sim.model.streams import Streams, replication_seed
    from sim.model.world import World

    scenario = sim.load_scenario(path, sets)
    if factor != 1:
        scenario = scaled_users(scenario, factor)
    tracemalloc.start()
    world = World(scenario, Streams(replication_seed(scenario.seed, 0)))
    world.run()
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    tickets = max(world.first_line.counts.get("tickets", 0), 1)
    stats = snapshot.statistics("lineno")
    lines = [{"where": f"{Path(s.traceback[0].filename).name}:{s.traceback[0].lineno}",
              "bytes_per_ticket": round(s.size / tickets, 1), "blocks": s.count} for s in stats[:top]]
    return {"scenario": Path(path).name, "users_factor": factor, "sets": sets, "tickets": tickets,
            "bytes_per_ticket": sum(s.size for s in stats) / tickets, "top": lines}


def main(argv: list[str] | None = None) -> None:
    """Run the probe named on the command line and print its JSON line."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[0] == "worker_imports":
        result = worker_imports()
    elif args[0] == "retained":
        result = retained(args[1], float(args[2]), args[3:])
    else:
        result = replication(args[1], float(args[2]), args[3:])
    print(json.dumps(result))
