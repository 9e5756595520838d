"""Review: queues worked by reviewer pools, in the order a priority policy sets.

Reviewers pull work: when one becomes free it takes the ticket with the highest priority from
its pool's queue (``sim.model.policies``). A review is one triggered event on SimPy's heap with a
callback, not a process per ticket: this is the hot path (every ticket passes here, a million
times a simulated year in the 2023 case), and a process per review would cost a generator, an
Initialize event and a timeout each. Pools follow daily shifts (a generator process): when a shift
ends, reviewers finish what they hold and leave. A later report on a waiting ticket raises its
priority by ``review.report_boost`` of it per report after the first (the ticket is pushed again
and its older heap entry ignored), not the load.
"""

from __future__ import annotations

import heapq
from array import array
from collections import deque
from typing import Callable

import simpy
from simpy.events import Event

from sim.model.chains import schedule_triggered, succeeded_event
from sim.model.tickets import IN_REVIEW, CLOSED, WAITING, Ticket

heappush, heappop = heapq.heappush, heapq.heappop


class ReviewQueue:
    """A priority queue of tickets with lazy deletion, keeping its length's time integral.

    Urgent tickets (authors' appeals) come before all others; then the policy's priority; then arrival.
    Under a policy whose priority never changes (FIFO) that order is arrival order within each urgency,
    so such a queue is two first-in first-out lines instead of a heap."""

    def __init__(self, env: simpy.Environment, policy, report_boost: float = 0.0):
        self.env = env
        self.policy = policy
        self._priority = policy.priority
        self._boost = report_boost if policy.uses_reports else 0.0
        self._heap: list = []
        self._seq = 0
        self.waiting = 0
        self.area = 0.0
        self._last = 0.0
        self.arrivals = 0
        self.peak = 0  # the most tickets waiting at once
        constant = getattr(policy, "constant", False)
        self._lines = (deque(), deque()) if constant else None  # by urgency: (normal, urgent)
        self._lines_served = self._lines[::-1] if constant else None  # the order pop looks in: urgent first

    def _account(self, now: float) -> None:
        self.area += self.waiting * (now - self._last)
        self._last = now

    def push(self, ticket: Ticket) -> None:
        """Add a ticket (or re-rank one already waiting)."""
        now = self.env._now
        if ticket.state != WAITING or ticket.version == 0:
            self.area += self.waiting * (now - self._last)
            self._last = now
            self.waiting += 1
            if self.waiting > self.peak:
                self.peak = self.waiting
            self.arrivals += 1
            ticket.state = WAITING
        version = ticket.version = ticket.version + 1
        if self._lines is not None:
            self._lines[ticket.urgency].append((version, ticket))
            return
        seq = self._seq = self._seq + 1
        priority = self._priority(ticket, now)
        if self._boost:
            priority *= 1.0 + self._boost * (ticket.reports_by(now) - 1)
        heappush(self._heap, (-ticket.urgency, -priority, seq, version, ticket))

    def take_directly(self, ticket: Ticket) -> None:
        """Push then pop a ticket into an empty queue, without the heap: the same accounting, the same result
        (with nothing else waiting, the ticket just pushed is the one popped)."""
        now = self.env._now
        self.area += self.waiting * (now - self._last)
        self._last = now
        self.arrivals += 1
        ticket.version += 1
        ticket.state = IN_REVIEW

    def pop(self) -> Ticket | None:
        """Take the highest-priority waiting ticket, or None."""
        found = None
        if self._lines is not None:
            for line in self._lines_served:
                while line:
                    version, ticket = line.popleft()
                    if ticket.state == WAITING and ticket.version == version:
                        found = ticket
                        break
                if found is not None:
                    break
        else:
            heap = self._heap
            while heap:
                _, _, _, version, ticket = heappop(heap)
                if ticket.state == WAITING and ticket.version == version:
                    found = ticket
                    break
        if found is None:
            return None
        now = self.env._now
        self.area += self.waiting * (now - self._last)
        self._last = now
        self.waiting -= 1
        found.state = IN_REVIEW
        return found

    def close(self, ticket: Ticket) -> None:
        """Take a waiting ticket out without review (auto-close, or the post went away)."""
        if ticket.state == WAITING:
            self._account(self.env.now)
            self.waiting -= 1
            ticket.state = CLOSED

    def still_waiting(self) -> list[Ticket]:
        """The tickets waiting now (each once; stale entries of re-ranked tickets skipped)."""
        entries = [e for line in self._lines for e in line] if self._lines is not None else \
            [(version, ticket) for *_, version, ticket in self._heap]
        return [ticket for version, ticket in entries if ticket.state == WAITING and ticket.version == version]

    def time_average(self, horizon: float) -> float:
        """Time-average number waiting over [0, horizon]."""
        self._account(horizon)
        return self.area / horizon if horizon > 0 else 0.0


