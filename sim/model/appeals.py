"""Appeals inside the platform, and the way out of it to the oversight board.

After a first decision, the author of a removed post may appeal the removal, and a reporter of a
kept post may appeal the keep. Each appeal is a SimPy process: the appellant takes a while to file
(a reporter only once it learns of the keep, when it reports), the appeal goes back through the
same review queues (an author's ahead of other work, as the platform does; a reporter's ranked like
any ticket and, for accounts on the cross-check list, escalated to the expert tier, where the
newsworthiness allowance may apply), and it is decided. An appeal that changes nothing exhausts the
platform's internal appeals: the appellant may then take the case to the board within its window.
"""

from __future__ import annotations

import math
from bisect import bisect_left

from sim.model.tickets import DONE, Ticket


class InternalAppeals:
    """Authors' and reporters' appeals, reviewed in the ordinary queues."""

    def __init__(self, world):
        self.world = world
        self.env = world.env
        self.spec = world.scenario.appeals
        # The chance of an appeal after a removal (author) or a keep (reporter, by account class).
        self._author_probability = self.spec.author_probability
        self._reporter_probability = tuple(
            self.spec.reporter_probability_public_figure if c.spec.public_figure else self.spec.reporter_probability
            for c in world.classes)
        self.filed = 0
        self.reversals = 0
        self._decisions: dict[Ticket, object] = {}  # each appeal under review: the event its decision succeeds
        # When later reports open reviews of their own (review.duplicates), several decisions may follow one
        # post: its author appeals its removal at most once, its reporters a keep at most once.
        self._appealed: set[tuple[int, bool]] | None = None if world.scenario.review.duplicates == "boost" else set()

    def after_decision(self, ticket: Ticket, removed: bool) -> None:
        """After a first decision: the author may appeal a removal, a reporter a keep."""
        if ticket.appeal is not None:
            return
        chance = self._author_probability if removed else self._reporter_probability[ticket.klass]
        if ticket.u_appeal < chance:
            self.env.process(self.appeal(ticket, removed))

    def offer(self, ticket: Ticket, removed: bool) -> None:
        """`after_decision`, where a scripted post may have its own appeal probability and later reports may open
        reviews of their own (the same as `after_decision` without them)."""
        if ticket.appeal is not None:
            return
        scripted = ticket.batch.scripted
        if scripted is not None and scripted.appeal_probability is not None:
            chance = scripted.appeal_probability
        else:
            chance = self._author_probability if removed else self._reporter_probability[ticket.klass]
        if ticket.u_appeal >= chance:
            return
        if self._appealed is not None:
            if (ticket.post, removed) in self._appealed:
                return
            self._appealed.add((ticket.post, removed))
        self.env.process(self.appeal(ticket, removed))

    def appeal(self, ticket: Ticket, removed: bool):
        """One appeal: filed after its delay, reviewed, decided; the board may come next."""
        env, world = self.env, self.world
        who = "author" if removed else "reporter"
        start = env.now
        if not removed and not ticket.source_is_report:
            # A reporter learns of the keep when reporting (now, or with a later report) and may appeal it.
            reports = ticket.reports
            if len(reports) == 0 or reports[-1] >= world.horizon:
                return
            k = bisect_left(reports, start)
            start = reports[k] if k < len(reports) else start
        yield env.timeout(start - env.now - self.spec.delay * math.log1p(-ticket.u_appeal_delay))
        if who == "reporter" and not world.is_up(ticket.post):
            return

        self.filed += 1
        ticket.appeal, ticket.urgency, ticket.tier, ticket.entered = who, 1 if removed else 0, 1, env.now
        world.timeline.ticket(ticket, "appeal", f"{who} appeals")
        ticket.state = DONE
        decided = self._decisions[ticket] = env.event()
        world.pool_for(ticket).submit(ticket)
        reversed_ = yield decided

        if reversed_:
            self.reversals += 1
        else:
            self.to_board(ticket)

    def decide(self, ticket: Ticket) -> None:
        """The review of an appeal: reverse or uphold (a reporter's appeal of a cross-checked account's post that
        the reviewer would remove goes to the experts, who decide it: ``decided``)."""
        world = self.world
        false_keep, false_removal = self.spec.false_keep, self.spec.false_removal
        if world.per_post_errors:  # the post's own error probability at this tier (only its kind's is read)
            false_keep = false_removal = world.users.error_probability(ticket, false_keep, false_removal)
        if ticket.appeal == "author":
            reverse = ticket.u_appeal_review < (false_keep if ticket.violating else 1 - false_removal)
            world.timeline.ticket(ticket, "appeal_decided", "removal reversed" if reverse else "removal upheld")
            if reverse:
                world.restore(ticket, "appeal")
            self.decided(ticket, reverse)
            return
        remove = ticket.u_appeal_review >= false_keep if ticket.violating else (
            ticket.u_appeal_review < false_removal)
        if remove and world.cross_check.listed[ticket.klass]:
            world.timeline.ticket(ticket, "appeal_decided", "escalated to policy experts")
            world.cross_check.escalate(ticket)
            return
        world.timeline.ticket(ticket, "appeal_decided", "removed" if remove else "kept")
        if remove:
            world.remove(ticket, "appeal")
        self.decided(ticket, remove)

    def decided(self, ticket: Ticket, reversed_: bool) -> None:
        """The appeal on this ticket is decided: whether the decision appealed was reversed."""
        self._decisions.pop(ticket).succeed(reversed_)

    def to_board(self, ticket: Ticket) -> None:
        """Internal appeals are exhausted: the appellant may take the case to the board within its window."""
        board = self.world.scenario.board
        prominent = self.world.classes[ticket.klass].spec.public_figure
        chance = board.user_appeal_probability_public_figure if prominent else board.user_appeal_probability
        scripted = ticket.batch.scripted
        if scripted is not None and scripted.board_appeal_probability is not None:
            chance = scripted.board_appeal_probability
        if board.enabled and ticket.u_board < chance:
            self.env.process(self.world.board.file(ticket, False, ticket.u_board_delay * board.appeal_window))
