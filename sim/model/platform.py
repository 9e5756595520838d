"""The platform in the country: whether it is up, blocked or throttled, who has left it, who is suspended.

Every other actor asks this one. In the 2023 case the government threatened to block Facebook
and its leader moved his following to Telegram; suspensions of accounts come from the strike
ladder and from the board's recommendations. All of that is state of the platform itself, kept
here as intervals in time, so that both the running model (may this post be published? may this
report be filed?) and the outcomes after the run (how many views did a post have while it was
up and the platform reachable?) read the same record:

- **blocks**: ``[start, end)`` intervals during which nothing happens on the platform in the
  country: no posts, no views, no reports. A block can be lifted early (``lift_blocks``).
- **throttles**: ``(start, end, factor)`` intervals during which the platform runs ``factor``
  times slower: a ``factor``-th of the posts are published, views accrue ``factor`` times more
  slowly, and a report is filed with chance ``1 / factor`` (fewer viewers, fewer reports).
- **migration**: from ``migrated_at`` the leader's accounts post elsewhere, with a share of their
  audience (``audience_share``).
- **suspensions**: per account, the intervals during which it could not post.
- **users lost**: the share of users who left for good (``active_share`` is what remains).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict

import numpy as np


class Platform:
    """The platform's availability in the country and its accounts' standing, over the run."""

    def __init__(self, leaders: list[int], users: float):
        self.leaders = list(leaders)
        self.users = users
        self.blocks: list[list[float]] = []
        self.throttles: list[tuple[float, float, float]] = []
        self.migrated_at: float | None = None
        self.audience_share = 0.0
        self.active_share = 1.0
        self.users_lost = 0.0
        # Suspension intervals per account in the order given (so by start time), and the latest end among the
        # first k of them: whether an account was suspended at a time is one bisection.
        self.suspended: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
        self._reach: dict[tuple[int, int], list[float]] = defaultdict(list)
        # Whether anything may keep a post or a report off the platform yet (a block, a throttle, the leader's
        # migration, a suspension): set by what brings one, read for every ticket, so a flag, not a property.
        self.disrupted = False

    # ---------------------------------------------------------------- blocks and throttles

    def block(self, now: float, hours: float) -> list[float] | None:
        """Block the platform from now for `hours`; the new block, or None if one is in force already."""
        if self.blocked(now):
            return None
        self.blocks.append([now, now + hours])
        self.disrupted = True
        return self.blocks[-1]

    def lift_blocks(self, now: float) -> int:
        """End every block in force now; how many were."""
        lifted = 0
        for block in self.blocks:
            if block[0] <= now < block[1]:
                block[1] = now
                lifted += 1
        return lifted

    def blocked(self, at: float) -> bool:
        """Whether the platform was blocked in the country at that time."""
        for start, end in self.blocks:  # a plain loop: this runs for every ticket once a block has happened
            if start <= at < end:
                return True
        return False

    def block_end(self, at: float) -> float:
        """When the block in force at that time ends (or `at` when none is)."""
        for start, end in self.blocks:
            if start <= at < end:
                return end
        return at

    def throttle(self, now: float, hours: float, factor: float) -> None:
        """Slow the platform by `factor` from now for `hours`."""
        self.throttles.append((now, now + hours, factor))
        self.disrupted = True

    def throttle_factor(self, at: float) -> float:
        """How many times slower the platform runs at that time (1: not throttled)."""
        factor = 1.0
        for start, end, slower in self.throttles:
            if start <= at < end:
                factor = max(factor, slower)
        return factor

    def files_report(self, at: float, u: float) -> bool:
        """Whether a report at that time reaches the platform (`u` is the report's own uniform)."""
        if self.blocks and self.blocked(at):
            return False
        return not self.throttles or u * self.throttle_factor(at) < 1.0

    def report_mask(self, times: np.ndarray, uniforms: np.ndarray | None) -> np.ndarray:
        """`files_report` on arrays: which reports at these times (with these uniforms) reached the platform."""
        filed = np.ones(len(times), dtype=bool)
        for start, end in self.blocks:
            filed &= ~((times >= start) & (times < end))
        if uniforms is not None:
            for start, end, factor in self.throttles:
                filed &= ~((times >= start) & (times < end) & (uniforms * factor >= 1.0))
        return filed

    def posting_share(self, t0: float, t1: float) -> float:
        """The share of the posts of [t0, t1) that a throttle lets through (1 with none)."""
        if not self.throttles or t1 <= t0:
            return 1.0
        lost = sum(max(min(t1, end) - max(t0, start), 0.0) * (1.0 - 1.0 / factor)
                   for start, end, factor in self.throttles)
        return max(1.0 - lost / (t1 - t0), 0.0)

    def lost_hours(self, start: np.ndarray, until: np.ndarray) -> np.ndarray:
        """Hours of [start, until) during which no views accrued: every blocked hour, and (1 - 1/factor) of
        every throttled one (views accrue `factor` times more slowly)."""
        lost = np.zeros(len(start))
        for a, b in self.blocks:
            lost += np.clip(np.minimum(until, b) - np.maximum(start, a), 0.0, None)
        for a, b, factor in self.throttles:
            lost += np.clip(np.minimum(until, b) - np.maximum(start, a), 0.0, None) * (1.0 - 1.0 / factor)
        return lost

    def blocked_hours(self, horizon: float) -> float:
        """Hours the platform was blocked before the horizon."""
        return sum(max(min(end, horizon) - start, 0.0) for start, end in self.blocks)

    def throttled_hours(self, horizon: float) -> float:
        """Hours the platform was throttled before the horizon (overlapping throttles counted once)."""
        hours, reached = 0.0, 0.0
        for start, end, _ in sorted(self.throttles):
            start, end = max(start, reached), min(end, horizon)
            if end > start:
                hours += end - start
                reached = end
        return hours

    # ---------------------------------------------------------------- users and accounts

    def lose_users(self, share: float) -> None:
        """A share of the remaining users leaves the platform for good."""
        self.users_lost += self.users * self.active_share * share
        self.active_share *= 1 - share

    def migrate(self, now: float, audience_share: float) -> bool:
        """The leader leaves for other channels with a share of his audience; False if he already has."""
        if self.migrated_at is not None:
            return False
        self.migrated_at, self.audience_share = now, audience_share
        self.disrupted = True
        return True

    def suspend(self, account: tuple[int, int], now: float, hours: float) -> None:
        """Suspend an account from now for a number of hours."""
        end = now + hours
        reach = self._reach[account]
        self.suspended[account].append((now, end))
        self.disrupted = True
        reach.append(max(reach[-1], end) if reach else end)

    def end_suspensions(self, account: tuple[int, int], now: float, end: float, open_only: bool = False) -> int:
        """End the account's suspensions in force now (only the open-ended ones with `open_only`) at `end` (a term
        given to open-ended ones, or a lift now); how many."""
        intervals = self.suspended.get(account, [])
        changed = [k for k, (start, until) in enumerate(intervals)
                   if start <= now < until and (not open_only or math.isinf(until))]
        for k in changed:
            intervals[k] = (intervals[k][0], end)
        if changed:
            reach = self._reach[account]
            for i in range(changed[0], len(intervals)):
                reach[i] = max(reach[i - 1], intervals[i][1]) if i else intervals[i][1]
        return len(changed)

    def suspension_end(self, account: tuple[int, int], at: float) -> float:
        """When the account's suspension in force at that time ends (`at` when none is)."""
        ends = [end for start, end in self.suspended.get(account, ()) if start <= at < end]
        return max(ends) if ends else at

    def is_suspended(self, account: tuple[int, int], at: float) -> bool:
        """Whether the account was suspended at that time."""
        intervals = self.suspended.get(account)
        if not intervals:
            return False
        k = bisect_right(intervals, (at, math.inf))  # intervals starting at or before `at`
        return k > 0 and self._reach[account][k - 1] > at

    def suspended_at(self, klass: np.ndarray, author: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Whether each (class, author) account was suspended at the given time; works on arrays."""
        out = np.zeros(len(at), dtype=bool)
        if not self.suspended or len(at) == 0:
            return out
        accounts = int(author.max()) + 1
        key = klass.astype(np.int64) * accounts + author
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        for (k, a), intervals in self.suspended.items():
            if a >= accounts:
                continue
            lo, hi = np.searchsorted(sorted_key, [k * accounts + a, k * accounts + a + 1])
            if lo == hi:
                continue
            mine = order[lo:hi]
            when = at[mine]
            j = np.searchsorted(np.asarray(intervals)[:, 0], when, side="right")
            reach = np.asarray(self._reach[(k, a)])
            out[mine[(j > 0) & (reach[np.maximum(j - 1, 0)] > when)]] = True
        return out

    # ---------------------------------------------------------------- what could be published

    def is_suppressed(self, klass: int, author: int, created: float) -> bool:
        """Whether a post could not have been published: its author was suspended or had left for other
        channels then, or the platform was blocked."""
        if self.blocks and self.blocked(created):
            return True
        if self.migrated_at is not None and klass in self.leaders and created >= self.migrated_at:
            return True
        return bool(self.suspended) and self.is_suspended((klass, author), created)

    def existing_mask(self, klass: np.ndarray, author: np.ndarray, created: np.ndarray) -> np.ndarray:
        """`is_suppressed`'s complement on arrays: the posts really published on the platform."""
        exists = ~self.suspended_at(klass, author, created)
        for start, end in self.blocks:
            exists &= ~((created >= start) & (created < end))
        if self.migrated_at is not None:
            exists &= ~(np.isin(klass, self.leaders) & (created >= self.migrated_at))
        return exists
