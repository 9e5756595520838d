"""Appeals inside the platform, and the oversight board outside it.

Internal appeals go back through the same review queues: an author's appeal of a removal is
served ahead of other work (as the platform does), a reporter's appeal of a keep is ranked like
any ticket and, for accounts on the cross-check list, escalates to the expert tier where the
newsworthiness allowance may apply. When internal appeals are exhausted, the user may appeal to
the board within its window, and the platform may refer hard cases (newsworthiness keeps).

The board receives far more appeals than it can hear (about a million a year for some fifty
decisions): a case is selected with a chance proportional to its importance (public figure,
severity, platform referral), within the board's yearly capacity. It deliberates (about 90 days,
or days on the expedited track), decides (binding on the post, carried out within a set delay),
and may recommend suspending a public figure. The platform answers within its window; it accepts
only if a crisis is designated under its civil-unrest protocol at that moment (the designation
follows the model's harm and threat signal, see enforcement.CrisisProtocolActor), and then with a
chance that falls with its market stake and with the government's grievance at that moment.
"""

from __future__ import annotations

import math
from bisect import bisect_left

import numpy as np

from sim.model.review import DONE, Ticket
from sim.scenario.schema import Board

YEAR = 365.25 * 24


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


class OversightBoard:
    """The board's docket: appeals received, cases selected, decisions and recommendations."""

    def __init__(self, world, spec: Board, rng: np.random.Generator):
        self.world = world
        self.spec = spec
        self.rng = rng
        self.appeals = 0
        self.selected_at: list[float] = []
        self._reserved: list[float] = []
        self.decision_days: list[float] = []
        self.overturns = 0
        self.recommendations = 0
        self.accepted = 0
        self.answer_days: list[float] = []  # days from each recommendation to the platform's answer
        self._seen: set[int] = set()

    def base_selection(self) -> float:
        """Chance that an ordinary appeal is selected: capacity over the appeals the board receives."""
        return self.spec.capacity_per_year / max(self.spec.background_appeals_per_year, self.spec.capacity_per_year, 1.0)

    def importance(self, ticket: Ticket, referral: bool) -> float:
        """How much more likely than an ordinary appeal this case is to be selected."""
        spec = self.world.classes[ticket.klass].spec
        weight = self.spec.importance_per_severity ** (ticket.severity - 1)
        if spec.public_figure or spec.head_of_government:
            weight *= self.spec.importance_public_figure
        if referral:
            weight *= self.spec.importance_referral
        return weight

    def appeal(self, ticket: Ticket, referral: bool) -> None:
        """A user appeal or a platform referral reaches the board."""
        world, now = self.world, self.world.env.now
        self.appeals += 1
        world.trace_if(ticket, "board_referral" if referral else "board_appeal",
                       "platform referral" if referral else "user appeal to the board")
        if ticket.post in self._seen:
            return
        chance = min(1.0, self.base_selection() * self.importance(ticket, referral))
        recent = sum(1 for t in self._reserved if now - t < YEAR)
        if recent >= self.spec.capacity_per_year or self.rng.random() >= chance:
            return
        self._seen.add(ticket.post)
        self._reserved.append(now)
        event = world.env.timeout(self.rng.exponential(self.spec.selection_delay), ticket)
        event.callbacks.append(self._select)

    def _select(self, event) -> None:
        ticket: Ticket = event._value
        world, now = self.world, self.world.env.now
        self.selected_at.append(now)
        world.trace_if(ticket, "board_selected", "case announced")
        if world.classes[ticket.klass].spec.head_of_government:
            world.government.action(world.scenario.government.grievance_board_case, "board case on the leader")
        if self.spec.expedited:
            hours = self.rng.uniform(0.5, 1.5) * self.spec.expedited_deliberation
        else:
            sigma2 = math.log1p(self.spec.deliberation_cv ** 2)
            hours = self.rng.lognormal(math.log(self.spec.deliberation) - sigma2 / 2, math.sqrt(sigma2))
        hours *= world.escalation_slowdown
        decision = world.env.timeout(hours, (ticket, now))
        decision.callbacks.append(self._decide)

    def _decide(self, event) -> None:
        ticket, selected = event._value
        world, now = self.world, self.world.env.now
        self.decision_days.append((now - selected) / 24.0)
        up = world.is_up(ticket.post)
        wrong = ticket.violating == up
        overturn = self.rng.random() < (self.spec.overturn_if_wrong if wrong else self.spec.overturn_if_right)
        if not overturn:
            world.trace_if(ticket, "board_decision", "platform upheld")
            return
        self.overturns += 1
        world.trace_if(ticket, "board_decision", "overturned: remove" if up else "overturned: restore")
        leader = world.classes[ticket.klass].spec.head_of_government
        if up:
            carry_out = world.env.timeout(self.rng.uniform(0, self.spec.implementation_delay), ticket)
            carry_out.callbacks.append(lambda ev: world.remove(ev._value, "board"))
            if leader:
                world.government.action(world.scenario.government.grievance_decision, "board ruled against the leader")
            spec = world.classes[ticket.klass].spec
            if spec.public_figure and ticket.severity >= 3 and self.rng.random() < self.spec.recommend_suspension:
                self._recommend(ticket)
        else:
            world.restore(ticket, "board")

    def _recommend(self, ticket: Ticket) -> None:
        world = self.world
        self.recommendations += 1
        months = self.spec.suspension_duration / (YEAR / 12)
        world.trace_if(ticket, "board_recommendation", f"suspend the account for {months:.0f} months")
        if world.classes[ticket.klass].spec.head_of_government:
            world.government.action(world.scenario.government.grievance_recommendation, "suspension recommended")
        answer = world.env.timeout(self.rng.uniform(0.9, 1.0) * self.spec.platform.response_window,
                                   (ticket, world.env.now))
        answer.callbacks.append(self._answer)

    def acceptance(self) -> tuple[float, str]:
        """Chance the platform accepts a suspension recommendation now, and why."""
        platform = self.spec.platform
        if platform.follow_recommendations:
            return 1.0, "platform follows the board"
        if not self.world.crisis.designated:
            continuing = self.world.scenario.crisis_protocol.requires == "continuing_threat"
            return 0.0, ("outside the public-figure protocol: no crisis designated ("
                         + ("no continuing threat, " if continuing else "") + "violence not above baseline)")
        grievance = self.world.government.grievance(self.world.env.now)
        logit = (_logit(platform.base_acceptance) - platform.stake_weight * platform.market_stake
                 - platform.pressure_weight * grievance)
        return 1.0 / (1.0 + math.exp(-logit)), f"crisis designated; government grievance {grievance:.1f}"

    def _answer(self, event) -> None:
        ticket, recommended = event._value
        world = self.world
        self.answer_days.append((world.env.now - recommended) / 24.0)
        chance, why = self.acceptance()
        if self.rng.random() < chance:
            self.accepted += 1
            world.trace_if(ticket, "recommendation_answer", f"accepted ({why})")
            world.suspend_public_figure(ticket, self.spec.suspension_duration)
        else:
            world.trace_if(ticket, "recommendation_answer", f"declined ({why})")
            world.government.platform_yields("platform declined the board's recommendation")


