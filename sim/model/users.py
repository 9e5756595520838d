"""Users: account classes post, viewers report, detectors flag; the posts that will be reviewed become tickets.

Each simulated day a SimPy process draws every account class's posts for that day in one numpy
batch (``sim.model.content``: only violating posts and the lawful posts someone reports or flags
are entities; views follow a closed-form curve), then their reports (``sim.model.reporting``: a
Poisson number over the post's authentic views, each at a time drawn from the view curve) and the
other signals (the classifier at creation, trusted flaggers, the government's channel). The posts
whose first signal comes before the horizon are put on one arrival chain (``sim.model.chains``),
which hands each ticket to the first line (``sim.model.first_line``) at its entry time. This is the
hot path: a Cambodia year has about a million tickets, so posts are never a process each.

Scripted posts (the 9 January 2023 video) are drawn the same way at their hour, with their own reach
and view curve, and may carry their own report probability, reporters, reviewer errors and appeal
behaviour; they are tracked.
"""

from __future__ import annotations

from itertools import repeat

import numpy as np

from sim.model.chains import ArrivalChain
from sim.model.content import (
    A_APPEAL, A_REFERRAL, BENIGN_FLAGGED, BENIGN_GOVERNMENT, BENIGN_REPORTED, U_CLASSIFIER, U_CROSS_CHECK, U_GOVERNMENT,
    U_REVIEW, U_TRUSTED, VIOLATING, ClassModel, PostBatch, handling_times,
)
from sim.model.enforcement import UP
from sim.model.reporting import GOVERNMENT, REPORT, draw_reports, entry_times, report_counts
from sim.model.retaliation import Throttle
from sim.model.tickets import Ticket, beta_error
from sim.scenario.schema import ScriptedPost

DAY = 24.0
KINDS = np.array([VIOLATING, BENIGN_REPORTED, BENIGN_FLAGGED, BENIGN_GOVERNMENT], dtype=np.int64)
NO_REPORTS: tuple[float, ...] = ()  # the report times of a post nobody reports


