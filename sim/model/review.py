"""Review: queues worked by reviewer pools, in the order a priority policy sets.

Reviewers pull work: when one becomes free it takes the ticket with the highest priority from
its pool's queue. A review is one SimPy timeout with a callback, not a process per ticket, so
the cost of a review is a heap operation and one event. Pools follow daily shifts: when a shift
ends, reviewers finish what they hold and leave. A later report on a waiting ticket raises its
priority (the ticket is pushed again and its older heap entry ignored), not the load; under
``review.duplicates`` review_each or review_until it may open a ticket of its own instead
(DuplicateTicket), with the post's shared error probability when ``review.agreement`` is set
(``beta_error``).

A priority policy is an object with one method, ``priority(ticket, now) -> float`` (higher is
served first; ties in order of arrival), and flags saying whether duplicate reports change it
(``uses_reports``) and whether it reads the classifier's probability ``p_violating``
(``uses_scores``; tickets carry NaN there otherwise, as it is not worked out).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from bisect import bisect_right
from typing import Callable

import numpy as np
import simpy
from scipy.special import betaincinv
from simpy.events import NORMAL, Event

WAITING, IN_REVIEW, DONE, CLOSED = range(4)
heappush, heappop = heapq.heappush, heapq.heappop


# What a ticket is opened with: a row (integers, floats, report times, batch) per post, the first two in
# this order. They are what most tickets need; the rest is read from the post's batch when needed.
INT_FIELDS = ("post", "klass", "author", "severity", "violating", "source_is_report", "government_flag", "index")
FLOAT_FIELDS = ("created", "reach", "decay", "p_violating", "u_review", "review_hours", "u_appeal")


def _from_batch(column: str, k: int | None = None, doc: str = "") -> property:
    """A ticket field read from its post's row in the batch (column k of a two-dimensional column)."""
    if k is None:
        return property(lambda self: getattr(self.batch, column)[self.index].item(), doc=doc)
    return property(lambda self: getattr(self.batch, column)[self.index, k].item(), doc=doc)


class Ticket:
    """A post waiting for, or under, review; carries what reviewers and policies need to know.

    Made from the values of INT_FIELDS and FLOAT_FIELDS in their order (flags as 0 or 1), the post's
    sorted report times, and the PostBatch it was drawn in (at row `index`); `entered` is set when it
    enters review. The `u_*` fields are the uniforms that decide each step (review, cross-check,
    newsworthiness, appeal, board)."""

    __slots__ = (*INT_FIELDS, *FLOAT_FIELDS, "reports", "batch", "entered", "tracked", "state", "version", "tier",
                 "pool", "appeal", "urgency")

    def __init__(self, integers: list[int], floats: list[float], reports, batch, entered: float = math.nan,
                 tracked: str | None = None):
        self.reports, self.batch = reports, batch
        (self.post, self.klass, self.author, self.severity, self.violating, self.source_is_report,
         self.government_flag, self.index) = integers
        (self.created, self.reach, self.decay, self.p_violating, self.u_review, self.review_hours,
         self.u_appeal) = floats
        self.entered, self.tracked = entered, tracked
        self.state, self.version, self.tier, self.pool, self.appeal, self.urgency = WAITING, 0, 1, None, None, 0

    duplicate = False  # opened by the post's first signal (DuplicateTicket: by a later report)

    kind = _from_batch("kind", doc="What the post is (content.VIOLATING, ...).")
    category = _from_batch("category", doc="The post's policy category index.")
    source = _from_batch("source", doc="What opened the ticket (reporting.SOURCES index).")
    u_cross_check = _from_batch("escalation_uniforms", 0, "Uniform deciding the cross-check review.")
    u_newsworthy = _from_batch("escalation_uniforms", 1, "Uniform deciding the newsworthiness allowance.")
    cross_check_hours = _from_batch("cross_check_hours", doc="Handling time of a cross-check review (hours).")
    u_appeal_delay = _from_batch("appeal_uniforms", 0, "Uniform for the delay before an appeal is filed.")
    u_appeal_review = _from_batch("appeal_uniforms", 1, "Uniform deciding the appeal review.")
    u_board = _from_batch("appeal_uniforms", 2, "Uniform deciding whether the appellant goes to the board.")
    u_board_delay = _from_batch("appeal_uniforms", 3, "Uniform for the delay before a board appeal or referral.")
    u_referral = _from_batch("appeal_uniforms", 4, "Uniform deciding whether the platform refers a keep.")
    difficulty = _from_batch("difficulty", doc="Quantile of the post's Beta error probabilities (review.agreement).")

    def reports_by(self, now: float) -> int:
        """Reports filed on the post up to now (at least one ticket-opening signal)."""
        reports = self.reports
        if not reports:
            return 1
        # bisect on a short sorted array is several times cheaper than numpy's searchsorted call
        return max(1, bisect_right(reports, now))


