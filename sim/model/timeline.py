"""The timelines of the tracked posts and of the government: what happened to each, when, and why.

A tracked post is a scripted one (the 9 January 2023 video): every step of its way through the
platform (published, reported, reviewed, escalated, appealed, taken to the board, removed) is a
row, as is every step the government takes. Rows are named tuples, so the tables read them by name.
"""

from __future__ import annotations

from typing import NamedTuple


class TimelineRow(NamedTuple):
    """One event of a timeline: whose (a tracked post's name, or 'government'), when (hours), what, and why."""

    subject: str
    time: float
    event: str
    detail: str


class Timeline:
    """The rows of one replication's timelines, in the order they happened."""

    def __init__(self, env, tracked_ids: dict[int, str]):
        self.env = env
        self.tracked_ids = tracked_ids  # post id -> scripted name, of every tracked post
        self.rows: list[TimelineRow] = []

    def post(self, post: int, time: float, event: str, detail: str) -> None:
        """Add an event of a tracked post."""
        self.rows.append(TimelineRow(self.tracked_ids.get(post, str(post)), time, event, detail))

    def ticket(self, ticket, event: str, detail: str) -> None:
        """Add an event, now, to the timeline of the ticket's post (nothing for an untracked post)."""
        if ticket.tracked:
            self.post(ticket.post, self.env.now, event, detail)

    def government(self, time: float, event: str, detail: str) -> None:
        """Add a step of the government's ladder."""
        self.rows.append(TimelineRow("government", time, event, detail))
