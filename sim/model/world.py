"""The world of one replication: the actors of the case on one SimPy environment, wired together.

Users post and report (``users``); the first line reviews (``first_line``, ``review``, ordered by a
``policies`` policy); high-profile accounts' removals go to the experts (``cross_check``); posts are
removed and accounts penalised (``enforcement``); authors and reporters appeal (``appeals``); cases
reach the oversight board (``board``); the government retaliates when its leader is moderated
(``government``, by the steps of ``retaliation``); offline harm follows live incitement, and the
civil-unrest protocol designates crises from it (``harm``, ``crisis``). Every actor asks one owner
whether the platform is up in the country and who may post (``platform``). At the horizon each
actor's record goes to ``sim.metrics``, which turns them into outcomes.

The scenario is read-only here; everything that changes lives in this object and dies with it.
"""

from __future__ import annotations

import gc
from array import array
from operator import attrgetter

import numpy as np
import simpy

from sim.model.accounts import AccountDecisions
from sim.model.appeals import InternalAppeals
from sim.model.board import OversightBoard
from sim.model.chains import drop_pending
from sim.model.content import ClassModel
from sim.model.contexts import Contexts
from sim.model.crisis import CrisisProtocolActor
from sim.model.cross_check import CrossCheck
from sim.model.enforcement import Enforcer, TakeDown
from sim.model.first_line import FirstLine
from sim.model.government import GovernmentActor
from sim.model.harm import HarmActor
from sim.model.platform import Platform
from sim.model.reporting import ClassifierModel
from sim.model.review import ReviewerPool, ReviewQueue
from sim.model.streams import Streams
from sim.model.timeline import Timeline
from sim.model.users import Users
from sim.scenario.schema import Scenario

