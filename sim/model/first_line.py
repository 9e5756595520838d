"""The first line: tickets enter the reviewer pools, later reports follow them, reviewers decide.

A ticket enters review at its post's first signal, unless the post could not have been published
(its author suspended or gone, the platform blocked then: ``sim.model.platform``); a signal that
arrives while the platform is blocked waits for the block's end (a report, for the next report
filed after it), and a report a throttle holds back waits for the next one it lets through. The
ticket joins the pool that reads its language (``sim.model.review``). Later reports of the post
raise its priority (``review.duplicates: boost``) or open reviews of their own (``review_each``,
``{review_until: N}``). A reviewer's decision is a keep (a false keep if the post violates), a
removal (``sim.model.enforcement``), or, for accounts on the cross-check list, an escalation to the
experts (``sim.model.cross_check``) while the post stays up; then the author or a reporter may
appeal (``sim.model.appeals``). Everything here runs for every ticket, so it is callbacks on event
chains rather than processes (see ``sim.model.users`` and ``sim.model.chains``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from sim.model.chains import DeadlineChain
from sim.model.enforcement import UP
from sim.model.reporting import SOURCES
from sim.model.tickets import DONE, FLOAT_FIELDS, INT_FIELDS, WAITING, DuplicateTicket, Ticket


class FirstLine:
    """Tickets into the first-line pools, the reports that follow them, and the first-line decisions."""

    def __init__(self, world):
        self.world = world
        self.env = world.env
        review = world.scenario.review
        # Later reports that open reviews of their own (review.duplicates other than boost): each post's first-line
        # tickets, from its first ticket on (None under boost); and the cap on them (None: every report).
        self._first_line: dict[int, list[Ticket]] | None = None if review.duplicates == "boost" else {}
        self.reviews_duplicates = self._first_line is not None
        self._review_until = getattr(review.duplicates, "review_until", None)
        window = review.auto_close_after
        self._auto_close = None if window is None else DeadlineChain(self.env, window, self._close_unreviewed)
        self.counts = {"reports_auto_closed": 0, "false_keeps": 0, "reviews": 0, "tickets": 0}
        if self.reviews_duplicates:
            self.counts["duplicate_reviews"] = 0
        self.backlog_max = 0
        # With none of the features off by default, the first-line decision is the plain one.
        general = self.reviews_duplicates or world.per_post_errors or any(
            post.appeal_probability is not None for post in world.scenario.scripted_posts)
        self.decide = self._decide_general if general else self._decide
        self._then_appeal = world.appeals.offer if general else world.appeals.after_decision

    def wire(self) -> None:
        """Take the pools and the removal path once the world's actors exist."""
        world = self.world
        self._uses_reports = world.policy.uses_reports or self.reviews_duplicates  # later reports matter
        self._follow_reports = self._follow_reviewed if self.reviews_duplicates else self._schedule_next_report
        self._queues = tuple(pool.queue for pool in world.pools)
        self._escalating = world.contexts.escalating
        self._cross_checked = world.cross_check.listed  # by class: whether any of its removals may go to the experts
        if self.reviews_duplicates:
            self.remove = self._remove_and_close  # a removal also closes the post's other waiting tickets
        else:
            self.remove = world.take_down.remove

    # ----------------------------------------------------------------- entering review

    def open(self, ticket: Ticket, report_passed: bool = False) -> None:
        """A post enters review (unless it could not have been published, or the platform holds its signal;
        `report_passed`: the report opening it is one a throttle let through)."""
        world = self.world
        platform = world.platform
        now = self.env._now
        if platform.disrupted:
            if platform.is_suppressed(ticket.klass, ticket.author, ticket.created):
                return
            if platform.blocks and platform.blocked(now):
                self._after_block(ticket)
                return
            if platform.throttles and ticket.source_is_report and not report_passed and not self._passes(ticket, 0, now):
                self._retry_with_report(ticket, 1)
                return
        ticket.entered = now
        if world.tracked_ids:
            ticket.tracked = world.tracked_ids.get(ticket.post)
        self.counts["tickets"] += 1
        if ticket.tracked:
            world.timeline.post(ticket.post, now, "ticket_opened", f"by {SOURCES[ticket.source]}")
        world.pool_of_class[ticket.klass].submit(ticket)
        if ticket.state == WAITING:  # only a ticket that joined a queue can raise the backlog
            backlog = 0
            for queue in self._queues:
                backlog += queue.waiting
            if backlog > self.backlog_max:
                self.backlog_max = backlog
        if self._uses_reports:
            self._follow_reports(ticket)
        if self._auto_close is not None and ticket.source_is_report and ticket.state == WAITING:
            self._auto_close.set(ticket)

    def _passes(self, ticket: Ticket, k: int, at: float) -> bool:
        """Whether report k of the ticket's post reaches the platform at that time (blocks, throttles)."""
        batch = ticket.batch
        u = 0.0 if batch.report_uniforms is None else float(batch.report_uniforms[batch.report_bounds[ticket.index] + k])
        return self.world.platform.files_report(at, u)

    def _retry_with_report(self, ticket: Ticket, k: int) -> None:
        """The ticket waits for the post's report k (the first one the platform lets through opens it)."""
        reports = ticket.reports
        if k < len(reports) and reports[k] < self.world.horizon:
            retry = self.env.timeout(reports[k] - self.env.now, ticket)
            retry.callbacks.append((lambda event: self.open(event.value, report_passed=True))
                                   if self._passes(ticket, k, reports[k]) else
                                   (lambda event, k=k: self._retry_with_report(event.value, k + 1)))

    def _enter(self, event) -> None:
        self.open(event.value)

    def _after_block(self, ticket: Ticket) -> None:
        """A signal that arrives while the platform is blocked waits for the block's end (a report, for the
        next report filed after it)."""
        end = self.world.platform.block_end(self.env.now)
        if ticket.source_is_report:
            reports = ticket.reports
            k = bisect_left(reports, end)
            if k == len(reports) or reports[k] >= self.world.horizon:
                return
            end = reports[k]
        if end < self.world.horizon:
            retry = self.env.timeout(end - self.env.now, ticket)
            retry.callbacks.append(self._enter)

    # ----------------------------------------------------------------- later reports

    def _schedule_next_report(self, ticket: Ticket) -> None:
        reports = ticket.reports
        k = bisect_right(reports, self.env._now)
        if k < len(reports) and reports[k] < self.world.horizon:
            event = self.env.timeout(reports[k] - self.env._now, ticket)
            event.callbacks.append(self._duplicate_report)

    def _duplicate_report(self, event) -> None:
        ticket = event._value  # a timeout's value, read for every later report (the property costs a call)
        if ticket.state == WAITING:
            ticket.pool.queue.push(ticket)
            self._schedule_next_report(ticket)

    # Under review.duplicates review_each or {review_until: N}, a later report opens a ticket and a review of its
    # own: each one while the post is up (review_each), or while the post has had fewer than N first-line
    # tickets, its first included (review_until). A scripted post's repeat reports (beyond its `reporters`)
    # open none. A report that opens none raises the priority of the post's waiting tickets, as under boost.

    def _follow_reviewed(self, ticket: Ticket) -> None:
        """Follow the reports of a post whose first ticket just opened."""
        self._schedule_report(ticket, bisect_right(ticket.reports, self.env.now))

    def _schedule_report(self, ticket: Ticket, k: int) -> None:
        reports = ticket.reports
        if k < len(reports) and reports[k] < self.world.horizon:
            event = self.env.timeout(reports[k] - self.env.now, (ticket, k))
            event.callbacks.append(self._report_filed)

    def _report_filed(self, event) -> None:
        """Report k of the post whose first ticket is `ticket`: another review, or a priority boost."""
        ticket, k = event.value
        post = ticket.post
        world = self.world
        if world.removed_at[post] != UP:
            return  # reports after the removal open nothing
        tickets = self._first_line.get(post)
        if tickets is None:
            tickets = self._first_line[post] = [ticket]
        if self._passes(ticket, k, self.env.now):
            scripted = ticket.batch.scripted
            distinct = scripted is None or scripted.reporters is None or k < scripted.reporters
            if distinct and (self._review_until is None or len(tickets) < self._review_until):
                self._open_duplicate(ticket, k, tickets)
            elif world.policy.uses_reports:
                for waiting in tickets:
                    if waiting.state == WAITING and waiting.tier == 1 and waiting.appeal is None:
                        waiting.pool.queue.push(waiting)
        self._schedule_report(ticket, k + 1)

    def _open_duplicate(self, first: Ticket, k: int, tickets: list[Ticket]) -> None:
        """Open the ticket of report k of the post whose first ticket is `first`: a user-report ticket with the
        report's own review uniform and handling time."""
        world = self.world
        batch = first.batch
        j = int(batch.report_bounds[first.index]) + k
        values = {name: getattr(first, name) for name in (*INT_FIELDS, *FLOAT_FIELDS)}
        values.update(source_is_report=1, government_flag=0, u_review=float(batch.duplicate_uniforms[j]),
                      review_hours=float(batch.duplicate_hours[j]))
        now = self.env.now
        ticket = DuplicateTicket([values[name] for name in INT_FIELDS], [values[name] for name in FLOAT_FIELDS],
                                 first.reports, batch, now, first.tracked)
        tickets.append(ticket)
        self.counts["tickets"] += 1
        if ticket.tracked:
            world.timeline.post(ticket.post, now, "ticket_opened", f"by report {k + 1} (another review)")
        world.pool_of_class[ticket.klass].submit(ticket)
        self.backlog_max = max(self.backlog_max, sum(queue.waiting for queue in self._queues))
        if self._auto_close is not None and ticket.state == WAITING:
            self._auto_close.set(ticket)

    def _remove_and_close(self, ticket: Ticket, how: str) -> None:
        """`remove`, when later reports open reviews: a removal also closes the post's tickets still waiting at
        the first line (its reports' reviews, and a reporter's appeal), unreviewed."""
        post = ticket.post
        removed_at = self.world.removed_at
        was_up = removed_at[post] == UP
        self.world.take_down.remove(ticket, how)
        if was_up and removed_at[post] != UP:
            for other in self._first_line.get(post, ()):
                if other.state == WAITING and other.tier == 1 and other.appeal != "author":
                    other.pool.close_unreviewed(other)
                    self.world.timeline.ticket(other, "ticket_closed", "the post was removed")

    def in_cross_check(self, post: int) -> bool:
        """Whether a ticket of the post waits for, or is under, cross-check (when later reports open reviews)."""
        return self._first_line is not None and any(
            t.tier == 2 and t.state != DONE for t in self._first_line.get(post, ()))

    def _close_unreviewed(self, ticket: Ticket) -> None:
        if ticket.state == WAITING and ticket.tier == 1:
            ticket.pool.close_unreviewed(ticket)
            self.counts["reports_auto_closed"] += 1
            if ticket.tracked:
                self.world.timeline.post(ticket.post, self.env.now, "auto_closed", "not reviewed within the window")

    # ----------------------------------------------------------------- decisions

    def _decide(self, ticket: Ticket) -> None:
        ticket.state = DONE
        self.counts["reviews"] += 1
        if ticket.appeal is not None:
            self.world.appeals.decide(ticket)
            return
        spec = ticket.pool.spec
        if ticket.violating:
            remove = ticket.u_review >= spec.false_keep
        else:
            chance = spec.false_removal
            if ticket.government_flag:
                chance = chance + (1 - chance) * self.world.deference
            remove = ticket.u_review < chance
        self._carry_out(ticket, remove)

    def _decide_general(self, ticket: Ticket) -> None:
        """`_decide` with the features that are off by default: reviews opened by later reports
        (review.duplicates), each post's own error probabilities (review.agreement, a scripted post's
        false_keep and false_removal) and a scripted post's own appeal probability."""
        ticket.state = DONE
        self.counts["reviews"] += 1
        world = self.world
        if ticket.appeal is not None:
            world.appeals.decide(ticket)
            return
        if ticket.duplicate:
            self.counts["duplicate_reviews"] += 1
        if world.removed_at[ticket.post] != UP:
            return  # another review of the post removed it while this one was under way
        errors = ticket.batch.first_line_error
        if errors is not None:
            chance = float(errors[ticket.index])
        else:
            spec = ticket.pool.spec
            chance = spec.false_keep if ticket.violating else spec.false_removal
        if ticket.violating:
            remove = ticket.u_review >= chance
        else:
            if ticket.government_flag:
                chance = chance + (1 - chance) * world.deference
            remove = ticket.u_review < chance
        self._carry_out(ticket, remove)

    def _carry_out(self, ticket: Ticket, remove: bool) -> None:
        """A first-line decision acted on: kept (a false keep counted), sent to cross-check, or removed; then
        the appeal that may follow."""
        world = self.world
        if ticket.tracked:
            world.timeline.post(ticket.post, self.env.now, "reviewed", "violating" if remove else "not violating")
        if self._escalating and world.contexts.escalates(ticket, self.env.now):
            world.timeline.ticket(ticket, "context_escalation", "a context in force: decided by the experts")
            world.cross_check.escalate(ticket)
            return
        if not remove:
            if ticket.violating:
                self.counts["false_keeps"] += 1
            self._then_appeal(ticket, False)
            return
        if self._cross_checked[ticket.klass] and world.cross_check.applies(ticket):
            world.cross_check.escalate(ticket)
        else:
            self.remove(ticket, "first_line")
            self._then_appeal(ticket, True)
