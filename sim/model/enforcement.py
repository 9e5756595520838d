"""Enforcement: posts taken down or put back, strikes for removed posts, restrictions as strikes add up.

Every removal gives the author strikes; strikes expire after a set time; the number of active
strikes picks the highest rung of the ladder reached (the 2023 ladder: feature limits from 2
strikes, then 1-, 3-, 7- and 30-day suspensions). A suspended account cannot post (the platform's
record, ``sim.model.platform``). Public figures are restricted only under the civil-unrest protocol,
that is only while a crisis is designated (``sim.model.crisis``); otherwise their strikes are
counted and the restriction is waived. Under the protocol a public figure's removal restricts the
account by the protocol's tiers (1 month to 2 years by active strikes, CASE) when the scenario gives
them, by the ordinary ladder otherwise. Removing the leader's post, or restricting him, adds to the
government's grievance.
"""

from __future__ import annotations

import math

from sim.model.platform import Platform
from sim.model.tickets import Ticket
from sim.scenario.schema import Enforcement

UP = math.inf  # the removal time of a post that is up
PROTOCOL = "protocol_suspension"  # what on_removal returns for a restriction by the protocol's tiers


class Enforcer:
    """Strike records and suspensions of the accounts that have had content removed."""

    def __init__(self, policy: Enforcement, platform: Platform, tiers=()):
        self.policy = policy
        self.platform = platform
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
        self.platform.suspend(account, now, hours)


class TakeDown:
    """Posts removed and restored, and what a removal does to the author's account and the government."""

    def __init__(self, world, enforcer: Enforcer):
        self.world = world
        self.enforcer = enforcer
        self.removed_at = world.removed_at
        self.public_figure_suspensions = 0
        self.wrongful_removals = 0
        self.opposition_wrongful_removals = 0

    def remove(self, ticket: Ticket, how: str) -> None:
        """Take a post down and enforce against its author."""
        world = self.world
        now = world.env.now
        removed_at = self.removed_at
        post = ticket.post
        if removed_at[post] != UP:
            return
        removed_at[post] = now
        if ticket.tracked:
            world.timeline.post(post, now, "removed", how)
        klass = ticket.klass
        leader = world.is_leader[klass]
        if leader:
            world.government.action(world.scenario.government.grievance_removal, "the leader's post removed")
        if not ticket.violating:
            self.wrongful_removals += 1
            if world.is_opposition[klass]:
                self.opposition_wrongful_removals += 1
        enforcer = self.enforcer
        if enforcer.per_removal == 0:
            return
        public_figure = world.is_public_figure[klass]
        applied = enforcer.on_removal((klass, ticket.author), now, not public_figure or world.crisis.designated,
                                      public_figure)
        if applied is not None and public_figure and leader and applied in ("suspension", PROTOCOL):
            world.government.action(world.scenario.government.grievance_suspension, "the leader restricted in a crisis")
        if applied and ticket.tracked:
            world.timeline.post(post, now, "restriction",
                                "suspension under the crisis protocol" if applied == PROTOCOL else applied)

    def restore(self, ticket: Ticket, how: str) -> None:
        """Put a removed post back up (an appeal or the board reversed the removal)."""
        if self.removed_at[ticket.post] != UP:
            self.removed_at[ticket.post] = UP
            self.world.timeline.ticket(ticket, "restored", how)

    def suspend_public_figure(self, ticket: Ticket, hours: float) -> None:
        """The platform accepts the board's recommendation: the account is suspended (a crisis designation is
        the protocol's, not this answer's: see sim.model.crisis)."""
        world = self.world
        self.enforcer.suspend((ticket.klass, ticket.author), world.env.now, hours)
        self.public_figure_suspensions += 1
        world.timeline.ticket(ticket, "suspension", f"account suspended for {hours / 24:.0f} days")
        if world.is_leader[ticket.klass]:
            world.government.action(world.scenario.government.grievance_suspension, "the leader suspended")
