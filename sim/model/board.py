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

Three refinements are off by default. With ``shortlist`` selection takes two steps: the case is
shortlisted (the platform is told), the platform re-reviews the post and may reverse itself when it
was wrong (``platform.concede_on_shortlist``), and the board then announces the case, or closes one
the platform has reversed as a summary decision. Importance may depend on the post's category
(``category_importance``) and on dated contexts in force when it was published (``contexts``,
``sim.model.contexts``). And a case may be on an account rather than a post: the platform's referral
of its restriction of a public figure (``sim.model.accounts``), which the board upholds or lifts,
ordering an open-ended one given a term.
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
        self._accounts_seen: set[tuple[int, int]] = set()
        # Topical selection: each category's weight (by index), and the dated contexts.
        self._category_weight = [spec.category_importance.get(name, 1.0) for name in world.categories]
        # The two-step selection (board.shortlist): shortlisted cases, summary decisions, the platform's reversals.
        self.shortlisted = 0
        self.summary_decisions = 0
        self.reversal_days: list[float] = []
        self._reversed: set[int] = set()

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
        weight *= self._category_weight[ticket.category]
        return weight * self.world.contexts.board_importance(ticket)

    def file(self, ticket: Ticket, referral: bool, delay: float):
        """An appellant (or the platform, for a referral) takes `delay` to bring the case to the board."""
        yield self.env.timeout(delay)
        self.appeal(ticket, referral)

    def appeal(self, ticket: Ticket, referral: bool, account: bool = False) -> None:
        """A user appeal or a platform referral reaches the board, which may select it as a case (on the post, or
        with `account` on the author's account: the platform's referral of its restriction)."""
        world, now = self.world, self.env.now
        self.appeals += 1
        world.timeline.ticket(ticket, "board_referral" if referral else "board_appeal",
                              ("platform referral of the account's restriction" if account else "platform referral")
                              if referral else "user appeal to the board")
        seen, key = (self._accounts_seen, (ticket.klass, ticket.author)) if account else (self._seen, ticket.post)
        if key in seen:
            return
        chance = min(1.0, self.base_selection() * self.importance(ticket, referral))
        recent = sum(1 for t in self._reserved if now - t < YEAR)
        if recent >= self.spec.capacity_per_year or self.rng.random() >= chance:
            return
        seen.add(key)
        self._reserved.append(now)
        self.env.process(self.case(ticket, account))

    def case(self, ticket: Ticket, account: bool = False):
        """A board case, from its selection to the platform carrying out the decision."""
        world, env, spec = self.world, self.env, self.spec
        leader = world.classes[ticket.klass].spec.head_of_government
        yield env.timeout(self.rng.exponential(spec.selection_delay))
        if spec.shortlist is not None and not (yield from self._shortlist(ticket, account)):
            return
        selected = env.now
        self.selected_at.append(selected)
        world.timeline.ticket(ticket, "board_selected", "case announced")
        if leader:
            world.government.action(world.scenario.government.grievance_board_case, "board case on the leader")

        yield env.timeout(self._deliberation() * world.escalation_slowdown)
        self.decision_days.append((env.now - selected) / 24.0)
        if account:
            yield from self._decide_account(ticket, leader)
            return
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

    def _shortlist(self, ticket: Ticket, account: bool):
        """Shortlisting, the platform's re-review, then the announcement; False if the case ends as a summary
        decision (the platform reversed itself before the announcement)."""
        world, env, spec = self.world, self.env, self.spec
        self.shortlisted += 1
        world.timeline.ticket(ticket, "board_shortlisted", "the platform is told")
        concede = spec.platform.concede_on_shortlist
        wrong = not account and ticket.violating == world.is_up(ticket.post)
        if wrong and concede.probability > 0 and self.rng.random() < concede.probability:
            env.process(self._concede(ticket, env.now, self.rng.exponential(concede.delay)))
        yield env.timeout(self.rng.exponential(spec.shortlist.delay))
        if ticket.post in self._reversed and self.rng.random() < spec.shortlist.summary_probability:
            self.summary_decisions += 1
            world.timeline.ticket(ticket, "board_summary_decision", "the platform reversed itself: case closed")
            return False
        return True

    def _concede(self, ticket: Ticket, shortlisted: float, delay: float):
        """The platform reverses its decision on a shortlisted post (if it is still the wrong one)."""
        world = self.world
        yield self.env.timeout(delay)
        up = world.is_up(ticket.post)
        if ticket.violating != up:
            return
        self._reversed.add(ticket.post)
        self.reversal_days.append((self.env.now - shortlisted) / 24.0)
        world.timeline.ticket(ticket, "platform_reversal", "removed on shortlisting" if up else "restored on shortlisting")
        if up:
            world.remove(ticket, "shortlist")
        else:
            world.restore(ticket, "shortlist")

    def _decide_account(self, ticket: Ticket, leader: bool):
        """The decision on an account's restriction: lifted (binding), or upheld, and an open-ended one to be given
        a term, which the platform fixes within review_within (or its response window, if shorter)."""
        world, env, spec = self.world, self.env, self.spec
        account = (ticket.klass, ticket.author)
        wrong = not ticket.violating  # the restriction rests on a lawful post
        if self.rng.random() < (spec.overturn_if_wrong if wrong else spec.overturn_if_right):
            self.overturns += 1
            world.timeline.ticket(ticket, "board_decision", "overturned: restriction lifted")
            yield env.timeout(self.rng.uniform(0, spec.implementation_delay))
            world.accounts.lift(account, ticket)
            return
        if leader:
            world.government.action(world.scenario.government.grievance_decision, "board upheld the leader's restriction")
        if not world.accounts.is_open(account):
            world.timeline.ticket(ticket, "board_decision", "restriction upheld")
            return
        months = spec.review_within / (YEAR / 12)
        world.timeline.ticket(ticket, "board_decision",
                              f"restriction upheld, not its open end: a term within {months:.0f} months")
        yield env.timeout(self.rng.uniform(0.9, 1.0) * min(spec.review_within, spec.platform.response_window))
        world.accounts.fix_term(account, ticket)

    def record(self) -> dict[str, float]:
        """The two-step selection's outcomes (none without board.shortlist)."""
        if self.spec.shortlist is None:
            return {}
        days = self.reversal_days
        return {"board_shortlisted": float(self.shortlisted), "board_summary_decisions": float(self.summary_decisions),
                "shortlist_reversals": float(len(days)),
                "shortlist_reversal_days_mean": float(sum(days) / len(days)) if days else float("nan")}

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
