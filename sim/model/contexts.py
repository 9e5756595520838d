"""Dated contexts: an election, unrest, a platform-designated high-risk period (``contexts`` in a scenario).

The board chooses cases by topic and context, not only by who the author is: a post of a context's
categories published while the context is in force weighs ``board_importance`` times more in the
board's selection (``sim.model.board``), and, with ``escalate``, the platform sends first-line
decisions on such posts to its expert tier (``sim.model.cross_check``) while the context is in
force, whatever the account, as it does in a high-risk location. With no contexts nothing changes.
"""

from __future__ import annotations

import datetime as dt

DAY = 24.0


class Contexts:
    """The scenario's contexts in simulated hours, by category index."""

    def __init__(self, scenario, categories: dict[str, int]):
        start = dt.datetime.combine(scenario.start, dt.time())

        def hour(day: dt.date) -> float:
            """The simulated hour of a day's midnight."""
            return (dt.datetime.combine(day, dt.time()) - start).total_seconds() / 3600.0

        # (start hour, end hour (the end of its last day), categories (None: all), board weight, escalate)
        self.periods = [(hour(c.start), hour(c.end) + DAY,
                         None if c.categories is None else frozenset(categories[n] for n in c.categories
                                                                     if n in categories),
                         c.board_importance, c.escalate) for c in scenario.contexts]
        self.escalating = any(p[4] for p in self.periods)

    def board_importance(self, ticket) -> float:
        """The product of the weights of the contexts in force when the post was published that concern it."""
        weight = 1.0
        if self.periods:
            category, created = ticket.category, ticket.created
            for start, end, cats, importance, _ in self.periods:
                if start <= created < end and (cats is None or category in cats):
                    weight *= importance
        return weight

    def escalates(self, ticket, now: float) -> bool:
        """Whether a context in force now sends first-line decisions on this post to the expert tier."""
        category = ticket.category
        return any(escalate and start <= now < end and (cats is None or category in cats)
                   for start, end, cats, _, escalate in self.periods)
