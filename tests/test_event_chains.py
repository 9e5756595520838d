"""The speed-ups of the simulation core change nothing: event chains run events in the order separate
timeouts would, suspension lookups agree with a plain scan, and a run leaves no cyclic garbage
(which is what lets it pause the cycle collector)."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import simpy

from sim.model.chains import CHUNK, ArrivalChain, DeadlineChain, schedule_triggered, succeeded_event
from sim.model.platform import Platform
from sim.model.streams import Streams, replication_seed
from sim.model.world import World
from tests.conftest import ROOT


def _others(env, log, times):
    """Plain timeouts that compete with the chain, some at the very same times."""
    for t in times:
        env.timeout(t, f"other@{t}").callbacks.append(lambda ev: log.append((ev.env.now, ev.value)))


def test_arrival_chain_runs_in_the_order_of_separate_timeouts():
    rng = np.random.default_rng(3)
    times = rng.integers(0, 40, 2 * CHUNK + 17).astype(float)  # many ties, and more than two chunks
    expected, got = [], []

    env = simpy.Environment()
    _others(env, expected, [5.0, 12.0])
    for i, t in enumerate(times):
        env.timeout(t, i).callbacks.append(lambda ev: expected.append((ev.env.now, ev.value)))
    _others(env, expected, [5.0, 30.0])
    env.run()

    env = simpy.Environment()
    _others(env, got, [5.0, 12.0])
    order = np.argsort(times, kind="stable")
    chain = ArrivalChain(env, times[order], order, lambda a, b: order[a:b].tolist(),
                         lambda i: got.append((env.now, i)))
    _others(env, got, [5.0, 30.0])
    env.run()

    assert got == expected
    assert chain.remaining() == 0


def test_arrival_chain_keeps_the_order_when_deliveries_schedule_events():
    """Each delivery schedules a follow-up (as opening a ticket schedules its review), often at the time of
    the chain's next item or the same time: the chain must still yield to whatever comes first."""
    rng = np.random.default_rng(5)
    times = np.sort(rng.integers(0, 60, 3 * CHUNK)).astype(float)
    delays = rng.integers(0, 3, len(times)).astype(float)

    def simulate(use_chain: bool) -> list:
        env, log = simpy.Environment(), []

        def deliver(i):
            log.append((env.now, "in", i))
            env.timeout(delays[i], i).callbacks.append(lambda ev: log.append((env.now, "out", ev.value)))

        if use_chain:
            order = np.arange(len(times))
            ArrivalChain(env, times, order, lambda a, b: order[a:b].tolist(), deliver)
        else:
            for i, t in enumerate(times):
                env.timeout(t, i).callbacks.append(lambda ev: deliver(ev.value))
        env.run(until=50.0)
        return log

    expected = simulate(False)
    assert simulate(True) == expected
    assert any(a[0] == b[0] and a[1] != b[1] for a, b in zip(expected, expected[1:]))  # ties were exercised


def test_deadline_chain_runs_in_the_order_of_separate_timeouts():
    rng = np.random.default_rng(4)
    starts = np.sort(rng.integers(0, 30, 300)).astype(float)

    def simulate(use_chain: bool) -> list:
        env, log = simpy.Environment(), []
        chain = DeadlineChain(env, 7.0, lambda value: log.append((env.now, value)))

        def setter():
            for i, start in enumerate(starts):
                yield env.timeout(start - env.now)
                if use_chain:
                    chain.set(i)
                else:
                    env.timeout(7.0, i).callbacks.append(lambda ev: log.append((env.now, ev.value)))
                if i % 50 == 0:
                    env.timeout(7.0, f"other{i}").callbacks.append(lambda ev: log.append((env.now, ev.value)))

        env.process(setter())
        env.run()
        return log

    assert simulate(True) == simulate(False)


def test_suspension_lookup_agrees_with_a_scan_of_the_intervals():
    rng = np.random.default_rng(5)
    platform = Platform([], 0)
    intervals: dict[tuple[int, int], list[tuple[float, float]]] = {}
    now = 0.0
    for _ in range(400):
        now += rng.exponential(5.0)
        account = (int(rng.integers(0, 3)), int(rng.integers(0, 6)))
        hours = float(rng.choice([24.0, 72.0, 720.0, 1.0]))
        platform.suspend(account, now, hours)
        intervals.setdefault(account, []).append((now, now + hours))
    klass, author = rng.integers(0, 4, 5000), rng.integers(0, 7, 5000)
    at = rng.uniform(-10, now + 100, 5000)
    scan = np.array([any(a <= t < b for a, b in intervals.get((int(k), int(u)), ()))
                     for k, u, t in zip(klass, author, at)])
    assert 0 < scan.sum() < len(scan)
    assert (platform.suspended_at(klass, author, at) == scan).all()
    assert [platform.is_suspended((int(k), int(u)), t) for k, u, t in zip(klass, author, at)] == scan.tolist()


@pytest.mark.parametrize("path", ["tests/scenarios/mini_case.yaml", "scenarios/cambodia_2023.yaml"])
def test_a_run_leaves_no_cyclic_garbage(path):
    from sim import load_scenario

    world = World(load_scenario(ROOT / path, ["horizon=30d"]), Streams(replication_seed(1, 0)))
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        world.run()
        # The world is still alive: whatever is collected now was garbage made during the run. The run re-enables
        # the collector at its end, and its first automatic pass (everything made with it paused is young) may
        # already have found that garbage: under DEBUG_SAVEALL both end in gc.garbage.
        gc.collect()
        found = len(gc.garbage)
        kinds = sorted({type(o).__name__ for o in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert world.first_line.counts["tickets"] > 100
    assert found == 0, f"the run made cyclic garbage: {kinds}"
    assert gc.isenabled()


def test_a_reused_review_event_runs_where_a_timeout_would():
    """schedule_triggered (a review's event, used again for the next review) puts it on the heap with the key
    env.timeout would give it: under env.run, the same events in the same order as with timeouts."""

    def simulate(reuse: bool) -> list:
        env, log = simpy.Environment(), []
        spare = succeeded_event(env)

        def finish(event):
            log.append((env.now, event.value))
            if event.value < 6:
                start(event.value + 1, event)

        def start(k, event=None):
            if reuse:
                schedule_triggered(event or spare, k, [finish], env.now + 1.5)
            else:
                env.timeout(1.5, k).callbacks.append(finish)

        def other():
            for t in range(8):
                log.append((env.now, f"tick{t}"))
                yield env.timeout(1.5 if t % 2 else 0.75)

        env.process(other())
        start(0)
        env.run(until=8.0)
        return log

    assert simulate(True) == simulate(False)
    assert len(simulate(True)) > 10