class DuplicateTicket(Ticket):
    """A ticket opened by a later report of a post that has had one already (``review.duplicates`` review_each
    or review_until): the same post and fields, with the report's own review uniform and handling time."""

    __slots__ = ()
    duplicate = True


def beta_error(mean, concentration: float, quantile):
    """Error probability at the given quantile of a Beta distribution of this mean and concentration (a + b),
    on numbers or arrays: a post's difficulty (its quantile) gives its error probability at every tier, so a
    post hard at one tier is hard at all. A mean of 0 or 1 gives 0 or 1."""
    mean = np.asarray(mean, dtype=float)
    with np.errstate(invalid="ignore"):
        chance = betaincinv(mean * concentration, (1.0 - mean) * concentration, quantile)
    chance = np.where(mean <= 0.0, 0.0, np.where(mean >= 1.0, 1.0, chance))
    return chance if chance.ndim else float(chance)


class Fifo:
    """First in, first out: the order in which tickets arrived."""

    uses_reports = False
    uses_scores = False
    constant = True

    def priority(self, ticket: Ticket, now: float) -> float:
        """Every ticket has the same priority, so arrival order decides."""
        return 0.0


class _Boosted:
    """Shared part of the ranked policies: duplicate reports multiply the base priority."""

    uses_reports = True
    uses_scores = False

    def __init__(self, report_boost: float):
        self.report_boost = report_boost

    def priority(self, ticket: Ticket, now: float) -> float:
        """Base priority raised by report_boost for every report after the first."""
        return self.base(ticket, now) * (1.0 + self.report_boost * (ticket.reports_by(now) - 1))

    def base(self, ticket: Ticket, now: float) -> float:  # pragma: no cover - overridden
        raise NotImplementedError


class Severity(_Boosted):
    """Most severe first (since 2020 platforms rank by severity, virality and likelihood)."""

    def base(self, ticket: Ticket, now: float) -> float:
        """The ticket's severity, 1 to 4."""
        return float(ticket.severity)


class PredictedViews(_Boosted):
    """Most views still to come first: remaining views of the view curve."""

    def base(self, ticket: Ticket, now: float) -> float:
        """Views the post will still get if left up."""
        return ticket.reach * math.exp(-(now - ticket.created) / ticket.decay)


class ExpectedHarm(_Boosted):
    """Severity times remaining views times the classifier's probability of violation."""

    uses_scores = True

    def base(self, ticket: Ticket, now: float) -> float:
        """Expected severity-weighted views prevented by acting now."""
        remaining = ticket.reach * math.exp(-(now - ticket.created) / ticket.decay)
        return ticket.severity * remaining * ticket.p_violating


POLICIES = {"fifo": Fifo, "severity": Severity, "predicted_views": PredictedViews, "expected_harm": ExpectedHarm}


def make_policy(name: str, report_boost: float):
    """The priority policy of this name."""
    cls = POLICIES[name]
    return cls() if cls is Fifo else cls(report_boost)


class ReviewQueue:
    """A priority queue of tickets with lazy deletion, keeping its length's time integral.

    Urgent tickets (authors' appeals) come before all others; then the policy's priority; then arrival.
    Under a policy whose priority never changes (FIFO) that order is arrival order within each urgency,
    so such a queue is two first-in first-out lines instead of a heap."""

    def __init__(self, env: simpy.Environment, policy):
        self.env = env
        self.policy = policy
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
        heappush(self._heap, (-ticket.urgency, -self.policy.priority(ticket, now), seq, version, ticket))

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
        self.waits: list[float] = []
        self.wait_posts: list[int] = []
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
            if spare:
                review = spare.pop()
            else:
                review = Event(env)
                review._ok = True
        review._value = ticket
        review.callbacks = self._finish_callbacks
        heappush(env._queue, (end, NORMAL, next(env._eid), review))

    def _finish(self, review: Event) -> None:
        self.busy -= 1
        self.decide(review._value)
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
