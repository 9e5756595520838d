"""Enforcement: strikes for removed posts, and a ladder of restrictions as strikes add up.

Every removal gives the author strikes; strikes expire after a set time; the number of active
strikes picks the highest rung of the ladder reached (the 2023 ladder: feature limits from 2
strikes, then 1-, 3-, 7- and 30-day suspensions). A suspended account cannot post. Public
figures are restricted only under the civil-unrest protocol, that is only while a crisis is
designated; otherwise their strikes are counted and the restriction is waived.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict

import numpy as np

from sim.scenario.schema import Enforcement


class Enforcer:
    """Strike records and suspensions of the accounts that have had content removed."""

    def __init__(self, policy: Enforcement):
        self.policy = policy
        self.ladder = sorted(policy.ladder, key=lambda rung: rung.strikes)
        # Strike times per account, oldest first; strikes are only ever added at the current time, so once
        # expired a strike stays expired and is dropped from the front (counts are unchanged).
        self._strikes: dict[tuple[int, int], list[float]] = {}
        self.per_removal = policy.strikes_per_removal
        self._expiry = policy.strike_expiry
        # The rung an account reaches with a given number of active strikes (the last rung of the sorted
        # ladder whose threshold it meets): the ladder scanned from the top.
        self._rungs = tuple(reversed(self.ladder))
        self._lowest = self.ladder[0].strikes if self.ladder else None
        # Suspension intervals per account in the order given (so by start time), and the latest end among the
        # first k of them: whether an account was suspended at a time is one bisection.
        self.suspended: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
        self._reach: dict[tuple[int, int], list[float]] = defaultdict(list)
        self.strikes_issued = 0
        self.restrictions_issued = 0
        self.suspensions = 0
        self.waived = 0

    def on_removal(self, account: tuple[int, int], now: float, restrictable: bool) -> str | None:
        """Record strikes for a removal; return the restriction applied ('suspension', ...) or None."""
        per_removal = self.per_removal
        if per_removal == 0:
            return None
        self.strikes_issued += per_removal
        strikes = self._strikes.get(account)
        if strikes is None:
            strikes = self._strikes[account] = [now] * per_removal
        else:
            expiry = self._expiry
            if now - strikes[0] >= expiry:
                # expired strikes are at the front (times never decrease); drop them
                k = 1
                while k < len(strikes) and now - strikes[k] >= expiry:
                    k += 1
                del strikes[:k]
            strikes.extend([now] * per_removal)
        active = len(strikes) if self._expiry > 0 else 0
        if self._lowest is None or active < self._lowest:
            return None
        rung = None
        for candidate in self._rungs:
            if active >= candidate.strikes:
                rung = candidate
                break
        if rung is None:
            return None
        if not restrictable:
            self.waived += 1
            return None
        self.restrictions_issued += 1
        if rung.restriction == "suspension":
            self.suspend(account, now, rung.duration)
        return rung.restriction

    def suspend(self, account: tuple[int, int], now: float, hours: float) -> None:
        """Suspend an account from now for a number of hours."""
        self.suspensions += 1
        end = now + hours
        reach = self._reach[account]
        self.suspended[account].append((now, end))
        reach.append(max(reach[-1], end) if reach else end)

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
