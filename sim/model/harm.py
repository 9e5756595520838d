"""Offline harm as it happens, and the continuing threats the civil-unrest protocol may count.

A SimPy process steps through the run one day at a time. At the end of each day it works out the
day's live incitement exposure: the views, while they were up, of the violating posts in the harm
categories (``harm.categories``), from the posts the world has drawn so far and their removal times
up to now, exactly as the daily series ``live_incitement_views`` is computed after the run (no views
while the platform is blocked, none for posts that could not have been published). It then draws
that day's harm events (attacks on critics) from its own random stream, a Poisson count with hazard

    base_per_day x unrest(day) x (1 + per_million_views x views / 1e6),

and counts the day's continuing threats: violating incitement posts by a head of government that
are still up at the day's end and have been up at least ``crisis_protocol.threat_delay`` (the state
threatening its critics in public, on the platform, after the platform has had time to act). Both
go to the crisis protocol (``sim.model.enforcement.CrisisProtocolActor``), which designates crises
from them. The last day (the one ending at the horizon, when the run has stopped) is drawn by
``finish``, so every day of the run has its draw whether or not the process reached its end.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from sim.model.content import VIOLATING, views_by

DAY = 24.0
_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0)


class HarmActor:
    """The daily harm draw and the live exposure and threats it reads."""

    def __init__(self, world, rng: np.random.Generator):
        self.world = world
        self.spec = spec = world.scenario.harm
        self.rng = rng
        self.threat_delay = world.scenario.crisis_protocol.threat_delay
        self.categories = np.array([world.categories[c] for c in spec.categories if c in world.categories],
                                   dtype=np.int64)
        self.days = math.ceil(world.horizon / DAY)
        self.events: list[int] = []        # harm events drawn for each day so far
        self.views: list[float] = []       # live incitement views of each day so far
        self.threats: list[int] = []       # continuing threats counted at the end of each day so far
        self._batches = 0                  # world.batches read so far
        # Incitement posts drawn but not yet published at the last step (scripted posts are drawn at hour 0),
        # then the live ones (published, up at the last step and still gaining views) with their views so far.
        self._pending = [_EMPTY_I, _EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_I, _EMPTY_I]  # id, created, reach, decay, klass, author
        self._live = [_EMPTY_I, _EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_F]  # id, created, reach, decay, views so far
        self._threat_posts = [_EMPTY_I, _EMPTY_F]  # a head of government's published incitement posts: id, created
        self._leaders = np.array(world.leaders, dtype=np.int64)
        # Unrest multiplier of each day of the run.
        self._unrest = []
        for day in range(self.days):
            date = world.scenario.start + dt.timedelta(days=day)
            level = 1.0
            for period in spec.unrest:
                if period.start <= date <= period.end:
                    level *= period.level
            self._unrest.append(level)
        self.draws = spec.base_per_day > 0
        self.counts_threats = world.scenario.crisis_protocol.requires == "continuing_threat" and bool(world.leaders)

    @property
    def needed(self) -> bool:
        """Whether anything reads the daily steps (no harm and no threats counted: nothing to do)."""
        return self.draws or self.counts_threats

    def process(self):
        """The daily steps inside the run: day d ends at hour 24(d+1)."""
        env = self.world.env
        while len(self.events) < self.days and (len(self.events) + 1) * DAY < self.world.horizon:
            yield env.timeout((len(self.events) + 1) * DAY - env.now)
            harm, threats = self._step()
            self.world.crisis.observe(env.now, harm, threats)

    def finish(self) -> None:
        """Draw the days the process did not reach (the last one ends at the horizon, after the run stops)."""
        while self.needed and len(self.events) < self.days:
            self._step()

    @property
    def total(self) -> float:
        """Harm events over the run."""
        return float(sum(self.events))

    # ------------------------------------------------------------------ one day

    def _gather(self) -> None:
        """Take the incitement posts of the batches drawn since the last step into the pending ones."""
        users = self.world.users
        batches = users.batches
        if self._batches == len(batches):
            return
        parts = [self._pending]
        for batch, offset in zip(batches[self._batches:], users.offsets[self._batches:]):
            rows = np.flatnonzero((batch.kind == VIOLATING) & np.isin(batch.category, self.categories))
            if len(rows):
                parts.append([offset + rows, batch.created[rows], batch.reach[rows], np.asarray(batch.decay)[rows],
                              np.asarray(batch.klass)[rows], batch.author[rows]])
        self._batches = len(batches)
        if len(parts) > 1:
            self._pending = [np.concatenate(column) for column in zip(*parts)]

    def _publish(self, cut: float) -> None:
        """Move the pending posts published before `cut` to the live ones, unless they could not have been
        published (author suspended or gone, platform blocked)."""
        ids, created, reach, decay, klass, author = self._pending
        now = created < cut
        if not now.any():
            return
        self._pending = [column[~now] for column in self._pending]
        ids, created, reach, decay, klass, author = (column[now] for column in (ids, created, reach, decay, klass, author))
        exists = self.world.platform.existing_mask(klass, author, created)
        ids, created, reach, decay, klass = ids[exists], created[exists], reach[exists], decay[exists], klass[exists]
        live = self._live
        self._live = [np.concatenate((live[0], ids)), np.concatenate((live[1], created)),
                      np.concatenate((live[2], reach)), np.concatenate((live[3], decay)),
                      np.concatenate((live[4], np.zeros(len(ids))))]
        if len(self._leaders):
            lead = np.isin(klass, self._leaders)
            if lead.any():
                self._threat_posts = [np.concatenate((self._threat_posts[0], ids[lead])),
                                      np.concatenate((self._threat_posts[1], created[lead]))]

    def _step(self) -> tuple[int, int]:
        """The next day: its live incitement views, harm events and continuing threats."""
        world = self.world
        day = len(self.events)
        start, cut = day * DAY, min((day + 1) * DAY, world.horizon)
        self._gather()
        self._publish(cut)
        removed_at = world.removed_at
        ids, created, reach, decay, before = self._live
        views = 0.0
        if len(ids):
            removed = np.fromiter((removed_at[i] for i in ids.tolist()), dtype=float, count=len(ids))
            up = removed > start  # up during part of the day at least
            ids, created, reach, decay, before, removed = (a[up] for a in (ids, created, reach, decay, before, removed))
            until = np.minimum(removed, cut)
            cumulative = views_by(until - created - world.platform.lost_hours(created, until), reach, decay)
            views = float((cumulative - before).sum())
            gaining = cumulative < reach  # a post at its reach gains no more views
            self._live = [a[gaining] for a in (ids, created, reach, decay, cumulative)]
        spec = self.spec
        harm = int(self.rng.poisson(spec.base_per_day * self._unrest[day] * (1.0 + spec.per_million_views * views / 1e6))
                   ) if self.draws else 0
        threats = 0
        if self.counts_threats and len(self._threat_posts[0]):
            posts, published = self._threat_posts
            still_up = np.fromiter((removed_at[i] > cut for i in posts.tolist()), dtype=bool, count=len(posts))
            threats = int((still_up & (cut - published >= self.threat_delay)).sum())
        self.events.append(harm)
        self.views.append(views)
        self.threats.append(threats)
        return harm, threats
