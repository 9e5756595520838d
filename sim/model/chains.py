"""Event chains: many timed items behind one entry on SimPy's heap. The one module that touches SimPy's internals.

Everything else in the model uses SimPy's public API (processes, timeouts, ``env.run``). The hot
path (posts entering review, reviews ending, auto-close timers) is the exception, because it is
where the time goes: a Cambodia year has about a million of these events. Its tricks live here and
only here, and rely on SimPy 4's event queue (``env._queue`` of ``(time, priority, id, event)``,
``env._eid``, an event's ``_ok``/``_value``): ``pyproject.toml`` bounds ``simpy`` below 5, and
tests/test_event_chains.py checks that chains give the same events in the same order as one
timeout per item would under ``env.run``. Outside this module the hot path only reads: the clock
as ``env._now`` and an event's value (a review's or a later report's ticket) as ``event._value``,
the attributes behind SimPy's ``now`` and ``value`` properties (a property costs a Python call, and
every ticket read them six times).

A day's batch can hold tens of thousands of posts that will enter review over the following
days, and every reported post sets an auto-close timer a week ahead. A timeout for each would
fill SimPy's heap with them, making every heap operation of the run pay for their number. A
chain keeps such items in time order itself and puts only the earliest on the heap, as an event
that is pushed again for the next item when it fires (or, when that item is the earliest event
left anyway, runs it at once as SimPy's loop would next). Each item keeps the key (time, priority,
event id) its own timeout would have had, the id taken when the item is created, so events run
in exactly the order separate timeouts would give and results do not change.
"""

from __future__ import annotations

import itertools
from collections import deque
from heapq import heappush
from typing import Any, Callable

import numpy as np
from simpy import Environment
from simpy.events import NORMAL, Event

CHUNK = 256


def drop_pending(env: Environment) -> None:
    """Forget the events still scheduled after the run stopped: they refer to the actors that made them, which
    refer to the environment, and only the cycle collector would free them otherwise."""
    env._queue.clear()


def succeeded_event(env: Environment) -> Event:
    """An event already marked as succeeded, to be put on the heap by ``schedule_triggered`` (again and again)."""
    event = Event(env)
    event._ok = True
    return event


def schedule_triggered(event: Event, value: Any, callbacks: list, time: float) -> None:
    """Put a succeeded event on the heap at `time` with `value`, as ``env.timeout(time - now, value)`` would (the
    same key: time, NORMAL, the next event id), without making a new event: the reviewer pools' reviews."""
    event._value = value
    event.callbacks = callbacks
    heappush(event.env._queue, (time, NORMAL, next(event.env._eid), event))


class _Chain:
    """The one heap entry of a chain: an event pushed again with the key of the chain's next item."""

    def __init__(self, env: Environment):
        self.env = env
        self._event = Event(env)
        self._event._ok = True

    def _schedule(self, time: float, event_id: int) -> None:
        event = self._event
        event.callbacks = [self._fire]
        heappush(self.env._queue, (time, NORMAL, event_id, event))

    def _fire(self, event: Event) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class ArrivalChain(_Chain):
    """The posts of one batch that will enter review, handed to `deliver` one by one at their entry times.

    `times` are the entry times sorted (stably), `order` the posts' positions in the batch's row order
    (the order their event ids are taken in), and `items(start, end)` what is handed over for the
    sorted posts start to end (the tickets). Items are made a chunk at a time, just before they are
    needed, so memory and cache use do not grow with the size of a batch."""

    def __init__(self, env: Environment, times: np.ndarray, order: np.ndarray,
                 items: Callable[[int, int], list], deliver: Callable[[Any], None]):
        super().__init__(env)
        n = len(times)
        if n == 0:
            raise ValueError("an arrival chain needs at least one post")
        first_id = next(env._eid)
        env._eid = itertools.count(first_id + n)  # the ids n separate timeouts would have taken, in row order
        self._times = times
        self._ids = first_id + order
        self._items = items
        self._deliver = deliver
        self._loaded = 0
        self._pending: list[tuple] = []  # (time, id, item) of the current chunk, the next one last
        self._load()
        self._schedule(*self._pending[-1][:2])

    def _load(self) -> None:
        start, end = self._loaded, min(self._loaded + CHUNK, len(self._times))
        self._loaded = end
        pending = list(zip(self._times[start:end].tolist(), self._ids[start:end].tolist(), self._items(start, end)))
        pending.reverse()
        self._pending = pending

    def _fire(self, event: Event) -> None:
        env = self.env
        queue = env._queue
        deliver = self._deliver
        pending = self._pending
        while True:
            item = pending.pop()[2]
            if not pending and self._loaded < len(self._times):
                self._load()
                pending = self._pending
            deliver(item)
            if not pending:
                return
            time, event_id, _ = pending[-1]
            if queue and (time, NORMAL, event_id) > queue[0]:
                event.callbacks = [self._fire]
                heappush(queue, (time, NORMAL, event_id, event))  # self._schedule(time, event_id), inlined
                return
            # The next item is the earliest event there is, so SimPy would run it next: run it now, without
            # the round trip through the heap (its event id was taken when the chain was made).
            env._now = time

    def remaining(self) -> int:
        """Posts of the batch not yet handed over."""
        return len(self._pending) + len(self._times) - self._loaded


class DeadlineChain(_Chain):
    """Timers that all call `expire(value)` the same delay after they are set. Set in time order, they expire
    in the order they were set, so they wait in a first-in first-out queue."""

    def __init__(self, env: Environment, delay: float, expire: Callable[[Any], None]):
        super().__init__(env)
        self.delay = delay
        self._expire = expire
        self._pending: deque[tuple[float, int, Any]] = deque()

    def set(self, value: Any) -> None:
        """Start a timer for value, expiring `delay` hours from now."""
        env = self.env
        item = (env._now + self.delay, next(env._eid), value)
        self._pending.append(item)
        if len(self._pending) == 1:
            self._schedule(item[0], item[1])

    def _fire(self, event: Event) -> None:
        pending = self._pending
        value = pending.popleft()[2]
        if pending:
            self._schedule(*pending[0][:2])
        self._expire(value)