class InternalAppeals:
    """Authors' and reporters' appeals, reviewed in the ordinary queues."""

    def __init__(self, world):
        self.world = world
        self.spec = world.scenario.appeals
        # The chance of an appeal after a removal (author) or a keep (reporter, by account class).
        self._author_probability = self.spec.author_probability
        self._reporter_probability = tuple(
            self.spec.reporter_probability_public_figure if c.spec.public_figure else self.spec.reporter_probability
            for c in world.classes)
        self.filed = 0
        self.reversals = 0
        # When later reports open reviews of their own (review.duplicates), several decisions may follow one
        # post: its author appeals its removal at most once, its reporters a keep at most once.
        self._appealed: set[tuple[int, bool]] | None = None if world.scenario.review.duplicates == "boost" else set()

    def after_decision(self, ticket: Ticket, removed: bool) -> None:
        """After a first decision: the author may appeal a removal, a reporter a keep."""
        if ticket.appeal is not None:
            return
        chance = self._author_probability if removed else self._reporter_probability[ticket.klass]
        if ticket.u_appeal >= chance:
            return
        self._appeal_later(ticket, removed)

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
        self._appeal_later(ticket, removed)

    def _appeal_later(self, ticket: Ticket, removed: bool) -> None:
        """The appellant appeals: filed after its delay (a reporter's once it learns of the keep)."""
        now = self.world.env.now
        start = now
        who = "author" if removed else "reporter"
        if not removed and not ticket.source_is_report:
            # A reporter learns of the keep when reporting (now, or with a later report) and may appeal it.
            reports = ticket.reports
            if len(reports) == 0 or reports[-1] >= self.world.horizon:
                return
            k = bisect_left(reports, now)
            start = reports[k] if k < len(reports) else now
        delay = start - now - self.spec.delay * math.log1p(-ticket.u_appeal_delay)
        event = self.world.env.timeout(delay, (ticket, who))
        event.callbacks.append(self._file)

    def _file(self, event) -> None:
        ticket, who = event._value
        world = self.world
        if who == "reporter" and not world.is_up(ticket.post):
            return
        self.filed += 1
        ticket.appeal = who
        ticket.urgency = 1 if who == "author" else 0
        ticket.tier = 1
        ticket.entered = world.env.now
        world.trace_if(ticket, "appeal", f"{who} appeals")
        ticket.state = DONE
        world.pool_for(ticket).submit(ticket)

    def decide(self, ticket: Ticket) -> None:
        """Review of an appeal: uphold or reverse; the appellant may then go to the board."""
        world = self.world
        false_keep, false_removal = self.spec.false_keep, self.spec.false_removal
        if world.per_post_errors:  # the post's own error probability at this tier (only its kind's is read)
            false_keep = false_removal = world.error_probability(ticket, false_keep, false_removal)
        if ticket.appeal == "author":
            reverse = ticket.u_appeal_review < (false_keep if ticket.violating else 1 - false_removal)
            world.trace_if(ticket, "appeal_decided", "removal reversed" if reverse else "removal upheld")
            if reverse:
                self.reversals += 1
                world.restore(ticket, "appeal")
            else:
                world.board_eligible(ticket)
            return
        remove = ticket.u_appeal_review >= false_keep if ticket.violating else (
            ticket.u_appeal_review < false_removal)
        if remove and world.cross_checked[ticket.klass]:
            world.trace_if(ticket, "appeal_decided", "escalated to policy experts")
            world.escalate(ticket)
            return
        world.trace_if(ticket, "appeal_decided", "removed" if remove else "kept")
        if remove:
            self.reversals += 1
            world.remove(ticket, "appeal")
        else:
            world.board_eligible(ticket)
