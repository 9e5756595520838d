"""The government: a grievance that rises when the platform acts against its leader, and a ladder of responses.

Each action against the leader (his post removed, a board case on him, a ruling against him, a
recommendation to suspend him, a suspension) adds to a grievance that decays with a half-life.
Each step of the ladder (``sim.model.retaliation``) becomes possible once the grievance reaches its
threshold; a SimPy process then decides whether the government takes it, waits its delay, and takes
it, as Cambodia did in the days after the board's decision of 29 June 2023: a threat to block the
platform the next day, its staff expelled, the board's members barred within five. When the
platform yields (declines a recommendation) the government de-escalates: grievance drops, a block
lifts, staff return, the ladder can be climbed again; a ban on the board stays.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.retaliation import STEPS, RetaliationStep
from sim.scenario.schema import Government


class GovernmentActor:
    """The state's grievance and the steps of its ladder it has taken."""

    def __init__(self, world, spec: Government, rng: np.random.Generator):
        self.world = world
        self.env = world.env
        self.spec = spec
        self.rng = rng
        self.level = 0.0
        self._at = 0.0
        self._considered: set[int] = set()
        self.counts = {"steps": 0, "deescalations": 0, **{kind.counter: 0 for kind in STEPS},
                       **{step.counter: 0 for step in spec.ladder}}
        self.peak = 0.0
        # (time, rung): from then on the highest step taken since the last de-escalation (-1: none)
        self.rungs: list[tuple[float, int]] = [(0.0, -1)]

    def grievance(self, now: float) -> float:
        """Grievance now, after decay since the last change."""
        return self.level * math.pow(0.5, (now - self._at) / self.spec.half_life)

    def _set(self, value: float, now: float) -> None:
        self.level, self._at = value, now

    def action(self, amount: float, reason: str) -> None:
        """The platform did something against the leader: grievance rises, and each step it now reaches is
        considered (once until the next de-escalation)."""
        if not self.spec.enabled or amount <= 0:
            return
        now = self.env.now
        self._set(self.grievance(now) + amount, now)
        self.peak = max(self.peak, self.level)
        self.world.timeline.government(now, "gov_grievance", f"+{amount:g} ({reason}), now {self.level:.1f}")
        for rung, step in enumerate(self.spec.ladder):
            if rung not in self._considered and self.level >= step.threshold:
                self._considered.add(rung)
                if self.rng.random() < step.probability:
                    self.env.process(self._take(rung, step, self.rng.exponential(step.delay)))

    def _take(self, rung: int, step: RetaliationStep, delay: float):
        """One step of the ladder: decided on, prepared for its delay, then taken."""
        yield self.env.timeout(delay)
        now = self.env.now
        detail = step.act(self, now)
        if detail is None:
            return
        self.counts[step.counter] += step.tally(self.world)
        self.counts["steps"] += 1
        if rung > self.rungs[-1][1]:
            self.rungs.append((now, rung))
        self.world.timeline.government(now, step.event, detail)

    def block_ends(self, block: list[float]):
        """A block of the platform runs its course (unless the government lifted it earlier)."""
        yield self.env.timeout(block[1] - block[0])
        if block[1] <= self.env.now + 1e-9:
            self.world.timeline.government(self.env.now, "gov_block_end", "platform unblocked")

    def platform_yields(self, reason: str) -> None:
        """The platform gave way: grievance drops, blocks lift, staff return (a board ban stays)."""
        if not self.spec.enabled:
            return
        now = self.env.now
        self._set(self.grievance(now) * (1 - self.spec.deescalation), now)
        self.counts["deescalations"] += 1
        if self.world.platform.lift_blocks(now):
            self.world.timeline.government(now, "gov_block_end", "block lifted")
        self.world.slow_escalations(1.0)
        self._considered.clear()
        self.rungs.append((now, -1))
        self.world.timeline.government(now, "gov_deescalation", reason)

    def days_at_rungs(self, horizon: float) -> dict[str, float]:
        """Days before the horizon during which each kind of step was the highest taken since the last
        de-escalation (the government stood on that rung of its ladder)."""
        days = {step.kind: 0.0 for step in self.spec.ladder}
        for (start, rung), (end, _) in zip(self.rungs, [*self.rungs[1:], (horizon, -1)]):
            if rung >= 0:
                days[self.spec.ladder[rung].kind] += max(min(end, horizon) - start, 0.0) / 24.0
        return days

    def record(self, horizon: float) -> dict[str, float]:
        """The government's outcomes at the horizon."""
        counts = self.counts
        return {
            "retaliation_events": float(counts["steps"]),
            **{name: float(count) for name, count in counts.items() if name not in ("steps", "deescalations")},
            "deescalations": float(counts["deescalations"]),
            "grievance_peak": float(self.peak),
            "grievance_at_horizon": float(self.grievance(horizon)),
            **{f"days_at_rung_{kind}": days for kind, days in self.days_at_rungs(horizon).items()},
        }
