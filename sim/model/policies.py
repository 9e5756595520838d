"""Priority policies: the order in which a pool's reviewers take waiting tickets.

Since 2020 platforms have ranked their review queues by severity, virality and the likelihood of a
violation rather than by arrival. A policy is one class with a ``kind``, its own fields, and one
method, ``priority(ticket, now)``: the higher, the sooner the ticket is reviewed (ties in order of
arrival; authors' appeals always first). Two flags say what it reads, so the queue does only the
work it needs: ``uses_reports`` (a later report raises the ticket's priority by
``review.report_boost`` of it per report after the first, and the ticket is ranked again) and
``uses_scores`` (it reads the classifier's probability ``p_violating``, which is worked out only
then). A policy whose priority never changes (``constant``) makes its queue first-in, first-out lines.

To add one, subclass ``PriorityPolicy`` and list it in ``POLICIES`` (the schema's registry); from
Python, pass an instance of your own subclass as ``review.policy`` (see docs/extending.md).
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from sim.scenario.types import Frozen


class PriorityPolicy(Frozen):
    """Base of every priority policy."""

    uses_reports: ClassVar[bool] = True
    uses_scores: ClassVar[bool] = False
    constant: ClassVar[bool] = False

    def priority(self, ticket, now: float) -> float:
        """How urgent the ticket is now (higher first), before any boost by its later reports."""
        raise NotImplementedError


class Fifo(PriorityPolicy):
    """First in, first out: the order in which tickets arrived."""

    kind: Literal["fifo"] = "fifo"
    uses_reports: ClassVar[bool] = False
    constant: ClassVar[bool] = True

    def priority(self, ticket, now: float) -> float:
        """Every ticket has the same priority, so arrival order decides."""
        return 0.0


class Severity(PriorityPolicy):
    """Most severe first."""

    kind: Literal["severity"] = "severity"

    def priority(self, ticket, now: float) -> float:
        """The post's severity, 1 to 4."""
        return float(ticket.severity)


def remaining_views(ticket, now: float) -> float:
    """Views the ticket's post will still get if left up."""
    return ticket.reach * math.exp(-(now - ticket.created) / ticket.decay)


class PredictedViews(PriorityPolicy):
    """Most views still to come first."""

    kind: Literal["predicted_views"] = "predicted_views"

    def priority(self, ticket, now: float) -> float:
        """Views the post will still get if left up."""
        return remaining_views(ticket, now)


class ExpectedHarm(PriorityPolicy):
    """Severity times remaining views times the classifier's probability of violation."""

    kind: Literal["expected_harm"] = "expected_harm"
    uses_scores: ClassVar[bool] = True

    def priority(self, ticket, now: float) -> float:
        """Expected severity-weighted views prevented by acting now."""
        return ticket.severity * remaining_views(ticket, now) * ticket.p_violating


POLICIES = (Fifo, Severity, PredictedViews, ExpectedHarm)
