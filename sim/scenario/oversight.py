"""The scenario's world around the platform: the oversight board, the civil-unrest protocol, the government,
offline harm, and the settings of the outcomes."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from sim.model.retaliation import STEPS, RetaliationStep
from sim.scenario.kinds import kinds
from sim.scenario.types import Count, Frozen, Hours, Name, NonNegative, Positive, PositiveHours, Probability, Strikes


class Concession(Frozen):
    """The platform re-reviews a post when the board shortlists it, and may reverse itself."""

    probability: Probability = Field(
        0.0, description="Chance it reverses its decision on a shortlisted post when that decision was wrong.")
    delay: Hours = Field("14d", description="Mean time from the shortlisting to its reversal (exponential).")


class BoardPlatform(Frozen):
    """How the platform answers the board's non-binding recommendations."""

    response_window: Hours = Field("60d", description="The platform answers recommendations within this window.")
    base_acceptance: Probability = Field(
        0.3, description="Chance it accepts a recommendation absent pressure (75 of 266 implemented, CASE)."
    )
    market_stake: Probability = Field(0.0, description="How much of its business in the country is at stake (0..1).")
    stake_weight: NonNegative = Field(2.0, description="Log-odds of acceptance lost per unit of market stake.")
    pressure_weight: NonNegative = Field(0.3, description="Log-odds of acceptance lost per unit of government grievance.")
    follow_recommendations: bool = Field(False, description="Accept every recommendation, whatever the protocol says.")
    concede_on_shortlist: Concession = Field(
        Concession(), description="Its re-review of a post the board shortlists (board.shortlist only).")


class Shortlist(Frozen):
    """Selection in two steps: shortlisting (announced to the platform), then the case's announcement."""

    delay: Hours = Field("30d", description="Mean time from shortlisting to the case's announcement (exponential); "
                                           "board.selection_delay is then the time from appeal to shortlisting.")
    summary_probability: Probability = Field(
        1.0, description="Chance the board closes a case the platform reversed before its announcement as a "
                         "summary decision, instead of deciding it in full.")


class Board(Frozen):
    """The independent oversight board: appeals in, a tiny selection, binding decisions, recommendations."""

    enabled: bool = Field(False, description="Whether cases can reach the board.")
    members: Count = Field(22, description="Board members (22 in 2023).")
    appeal_window: Hours = Field("15d", description="Users may appeal to the board this long after internal appeals end.")
    user_appeal_probability: Probability = Field(0.0, description="Chance a user appeals to the board after internal appeals.")
    user_appeal_probability_public_figure: Probability = Field(
        0.0, description="The same, when the post's author is a public figure (organised reporters appeal more)."
    )
    referral_probability: Probability = Field(
        0.0, description="Chance the platform refers a hard case (a newsworthiness keep) to the board."
    )
    referral_delay: Hours = Field("30d", description="Mean time to a platform referral (exponential).")
    background_appeals_per_year: NonNegative = Field(
        0.0, description="Appeals from the rest of the world competing for the board's capacity (1.1 M in its first year)."
    )
    capacity_per_year: NonNegative = Field(50.0, description="Cases the board decides per year (20 to 53, CASE).")
    importance_public_figure: Positive = Field(1000.0, description="How much more likely a public figure's case is selected.")
    importance_referral: Positive = Field(20.0, description="How much more likely a platform referral is selected.")
    importance_per_severity: Positive = Field(2.0, description="Selection odds multiply by this per severity level above 1.")
    selection_delay: Hours = Field("60d", description="Mean time from appeal to selection (exponential).")
    deliberation: PositiveHours = Field("90d", description="Mean time from selection to decision, standard cases.")
    deliberation_cv: NonNegative = Field(0.3, description="Coefficient of variation of deliberation (lognormal).")
    expedited: bool = Field(False, description="Decide selected cases on the expedited track.")
    expedited_deliberation: Hours = Field("7d", description="Mean time to an expedited decision (2 to 30 days).")
    implementation_delay: Hours = Field("1d", description="The platform carries out a binding decision within this time.")
    overturn_if_wrong: Probability = Field(0.9, description="Chance the board overturns a wrong platform decision.")
    overturn_if_right: Probability = Field(0.05, description="Chance the board overturns a right platform decision.")
    recommend_suspension: Probability = Field(
        0.0, description="Chance the board recommends suspending a public figure whose severe violation it orders removed."
    )
    suspension_duration: Hours = Field("6mo", description="Length of the recommended suspension.")
    category_importance: dict[Name, Positive] = Field(
        {}, description="Selection odds multiply by this for a post of the category (topical selection); 1 when "
                        "the category is not listed.")
    shortlist: Shortlist | None = Field(
        None, description="Select in two steps, shortlisting then announcement (omitted: one step, as before).")
    restriction_referral_probability: Probability = Field(
        0.0, description="Chance the platform refers its restriction of a public figure's account under the "
                         "crisis protocol to the board, as a case on the account.")
    restriction_referral_delay: Hours = Field(
        "14d", description="Mean time from such a restriction to its referral (exponential).")
    review_within: PositiveHours = Field(
        "6mo", description="When the board upholds an indefinite restriction, the platform must fix its term "
                           "within this time (it answers within this or platform.response_window, the shorter).")
    platform: BoardPlatform = Field(BoardPlatform(), description="The platform's answers to recommendations.")