DAY = 24.0


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
    """One replication's actors and the state they share."""

    def __init__(self, scenario: Scenario, streams: Streams):
        self.scenario = scenario
        self.streams = streams
        self.env = simpy.Environment()
        self.horizon = scenario.horizon
        self.categories = categories_of(scenario)
        self.classes = [ClassModel.build(i, name, spec, self.categories)
                        for i, (name, spec) in enumerate(scenario.accounts.items())]
        self.class_index = {c.name: c.index for c in self.classes}
        self.leaders = [c.index for c in self.classes if c.spec.head_of_government]
        # Per-class flags as plain Python tuples: read once per ticket, so no numpy scalars or spec lookups.
        self.is_leader = tuple(c.index in self.leaders for c in self.classes)
        self.is_opposition = tuple(bool(c.spec.opposition) for c in self.classes)
        self.is_public_figure = tuple(bool(c.spec.public_figure) for c in self.classes)
        detection, review = scenario.detection, scenario.review
        self.classifier = ClassifierModel(detection.classifier.recall, detection.classifier.false_positive_rate)
        covered = detection.classifier.categories
        self.classifier_covers = np.array(
            [covered is None or name in covered for name in self.categories], dtype=bool)
        self.trusted_watch = self.class_mask(detection.trusted_flaggers.accounts)
        self.government_targets = self.class_mask(detection.government.targets or ())
        self.deference = detection.government.removal_deference
        self.policy = review.policy
        # Each post's own error probabilities: shared mistakes (review.agreement), or a scripted post's own.
        self.agreement = review.agreement
        self.per_post_errors = self.agreement is not None or any(
            post.false_keep is not None or post.false_removal is not None for post in scenario.scripted_posts)
        self.escalation_slowdown = 1.0

        self.removed_at = array("d")  # by post id: when the post was taken down (inf while it is up)
        self.tracked_ids: dict[int, str] = {}
        self.timeline = Timeline(self.env, self.tracked_ids)
        self.series: dict[str, list[float]] = {"queue_length": [], "cross_check_queue_length": [], "grievance": []}
        self.platform = Platform(self.leaders, sum(c.spec.count for c in self.classes))
        self.enforcer = Enforcer(scenario.enforcement, self.platform, scenario.crisis_protocol.tiers,
                                 scenario.crisis_protocol.indefinite)
        self.take_down = self.enforcement = TakeDown(self, self.enforcer)
        self.accounts = AccountDecisions(self)
        self.crisis = CrisisProtocolActor(self, scenario.crisis_protocol, scenario.harm)
        self.government = GovernmentActor(self, scenario.government, streams.get("government"))
        self.contexts = Contexts(scenario, self.categories)
        self.board = OversightBoard(self, scenario.board, streams.get("board"))
        self.appeals = InternalAppeals(self)
        self.harm = HarmActor(self, streams.get("harm"))
        self.users = Users(self)
        self.first_line = FirstLine(self)
        self.pools: list[ReviewerPool] = []
        self.pool_of_language: dict[str, int] = {}
        for name, spec in review.pools.items():
            pool = ReviewerPool(self.env, name, ReviewQueue(self.env, self.policy, review.report_boost), spec.on_duty,
                                attrgetter("review_hours"), self.first_line.decide, self.horizon,
                                _shift_boundaries(spec))
            pool.spec = spec
            pool.warmup = scenario.warmup
            for language in spec.languages:
                self.pool_of_language.setdefault(language, len(self.pools))
            self.pools.append(pool)
        self.pool_of_class = [self.pools[self.pool_of_language[c.spec.language]] if c.spec.language in
                              self.pool_of_language else None for c in self.classes]
        self.cross_check = CrossCheck(self, self._pairs)
        self.first_line.wire()

    def _pairs(self, pairs) -> frozenset[tuple[int, int]]:
        """(category index, class index) of each pair (a category no post has cannot occur, and is left out)."""
        return frozenset((self.categories[p.category], self.class_index[p.account]) for p in pairs
                         if p.category in self.categories)

    def class_mask(self, names) -> np.ndarray:
        """Which account classes are listed (all when `names` is None)."""
        listed = set(names or ()) if names is not None else None
        return np.array([listed is None or c.name in listed for c in self.classes], dtype=bool)

    # ----------------------------------------------------------------- running

    def run(self) -> World:
        """Simulate up to the horizon."""
        self.env.process(self.users.daily_posts())
        self.env.process(self._daily_samples())
        if self.harm.needed:
            self.env.process(self.harm.process())
        for post in self.scenario.scripted_posts:
            self.users.add_scripted(post)
        # Nothing made per post or per event forms a reference cycle, so reference counting frees it all, and
        # the cycle collector's repeated passes over the growing live state would only cost time (a third
        # more per ticket at 100 times the reports). It is paused for the run; a test checks the cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.env.run(until=self.horizon)
        finally:
            if collecting:
                gc.enable()
        self.harm.finish()
        self.users.release_review_columns()
        return self

    def release(self) -> None:
        """Let go of everything this world holds, once its outcomes are collected. Its parts refer to one
        another (pools call back into the world), so without this only the cycle collector would return
        the memory, after an unpredictable number of further replications."""
        drop_pending(self.env)
        self.__dict__.clear()

    def _daily_samples(self):
        while True:
            self.series["queue_length"].append(float(sum(p.queue.waiting for p in self.pools)))
            self.series["cross_check_queue_length"].append(float(self.cross_check.pool.queue.waiting))
            self.series["grievance"].append(self.government.grievance(self.env.now))
            yield self.env.timeout(DAY)

    # ----------------------------------------------------------------- what the actors share

    def pool_for(self, ticket):
        """The first-line pool that reviews the ticket's language."""
        return self.pool_of_class[ticket.klass]

    def is_up(self, post: int) -> bool:
        """Whether a post is up now (never removed, or restored)."""
        return self.removed_at[post] == float("inf")

    def remove(self, ticket, how: str) -> None:
        """Take a post down (and close its other waiting reviews when later reports open reviews)."""
        self.first_line.remove(ticket, how)

    def restore(self, ticket, how: str) -> None:
        """Put a removed post back up."""
        self.take_down.restore(ticket, how)

    def slow_escalations(self, factor: float) -> None:
        """Escalations (cross-check, the board's dealings with the platform) run `factor` times slower."""
        self.escalation_slowdown = factor
        self.cross_check.pool.slowdown = factor
