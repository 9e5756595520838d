"""Reference models that modsim's speed is measured against.

Absolute speeds depend on the machine, so modsim's throughput is always
reported as a ratio to one of these, timed in the same process:

* :func:`bare_simpy_timeouts` - the SimPy event loop doing nothing but
  timeouts: the ceiling for "events per second".
* :func:`idiomatic_simpy_mmc` - an M/M/c queue written the way SimPy's own
  documentation writes it (one process per customer, ``Resource.request``).
* :func:`ciw_mmc` - the same M/M/c in Ciw, a dedicated queueing simulator.

Run ``python bench/references.py [customers]`` to print all three.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

__all__ = [
    "processed_events",
    "bare_simpy_timeouts",
    "idiomatic_simpy_mmc",
    "ciw_mmc",
    "peak_memory_of",
]


def processed_events(env: simpy.Environment) -> int | None:
    """Number of events ``env`` has processed so far, at zero run-time cost.

    SimPy gives every scheduled event an id from the counter ``env._eid``;
    events scheduled minus events still queued is the number of ``step()``
    calls that popped an event. Reading the counter advances it by one, which
    is harmless once the run is over. Returns None if SimPy's internals differ.
    """
    eid = getattr(env, "_eid", None)
    queue = getattr(env, "_queue", None)
    if eid is None or queue is None:
        return None
    return next(eid) - len(queue)


def bare_simpy_timeouts(n: int) -> dict[str, Any]:
    """Events per second of the bare SimPy event loop.

    Two variants, each processing about ``n`` timeout events:

    * ``sequential``: one process doing ``yield env.timeout(1)`` n times, so
      every event resumes a generator (the main reference, reported at the top
      level as ``events_per_s``);
    * ``independent``: n timeouts scheduled up front with no callbacks, which
      measures heap and dispatch with a large pending-event list (its time
      includes creating the n events and the garbage-collector passes that
      keeping n objects alive triggers, so it is well below ``sequential``).
    """

    def ticker(env: simpy.Environment, count: int):
        for _ in range(count):
            yield env.timeout(1)

    env = simpy.Environment()
    env.process(ticker(env, n))
    start = time.perf_counter()
    env.run()
    seq_seconds = time.perf_counter() - start
    seq_events = processed_events(env)

    env = simpy.Environment()
    start = time.perf_counter()
    for _ in range(n):
        env.timeout(1)
    env.run()
    ind_seconds = time.perf_counter() - start
    ind_events = processed_events(env)

    seq_count = seq_events if seq_events is not None else n
    ind_count = ind_events if ind_events is not None else n
    return {
        "n": n,
        "seconds": seq_seconds,
        "events": seq_events,
        "events_per_s": seq_count / seq_seconds,
        "sequential": {"seconds": seq_seconds, "events": seq_events,
                       "events_per_s": seq_count / seq_seconds},
        "independent": {"seconds": ind_seconds, "events": ind_events,
                        "events_per_s": ind_count / ind_seconds},
    }


def idiomatic_simpy_mmc(c: int, lam: float, mu: float, customers: int, seed: int) -> dict[str, Any]:
    """The textbook SimPy M/M/c: one process per customer holding a Resource.

    A source process draws exponential interarrival times one at a time from a
    numpy Generator and starts a customer process per arrival; each customer
    does ``with resource.request() as req: yield req`` and then times out for
    an exponential service time. Runs until all ``customers`` have left.
    Returns ``items``, ``seconds`` (wall clock of the run), ``items_per_s``,
    ``events`` (processed events), ``events_per_s`` and ``mean_wait`` (mean
    time in queue over all customers, starting from an empty system).
    """
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    waits: list[float] = []
    mean_interarrival, mean_service = 1.0 / lam, 1.0 / mu

    def customer(env: simpy.Environment):
        arrived = env.now
        with servers.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(rng.exponential(mean_service))

    def source(env: simpy.Environment):
        for _ in range(customers):
            yield env.timeout(rng.exponential(mean_interarrival))
            env.process(customer(env))

    env.process(source(env))
    start = time.perf_counter()
    env.run()
    seconds = time.perf_counter() - start
    events = processed_events(env)
    return {
        "items": customers,
        "seconds": seconds,
        "items_per_s": customers / seconds,
        "events": events,
        "events_per_s": events / seconds if events is not None else None,
        "mean_wait": float(np.mean(waits)) if waits else math.nan,
    }


def ciw_mmc(c: int, lam: float, mu: float, customers: int, seed: int) -> dict[str, Any] | None:
    """The same M/M/c in Ciw 3, as an outside reference for customers per second.

    Simulates until ``customers`` have finished service (``method='Finish'``).
    Ciw does not expose an event count, so ``events`` is None. Returns None
    (after printing a note) when Ciw is not installed.
    """
    try:
        import ciw
    except ImportError:
        print("note: ciw is not installed; skipping the Ciw reference (pip install ciw)")
        return None

    start = time.perf_counter()
    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam)],
        service_distributions=[ciw.dists.Exponential(rate=mu)],
        number_of_servers=[c],
    )
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(customers, method="Finish")
    seconds = time.perf_counter() - start
    records = sim.get_all_records()
    return {
        "items": customers,
        "seconds": seconds,
        "items_per_s": customers / seconds,
        "events": None,
        "events_per_s": None,
        "mean_wait": float(np.mean([r.waiting_time for r in records])) if records else math.nan,
    }


def peak_memory_of(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, int]:
    """Call ``fn(*args, **kwargs)`` and return ``(result, peak_bytes)``.

    ``peak_bytes`` is the peak Python-heap allocation during the call above
    what was live when it started, as seen by tracemalloc. Tracing slows code
    down several-fold, so never take timings from a call made through here.
    """
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        result = fn(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started_here:
            tracemalloc.stop()
    return result, max(0, peak - baseline)


def _main(customers: int = 200_000) -> None:
    """Print the three references for c=20, rho=0.9 and a theory sanity check."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sim.experiment.theory import mmc_mean_wait

    c, mu = 20, 1.0
    lam = 0.9 * c * mu
    seed = 12345

    bare = bare_simpy_timeouts(1_000_000)
    print(
        f"bare SimPy timeouts (n=1,000,000): sequential {bare['events_per_s']:,.0f} events/s, "
        f"independent {bare['independent']['events_per_s']:,.0f} events/s"
    )

    simpy_ref = idiomatic_simpy_mmc(c, lam, mu, customers, seed)
    print(
        f"idiomatic SimPy M/M/{c} rho=0.9, {customers:,} customers: "
        f"{simpy_ref['seconds']:.2f} s, {simpy_ref['items_per_s']:,.0f} customers/s, "
        f"{simpy_ref['events']:,} events ({simpy_ref['events_per_s']:,.0f} events/s)"
    )

    ciw_ref = ciw_mmc(c, lam, mu, customers, seed)
    if ciw_ref is not None:
        print(
            f"Ciw M/M/{c} rho=0.9, {customers:,} customers: "
            f"{ciw_ref['seconds']:.2f} s, {ciw_ref['items_per_s']:,.0f} customers/s"
        )

    wq = mmc_mean_wait(c, lam, mu)
    # Waits at rho = 0.9 are strongly autocorrelated: one 200k-customer run is
    # typically within about 10% of theory, 2M customers within a few percent.
    print(f"theory Wq = {wq:.4f} (single-run noise at rho=0.9: ~10% for 200k customers)")
    for name, ref in (("idiomatic SimPy", simpy_ref), ("Ciw", ciw_ref)):
        if ref is not None:
            err = ref["mean_wait"] / wq - 1.0
            print(f"  {name:<16} mean wait {ref['mean_wait']:.4f} ({err:+.1%} vs theory)")


if __name__ == "__main__":
    import sys

    _main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
