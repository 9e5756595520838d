"""Cross-check and newsworthiness: the expert tier that high-profile accounts' removals must pass.

Meta's cross-check programme sends a first-line removal of a listed account's post to policy
experts; the post stays up while it waits, which in the 2023 case was most of the 171 days. The
experts may find the post does not violate (a false keep if it does), remove it, or keep it although
it violates, under the newsworthiness allowance (the public interest in what a leader says), where
the allowance applies to the post's category and account and no exception excludes them. The
platform may then refer such a hard case to the oversight board, after a delay (a SimPy process).
"""

from __future__ import annotations

import numpy as np

from sim.model.review import ReviewerPool, ReviewQueue
from sim.model.tickets import DONE, Ticket


class CrossCheck:
    """The expert tier's queue and pool, and its decisions."""

    def __init__(self, world, pair_set):
        self.world = world
        self.env = world.env
        review = world.scenario.review
        self.spec = spec = review.cross_check
        self.newsworthiness = review.newsworthiness
        self.listed = tuple(bool(x) for x in world.class_mask(spec.accounts))
        self.exceptions = pair_set(spec.exceptions)
        self.newsworthy_classes = world.class_mask(review.newsworthiness.accounts)
        self.newsworthy_categories = {world.categories[c] for c in review.newsworthiness.categories}
        self.newsworthy_exceptions = pair_set(review.newsworthiness.exceptions)
        self.pool = ReviewerPool(self.env, "cross_check", ReviewQueue(self.env, world.policy, review.report_boost),
                                 lambda hour: spec.reviewers, lambda ticket: ticket.cross_check_hours,
                                 self.decide, world.horizon)
        self.reviews = 0
        self.false_keeps = 0
        self.newsworthy_keeps = 0

    def applies(self, ticket: Ticket) -> bool:
        """Whether a first-line removal of this ticket's post must pass the experts."""
        return self.listed[ticket.klass] and (
            not self.exceptions or (ticket.category, ticket.klass) not in self.exceptions)

    def escalate(self, ticket: Ticket) -> None:
        """Send a ticket to the expert tier; the post stays up while it waits. When later reports open reviews, a
        post already waiting for the experts is not sent again."""
        world = self.world
        if world.first_line.in_cross_check(ticket.post):
            world.timeline.ticket(ticket, "cross_check_joined", "already waiting for cross-check")
            return
        ticket.tier = 2
        ticket.entered = self.env.now
        world.timeline.ticket(ticket, "cross_check_queued", "stays up while it waits")
        self.pool.submit(ticket)

    def newsworthy(self, ticket: Ticket) -> bool:
        """Whether the newsworthiness allowance may apply to this post."""
        return (self.newsworthy_classes[ticket.klass] and ticket.category in self.newsworthy_categories
                and (ticket.category, ticket.klass) not in self.newsworthy_exceptions)

    def decide(self, ticket: Ticket) -> None:
        """The experts' decision: not violating, removed, or kept in the public interest (and perhaps referred)."""
        world = self.world
        ticket.state = DONE
        self.reviews += 1
        false_keep, false_removal = self.spec.false_keep, self.spec.false_removal
        if world.per_post_errors:  # only the one for the post's kind is read
            false_keep = false_removal = world.users.error_probability(ticket, false_keep, false_removal)
        newsworthy = False
        if ticket.violating:
            if ticket.u_cross_check < false_keep:
                self.false_keeps += 1
                world.timeline.ticket(ticket, "cross_check_decided", "not violating")
                removed = False
            elif self.newsworthy(ticket) and ticket.u_newsworthy < self.newsworthiness.probability:
                self.newsworthy_keeps += 1
                world.timeline.ticket(ticket, "newsworthy_keep", "violating, kept in the public interest")
                removed, newsworthy = False, True
            else:
                removed = True
        else:
            removed = ticket.u_cross_check < false_removal
            if not removed:
                world.timeline.ticket(ticket, "cross_check_decided", "not violating")
        if removed:
            world.first_line.remove(ticket, "cross_check")
        board = world.scenario.board
        if newsworthy and board.enabled and ticket.u_referral < board.referral_probability:
            delay = -board.referral_delay * np.log1p(-ticket.u_board_delay)
            self.env.process(world.board.file(ticket, True, delay))
        if ticket.appeal == "reporter":
            world.appeals.decided(ticket, removed)
        else:
            world.appeals.offer(ticket, removed)
