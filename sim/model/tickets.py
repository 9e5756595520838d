"""Tickets: a post waiting for, or under, review, with what reviewers and policies need to know of it.

A ticket is made from a row of its post's batch (``PostBatch``): the values most reviews read are
copied into slots when it opens; the rest (the uniforms of steps only some tickets reach, such as
cross-check, appeals and the board) are read from the batch when needed, through named properties.
Each uniform decides one step, so the same post takes the same step the same way in two scenarios
that differ elsewhere (common random numbers).
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from sim.model.content import A_BOARD, A_BOARD_DELAY, A_DELAY, A_REFERRAL, A_REVIEW, U_CROSS_CHECK, U_NEWSWORTHY
from sim.model.special import betaincinv

WAITING, IN_REVIEW, DONE, CLOSED = range(4)


# What a ticket is opened with: a row (integers, floats, report times, batch) per post, the first two in
# this order. They are what most tickets need; the rest is read from the post's batch when needed.
INT_FIELDS = ("post", "klass", "author", "severity", "violating", "source_is_report", "government_flag", "index")
FLOAT_FIELDS = ("created", "reach", "decay", "p_violating", "u_review", "review_hours", "u_appeal")


def _from_batch(column: str, k: int | None = None, doc: str = "") -> property:
    """A ticket field read from its post's row in the batch (column k of a two-dimensional column)."""
    if k is None:
        return property(lambda self: getattr(self.batch, column)[self.index].item(), doc=doc)
    return property(lambda self: getattr(self.batch, column)[self.index, k].item(), doc=doc)


class Ticket:
    """A post waiting for, or under, review; carries what reviewers and policies need to know.

    Made from the values of INT_FIELDS and FLOAT_FIELDS in their order (flags as 0 or 1), the post's
    sorted report times, and the PostBatch it was drawn in (at row `index`); `entered` is set when it
    enters review. The `u_*` fields are the uniforms that decide each step (review, cross-check,
    newsworthiness, appeal, board)."""

    __slots__ = (*INT_FIELDS, *FLOAT_FIELDS, "reports", "batch", "entered", "tracked", "state", "version", "tier",
                 "pool", "appeal", "urgency")

    def __init__(self, integers: list[int], floats: list[float], reports, batch, entered: float = math.nan,
                 tracked: str | None = None):
        self.reports, self.batch = reports, batch
        (self.post, self.klass, self.author, self.severity, self.violating, self.source_is_report,
         self.government_flag, self.index) = integers
        (self.created, self.reach, self.decay, self.p_violating, self.u_review, self.review_hours,
         self.u_appeal) = floats
        self.entered, self.tracked = entered, tracked
        self.state, self.version, self.tier, self.pool, self.appeal, self.urgency = WAITING, 0, 1, None, None, 0

    duplicate = False  # opened by the post's first signal (DuplicateTicket: by a later report)

    kind = _from_batch("kind", doc="What the post is (content.VIOLATING, ...).")
    category = _from_batch("category", doc="The post's policy category index.")
    source = _from_batch("source", doc="What opened the ticket (reporting.SOURCES index).")
    u_cross_check = _from_batch("escalation_uniforms", U_CROSS_CHECK - U_CROSS_CHECK,
                                "Uniform deciding the cross-check review.")
    u_newsworthy = _from_batch("escalation_uniforms", U_NEWSWORTHY - U_CROSS_CHECK,
                               "Uniform deciding the newsworthiness allowance.")
    cross_check_hours = _from_batch("cross_check_hours", doc="Handling time of a cross-check review (hours).")
    u_appeal_delay = _from_batch("appeal_uniforms", A_DELAY - 1, "Uniform for the delay before an appeal is filed.")
    u_appeal_review = _from_batch("appeal_uniforms", A_REVIEW - 1, "Uniform deciding the appeal review.")
    u_board = _from_batch("appeal_uniforms", A_BOARD - 1, "Uniform deciding whether the appellant goes to the board.")
    u_board_delay = _from_batch("appeal_uniforms", A_BOARD_DELAY - 1,
                                "Uniform for the delay before a board appeal or referral.")
    u_referral = _from_batch("appeal_uniforms", A_REFERRAL - 1, "Uniform deciding whether the platform refers a keep.")
    difficulty = _from_batch("difficulty", doc="Quantile of the post's Beta error probabilities (review.agreement).")

    def reports_by(self, now: float) -> int:
        """Reports filed on the post up to now (at least one ticket-opening signal)."""
        reports = self.reports
        if not reports:
            return 1
        # bisect on a short sorted array is several times cheaper than numpy's searchsorted call
        return max(1, bisect_right(reports, now))


class DuplicateTicket(Ticket):
    """A ticket opened by a later report of a post that has had one already (``review.duplicates`` review_each
    or review_until): the same post and fields, with the report's own review uniform and handling time."""

    __slots__ = ()
    duplicate = True


def beta_error(mean, concentration: float, quantile):
    """Error probability at the given quantile of a Beta distribution of this mean and concentration (a + b),
    on numbers or arrays: a post's difficulty (its quantile) gives its error probability at every tier, so a
    post hard at one tier is hard at all. A mean of 0 or 1 gives 0 or 1."""
    mean = np.asarray(mean, dtype=float)
    with np.errstate(invalid="ignore"):
        chance = betaincinv(mean * concentration, (1.0 - mean) * concentration, quantile)
    chance = np.where(mean <= 0.0, 0.0, np.where(mean >= 1.0, 1.0, chance))
    return chance if chance.ndim else float(chance)
