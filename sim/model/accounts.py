"""The platform's decisions on public figures' accounts beyond a single removal (the 2021 case).

On 6 January 2021 the platform removed the US president's two posts within minutes; the next day,
with no further removal, it extended the block on his accounts indefinitely on the context of the
riot; it referred that suspension to the board, which upheld it but not its open end, and answered
with a two-year term counted from the original start (CASE-2021-suspension.md). Three optional
steps, all off by default:

- **review on designation** (``crisis_protocol.account_review``): when a crisis is designated, the
  platform reviews the public figures whose posts it removed within the look-back and restricts each
  (not restricted already) by the tier its active strikes reach;
- **open-ended restrictions** (``crisis_protocol.indefinite``): a restriction by the tiers has no end
  until the platform fixes its term;
- **referral of the restriction** (``board.restriction_referral_probability``): the platform refers a
  restriction by the tiers to the board as a case on the account (``sim.model.board`` decides it);
  if the board lifts it, it ends; if the board upholds an open-ended one, the platform fixes its
  term within ``board.review_within`` (or its response window, if shorter): the tier the account's
  strikes reached, the top tier for a severity-4 violation, counted from the restriction's start.
"""

from __future__ import annotations

import math

from sim.model.tickets import Ticket

DAY = 24.0


class AccountDecisions:
    """Public figures' accounts: reviews on designation, open restrictions, referrals and fixed terms."""

    def __init__(self, world):
        self.world = world
        self.env = world.env
        scenario = world.scenario
        self.lookback = scenario.crisis_protocol.account_review
        board = scenario.board
        self.referral = board.restriction_referral_probability if board.enabled else 0.0
        self.enabled = self.lookback is not None or scenario.crisis_protocol.indefinite or self.referral > 0
        self.rng = world.streams.get("accounts") if self.enabled else None
        self._last_removal: dict[tuple[int, int], Ticket] = {}  # each public figure's latest removed post
        self._restricted: dict[tuple[int, int], tuple[float, Ticket]] = {}  # start and cause of its restriction
        self.reviews = 0          # restrictions on a review of the account
        self.referrals = 0
        self.lifted = 0
        self.term_days: list[float] = []

    def on_removal(self, ticket: Ticket, restricted: bool) -> None:
        """A public figure's post was removed (and the account restricted by the tiers, if `restricted`)."""
        account = (ticket.klass, ticket.author)
        self._last_removal[account] = ticket
        if restricted:
            self._restricted_now(ticket, self.env.now)

    def review(self, now: float) -> None:
        """A crisis is designated: restrict the public figures whose posts were removed within the look-back."""
        if self.lookback is None:
            return
        world = self.world
        for account, ticket in list(self._last_removal.items()):
            removed = world.removed_at[ticket.post]
            if math.isinf(removed) or now - removed > self.lookback or world.platform.is_suspended(account, now):
                continue
            if not world.enforcer.restrict_by_tier(account, now):
                continue
            self.reviews += 1
            open_ended = world.enforcer.indefinite
            world.timeline.ticket(ticket, "restriction", ("indefinite suspension" if open_ended else "suspension")
                                  + " on review of the account in a crisis")
            if world.is_leader[ticket.klass]:
                world.government.action(world.scenario.government.grievance_suspension, "the leader restricted")
            self._restricted_now(ticket, now)

    def _restricted_now(self, ticket: Ticket, start: float) -> None:
        account = (ticket.klass, ticket.author)
        self._restricted[account] = (start, ticket)
        if self.referral > 0 and self.rng.random() < self.referral:
            self.env.process(self._refer(ticket))

    def _refer(self, ticket: Ticket):
        """The platform refers the account's restriction to the board after its delay."""
        yield self.env.timeout(self.rng.exponential(self.world.scenario.board.restriction_referral_delay))
        self.referrals += 1
        self.world.board.appeal(ticket, referral=True, account=True)

    def is_open(self, account: tuple[int, int]) -> bool:
        """Whether the account's restriction by the tiers is in force with no end."""
        entry = self._restricted.get(account)
        return entry is not None and math.isinf(self.world.platform.suspension_end(account, self.env.now))

    def lift(self, account: tuple[int, int], ticket: Ticket) -> None:
        """The board lifted the restriction: every suspension of the account in force ends now (several when a
        removal in the crisis restricted it again)."""
        now = self.env.now
        if account not in self._restricted or not self.world.platform.end_suspensions(account, now, now):
            return
        self.lifted += 1
        self.world.timeline.ticket(ticket, "restriction_lifted", "the board's decision")

    def fix_term(self, account: tuple[int, int], ticket: Ticket) -> None:
        """The platform answers the board: its open-ended restrictions of the account end a term after the first
        of them began ("effective from the date of the initial suspension")."""
        world, now = self.world, self.env.now
        open_ended = [start for start, end in world.platform.suspended.get(account, ())
                      if start <= now and math.isinf(end)]
        if not open_ended:
            return
        first = min(open_ended)
        term = world.enforcer.term(account, first, self._restricted[account][1].severity)
        world.platform.end_suspensions(account, now, max(first + term, now), open_only=True)
        self.term_days.append(term / DAY)
        world.timeline.ticket(ticket, "restriction_term", f"fixed at {term / DAY:.0f} days from its start")

    def record(self) -> dict[str, float]:
        """The outcomes of these steps (none when all are off)."""
        if not self.enabled:
            return {}
        return {
            "indefinite_restrictions": float(self.world.enforcer.indefinite_restrictions),
            "account_review_restrictions": float(self.reviews),
            "restriction_referrals": float(self.referrals),
            "restrictions_lifted": float(self.lifted),
            "restriction_terms_fixed": float(len(self.term_days)),
            "restriction_term_days_mean": float(sum(self.term_days) / len(self.term_days)) if self.term_days
            else float("nan"),
        }