class ProtocolTier(Frozen):
    """One tier of the protocol's restrictions of public figures during a crisis."""

    strikes: Strikes = Field(description="Active strikes at which this tier applies.")
    restriction: PositiveHours = Field(description="How long the account is restricted (suspended), e.g. 1mo.")


class CrisisProtocol(Frozen):
    """The civil-unrest protocol that alone allows restricting public figures, and when it designates a crisis."""

    requires: Literal["violence_above_baseline", "continuing_threat"] = Field(
        "violence_above_baseline",
        description="What a crisis designation needs: harm events above the baseline, or (continuing_threat) "
                    "harm events and the state's continuing threats against its critics together above it."
    )
    violence_above_baseline: bool = Field(
        False, description="Take the country's violence as above its baseline for the whole run: a crisis is "
                           "designated from the start, whatever the signal (false: the designation follows it)."
    )
    window: PositiveHours = Field("30d", description="Rolling window of the signal (whole days).")
    baseline_per_day: NonNegative | None = Field(
        None, description="The country's baseline rate of harm events per day (default: harm.base_per_day)."
    )
    factor: Positive = Field(
        5.0, description="A crisis needs more than factor x baseline_per_day x the window's days in the window."
    )
    delay: Hours = Field("7d", description="Time from the signal crossing the threshold to the designation.")
    duration: Hours = Field(
        "30d", description="The designation ends once the signal has stayed at or below the threshold this long."
    )
    threat_delay: Hours = Field(
        "7d", description="Under continuing_threat, a head of government's violating incitement post counts as one "
                          "threat on each day it is still up once it has been up this long."
    )
    tiers: tuple[ProtocolTier, ...] = Field(
        (), description="Restrictions of public figures by active strikes while a crisis is designated (the highest "
                        "tier reached applies); none: the enforcement ladder applies to them then."
    )
    account_review: Hours | None = Field(
        None, description="On a designation, the platform reviews the public figures whose posts it removed within "
                          "this look-back and restricts each by the tier its active strikes reach (needs tiers; "
                          "omitted: only removals during a crisis restrict).")
    indefinite: bool = Field(
        False, description="Restrictions by the tiers are open-ended (the platform's practice before June 2021) "
                           "until the platform fixes their term in answer to the board (needs tiers).")

    @model_validator(mode="after")
    def _needs_tiers(self) -> CrisisProtocol:
        for key, value in (("account_review", self.account_review is not None), ("indefinite", self.indefinite)):
            if value and not self.tiers:
                raise ValueError(f"{key}: expected tiers to restrict by (crisis_protocol.tiers); found none")
        return self

    @model_validator(mode="after")
    def _tiers_increasing(self) -> CrisisProtocol:
        for i in range(1, len(self.tiers)):
            if self.tiers[i].strikes <= self.tiers[i - 1].strikes:
                raise ValueError(
                    f"tiers.{i}.strikes: expected more strikes than the tier before it (tiers in increasing order "
                    f"of strikes); found {self.tiers[i].strikes} (tiers.{i - 1}.strikes is {self.tiers[i - 1].strikes})")
        return self


