"""Enforcement: strikes for removed posts, and a ladder of restrictions as strikes add up.

Every removal gives the author strikes; strikes expire after a set time; the number of active
strikes picks the highest rung of the ladder reached (the 2023 ladder: feature limits from 2
strikes, then 1-, 3-, 7- and 30-day suspensions). A suspended account cannot post. Public
figures are restricted only under the civil-unrest protocol, that is only while a crisis is
designated; otherwise their strikes are counted and the restriction is waived. Under the protocol
a public figure's removal restricts the account by the protocol's tiers (1 month to 2 years by
active strikes, CASE) when the scenario gives them, by the ordinary ladder otherwise.

The protocol's designation (``CrisisProtocolActor``) follows what the model produces: each day the
harm actor (``sim.model.harm``) reports the day's harm events and, under the continuing-threat
policy, the day's continuing threats; when their sum over the rolling window exceeds ``factor``
times the baseline rate over that window, a crisis is designated ``delay`` later, and it ends once
the signal has stayed at or below that threshold for ``duration``.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict, deque

import numpy as np

from sim.scenario.schema import CrisisProtocol, Enforcement, Harm

DAY = 24.0
PROTOCOL = "protocol_suspension"  # what on_removal returns for a restriction by the protocol's tiers


class Enforcer:
    """Strike records and suspensions of the accounts that have had content removed."""

    def __init__(self, policy: Enforcement, tiers=()):
        self.policy = policy
        # The protocol's tiers for public figures in a crisis, highest first (empty: the ladder applies to them).
        self._tiers = tuple(sorted(tiers, key=lambda tier: tier.strikes, reverse=True))
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
        self.public_figure_restrictions = 0  # restrictions of public figures while a crisis was designated

    def on_removal(self, account: tuple[int, int], now: float, restrictable: bool,
                   public_figure: bool = False) -> str | None:
        """Record strikes for a removal; return the restriction applied ('suspension', ..., PROTOCOL for
        the protocol's tiers) or None. A public figure is restrictable only while a crisis is designated."""
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
        if public_figure and self._tiers:
            return self._protocol(account, now, restrictable, active)
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
        if public_figure:
            self.public_figure_restrictions += 1
        if rung.restriction == "suspension":
            self.suspend(account, now, rung.duration)
        return rung.restriction

    def _protocol(self, account: tuple[int, int], now: float, restrictable: bool, active: int) -> str | None:
        """A public figure's removal under the protocol's tiers: the highest tier its active strikes reach."""
        for tier in self._tiers:
            if active >= tier.strikes:
                break
        else:
            return None
        if not restrictable:
            self.waived += 1
            return None
        self.restrictions_issued += 1
        self.public_figure_restrictions += 1
        self.suspend(account, now, tier.restriction)
        return PROTOCOL

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


class CrisisProtocolActor:
    """Crisis designations under the civil-unrest protocol, from the signal the harm actor reports each day.

    The signal is the number of harm events (attacks on critics) over the rolling ``window`` (whole
    days), plus, under ``requires: continuing_threat``, the continuing threats counted on those days
    (a head of government's violating incitement posts still up after ``threat_delay``, one a day
    each). When it exceeds ``factor`` x ``baseline_per_day`` x the window's days, the platform
    designates a crisis ``delay`` later; the designation ends at the first daily check at which the
    signal has stayed at or below that threshold for ``duration``. With ``violence_above_baseline:
    true`` a crisis is designated from the start for the whole run, whatever the signal.
    """

    def __init__(self, world, spec: CrisisProtocol, harm: Harm):
        self.world = world
        self.spec = spec
        self.window_days = max(1, round(spec.window / DAY))
        baseline = harm.base_per_day if spec.baseline_per_day is None else spec.baseline_per_day
        self.threshold = spec.factor * baseline * self.window_days
        self._window: deque[int] = deque(maxlen=self.window_days)
        self.designated = False
        self.periods: list[list[float]] = []  # [start, end] of each designation (end inf while it lasts)
        self.signal_peak = 0
        self._pending = False
        self._last_above = -math.inf
        if spec.violence_above_baseline:
            self._designate(0.0)

    def observe(self, now: float, harm: int, threats: int) -> None:
        """The end of a day: its harm events and continuing threats enter the rolling window."""
        self._window.append(harm + threats)
        signal = sum(self._window)
        self.signal_peak = max(self.signal_peak, signal)
        if signal > self.threshold:
            self._last_above = now
            if not self.designated and not self._pending:
                self._pending = True
                event = self.world.env.timeout(self.spec.delay)
                event.callbacks.append(lambda ev: self._designate(self.world.env.now))
        elif (self.designated and not self.spec.violence_above_baseline
              and now - self._last_above >= self.spec.duration):
            self.designated = False
            self.periods[-1][1] = now

    def _designate(self, now: float) -> None:
        self._pending = False
        if self.designated:
            return
        self.designated = True
        self.periods.append([now, math.inf])

    def days(self, horizon: float) -> float:
        """Days in crisis before the horizon."""
        return sum(max(min(end, horizon) - start, 0.0) for start, end in self.periods) / DAY
