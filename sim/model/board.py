"""The oversight board: appeals in, a tiny selection, binding decisions, recommendations the platform answers.

The board receives far more appeals than it can hear (about a million a year for some fifty
decisions). A case is selected with a chance proportional to its importance (a public figure,
severity, a platform referral) within the board's yearly capacity. Each selected case is then a
SimPy process that reads like the 2023 case of the "bat" video: selection after a delay (the case
announced: the government takes it personally), deliberation (about 90 days, or days on the
expedited track), the decision (binding on the post: overturned or upheld), the platform carrying it
out within its delay, and, where the board orders a public figure's severe violation removed, a
recommendation to suspend the account, which the platform answers within its window. It accepts
only if a crisis is designated under its civil-unrest protocol at that moment
(``sim.model.crisis``), and then with a chance that falls with its market stake and with the
government's grievance; declining, it yields to the government, which de-escalates.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.tickets import Ticket
from sim.scenario.schema import Board

YEAR = 365.25 * 24


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


class OversightBoard:
    """The board's docket: appeals received, cases selected, decisions and recommendations."""

    def __init__(self, world, spec: Board, rng: np.random.Generator):
        self.world = world
        self.env = world.env
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

    def file(self, ticket: Ticket, referral: bool, delay: float):
        """An appellant (or the platform, for a referral) takes `delay` to bring the case to the board."""
        yield self.env.timeout(delay)
        self.appeal(ticket, referral)

    def appeal(self, ticket: Ticket, referral: bool) -> None:
        """A user appeal or a platform referral reaches the board, which may select it as a case."""
        world, now = self.world, self.env.now
        self.appeals += 1
        world.timeline.ticket(ticket, "board_referral" if referral else "board_appeal",
                              "platform referral" if referral else "user appeal to the board")
        if ticket.post in self._seen:
            return
        chance = min(1.0, self.base_selection() * self.importance(ticket, referral))
        recent = sum(1 for t in self._reserved if now - t < YEAR)
        if recent >= self.spec.capacity_per_year or self.rng.random() >= chance:
            return
        self._seen.add(ticket.post)
        self._reserved.append(now)
        self.env.process(self.case(ticket))

    def case(self, ticket: Ticket):
        """A board case, from its selection to the platform carrying out the decision."""
        world, env, spec = self.world, self.env, self.spec
        leader = world.classes[ticket.klass].spec.head_of_government
        yield env.timeout(self.rng.exponential(spec.selection_delay))
        selected = env.now
        self.selected_at.append(selected)
        world.timeline.ticket(ticket, "board_selected", "case announced")
        if leader:
            world.government.action(world.scenario.government.grievance_board_case, "board case on the leader")

        yield env.timeout(self._deliberation() * world.escalation_slowdown)
        self.decision_days.append((env.now - selected) / 24.0)
        up = world.is_up(ticket.post)
        wrong = ticket.violating == up
        if self.rng.random() >= (spec.overturn_if_wrong if wrong else spec.overturn_if_right):
            world.timeline.ticket(ticket, "board_decision", "platform upheld")
            return
        self.overturns += 1
        if not up:
            world.timeline.ticket(ticket, "board_decision", "overturned: restore")
            world.restore(ticket, "board")
            return
        world.timeline.ticket(ticket, "board_decision", "overturned: remove")
        if leader:
            world.government.action(world.scenario.government.grievance_decision, "board ruled against the leader")
        author = world.classes[ticket.klass].spec
        if author.public_figure and ticket.severity >= 3 and self.rng.random() < spec.recommend_suspension:
            env.process(self.recommendation(ticket))

        yield env.timeout(self.rng.uniform(0, spec.implementation_delay))
        world.remove(ticket, "board")

    def _deliberation(self) -> float:
        """Hours from selection to decision: uniform around the expedited mean, lognormal on the standard track."""
        if self.spec.expedited:
            return self.rng.uniform(0.5, 1.5) * self.spec.expedited_deliberation
        sigma2 = math.log1p(self.spec.deliberation_cv ** 2)
        return self.rng.lognormal(math.log(self.spec.deliberation) - sigma2 / 2, math.sqrt(sigma2))

    def recommendation(self, ticket: Ticket):
        """The board recommends suspending the account; the platform answers within its window."""
        world, env = self.world, self.env
        self.recommendations += 1
        months = self.spec.suspension_duration / (YEAR / 12)
        world.timeline.ticket(ticket, "board_recommendation", f"suspend the account for {months:.0f} months")
        if world.classes[ticket.klass].spec.head_of_government:
            world.government.action(world.scenario.government.grievance_recommendation, "suspension recommended")
        recommended = env.now
        yield env.timeout(self.rng.uniform(0.9, 1.0) * self.spec.platform.response_window)

        self.answer_days.append((env.now - recommended) / 24.0)
        chance, why = self.acceptance()
        if self.rng.random() < chance:
            self.accepted += 1
            world.timeline.ticket(ticket, "recommendation_answer", f"accepted ({why})")
            world.enforcement.suspend_public_figure(ticket, self.spec.suspension_duration)
        else:
            world.timeline.ticket(ticket, "recommendation_answer", f"declined ({why})")
            world.government.platform_yields("platform declined the board's recommendation")

    def acceptance(self) -> tuple[float, str]:
        """Chance the platform accepts a suspension recommendation now, and why."""
        platform = self.spec.platform
        if platform.follow_recommendations:
            return 1.0, "platform follows the board"
        if not self.world.crisis.designated:
            continuing = self.world.scenario.crisis_protocol.requires == "continuing_threat"
            return 0.0, ("outside the public-figure protocol: no crisis designated ("
                         + ("no continuing threat, " if continuing else "") + "violence not above baseline)")
        grievance = self.world.government.grievance(self.env.now)
        logit = (_logit(platform.base_acceptance) - platform.stake_weight * platform.market_stake
                 - platform.pressure_weight * grievance)
        return 1.0 / (1.0 + math.exp(-logit)), f"crisis designated; government grievance {grievance:.1f}"