class Users:
    """The posts of every account class and their signals, drawn day by day, and the tickets they open."""

    def __init__(self, world):
        self.world = world
        self.scenario = world.scenario
        self.streams = world.streams
        self.batches: list[PostBatch] = []
        self.offsets: list[int] = []
        self.n_posts = 0
        # Per-report uniforms deciding whether a throttle lets a report through (only with a throttle step).
        self.thins_reports = any(isinstance(step, Throttle) for step in self.scenario.government.ladder)

    def daily_posts(self):
        """Each day, draw every account class's posts for the day."""
        env, horizon = self.world.env, self.world.horizon
        day = 0.0
        while day < horizon:
            end = min(day + DAY, horizon)
            for cls in self.world.classes:
                self._draw_class(cls, day, end)
            yield env.timeout(end - day)
            day = end

    def _draw_class(self, cls: ClassModel, t0: float, t1: float) -> None:
        world = self.world
        rng = self.streams.get(f"accounts/{cls.name}")
        days = (t1 - t0) / DAY
        platform = world.platform
        violating, benign = cls.daily_counts(platform.active_share * platform.posting_share(t0, t1), days)
        spec = cls.spec
        government = self.scenario.detection.government
        n_gov = 0
        if world.government_targets[cls.index] and government.targets:
            n_gov = rng.poisson(government.lawful_flags_per_day * days * self._target_share(cls))
        counts = (rng.poisson(violating), rng.poisson(benign * spec.benign_report_rate),
                  rng.poisson(benign * world.classifier.false_positive_rate), n_gov)
        kinds = np.repeat(KINDS, counts)
        if len(kinds) == 0:
            return
        batch = cls.draw(rng, kinds, t0, t1, self._pool_spec(spec.language).handling_time,
                         self.scenario.review.cross_check.handling_time)
        self.admit(batch, rng, report_counts(batch, rng, spec.report_probability, spec.reports_per_benign_post),
                   self.streams.get(f"appeals/{cls.name}"), cls.name)

    def _target_share(self, cls: ClassModel) -> float:
        world = self.world
        volume = {c.index: c.spec.count * c.spec.posts_per_day for c in world.classes if world.government_targets[c.index]}
        total = sum(volume.values())
        return volume[cls.index] / total if total > 0 else 0.0

    def _pool_spec(self, language: str):
        world = self.world
        return world.pools[world.pool_of_language[language]].spec

    def add_scripted(self, post: ScriptedPost) -> None:
        """Place a scripted post on the calendar and track it."""
        world = self.world
        cls = world.classes[world.class_index[post.account]]
        rng = self.streams.get(f"scripted/{post.name}")
        at = self.scenario.hour_of(post.at)
        if at >= world.horizon:
            return
        kind = np.array([VIOLATING if post.violating else BENIGN_REPORTED])
        batch = cls.draw(rng, kind, at, at, self._pool_spec(cls.spec.language).handling_time,
                         self.scenario.review.cross_check.handling_time)
        batch.created[:] = at
        batch.scripted = post
        batch.reach[:] = post.reach
        batch.decay = np.full(1, float(post.view_decay))
        batch.category[:] = world.categories[post.category]
        batch.severity[:] = post.severity
        probability = cls.spec.report_probability if post.report_probability is None else post.report_probability
        counts = rng.poisson(probability * batch.reach * batch.authentic)
        pid = self.admit(batch, rng, counts, self.streams.get(f"appeals/scripted/{post.name}"), f"scripted/{post.name}")
        world.tracked_ids[pid] = post.name
        world.timeline.post(pid, at, "published", f"{post.account}, reach {post.reach:,.0f}")

    def admit(self, batch: PostBatch, rng: np.random.Generator, reports: np.ndarray,
              appeal_rng: np.random.Generator, name: str) -> int:
        """Draw a batch's report times and detection signals and schedule the posts that enter review (`name`
        names the streams of its class or scripted post); the id of its first post."""
        world = self.world
        draw_reports(batch, rng, reports)
        if world.per_post_errors or world.first_line.reviews_duplicates:
            self._draw_review_columns(batch, name)
        if self.thins_reports:
            batch.report_uniforms = self.streams.get(f"throttle/{name}").random(len(batch.report_flat))
        appeal = appeal_rng.random((len(batch), A_REFERRAL + 1))  # the appeal, then batch.appeal_uniforms
        u = batch.uniforms
        detection = self.scenario.detection
        violating = batch.kind == VIOLATING
        flagged = (violating & (u[:, U_CLASSIFIER] < world.classifier.recall)) | (batch.kind == BENIGN_FLAGGED)
        flagged &= world.classifier_covers[batch.category]
        trusted = (violating & (u[:, U_TRUSTED] < detection.trusted_flaggers.coverage)
                   & world.trusted_watch[batch.klass])
        government = (violating & (u[:, U_GOVERNMENT] < detection.government.violating_coverage)
                      & world.government_targets[batch.klass]) | (batch.kind == BENIGN_GOVERNMENT)
        entry, source = entry_times(batch, flagged, trusted, detection.trusted_flaggers.delay, government,
                                    detection.government.delay, rng)
        # The classifier's belief is worked out only for a policy that ranks by it (NaN otherwise).
        batch.p_violating = (world.classifier.probabilities(world.classifier.scores(batch.kind, u[:, U_CLASSIFIER]))
                             if world.policy.uses_scores else np.broadcast_to(np.nan, (len(batch),)))
        offset = self.n_posts
        self.batches.append(batch)
        self.offsets.append(offset)
        self.n_posts += len(batch)
        world.removed_at.extend(repeat(UP, len(batch)))
        enter = np.flatnonzero(entry < world.horizon)
        if len(enter):
            times = entry[enter]
            order = np.argsort(times, kind="stable")
            tickets = self._tickets(batch, enter[order], offset, source, appeal[:, A_APPEAL])
            ArrivalChain(world.env, times[order], order, tickets, world.first_line.open)
        # Only the draws that later steps of some tickets read are kept; the rest have done their work.
        batch.escalation_uniforms = u[:, U_CROSS_CHECK:U_TRUSTED].copy()
        batch.appeal_uniforms = appeal[:, A_APPEAL + 1:].copy()
        batch.uniforms = None
        return offset

    # What only reviews read: once the run is over, no outcome needs them (about 70 bytes a post).
    REVIEW_COLUMNS = ("review_hours", "cross_check_hours", "escalation_uniforms", "appeal_uniforms", "difficulty",
                      "first_line_error", "duplicate_uniforms", "duplicate_hours")

    def release_review_columns(self) -> None:
        """Drop the batches' columns that only reviews read (``REVIEW_COLUMNS``), at the end of the run."""
        for batch in self.batches:
            for column in self.REVIEW_COLUMNS:
                setattr(batch, column, None)

    def _draw_review_columns(self, batch: PostBatch, name: str) -> None:
        """The columns of the features off by default (PostBatch.scripted and after), each from its own stream.

        With shared mistakes (review.agreement), each post's difficulty is a uniform quantile and its error
        probability at a tier is that quantile of a Beta with the tier's mean and the concentration; a scripted
        post's false_keep or false_removal replaces every tier's mean. The first-line probabilities are worked
        out here for the whole batch, the rarer tiers' when a review needs them (error_probability)."""
        world = self.world
        pool = world.pool_of_class[int(batch.klass[0])].spec
        scripted = batch.scripted
        own = scripted is not None and (scripted.false_keep is not None or scripted.false_removal is not None)
        if world.agreement is not None or own:
            keep = pool.false_keep if scripted is None or scripted.false_keep is None else scripted.false_keep
            removal = pool.false_removal if scripted is None or scripted.false_removal is None else scripted.false_removal
            mean = np.where(batch.kind == VIOLATING, keep, removal)
            if world.agreement is None:
                batch.first_line_error = mean
            else:
                batch.difficulty = self.streams.get(f"difficulty/{name}").random(len(batch))
                batch.first_line_error = beta_error(mean, world.agreement, batch.difficulty)
        if world.first_line.reviews_duplicates:
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
        agreement = self.world.agreement
        return mean if agreement is None else beta_error(mean, agreement, ticket.difficulty)

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
            batch.uniforms[:, U_REVIEW], batch.review_hours, u_appeal))[posts]
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
