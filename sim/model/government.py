"""The government: a grievance that rises when the platform acts against its leader, and a ladder of responses.

Each action against the leader (his post removed, a board case on him, a ruling against him, a
recommendation to suspend him, a suspension) adds to a grievance that decays with a half-life.
Each rung of the ladder becomes possible once the grievance reaches its threshold; it is then
taken with its probability after a delay: public threats, expelling the platform's staff (which
slows escalations and cross-check), barring the board's members, blocking the platform (posting,
views and reports stop in the country for the block's length, and some users leave for good),
and the leader moving to other channels, where his audience and exposure continue out of the
platform's reach. When the platform yields (declines a recommendation) the government
de-escalates: grievance drops, a block lifts, staff return; a ban on the board stays.
"""

from __future__ import annotations

import math

import numpy as np

from sim.scenario.schema import Government, RetaliationStep

KIND_EVENT = {"threat": "gov_threat", "expel_staff": "gov_staff_expelled", "bar_board": "gov_board_barred",
              "block": "gov_block_start", "migrate": "gov_migration"}


class GovernmentActor:
    """The state's grievance and the steps of its ladder it has taken."""

    def __init__(self, world, spec: Government, rng: np.random.Generator):
        self.world = world
        self.spec = spec
        self.rng = rng
        self.level = 0.0
        self._at = 0.0
        self._considered: set[int] = set()
        self.counts = {"threats": 0, "staff_expelled": 0, "board_members_barred": 0, "platform_blocks": 0,
                       "migrations": 0, "deescalations": 0, "steps": 0}
        self.blocks: list[list[float]] = []
        self.migrated_at: float | None = None
        self.audience_share = 0.0
        self.peak = 0.0
        # (time, rung): from then on the highest step taken since the last de-escalation (-1: none)
        self.rungs: list[tuple[float, int]] = [(0.0, -1)]

    def grievance(self, now: float) -> float:
        """Grievance now, after decay since the last change."""
        return self.level * math.pow(0.5, (now - self._at) / self.spec.half_life)

    def _set(self, value: float, now: float) -> None:
        self.level, self._at = value, now

    def action(self, amount: float, reason: str) -> None:
        """The platform did something against the leader: grievance rises and the ladder is checked."""
        if not self.spec.enabled or amount <= 0:
            return
        now = self.world.env.now
        self._set(self.grievance(now) + amount, now)
        self.peak = max(self.peak, self.level)
        self.world.trace_government(now, "gov_grievance", f"+{amount:g} ({reason}), now {self.level:.1f}")
        for index, step in enumerate(self.spec.ladder):
            if index in self._considered or self.level < step.threshold:
                continue
            self._considered.add(index)
            if self.rng.random() < step.probability:
                event = self.world.env.timeout(self.rng.exponential(step.delay), step)
                event.callbacks.append(self._take)

    def _take(self, event) -> None:
        step: RetaliationStep = event._value
        world, now = self.world, self.world.env.now
        if step.kind == "threat":
            self.counts["threats"] += 1
            detail = "public threat against the platform"
        elif step.kind == "expel_staff":
            self.counts["staff_expelled"] += 1
            world.slow_escalations(step.slowdown)
            detail = f"platform staff expelled; escalations {step.slowdown:g}x slower"
        elif step.kind == "bar_board":
            self.counts["board_members_barred"] += world.scenario.board.members
            detail = f"{world.scenario.board.members} board members barred"
        elif step.kind == "block":
            if self.blocked(now):
                return
            self.counts["platform_blocks"] += 1
            end = now + step.duration
            self.blocks.append([now, end])
            world.lose_users(step.user_loss)
            unblock = world.env.timeout(step.duration, self.blocks[-1])
            unblock.callbacks.append(self._unblock)
            detail = f"platform blocked for {step.duration / 24:.0f} days; {step.user_loss:.0%} of users leave"
        else:
            if self.migrated_at is not None:
                return
            self.counts["migrations"] += 1
            self.migrated_at = now
            self.audience_share = step.audience_share
            detail = f"leader moves to other channels with {step.audience_share:.0%} of his audience"
        self.counts["steps"] += 1
        rung = self.spec.ladder.index(step)
        if rung > self.rungs[-1][1]:
            self.rungs.append((now, rung))
        world.trace_government(now, KIND_EVENT[step.kind], detail)

    def _unblock(self, event) -> None:
        block = event._value
        if block[1] <= self.world.env.now + 1e-9:
            self.world.trace_government(self.world.env.now, "gov_block_end", "platform unblocked")

    def blocked(self, at: float) -> bool:
        """Whether the platform was blocked in the country at that time."""
        for start, end in self.blocks:  # a plain loop: this runs for every ticket once a block has happened
            if start <= at < end:
                return True
        return False

    def block_end(self, at: float) -> float:
        """When the block in force at that time ends (or `at` when none is)."""
        for a, b in self.blocks:
            if a <= at < b:
                return b
        return at

    def platform_yields(self, reason: str) -> None:
        """The platform gave way: grievance drops, blocks lift, staff return (a board ban stays)."""
        if not self.spec.enabled:
            return
        now = self.world.env.now
        self._set(self.grievance(now) * (1 - self.spec.deescalation), now)
        self.counts["deescalations"] += 1
        for block in self.blocks:
            if block[0] <= now < block[1]:
                block[1] = now
                self.world.trace_government(now, "gov_block_end", "block lifted")
        self.world.slow_escalations(1.0)
        self._considered.clear()
        self.rungs.append((now, -1))
        self.world.trace_government(now, "gov_deescalation", reason)

    def days_at_rungs(self, horizon: float) -> dict[str, float]:
        """Days before the horizon during which each kind of step was the highest taken since the last
        de-escalation (the government stood on that rung of its ladder)."""
        days = {step.kind: 0.0 for step in self.spec.ladder}
        for (start, rung), (end, _) in zip(self.rungs, [*self.rungs[1:], (horizon, -1)]):
            if rung >= 0:
                days[self.spec.ladder[rung].kind] += max(min(end, horizon) - start, 0.0) / 24.0
        return days

    def blocked_hours(self, horizon: float) -> float:
        """Hours the platform was blocked before the horizon."""
        return sum(max(min(b, horizon) - a, 0.0) for a, b in self.blocks)

