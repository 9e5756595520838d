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


def _key(account: tuple[int, int]) -> int:
    """One int for an account (class, index): a dict key without a tuple kept per account."""
    return account[0] << 40 | account[1]


class Enforcer:
    """Strike records and suspensions of the accounts that have had content removed."""

    def __init__(self, policy: Enforcement, platform: Platform, tiers=(), indefinite: bool = False):
        self.policy = policy
        self.indefinite = indefinite  # restrictions by the tiers are open-ended (crisis_protocol.indefinite)
        self.platform = platform
        # The protocol's tiers for public figures in a crisis, highest first (empty: the ladder applies to them).
        self._tiers = tuple(sorted(tiers, key=lambda tier: tier.strikes, reverse=True))
        self.ladder = sorted(policy.ladder, key=lambda rung: rung.strikes)
        # Strike times per account (key ``_key(account)``), oldest first: one float while the account has one
        # strike (most struck accounts), a list once it has more. Strikes are only ever added at the current
        # time, so once expired a strike stays expired and is dropped from the front (counts are unchanged).
        # Measured (bench.memory retained, baseline at 3x the users over 30 days): the tuple keys and
        # one-strike lists were 108 of the 279 bytes a ticket that a finished replication still held.
        self._strikes: dict[int, float | list[float]] = {}
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
        self.indefinite_restrictions = 0

    def on_removal(self, account: tuple[int, int], now: float, restrictable: bool,
                   public_figure: bool = False) -> str | None:
        """Record strikes for a removal; return the restriction applied ('suspension', ..., PROTOCOL for
        the protocol's tiers) or None. A public figure is restrictable only while a crisis is designated."""
        per_removal = self.per_removal
        if per_removal == 0:
            return None
        self.strikes_issued += per_removal
        active = self._add_strikes(_key(account), now, per_removal)
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

    def _add_strikes(self, key: int, now: float, count: int) -> int:
        """Give an account ``count`` strikes now; return its active strikes (none when strikes expire at once)."""
        held = self._strikes.get(key)
        if held is not None and held.__class__ is not list:  # one strike, at time `held`
            held = [held] if now - held < self._expiry else None
        if held is None:
            self._strikes[key] = now if count == 1 else [now] * count
            active = count
        else:
            self._expire(held, now)
            held.extend([now] * count)
            self._strikes[key] = held
            active = len(held)
        return active if self._expiry > 0 else 0

    def _expire(self, strikes: list[float], now: float) -> None:
        """Drop an account's expired strikes (they are at the front: times never decrease)."""
        expiry = self._expiry
        if strikes and now - strikes[0] >= expiry:
            k = 1
            while k < len(strikes) and now - strikes[k] >= expiry:
                k += 1
            del strikes[:k]

    def _tier(self, active: int):
        """The highest tier of the protocol that `active` strikes reach (None below the lowest)."""
        return next((tier for tier in self._tiers if active >= tier.strikes), None)

    def _protocol(self, account: tuple[int, int], now: float, restrictable: bool, active: int) -> str | None:
        """A public figure's removal under the protocol's tiers: the highest tier its active strikes reach."""
        tier = self._tier(active)
        if tier is None:
            return None
        if not restrictable:
            self.waived += 1
            return None
        self._restrict(account, now, tier.restriction)
        return PROTOCOL

    def _restrict(self, account: tuple[int, int], now: float, hours: float) -> None:
        self.restrictions_issued += 1
        self.public_figure_restrictions += 1
        if self.indefinite:
            self.indefinite_restrictions += 1
        self.suspend(account, now, math.inf if self.indefinite else hours)

    def active_strikes(self, account: tuple[int, int], now: float) -> int:
        """The account's strikes still active now."""
        strikes = self._strikes.get(_key(account))
        if strikes is None or self._expiry <= 0:
            return 0
        if strikes.__class__ is not list:
            return int(now - strikes < self._expiry)
        self._expire(strikes, now)
        return len(strikes)

    def restrict_by_tier(self, account: tuple[int, int], now: float) -> bool:
        """Restrict a public figure's account now by the tier its active strikes reach (a review of the account,
        not a removal); whether a tier was reached."""
        tier = self._tier(self.active_strikes(account, now))
        if tier is None:
            return False
        self._restrict(account, now, tier.restriction)
        return True

    def term(self, account: tuple[int, int], at: float, severity: int) -> float:
        """The fixed term (hours) of a restriction from `at`: the tier the account's strikes reached then, the top
        tier for a severity-4 violation ("the highest penalty available", 2021)."""
        if severity >= 4:
            return self._tiers[0].restriction
        active = sum(1 for t in self._strikes.get(account, ()) if at - self._expiry < t <= at)
        return (self._tier(active) or self._tiers[-1]).restriction

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
        now = world.env._now
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
                                (("indefinite suspension" if enforcer.indefinite else "suspension")
                                 + " under the crisis protocol") if applied == PROTOCOL else applied)
        accounts = world.accounts
        if accounts.enabled and public_figure:
            accounts.on_removal(ticket, applied == PROTOCOL)

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
