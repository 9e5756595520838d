"""The civil-unrest protocol: when the platform designates a crisis, the only time it restricts public figures.

Meta's protocol for public figures during civil unrest (2021) restricts a public figure's account
only while the country is designated in crisis. The designation here follows what the model itself
produces: each day the harm actor (``sim.model.harm``) reports the day's harm events (attacks on
critics) and, under the continuing-threat policy the board recommended in 2023, the day's
continuing threats by the state; when their sum over a rolling window exceeds ``factor`` times the
baseline rate over that window, a SimPy process designates a crisis ``delay`` later, and the
designation ends once the signal has stayed at or below that threshold for ``duration``.
"""

from __future__ import annotations

import math
from collections import deque

from sim.scenario.schema import CrisisProtocol, Harm

DAY = 24.0


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
                self.world.env.process(self._designation())
        elif (self.designated and not self.spec.violence_above_baseline
              and now - self._last_above >= self.spec.duration):
            self.designated = False
            self.periods[-1][1] = now

    def _designation(self):
        """The platform takes `delay` to designate a crisis once the signal crosses the threshold."""
        yield self.world.env.timeout(self.spec.delay)
        self._designate(self.world.env.now)

    def _designate(self, now: float) -> None:
        self._pending = False
        if self.designated:
            return
        self.designated = True
        self.periods.append([now, math.inf])
        accounts = getattr(self.world, "accounts", None)  # the platform's review of accounts (sim.model.accounts)
        if accounts is not None:
            accounts.review(now)

    def days(self, horizon: float) -> float:
        """Days in crisis before the horizon."""
        return sum(max(min(end, horizon) - start, 0.0) for start, end in self.periods) / DAY