# The steps of the government's ladder the schema knows: each kind's class is its implementation
# (sim.model.retaliation).
Step = kinds(RetaliationStep, STEPS)


class Government(Frozen):
    """A state whose grievance rises when the platform acts against its leader, and which retaliates."""

    enabled: bool = Field(False, description="Whether the government reacts at all.")
    grievance_removal: NonNegative = Field(1.0, description="Grievance added when the leader's post is removed.")
    grievance_board_case: NonNegative = Field(1.0, description="Grievance added when the board takes a case on the leader.")
    grievance_decision: NonNegative = Field(2.0, description="Grievance added when the board rules against the leader.")
    grievance_recommendation: NonNegative = Field(3.0, description="Grievance added when the board recommends suspending him.")
    grievance_suspension: NonNegative = Field(5.0, description="Grievance added when the platform suspends him.")
    half_life: PositiveHours = Field("60d", description="Grievance halves in this time without new actions.")
    deescalation: Probability = Field(
        0.8, description="Share of grievance dropped when the platform yields (declines a recommendation); blocks lift, staff return."
    )
    ladder: tuple[Step, ...] = Field(
        (), description="Responses in the order they become possible, each {kind: threat | expel_staff | bar_board | "
                        "block | throttle | migrate, threshold, probability, delay} and its kind's own settings.")


class UnrestPeriod(Frozen):
    """A period of raised unrest, such as an election."""

    name: Name = Field(description="What it is, e.g. election.")
    start: dt.date = Field(description="First day.")
    end: dt.date = Field(description="Last day.")
    level: Positive = Field(2.0, description="Multiplier of the harm hazard during the period.")


class Context(Frozen):
    """A dated context (an election, unrest, a platform-designated high-risk period) that changes what the board
    selects and how the platform reviews while it is in force."""

    name: Name = Field(description="What it is, e.g. election_2023.")
    kind: Literal["election", "unrest", "high_risk"] = Field(description="Its kind (descriptive).")
    start: dt.date = Field(description="First day.")
    end: dt.date = Field(description="Last day.")
    categories: tuple[Name, ...] | None = Field(None, description="Categories it concerns; all when omitted.")
    board_importance: Positive = Field(
        1.0, description="Selection odds multiply by this for a post of its categories published while it is in force.")
    escalate: bool = Field(
        False, description="While it is in force, first-line decisions on posts of its categories go to the expert "
                           "tier (review.cross_check's reviewers), whatever the account.")


class Harm(Frozen):
    """Offline harm (attacks on critics) with a hazard growing with live incitement exposure and unrest."""

    base_per_day: NonNegative = Field(0.0, description="Harm events per day with no incitement exposure and no unrest.")
    per_million_views: NonNegative = Field(0.0, description="Relative rise in hazard per million incitement views that day.")
    categories: tuple[Name, ...] = Field(("violence_incitement",), description="Categories that count as incitement.")
    unrest: tuple[UnrestPeriod, ...] = Field((), description="Periods of raised unrest.")


class Outcomes(Frozen):
    """What the service-level outcomes measure."""

    deadlines: tuple[PositiveHours, ...] = Field(
        ("1h", "24h", "7d"), min_length=1, max_length=12,
        description="Deadlines of the decided_within_<deadline> outcomes: the share of tickets decided "
                    "within each, overall and by pool, severity and category.")

    @model_validator(mode="after")
    def _distinct(self) -> Outcomes:
        if len(set(self.deadlines)) != len(self.deadlines):
            raise ValueError("deadlines: expected distinct deadlines; found one given twice")
        return self