class ReviewerPool:
    """Reviewers working one queue; each review is a timeout whose callback decides the ticket."""

    def __init__(self, env: simpy.Environment, name: str, queue: ReviewQueue, on_duty: Callable[[float], int],
                 hours_of: Callable[[Ticket], float], decide: Callable[[Ticket], None], horizon: float,
                 boundaries: tuple[float, ...] = ()):
        self.env = env
        self.name = name
        self.queue = queue
        self.on_duty = on_duty
        self.hours_of = hours_of
        self._spare: list[Event] = []  # review events done with, used again for the next reviews
        # SimPy's loop only reads an event's callback list, so every review shares this one.
        self._finish_callbacks = [self._finish]
        self.decide = decide
        self.horizon = horizon
        self.slowdown = 1.0
        self.capacity = on_duty(0.0)
        self.busy = 0
        self.work = 0.0
        self.warmup = 0.0
        # After the warm-up: the wait of every ticket taken into review, and its post; the arrival and post
        # of every ticket closed unreviewed (its wait is censored: it was never decided).
        # Kept as machine numbers (8 bytes a ticket each), not Python floats and ints in lists (about 36 each).
        self.waits = array("d")
        self.wait_posts = array("q")
        self.unreviewed: list[tuple[float, int]] = []
        self.boundaries = tuple(sorted(set(boundaries) | {0.0}))
        if len(self.boundaries) > 1:
            env.process(self._shifts(self.boundaries))

    def submit(self, ticket: Ticket) -> None:
        """A ticket arrives: queue it and start it at once if a reviewer is free."""
        ticket.pool = self
        queue = self.queue
        if self.busy < self.capacity and queue.waiting == 0 and (ticket.state != WAITING or ticket.version == 0):
            queue.take_directly(ticket)
            self._begin(ticket)
        else:
            queue.push(ticket)
            if self.busy < self.capacity:
                self._start_next()

    def _start_next(self) -> bool:
        ticket = self.queue.pop()
        if ticket is None:
            return False
        self._begin(ticket)
        return True

    def _begin(self, ticket: Ticket, review: Event | None = None) -> None:
        env = self.env
        now = env._now
        self.busy += 1
        if ticket.entered >= self.warmup:
            self.waits.append(now - ticket.entered)
            self.wait_posts.append(ticket.post)
        hours = self.hours_of(ticket) * self.slowdown
        end = now + hours
        self.work += hours if end <= self.horizon else max(self.horizon - now, 0.0)
        # A review is a triggered event on the heap at its end, with the key env.timeout(hours) would give it
        # (end, NORMAL, next event id); the event objects of finished reviews are used again.
        if review is None:
            spare = self._spare
            review = spare.pop() if spare else succeeded_event(env)
        schedule_triggered(review, ticket, self._finish_callbacks, end)

    def _finish(self, review: Event) -> None:
        self.busy -= 1
        self.decide(review._value)  # set by schedule_triggered; the value property re-checks it
        if self.busy < self.capacity and self.queue.waiting:
            ticket = self.queue.pop()
            if ticket is not None:
                self._begin(ticket, review)  # the finished review's event serves the next one
                return
        self._spare.append(review)

    def _shifts(self, boundaries: list[float]):
        day = 0.0
        while True:
            for hour in boundaries:
                at = day + hour
                if at > self.env.now:
                    yield self.env.timeout(at - self.env.now)
                self.capacity = self.on_duty(hour)
                while self.busy < self.capacity and self._start_next():
                    pass
            day += 24.0

    def close_unreviewed(self, ticket: Ticket) -> None:
        """Take a waiting ticket out of the queue unreviewed (auto-close), keeping its censored wait."""
        self.queue.close(ticket)
        if ticket.entered >= self.warmup:
            self.unreviewed.append((ticket.entered, ticket.post))

    def censored_waits(self) -> tuple[list[float], list[int]]:
        """Arrival times and posts of the tickets (after the warm-up) never decided: closed unreviewed, or
        still waiting now."""
        waiting = [(t.entered, t.post) for t in self.queue.still_waiting() if t.entered >= self.warmup]
        pairs = self.unreviewed + waiting
        return [entered for entered, _ in pairs], [post for _, post in pairs]

    def staffed_hours(self) -> float:
        """Reviewer-hours on duty over the horizon (the denominator of utilisation)."""
        full_days, rest = divmod(self.horizon, 24.0)
        edges = (*self.boundaries, 24.0)

        def staffed_until(limit: float) -> float:
            return sum(self.on_duty(a) * (min(b, limit) - a) for a, b in zip(edges, edges[1:]) if a < limit)

        return full_days * staffed_until(24.0) + staffed_until(rest)
