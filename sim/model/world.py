"""The world of one replication: posts appear, get flagged or reported, reviewed, removed or kept.

``World`` wires the actors together on one SimPy environment: each day it draws every account
class's posts for that day in one batch (content), draws their reports and detection signals
(reporting), and puts the posts that will enter review on an arrival chain (one heap entry per
batch, see chains). From there tickets move through the reviewer pools (review), and removals
feed strikes and restrictions (enforcement). At the horizon it hands its raw records to
``sim.metrics``, which turns them into outcomes.

The scenario is read-only here; everything that changes lives in this object and dies with it.
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_left, bisect_right
from heapq import heappop
from itertools import repeat
from operator import attrgetter

import numpy as np
import simpy
from simpy.events import URGENT

from sim.model.appeals import InternalAppeals, OversightBoard
from sim.model.chains import ArrivalChain, DeadlineChain
from sim.model.content import (
    BENIGN_FLAGGED, BENIGN_GOVERNMENT, BENIGN_REPORTED, VIOLATING, ClassModel, PostBatch, handling_times,
)
from sim.model.enforcement import PROTOCOL, CrisisProtocolActor, Enforcer
from sim.model.government import GovernmentActor
from sim.model.harm import HarmActor
from sim.model.reporting import (
    GOVERNMENT, REPORT, SOURCES, ClassifierModel, draw_reports, entry_times, report_counts,
)
from sim.model.review import (
    DONE, FLOAT_FIELDS, INT_FIELDS, WAITING, DuplicateTicket, ReviewerPool, ReviewQueue, Ticket, beta_error,
    make_policy,
)
from sim.model.streams import Streams
from sim.scenario.schema import Scenario, ScriptedPost

DAY = 24.0
UP = math.inf  # the removal time of a post that is up
KINDS = np.array([VIOLATING, BENIGN_REPORTED, BENIGN_FLAGGED, BENIGN_GOVERNMENT], dtype=np.int64)
NO_REPORTS: tuple[float, ...] = ()  # the report times of a post nobody reports


def run_until(env: simpy.Environment, horizon: float) -> None:
    """``env.run(until=horizon)``, with SimPy's ``step`` written into the loop: the same events in the same
    order, and a failed event that nobody handled still raises, without a method call per event."""
    stop = simpy.Event(env)
    stop._ok, stop._value = True, None
    stop.callbacks.append(simpy.core.StopSimulation.callback)
    env.schedule(stop, URGENT, horizon - env.now)
    queue, pop = env._queue, heappop
    try:
        while True:
            env._now, _, _, event = pop(queue)
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                failure = event._value
                raise type(failure)(*failure.args) from failure
    except simpy.core.StopSimulation:
        pass


def categories_of(scenario: Scenario) -> dict[str, int]:
    """Index of every policy category named anywhere in the scenario ('none' first)."""
    names = ["none"]
    for account in scenario.accounts.values():
        names += [v.category for v in account.violations]
    names += [post.category for post in scenario.scripted_posts]
    names += list(scenario.detection.classifier.categories or ())
    names += list(scenario.review.newsworthiness.categories)
    return {name: i for i, name in enumerate(dict.fromkeys(names))}


def _shift_boundaries(pool) -> tuple[float, ...]:
    return tuple(sorted({s.start for s in pool.shifts} | {s.end % DAY for s in pool.shifts}))


class World:
    """One replication's state and processes."""

    def __init__(self, scenario: Scenario, streams: Streams):
        self.scenario = scenario
        self.streams = streams
        self.env = simpy.Environment()
        self.horizon = scenario.horizon
        self.categories = categories_of(scenario)
        self.classes = [ClassModel.build(i, name, spec, self.categories)
                        for i, (name, spec) in enumerate(scenario.accounts.items())]
        self.class_index = {c.name: c.index for c in self.classes}
        detection = scenario.detection
        self.classifier = ClassifierModel(detection.classifier.recall, detection.classifier.false_positive_rate)
        covered = detection.classifier.categories
        self.classifier_covers = np.array(
            [covered is None or name in covered for name in self.categories], dtype=bool)
        self.trusted_watch = self._class_mask(detection.trusted_flaggers.accounts)
        self.government_targets = self._class_mask(detection.government.targets or ())
        review = scenario.review
        self.cross_checked = self._class_mask(review.cross_check.accounts)
        self.newsworthy_classes = self._class_mask(review.newsworthiness.accounts)
        self.newsworthy_categories = {self.categories[c] for c in review.newsworthiness.categories}
        self.newsworthy_exceptions = self._pairs(review.newsworthiness.exceptions)
        self.cross_check_exceptions = self._pairs(review.cross_check.exceptions)
        # Later reports that open reviews of their own (review.duplicates other than boost): each post's first-line
        # tickets, from its first ticket on (None under boost); and the cap on them (None: every report).
        self._first_line: dict[int, list[Ticket]] | None = None if review.duplicates == "boost" else {}
        self._review_until = getattr(review.duplicates, "review_until", None)
        # Each post's own error probabilities: shared mistakes (review.agreement), or a scripted post's own.
        self.agreement = review.agreement
        self.per_post_errors = self.agreement is not None or any(
            post.false_keep is not None or post.false_removal is not None for post in scenario.scripted_posts)
        # With none of these features the first-line decision is the plain one (nothing added per ticket).
        general = self._first_line is not None or self.per_post_errors or any(
            post.appeal_probability is not None for post in scenario.scripted_posts)
        decide_first_line = self._decide_first_line_general if general else self._decide_first_line
        self.policy = make_policy(review.policy, review.report_boost)
        self.enforcer = Enforcer(scenario.enforcement, scenario.crisis_protocol.tiers)
        self.crisis = CrisisProtocolActor(self, scenario.crisis_protocol, scenario.harm)
        self.active_share = 1.0
        self.users_lost = 0.0
        self.escalation_slowdown = 1.0
        self.public_figure_suspensions = 0
        self.government = GovernmentActor(self, scenario.government, streams.get("government"))
        self.board = OversightBoard(self, scenario.board, streams.get("board"))
        self.appeals = InternalAppeals(self)
        self.leaders = [c.index for c in self.classes if c.spec.head_of_government]
        self.harm = HarmActor(self, streams.get("harm"))
        # Per-class flags as plain Python tuples: read once per ticket, so no numpy scalars or spec lookups.
        self._is_leader = tuple(c.index in self.leaders for c in self.classes)
        self._is_opposition = tuple(bool(c.spec.opposition) for c in self.classes)
        self._is_public_figure = tuple(bool(c.spec.public_figure) for c in self.classes)
        self._is_cross_checked = tuple(bool(x) for x in self.cross_checked)
        self._deference = detection.government.removal_deference
        window = review.auto_close_after
        self._auto_close = None if window is None else DeadlineChain(self.env, window, self._close_unreviewed)
        self._uses_reports = self.policy.uses_reports or self._first_line is not None  # later reports matter
        self._follow_reports = self._schedule_next_report if self._first_line is None else self._follow_reviewed
        if self._first_line is not None:
            self.remove = self._remove_and_close  # a removal also closes the post's other waiting tickets

        self.pools: list[ReviewerPool] = []
        self.pool_of_language: dict[str, int] = {}
        for name, spec in review.pools.items():
            queue = ReviewQueue(self.env, self.policy)
            pool = ReviewerPool(self.env, name, queue, spec.on_duty, attrgetter("review_hours"),
                                decide_first_line, self.horizon, _shift_boundaries(spec))
            pool.spec = spec
            pool.warmup = scenario.warmup
            for language in spec.languages:
                self.pool_of_language.setdefault(language, len(self.pools))
            self.pools.append(pool)
        self.pool_of_class = [self.pools[self.pool_of_language[c.spec.language]] if c.spec.language in
                              self.pool_of_language else None for c in self.classes]
        self._queues = tuple(p.queue for p in self.pools)
        cc = review.cross_check
        self.cross_check = ReviewerPool(self.env, "cross_check", ReviewQueue(self.env, self.policy),
                                        lambda hour: cc.reviewers, attrgetter("cross_check_hours"),
                                        self._decide_cross_check, self.horizon)

        self.batches: list[PostBatch] = []
        self.offsets: list[int] = []
        self.n_posts = 0
        self.removed_at: list[float] = []  # by post id: when the post was taken down (inf while it is up)
        self.tracked_ids: dict[int, str] = {}
        self.timeline: list[tuple[str, float, str, str]] = []
        self.series: dict[str, list[float]] = {"queue_length": [], "cross_check_queue_length": [], "grievance": []}
        self.backlog_max = 0
        self.counts = {"wrongful_removals": 0, "opposition_wrongful_removals": 0, "reports_auto_closed": 0,
                       "newsworthy_keeps": 0, "false_keeps": 0, "cross_check_reviews": 0, "reviews": 0,
                       "tickets": 0}
        if self._first_line is not None:
            self.counts["duplicate_reviews"] = 0

    def _pairs(self, pairs) -> frozenset[tuple[int, int]]:
        """(category index, class index) of each pair (a category no post has cannot occur, and is left out)."""
        return frozenset((self.categories[p.category], self.class_index[p.account]) for p in pairs
                         if p.category in self.categories)

    def _class_mask(self, names) -> np.ndarray:
        listed = set(names or ()) if names is not None else None
        return np.array([listed is None or c.name in listed for c in self.classes], dtype=bool)

    # ----------------------------------------------------------------- running

    def run(self) -> World:
        """Simulate up to the horizon."""
        self.env.process(self._daily_posts())
        self.env.process(self._daily_samples())
        if self.harm.needed:
            self.env.process(self.harm.process())
        for post in self.scenario.scripted_posts:
            self._add_scripted(post)
        # Nothing made per post or per event forms a reference cycle, so reference counting frees it all, and
        # the cycle collector's repeated passes over the growing live state would only cost time (a third
        # more per ticket at 100 times the reports). It is paused for the run; a test checks the cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            run_until(self.env, self.horizon)
        finally:
            if collecting:
                gc.enable()
        self.harm.finish()
        return self

    def release(self) -> None:
        """Let go of everything this world holds, once its outcomes are collected. Its parts refer to one
        another (pools call back into the world), so without this only the cycle collector would return
        the memory, after an unpredictable number of further replications."""
        self.env._queue.clear()
        self.__dict__.clear()

    def _daily_posts(self):
        day = 0.0
        while day < self.horizon:
            end = min(day + DAY, self.horizon)
            for cls in self.classes:
                self._draw_class(cls, day, end)
            yield self.env.timeout(end - day)
            day = end

    def _daily_samples(self):
        while True:
            self.series["queue_length"].append(float(sum(p.queue.waiting for p in self.pools)))
            self.series["cross_check_queue_length"].append(float(self.cross_check.queue.waiting))
            self.series["grievance"].append(self.government.grievance(self.env.now))
            yield self.env.timeout(DAY)

    def _draw_class(self, cls: ClassModel, t0: float, t1: float) -> None:
        rng = self.streams.get(f"accounts/{cls.name}")
        days = (t1 - t0) / DAY
        violating, benign = cls.daily_counts(self.active_share, days)
        spec = cls.spec
        government = self.scenario.detection.government
        n_gov = 0
        if self.government_targets[cls.index] and government.targets:
            n_gov = rng.poisson(government.lawful_flags_per_day * days * self._target_share(cls))
        counts = (rng.poisson(violating), rng.poisson(benign * spec.benign_report_rate),
                  rng.poisson(benign * self.classifier.false_positive_rate), n_gov)
        kinds = np.repeat(KINDS, counts)
        if len(kinds) == 0:
            return
        batch = cls.draw(rng, kinds, t0, t1, self._pool_spec(spec.language).handling_time,
                         self.scenario.review.cross_check.handling_time)
        self._admit(batch, rng, report_counts(batch, rng, spec.report_probability, spec.reports_per_benign_post),
                    self.streams.get(f"appeals/{cls.name}"), cls.name)

    def _target_share(self, cls: ClassModel) -> float:
        volume = {c.index: c.spec.count * c.spec.posts_per_day for c in self.classes if self.government_targets[c.index]}
        total = sum(volume.values())
        return volume[cls.index] / total if total > 0 else 0.0

    def _pool_spec(self, language: str):
        return self.pools[self.pool_of_language[language]].spec

    def _add_scripted(self, post: ScriptedPost) -> None:
        cls = self.classes[self.class_index[post.account]]
        rng = self.streams.get(f"scripted/{post.name}")
        at = self.scenario.hour_of(post.at)
        if at >= self.horizon:
            return
        kind = np.array([VIOLATING if post.violating else BENIGN_REPORTED])
        batch = cls.draw(rng, kind, at, at, self._pool_spec(cls.spec.language).handling_time,
                         self.scenario.review.cross_check.handling_time)
        batch.created[:] = at
        batch.scripted = post
        batch.reach[:] = post.reach
        batch.decay = np.full(1, float(post.view_decay))
        batch.category[:] = self.categories[post.category]
        batch.severity[:] = post.severity
        probability = cls.spec.report_probability if post.report_probability is None else post.report_probability
        counts = rng.poisson(probability * batch.reach * batch.authentic)
        pid = self._admit(batch, rng, counts, self.streams.get(f"appeals/scripted/{post.name}"),
                          f"scripted/{post.name}")
        self.tracked_ids[pid] = post.name
        self._trace(pid, at, "published", f"{post.account}, reach {post.reach:,.0f}")

    def _admit(self, batch: PostBatch, rng: np.random.Generator, reports: np.ndarray,
               appeal_rng: np.random.Generator, name: str) -> int:
        """Draw a batch's report times and detection signals and schedule the posts that enter review (`name`
        names the streams of its class or scripted post)."""
        draw_reports(batch, rng, reports)
        if self.per_post_errors or self._first_line is not None:
            self._draw_review_columns(batch, name)
        appeal = appeal_rng.random((len(batch), 6))  # appeal, then the columns of batch.appeal_uniforms
        u = batch.uniforms
        detection = self.scenario.detection
        violating = batch.kind == VIOLATING
        flagged = ((violating & (u[:, 0] < self.classifier.recall)) | (batch.kind == BENIGN_FLAGGED))
        flagged &= self.classifier_covers[batch.category]
        trusted = violating & (u[:, 4] < detection.trusted_flaggers.coverage) & self.trusted_watch[batch.klass]
        government = (violating & (u[:, 5] < detection.government.violating_coverage)
                      & self.government_targets[batch.klass]) | (batch.kind == BENIGN_GOVERNMENT)
        entry, source = entry_times(batch, flagged, trusted, detection.trusted_flaggers.delay, government,
                                    detection.government.delay, rng)
        # The classifier's belief is worked out only for a policy that ranks by it (NaN otherwise).
        batch.p_violating = (self.classifier.probabilities(self.classifier.scores(batch.kind, u[:, 0]))
                             if self.policy.uses_scores else np.broadcast_to(np.nan, (len(batch),)))
        offset = self.n_posts
        self.batches.append(batch)
        self.offsets.append(offset)
        self.n_posts += len(batch)
        self.removed_at += [UP] * len(batch)
        enter = np.flatnonzero(entry < self.horizon)
        if len(enter):
            times = entry[enter]
            order = np.argsort(times, kind="stable")
            tickets = self._tickets(batch, enter[order], offset, source, appeal[:, 0])
            ArrivalChain(self.env, times[order], order, tickets, self._open)
        # Only the draws that later steps of some tickets read are kept; the rest have done their work.
        batch.escalation_uniforms = u[:, 2:4].copy()
        batch.appeal_uniforms = appeal[:, 1:].copy()
        batch.uniforms = None
        return offset

    def _draw_review_columns(self, batch: PostBatch, name: str) -> None:
        """The columns of the features off by default (PostBatch.scripted and after), each from its own stream.

        With shared mistakes (review.agreement), each post's difficulty is a uniform quantile and its error
        probability at a tier is that quantile of a Beta with the tier's mean and the concentration; a scripted
        post's false_keep or false_removal replaces every tier's mean. The first-line probabilities are worked
        out here for the whole batch, the rarer tiers' when a review needs them (error_probability)."""
        pool = self.pool_of_class[int(batch.klass[0])].spec
        scripted = batch.scripted
        own = scripted is not None and (scripted.false_keep is not None or scripted.false_removal is not None)
        if self.agreement is not None or own:
            keep = pool.false_keep if scripted is None or scripted.false_keep is None else scripted.false_keep
            removal = pool.false_removal if scripted is None or scripted.false_removal is None else scripted.false_removal
            mean = np.where(batch.kind == VIOLATING, keep, removal)
            if self.agreement is None:
                batch.first_line_error = mean
            else:
                batch.difficulty = self.streams.get(f"difficulty/{name}").random(len(batch))
                batch.first_line_error = beta_error(mean, self.agreement, batch.difficulty)
        if self._first_line is not None:
            rng = self.streams.get(f"duplicates/{name}")
            batch.duplicate_uniforms = rng.random(len(batch.report_flat))
            batch.duplicate_hours = handling_times(pool.handling_time, rng.random(len(batch.report_flat)))

    def error_probability(self, ticket: Ticket, false_keep: float, false_removal: float) -> float:
        """The chance a review at a tier with these error rates gets this post wrong: the rate for its kind, or
        its scripted post's own, and with review.agreement that mean's Beta quantile at the post's difficulty."""
        scripted = ticket.batch.scripted
        if ticket.violating:
            mean = false_keep if scripted is None or scripted.false_keep is None else scripted.false_keep
        else:
            mean = false_removal if scripted is None or scripted.false_removal is None else scripted.false_removal
        return mean if self.agreement is None else beta_error(mean, self.agreement, ticket.difficulty)

    def _tickets(self, batch: PostBatch, posts: np.ndarray, offset: int, source: np.ndarray, u_appeal: np.ndarray):
        """The tickets of the given posts of a batch, as a function of a range of them: the columns are
        gathered once, and each range becomes Python values in two calls, so that making a ticket touches
        no numpy scalars."""
        batch.source = source
        integers = np.column_stack((
            offset + np.arange(len(batch)), batch.klass, batch.author, batch.severity, batch.kind == VIOLATING,
            source == REPORT, source == GOVERNMENT, np.arange(len(batch))))[posts]
        floats = np.column_stack((
            batch.created, batch.reach, batch.decay, batch.p_violating,
            batch.uniforms[:, 1], batch.review_hours, u_appeal))[posts]
        flat, first, last = batch.report_flat, batch.report_bounds[posts], batch.report_bounds[posts + 1]

        def tickets(start: int, end: int) -> list[Ticket]:
            if len(flat):
                reports = [flat[a:b].tolist() if b > a else NO_REPORTS
                           for a, b in zip(first[start:end].tolist(), last[start:end].tolist())]
            else:
                reports = repeat(NO_REPORTS)
            return [Ticket(i, f, r, batch) for i, f, r in zip(integers[start:end].tolist(),
                                                               floats[start:end].tolist(), reports)]

        return tickets

    # ----------------------------------------------------------------- tickets

    def is_suppressed(self, klass: int, author: int, created: float) -> bool:
        """Whether a post could not have been published on the platform: its author was suspended or had
        left for other channels then, or the platform was blocked."""
        government = self.government
        if government.blocks and government.blocked(created):
            return True
        if government.migrated_at is not None and klass in self.leaders and created >= government.migrated_at:
            return True
        return bool(self.enforcer.suspended) and self.enforcer.is_suspended((klass, author), created)

    def _enter(self, event) -> None:
        self._open(event._value)

    def _open(self, ticket: Ticket) -> None:
        """A post enters review (unless it could not have been published, or the platform is blocked now)."""
        government = self.government
        if government.blocks or government.migrated_at is not None or self.enforcer.suspended:
            if self.is_suppressed(ticket.klass, ticket.author, ticket.created):
                return
            if government.blocks and government.blocked(self.env._now):
                self._after_block(ticket)
                return
        ticket.entered = self.env._now
        if self.tracked_ids:
            ticket.tracked = self.tracked_ids.get(ticket.post)
        self.counts["tickets"] += 1
        if ticket.tracked:
            self._trace(ticket.post, ticket.entered, "ticket_opened", f"by {SOURCES[ticket.source]}")
        self.pool_of_class[ticket.klass].submit(ticket)
        backlog = 0
        for queue in self._queues:
            backlog += queue.waiting
        if backlog > self.backlog_max:
            self.backlog_max = backlog
        if self._uses_reports:
            self._follow_reports(ticket)
        if self._auto_close is not None and ticket.source_is_report and ticket.state == WAITING:
            self._auto_close.set(ticket)

    def _after_block(self, ticket: Ticket) -> None:
        """A signal that arrives while the platform is blocked waits for the block's end (a report, for the
        next report filed after it)."""
        end = self.government.block_end(self.env.now)
        if ticket.source_is_report:
            reports = ticket.reports
            k = bisect_left(reports, end)
            if k == len(reports) or reports[k] >= self.horizon:
                return
            end = reports[k]
        if end < self.horizon:
            retry = self.env.timeout(end - self.env.now, ticket)
            retry.callbacks.append(self._enter)

    def pool_for(self, ticket: Ticket) -> ReviewerPool:
        """The first-line pool that reviews the ticket's language."""
        return self.pool_of_class[ticket.klass]

    def _schedule_next_report(self, ticket: Ticket) -> None:
        reports = ticket.reports
        k = bisect_right(reports, self.env._now)
        if k < len(reports) and reports[k] < self.horizon:
            event = self.env.timeout(reports[k] - self.env.now, ticket)
            event.callbacks.append(self._duplicate_report)

    def _duplicate_report(self, event) -> None:
        ticket = event._value
        if ticket.state == WAITING:
            ticket.pool.queue.push(ticket)
            self._schedule_next_report(ticket)

    # Under review.duplicates review_each or {review_until: N}, a later report opens a ticket and a review of its
    # own: each one while the post is up (review_each), or while the post has had fewer than N first-line
    # tickets, its first included (review_until). A scripted post's repeat reports (beyond its `reporters`)
    # open none. A report that opens none raises the priority of the post's waiting tickets, as under boost.

    def _follow_reviewed(self, ticket: Ticket) -> None:
        """Follow the reports of a post whose first ticket just opened."""
        self._schedule_report(ticket, bisect_right(ticket.reports, self.env._now))

    def _schedule_report(self, ticket: Ticket, k: int) -> None:
        reports = ticket.reports
        if k < len(reports) and reports[k] < self.horizon:
            event = self.env.timeout(reports[k] - self.env._now, (ticket, k))
            event.callbacks.append(self._report_filed)

    def _report_filed(self, event) -> None:
        """Report k of the post whose first ticket is `ticket`: another review, or a priority boost."""
        ticket, k = event._value
        post = ticket.post
        if self.removed_at[post] != UP:
            return  # reports after the removal open nothing
        tickets = self._first_line.get(post)
        if tickets is None:
            tickets = self._first_line[post] = [ticket]
        government = self.government
        if not (government.blocks and government.blocked(self.env._now)):  # a report cannot be filed then
            scripted = ticket.batch.scripted
            distinct = scripted is None or scripted.reporters is None or k < scripted.reporters
            if distinct and (self._review_until is None or len(tickets) < self._review_until):
                self._open_duplicate(ticket, k, tickets)
            elif self.policy.uses_reports:
                for waiting in tickets:
                    if waiting.state == WAITING and waiting.tier == 1 and waiting.appeal is None:
                        waiting.pool.queue.push(waiting)
        self._schedule_report(ticket, k + 1)

    def _open_duplicate(self, first: Ticket, k: int, tickets: list[Ticket]) -> None:
        """Open the ticket of report k of the post whose first ticket is `first`: a user-report ticket with the
        report's own review uniform and handling time."""
        batch = first.batch
        j = int(batch.report_bounds[first.index]) + k
        values = {name: getattr(first, name) for name in (*INT_FIELDS, *FLOAT_FIELDS)}
        values.update(source_is_report=1, government_flag=0, u_review=float(batch.duplicate_uniforms[j]),
                      review_hours=float(batch.duplicate_hours[j]))
        now = self.env._now
        ticket = DuplicateTicket([values[name] for name in INT_FIELDS], [values[name] for name in FLOAT_FIELDS],
                                 first.reports, batch, now, first.tracked)
        tickets.append(ticket)
        self.counts["tickets"] += 1
        if ticket.tracked:
            self._trace(ticket.post, now, "ticket_opened", f"by report {k + 1} (another review)")
        self.pool_of_class[ticket.klass].submit(ticket)
        self.backlog_max = max(self.backlog_max, sum(queue.waiting for queue in self._queues))
        if self._auto_close is not None and ticket.state == WAITING:
            self._auto_close.set(ticket)

    def _remove_and_close(self, ticket: Ticket, how: str) -> None:
        """`remove`, when later reports open reviews: a removal also closes the post's tickets still waiting at
        the first line (its reports' reviews, and a reporter's appeal), unreviewed."""
        post = ticket.post
        was_up = self.removed_at[post] == UP
        World.remove(self, ticket, how)
        if was_up and self.removed_at[post] != UP:
            for other in self._first_line.get(post, ()):
                if other.state == WAITING and other.tier == 1 and other.appeal != "author":
                    other.pool.close_unreviewed(other)
                    self.trace_if(other, "ticket_closed", "the post was removed")

    def _in_cross_check(self, post: int) -> bool:
        """Whether a ticket of the post waits for, or is under, cross-check (when later reports open reviews)."""
        return any(t.tier == 2 and t.state != DONE for t in self._first_line.get(post, ()))

    def _close_unreviewed(self, ticket: Ticket) -> None:
        if ticket.state == WAITING and ticket.tier == 1:
            ticket.pool.close_unreviewed(ticket)
            self.counts["reports_auto_closed"] += 1
            if ticket.tracked:
                self._trace(ticket.post, self.env.now, "auto_closed", "not reviewed within the window")

    # ----------------------------------------------------------------- decisions

    def _decide_first_line(self, ticket: Ticket) -> None:
        ticket.state = DONE
        self.counts["reviews"] += 1
        if ticket.appeal is not None:
            self.appeals.decide(ticket)
            return
        spec = ticket.pool.spec
        if ticket.violating:
            remove = ticket.u_review >= spec.false_keep
        else:
            chance = spec.false_removal
            if ticket.government_flag:
                deference = self._deference
                chance = chance + (1 - chance) * deference
            remove = ticket.u_review < chance
        self._carry_out(ticket, remove, self.appeals.after_decision)

    def _decide_first_line_general(self, ticket: Ticket) -> None:
        """`_decide_first_line` with the features that are off by default: reviews opened by later reports
        (review.duplicates), each post's own error probabilities (review.agreement, a scripted post's
        false_keep and false_removal) and a scripted post's own appeal probability."""
        ticket.state = DONE
        self.counts["reviews"] += 1
        if ticket.appeal is not None:
            self.appeals.decide(ticket)
            return
        if ticket.duplicate:
            self.counts["duplicate_reviews"] += 1
        if self.removed_at[ticket.post] != UP:
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
                chance = chance + (1 - chance) * self._deference
            remove = ticket.u_review < chance
        self._carry_out(ticket, remove, self.appeals.offer)

    def _carry_out(self, ticket: Ticket, remove: bool, then_appeal) -> None:
        """A first-line decision acted on: kept (a false keep counted), sent to cross-check, or removed; then
        the appeal that may follow (``then_appeal(ticket, removed)``)."""
        if ticket.tracked:
            self._trace(ticket.post, self.env.now, "reviewed", "violating" if remove else "not violating")
        if not remove:
            if ticket.violating:
                self.counts["false_keeps"] += 1
            then_appeal(ticket, False)
            return
        if self._is_cross_checked[ticket.klass] and (
                not self.cross_check_exceptions or (ticket.category, ticket.klass) not in self.cross_check_exceptions):
            self.escalate(ticket)
        else:
            self.remove(ticket, "first_line")
            then_appeal(ticket, True)

    def escalate(self, ticket: Ticket) -> None:
        """Send a ticket to the expert (cross-check) tier; the post stays up while it waits. When later reports
        open reviews, a post already waiting for the experts is not sent again."""
        if self._first_line is not None and self._in_cross_check(ticket.post):
            self.trace_if(ticket, "cross_check_joined", "already waiting for cross-check")
            return
        ticket.tier = 2
        ticket.entered = self.env.now
        self.trace_if(ticket, "cross_check_queued", "stays up while it waits")
        self.cross_check.submit(ticket)

    def _decide_cross_check(self, ticket: Ticket) -> None:
        ticket.state = DONE
        self.counts["cross_check_reviews"] += 1
        cc = self.scenario.review.cross_check
        false_keep, false_removal = cc.false_keep, cc.false_removal
        if self.per_post_errors:  # only the one for the post's kind is read
            false_keep = false_removal = self.error_probability(ticket, false_keep, false_removal)
        newsworthy = False
        if ticket.violating:
            if ticket.u_cross_check < false_keep:
                self.counts["false_keeps"] += 1
                self.trace_if(ticket, "cross_check_decided", "not violating")
                removed = False
            elif self.newsworthy(ticket) and ticket.u_newsworthy < self.scenario.review.newsworthiness.probability:
                self.counts["newsworthy_keeps"] += 1
                self.trace_if(ticket, "newsworthy_keep", "violating, kept in the public interest")
                removed, newsworthy = False, True
            else:
                removed = True
        else:
            removed = ticket.u_cross_check < false_removal
            if not removed:
                self.trace_if(ticket, "cross_check_decided", "not violating")
        if removed:
            self.remove(ticket, "cross_check")
        if newsworthy and self.scenario.board.enabled and ticket.u_referral < self.scenario.board.referral_probability:
            delay = -self.scenario.board.referral_delay * np.log1p(-ticket.u_board_delay)
            referral = self.env.timeout(delay, ticket)
            referral.callbacks.append(lambda ev: self.board.appeal(ev._value, referral=True))
        if ticket.appeal == "reporter":
            if not removed:
                self.board_eligible(ticket)
        else:
            self.appeals.offer(ticket, removed)

    def board_eligible(self, ticket: Ticket) -> None:
        """Internal appeals are exhausted: the appellant may take the case to the board within its window."""
        board = self.scenario.board
        prominent = self.classes[ticket.klass].spec.public_figure
        chance = board.user_appeal_probability_public_figure if prominent else board.user_appeal_probability
        scripted = ticket.batch.scripted
        if scripted is not None and scripted.board_appeal_probability is not None:
            chance = scripted.board_appeal_probability
        if board.enabled and ticket.u_board < chance:
            event = self.env.timeout(ticket.u_board_delay * board.appeal_window, ticket)
            event.callbacks.append(lambda ev: self.board.appeal(ev._value, referral=False))

    def newsworthy(self, ticket: Ticket) -> bool:
        """Whether the newsworthiness allowance may apply to this post."""
        return (self.newsworthy_classes[ticket.klass] and ticket.category in self.newsworthy_categories
                and (ticket.category, ticket.klass) not in self.newsworthy_exceptions)

    def remove(self, ticket: Ticket, how: str) -> None:
        """Take a post down and enforce against its author."""
        now = self.env._now
        removed_at = self.removed_at
        post = ticket.post
        if removed_at[post] != UP:
            return
        removed_at[post] = now
        tracked = ticket.tracked
        if tracked:
            self._trace(post, now, "removed", how)
        klass = ticket.klass
        if self._is_leader[klass]:
            self.government.action(self.scenario.government.grievance_removal, "the leader's post removed")
        if not ticket.violating:
            self.counts["wrongful_removals"] += 1
            if self._is_opposition[klass]:
                self.counts["opposition_wrongful_removals"] += 1
        enforcer = self.enforcer
        if enforcer.per_removal == 0:
            return
        public_figure = self._is_public_figure[klass]
        applied = enforcer.on_removal((klass, ticket.author), now, not public_figure or self.crisis.designated,
                                      public_figure)
        if applied is not None and public_figure and self._is_leader[klass] and applied in ("suspension", PROTOCOL):
            self.government.action(self.scenario.government.grievance_suspension, "the leader restricted in a crisis")
        if applied and tracked:
            self._trace(post, self.env.now, "restriction",
                        "suspension under the crisis protocol" if applied == PROTOCOL else applied)

    def restore(self, ticket: Ticket, how: str) -> None:
        """Put a removed post back up (an appeal or the board reversed the removal)."""
        if self.removed_at[ticket.post] != UP:
            self.removed_at[ticket.post] = UP
            self.trace_if(ticket, "restored", how)

    def is_up(self, post: int) -> bool:
        """Whether a post is up now (never removed, or restored)."""
        return self.removed_at[post] == UP

    def suspend_public_figure(self, ticket: Ticket, hours: float) -> None:
        """The platform accepts the board's recommendation: the account is suspended (a crisis designation is
        the protocol's, not this answer's: see enforcement.CrisisProtocolActor)."""
        self.enforcer.suspend((ticket.klass, ticket.author), self.env.now, hours)
        self.public_figure_suspensions += 1
        self.trace_if(ticket, "suspension", f"account suspended for {hours / 24:.0f} days")
        if ticket.klass in self.leaders:
            self.government.action(self.scenario.government.grievance_suspension, "the leader suspended")

    def slow_escalations(self, factor: float) -> None:
        """Escalations (cross-check, the board's dealings with the platform) run `factor` times slower."""
        self.escalation_slowdown = factor
        self.cross_check.slowdown = factor

    def lose_users(self, share: float) -> None:
        """A share of the remaining users leaves the platform for good."""
        active = sum(c.spec.count for c in self.classes) * self.active_share
        self.users_lost += active * share
        self.active_share *= 1 - share

    # ----------------------------------------------------------------- records

    def _trace(self, pid: int, time: float, event: str, detail: str) -> None:
        self.timeline.append((self.tracked_ids.get(pid, str(pid)), time, event, detail))

    def trace_if(self, ticket: Ticket, event: str, detail: str) -> None:
        """Add an event to a tracked post's timeline (nothing for untracked posts)."""
        if ticket.tracked:
            self._trace(ticket.post, self.env.now, event, detail)

    def trace_government(self, time: float, event: str, detail: str) -> None:
        """Add a step of the government's ladder to the timelines."""
        self.timeline.append(("government", time, event, detail))

