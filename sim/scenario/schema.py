"""What a scenario is: the validated, immutable description of one simulated world.

A scenario file is YAML; these pydantic models say which keys it may have, what each means (the
``description`` of every field is what ``modsim schema`` shows to editors), which values are
allowed, and how the parts must refer to each other and agree (a scripted post names an account
class that exists and falls inside the run; every language some account writes in is read by one
reviewer pool; the horizon is longer than the warm-up). Unknown keys are refused, and numbers are
strict: ``true`` is not 1 and ``"5"`` is not 5. Durations are written with units (``36h``, ``14d``,
``6mo``) and held in hours; those that divide or set the scale of a distribution are positive.

Named things (account classes, reviewer pools) are mappings from name to settings, so that
``--set review.pools.khmer.reviewers=40`` reads as what it does.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, PlainSerializer,
                      Strict, Tag, model_validator)
from pydantic_core import PydanticCustomError

from sim.scenario.durations import format_duration, parse_duration

MAX_HOURS = 1000 * 365.25 * 24


def _bounded_hours(hours: float) -> float:
    if hours > MAX_HOURS:
        raise ValueError("expected a duration of at most 1000y")
    return hours


def _positive_hours(hours: float) -> float:
    if hours <= 0:
        raise ValueError(f"expected a duration greater than zero, like 36h; found {format_duration(hours)}")
    return hours


def _whole(value: Any) -> Any:
    """A whole, finite float as an int (``count: 1e6``); anything else is left to the strict int check."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("finite_number", "Input should be a finite number")
        if value.is_integer():
            return int(value)
    return value


Hours = Annotated[
    float,
    BeforeValidator(parse_duration),
    AfterValidator(_bounded_hours),
    PlainSerializer(format_duration, return_type=str),
    Field(json_schema_extra={"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*(s|min|h|d|w|mo|y)\s*$"}),
]
# Durations that divide (view decay, half-life) or are the log-scale of a distribution (lognormal means).
PositiveHours = Annotated[Hours, AfterValidator(_positive_hours)]
# Numbers are strict: true is not 1 and "5" is not 5 (pydantic's lax mode would read both as numbers).
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]


def whole(**bounds: Any) -> Any:
    """A strict whole number within ``bounds`` (Field's ge, le, ...); a whole float such as 1e6 is taken."""
    return Annotated[int, Strict(), Field(**bounds), BeforeValidator(_whole)]


Probability = Annotated[Number, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[Number, Field(ge=0.0, le=1e15)]
Positive = Annotated[Number, Field(gt=0.0, le=1e15)]
Count = whole(ge=0, le=10**12)
Severity = whole(ge=1, le=4, description="1 low, 2 medium, 3 high, 4 severe")
Strikes = whole(ge=1)
Seed = whole(ge=0, lt=2**63)
Replications = whole(ge=1, le=100_000)
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")]


class Frozen(BaseModel):
    """Base of every scenario model: unknown keys refused, values immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Violation(Frozen):
    """One kind of violation an account class commits, with its rate per post."""

    category: Name = Field(description="Policy category, e.g. violence_incitement, hate_speech.")
    severity: Severity = Field(description="Severity of these violations, 1 (low) to 4 (severe).")
    probability: Probability = Field(description="Chance that one post of this class is such a violation.")


class AccountClass(Frozen):
    """A class of accounts that behave alike: ordinary users, opposition politicians, a head of government."""

    count: Count = Field(description="Number of accounts in the class.")
    language: Name = Field(description="Language the class posts in; routes reports to reviewers of that language.")
    posts_per_day: NonNegative = Field(description="Posts per account per day.")
    reach_mean: NonNegative = Field(description="Mean total views of one post over its life (authentic and inauthentic).")
    reach_cv: NonNegative = Field(1.0, description="Coefficient of variation of a post's reach (lognormal).")
    view_decay: PositiveHours = Field(description="Time constant of a post's view curve: views accrue as reach*(1-exp(-t/decay)).")
    inauthentic_share: Probability = Field(
        0.0, description="Share of views that are inauthentic (click farms, purchased likes); they never report."
    )
    report_probability: Probability = Field(
        0.0, description="Chance that one authentic view of a violating post produces a user report."
    )
    benign_report_rate: Probability = Field(
        0.0, description="Share of this class's non-violating posts that get reported anyway (they load the queues)."
    )
    reports_per_benign_post: Annotated[Number, Field(gt=0.0, le=1e6)] = Field(
        1.0, description="Mean number of reports on a reported non-violating post.")
    violations: tuple[Violation, ...] = Field((), description="What this class's violating posts are, with their rates.")
    opposition: bool = Field(False, description="Lawful opposition speech: its wrongful removals are counted apart.")
    public_figure: bool = Field(
        False, description="Public figures are restricted only under the civil-unrest protocol (a crisis designation)."
    )
    head_of_government: bool = Field(False, description="The leader whose moderation the government takes personally.")


class ScriptedPost(Frozen):
    """A specific post placed on the calendar (e.g. the 9 January 2023 speech) and tracked in every replication."""

    name: Name = Field(description="Name used in the tracked-timeline table.")
    account: Name = Field(description="Account class of the author (a key of `accounts`).")
    at: dt.datetime | dt.date = Field(description="When the post is published (date or date-time, in the scenario's calendar).")
    category: Name = Field(description="Policy category it violates (or would be judged under).")
    severity: Severity = Field(3, description="Severity, 1 to 4.")
    violating: bool = Field(True, description="Whether the post really violates the policy.")
    reach: NonNegative = Field(description="Total views over its life if never removed.")
    view_decay: PositiveHours = Field(description="Time constant of its view curve.")
    report_probability: Probability | None = Field(
        None, description="Reports per authentic view; defaults to its account class's value."
    )
    reporters: whole(ge=1, le=10**9) | None = Field(
        None, description="Distinct people who report it: reports beyond this many come again from the same "
                          "people, and only each reporter's first report can open a review under "
                          "review.duplicates review_each or review_until (no effect under boost); "
                          "every report is a different person when omitted.")
    false_keep: Probability | None = Field(
        None, description="Chance a review keeps this post if it violates, at every tier (first line, appeal, "
                          "cross-check), instead of theirs; theirs when omitted.")
    false_removal: Probability | None = Field(
        None, description="Chance a review removes this post if it is lawful, at every tier, instead of theirs; "
                          "theirs when omitted.")
    appeal_probability: Probability | None = Field(
        None, description="Chance its author appeals a removal and its reporters appeal a keep, instead of "
                          "appeals' probabilities for its account class; theirs when omitted.")
    board_appeal_probability: Probability | None = Field(
        None, description="Chance the appellant takes it to the board once internal appeals are exhausted, instead "
                          "of board.user_appeal_probability(_public_figure); theirs when omitted.")
    real_removal: dt.datetime | dt.date | None = Field(
        None, description="When it was really removed, if known (for charts and calibration)."
    )


class Classifier(Frozen):
    """The proactive classifier, scoring every post at creation (binormal model of its scores)."""

    recall: Probability = Field(0.0, description="Share of violating posts it flags at creation.")
    false_positive_rate: Probability = Field(
        0.0, description="Share of non-violating posts it flags at creation (they load the queues)."
    )
    categories: tuple[Name, ...] | None = Field(None, description="Categories it covers; all when omitted.")


class TrustedFlaggers(Frozen):
    """Organisations with a fast lane to flag violating content."""

    coverage: Probability = Field(0.0, description="Share of violating posts a trusted flagger finds.")
    delay: Hours = Field("1d", description="Mean time from publication to their flag (exponential).")
    accounts: tuple[Name, ...] | None = Field(None, description="Account classes they watch; all when omitted.")


class GovernmentChannel(Frozen):
    """The government's streamlined channel for flagging posts it objects to."""

    targets: tuple[Name, ...] = Field((), description="Account classes whose posts the government flags.")
    violating_coverage: Probability = Field(0.0, description="Share of the targets' violating posts it flags.")
    lawful_flags_per_day: NonNegative = Field(0.0, description="Lawful (non-violating) posts of the targets it flags per day.")
    delay: Hours = Field("6h", description="Mean time from publication to its flag (exponential).")
    removal_deference: Probability = Field(
        0.0, description="Extra chance a reviewer removes a lawful post because the government flagged it."
    )


class Detection(Frozen):
    """Every way a post can enter review besides user reports."""

    classifier: Classifier = Field(Classifier(), description="Proactive classifier at creation.")
    trusted_flaggers: TrustedFlaggers = Field(TrustedFlaggers(), description="Trusted-flagger programme.")
    government: GovernmentChannel = Field(GovernmentChannel(), description="Government flagging channel.")


class HandlingTime(Frozen):
    """How long one review takes."""

    distribution: Literal["exponential", "lognormal", "fixed"] = Field("lognormal", description="Shape.")
    mean: PositiveHours = Field(description="Mean handling time.")
    cv: NonNegative = Field(1.0, description="Coefficient of variation (lognormal only).")


class Shift(Frozen):
    """A daily shift of a reviewer pool, in the scenario calendar's hours."""

    start: Hours = Field(description="Start of the shift after midnight, e.g. 8h.")
    end: Hours = Field(description="End of the shift after midnight, e.g. 16h; may pass midnight (e.g. 22h to 6h).")
    reviewers: Count = Field(description="Reviewers on duty in this shift.")

    @model_validator(mode="after")
    def _within_day(self) -> Shift:
        if not (0 <= self.start < 24 and 0 < self.end <= 24 and self.start != self.end):
            raise ValueError("a shift starts and ends within a day (0h to 24h) and is not empty")
        return self


class ReviewerPool(Frozen):
    """Reviewers who read some languages, with their speed and accuracy."""

    languages: tuple[Name, ...] = Field(min_length=1, description="Languages this pool reviews; one queue per pool.")
    reviewers: Count | None = Field(None, description="Reviewers on duty around the clock (or give `shifts`).")
    shifts: tuple[Shift, ...] = Field((), description="Daily shifts; reviewers on duty add up where shifts overlap.")
    handling_time: HandlingTime = Field(description="Time one review takes.")
    false_keep: Probability = Field(0.0, description="Chance a violating post is wrongly kept.")
    false_removal: Probability = Field(0.0, description="Chance a non-violating post is wrongly removed.")

    @model_validator(mode="after")
    def _staffed(self) -> ReviewerPool:
        if (self.reviewers is None) == (not self.shifts):
            raise ValueError("give either `reviewers` (around the clock) or `shifts`, not both and not neither")
        if self.peak_reviewers() == 0:
            raise ValueError("a reviewer pool needs at least one reviewer on duty at some time")
        return self

    def on_duty(self, hour_of_day: float) -> int:
        """Reviewers on duty at this hour of the day."""
        if self.reviewers is not None:
            return self.reviewers
        total = 0
        for shift in self.shifts:
            if shift.start < shift.end:
                total += shift.reviewers if shift.start <= hour_of_day < shift.end else 0
            else:
                total += shift.reviewers if (hour_of_day >= shift.start or hour_of_day < shift.end) else 0
        return total

    def peak_reviewers(self) -> int:
        """The most reviewers on duty at any hour of the day."""
        if self.reviewers is not None:
            return self.reviewers
        edges = sorted({s.start for s in self.shifts} | {s.end % 24 for s in self.shifts})
        return max(self.on_duty(h) for h in edges)


class Pair(Frozen):
    """A policy category posted by an account class: where a policy does or does not apply."""

    category: Name = Field(description="A policy category, e.g. violence_incitement.")
    account: Name = Field(description="An account class, e.g. head_of_government.")


class CrossCheck(Frozen):
    """Secondary review for listed high-profile accounts; their content stays up while it waits."""

    accounts: tuple[Name, ...] = Field((), description="Account classes whose removals need secondary review.")
    exceptions: tuple[Pair, ...] = Field(
        (), description="Category and account-class pairs whose removals skip secondary review (e.g. incitement by "
                        "a head of government removed at once).")
    reviewers: Count = Field(1, description="Secondary reviewers on duty around the clock.")
    handling_time: HandlingTime = Field(
        HandlingTime(distribution="exponential", mean="8h"), description="Time one secondary review takes."
    )
    false_keep: Probability = Field(0.05, description="Chance a violating post is wrongly kept at this tier.")
    false_removal: Probability = Field(0.01, description="Chance a non-violating post is wrongly removed at this tier.")


class Newsworthiness(Frozen):
    """The allowance to keep violating content in the public interest, applied by expert reviewers."""

    categories: tuple[Name, ...] = Field((), description="Categories it may apply to.")
    accounts: tuple[Name, ...] = Field((), description="Account classes it may apply to.")
    exceptions: tuple[Pair, ...] = Field(
        (), description="Category and account-class pairs it may not apply to, although both are listed "
                        "(e.g. incitement by a head of government).")
    probability: Probability = Field(0.0, description="Chance experts apply it when it may apply.")


PolicyName = Literal["fifo", "severity", "predicted_views", "expected_harm"]


class ReviewUntil(Frozen):
    """Later reports of a post are reviewed until it has had this many first-line reviews."""

    review_until: whole(ge=1, le=10**6) = Field(
        description="First-line reviews of a post (done, under way or waiting) up to which each later report "
                    "opens another one; reports beyond raise the waiting reviews' priority, as under boost.")


def _duplicates_form(value: Any) -> str | None:
    if isinstance(value, (dict, ReviewUntil)):
        return "count"
    return "name" if isinstance(value, str) else None


# A name (boost, review_each) or a mapping ({review_until: N}); the value's form picks the one to check, so a
# mistake in either gets that form's message alone.
Duplicates = Annotated[
    Annotated[Literal["boost", "review_each"], Tag("name")] | Annotated[ReviewUntil, Tag("count")],
    Discriminator(_duplicates_form, custom_error_type="duplicates_form",
                  custom_error_message="Input should be boost, review_each or {review_until: N}"),
]


def _concentration(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        raise PydanticCustomError("not_a_concentration", "Input should be a number greater than 0, or .inf (not .nan)")
    return value


# A Beta concentration: positive, .inf allowed and held as None (errors independent from review to review).
Concentration = Annotated[
    float, Strict(), Field(gt=0.0, allow_inf_nan=True), BeforeValidator(_concentration),
    AfterValidator(lambda value: None if value == math.inf else value),
]


class Review(Frozen):
    """How reported and flagged posts are reviewed."""

    policy: PolicyName = Field("severity", description="Queue order: fifo, severity, predicted_views or expected_harm.")
    report_boost: NonNegative = Field(
        0.25, description="Priority added per duplicate report, as a share of the base priority (not used by fifo)."
    )
    duplicates: Duplicates = Field(
        "boost", description="What a later report of a post does: boost (raises the waiting ticket's priority, no "
                             "new load), review_each (opens another ticket and review, until the post is removed) "
                             "or {review_until: N} (opens one until the post has had N first-line reviews).")
    agreement: Concentration | None = Field(
        None, description="How much reviewers agree on a post: each post gets a Beta-distributed error probability "
                          "at each tier, with the tier's false_keep (false_removal) as mean and this concentration, "
                          "shared by every review of it; small values make its reviews repeat one another's "
                          "mistakes. Omitted or .inf: errors independent from review to review.")
    auto_close_after: Hours | None = Field(
        None, description="User-report tickets not reviewed within this time are closed unreviewed; none when omitted."
    )
    pools: dict[Name, ReviewerPool] = Field(min_length=1, description="Reviewer pools by name.")
    cross_check: CrossCheck = Field(CrossCheck(), description="Secondary review for listed accounts.")
    newsworthiness: Newsworthiness = Field(Newsworthiness(), description="Public-interest allowance.")


class Rung(Frozen):
    """One rung of the strike ladder."""

    strikes: Strikes = Field(description="Active strikes at which this rung applies.")
    restriction: Literal["feature_limit", "suspension"] = Field(description="What the account loses.")
    duration: Hours = Field(description="How long the restriction lasts.")


class Enforcement(Frozen):
    """Strikes and restrictions after removals."""

    strikes_per_removal: Count = Field(1, description="Strikes an author gets per removed post.")
    strike_expiry: Hours = Field("1y", description="How long a strike stays active.")
    ladder: tuple[Rung, ...] = Field((), description="Restrictions by number of active strikes (the highest rung reached applies).")


class Appeals(Frozen):
    """Internal appeals: authors appeal removals, reporters appeal keeps; both go through the review queues."""

    author_probability: Probability = Field(0.0, description="Chance an author appeals a removal of their post.")
    reporter_probability: Probability = Field(0.0, description="Chance a reporter appeals a decision to keep a reported post.")
    reporter_probability_public_figure: Probability = Field(
        0.0, description="The same, when the post's author is a public figure."
    )
    delay: Hours = Field("2d", description="Mean time from the decision to the appeal (exponential).")
    false_keep: Probability = Field(0.05, description="Chance an appeal review keeps a violating post.")
    false_removal: Probability = Field(0.01, description="Chance an appeal review removes a non-violating post.")


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

    @model_validator(mode="after")
    def _tiers_increasing(self) -> CrisisProtocol:
        for i in range(1, len(self.tiers)):
            if self.tiers[i].strikes <= self.tiers[i - 1].strikes:
                raise ValueError(
                    f"tiers.{i}.strikes: expected more strikes than the tier before it (tiers in increasing order "
                    f"of strikes); found {self.tiers[i].strikes} (tiers.{i - 1}.strikes is {self.tiers[i - 1].strikes})")
        return self


class RetaliationStep(Frozen):
    """One rung of the government's ladder of responses."""

    kind: Literal["threat", "expel_staff", "bar_board", "block", "migrate"] = Field(description="What the government does.")
    threshold: NonNegative = Field(description="Grievance at which this step becomes possible.")
    probability: Probability = Field(1.0, description="Chance it is taken once the threshold is reached.")
    delay: Hours = Field("1d", description="Mean time from reaching the threshold to the step (exponential).")
    duration: Hours = Field("7d", description="How long a block lasts.")
    user_loss: Probability = Field(0.0, description="Share of users who leave for good when the platform is blocked.")
    slowdown: Annotated[Number, Field(ge=1.0)] = Field(
        2.0, description="Factor by which expelling staff slows escalations and cross-check."
    )
    audience_share: Probability = Field(0.5, description="Share of the leader's audience that follows him off the platform.")


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
    ladder: tuple[RetaliationStep, ...] = Field((), description="Responses in the order they become possible.")


class UnrestPeriod(Frozen):
    """A period of raised unrest, such as an election."""

    name: Name = Field(description="What it is, e.g. election.")
    start: dt.date = Field(description="First day.")
    end: dt.date = Field(description="Last day.")
    level: Positive = Field(2.0, description="Multiplier of the harm hazard during the period.")


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


class Scenario(Frozen):
    """A whole simulated world: who posts, how content is found and reviewed, and which policies apply."""

    name: Name = Field(description="Short name; used for the results folder.")
    description: str = Field("", max_length=4000, description="What question this scenario asks; shown in reports.")
    start: dt.date = Field(dt.date(2023, 1, 1), description="Calendar date at simulated hour 0.")
    horizon: Hours = Field(description="How long to simulate, e.g. 90d.")
    warmup: Hours = Field("0h", description="Queue statistics ignore tickets that arrive before this time.")
    seed: Seed = Field(20230109, description="Default seed of the run.")
    replications: Replications = Field(8, description="Default number of replications.")
    accounts: dict[Name, AccountClass] = Field(min_length=1, description="Account classes by name.")
    scripted_posts: tuple[ScriptedPost, ...] = Field((), description="Specific posts placed on the calendar and tracked.")
    detection: Detection = Field(Detection(), description="Classifier, trusted flaggers and the government channel.")
    review: Review = Field(description="Queues, reviewers and review policy.")
    enforcement: Enforcement = Field(Enforcement(), description="Strikes and the restriction ladder.")
    appeals: Appeals = Field(Appeals(), description="Internal appeals by authors and reporters.")
    board: Board = Field(Board(), description="The oversight board.")
    crisis_protocol: CrisisProtocol = Field(CrisisProtocol(), description="When public figures may be restricted.")
    government: Government = Field(Government(), description="The government and its retaliation ladder.")
    harm: Harm = Field(Harm(), description="Offline harm.")
    outcomes: Outcomes = Field(Outcomes(), description="Settings of the outcomes: the deadlines of decided_within_*.")

    @model_validator(mode="after")
    def _references_exist(self) -> Scenario:
        names = set(self.accounts)
        spoken = {lang for pool in self.review.pools.values() for lang in pool.languages}
        for name, account in self.accounts.items():
            if account.language not in spoken and (account.count > 0 and account.posts_per_day > 0):
                raise ValueError(
                    f"accounts.{name}.language: no reviewer pool reviews '{account.language}' "
                    f"(pools review: {', '.join(sorted(spoken))})"
                )
        groups = {
            "detection.trusted_flaggers.accounts": self.detection.trusted_flaggers.accounts or (),
            "detection.government.targets": self.detection.government.targets,
            "review.cross_check.accounts": self.review.cross_check.accounts,
            "review.newsworthiness.accounts": self.review.newsworthiness.accounts,
        }
        for policy in ("cross_check", "newsworthiness"):
            for k, pair in enumerate(getattr(self.review, policy).exceptions):
                groups[f"review.{policy}.exceptions.{k}.account"] = (pair.account,)
        for where, listed in groups.items():
            for account in listed:
                if account not in names:
                    raise ValueError(f"{where}: no account class '{account}' (classes: {', '.join(sorted(names))})")
        for i, post in enumerate(self.scripted_posts):
            if post.account not in names:
                raise ValueError(
                    f"scripted_posts.{i}.account: no account class '{post.account}' (classes: {', '.join(sorted(names))})"
                )
            if self.hour_of(post.at) < 0:
                raise ValueError(f"scripted_posts.{i}.at: {post.at} is before the scenario's start {self.start}")
        if not math.isfinite(self.horizon) or self.horizon <= 0:
            raise ValueError("horizon: must be a positive duration")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        for check in (_horizon_after_warmup, _scripted_posts_inside, _periods_in_order, _ladder_increasing,
                      _one_pool_per_language):
            check(self)
        return self

    def hour_of(self, when: dt.date | dt.datetime) -> float:
        """Simulated hour of a calendar date or date-time (hour 0 is midnight at `start`)."""
        if not isinstance(when, dt.datetime):
            when = dt.datetime.combine(when, dt.time())
        origin = dt.datetime.combine(self.start, dt.time())
        return (when.replace(tzinfo=None) - origin).total_seconds() / 3600.0


# --- rules across fields ----------------------------------------------------------------------
# Each message starts with the dotted key it is about and names the other key with a mark that
# sim.scenario.loader replaces by where that key was given (" at line 18", " from --set ...").


def _at(key: str) -> str:
    """The mark of where ``key`` (dotted, from the top of the scenario) was given, for the loader to fill in."""
    return "{at:" + key + "}"


def _horizon_after_warmup(scenario: Scenario) -> None:
    if scenario.horizon <= scenario.warmup:
        raise ValueError(
            f"horizon: expected a duration longer than warmup; found {format_duration(scenario.horizon)} "
            f"(warmup is {format_duration(scenario.warmup)}{_at('warmup')})")


def _scripted_posts_inside(scenario: Scenario) -> None:
    for i, post in enumerate(scenario.scripted_posts):
        if scenario.hour_of(post.at) < scenario.horizon:
            continue
        try:
            end = (dt.datetime.combine(scenario.start, dt.time()) + dt.timedelta(hours=scenario.horizon)).isoformat(
                timespec="minutes")
        except OverflowError:
            end = "after the year 9999"
        raise ValueError(
            f"scripted_posts.{i}.at: expected a time before the end of the run, {end}; found {post.at.isoformat()} "
            f"(start is {scenario.start.isoformat()}{_at('start')}, "
            f"horizon is {format_duration(scenario.horizon)}{_at('horizon')})")


def _periods_in_order(scenario: Scenario) -> None:
    for i, period in enumerate(scenario.harm.unrest):
        if period.end < period.start:
            raise ValueError(
                f"harm.unrest.{i}.end: expected a day on or after the period's start; found {period.end.isoformat()} "
                f"(harm.unrest.{i}.start is {period.start.isoformat()}{_at(f'harm.unrest.{i}.start')})")


def _ladder_increasing(scenario: Scenario) -> None:
    ladder = scenario.enforcement.ladder
    for i in range(1, len(ladder)):
        before, now = ladder[i - 1].strikes, ladder[i].strikes
        if now <= before:
            key = f"enforcement.ladder.{i - 1}.strikes"
            raise ValueError(
                f"enforcement.ladder.{i}.strikes: expected more strikes than the rung before it (rungs in increasing "
                f"order of strikes); found {now} ({key} is {before}{_at(key)})")


def _one_pool_per_language(scenario: Scenario) -> None:
    owners: dict[str, str] = {}
    for name, pool in scenario.review.pools.items():
        for j, language in enumerate(pool.languages):
            first = owners.setdefault(language, name)
            if first != name:
                key = f"review.pools.{first}.languages.{scenario.review.pools[first].languages.index(language)}"
                raise ValueError(
                    f"review.pools.{name}.languages.{j}: expected at most one reviewer pool per language; found "
                    f"{language!r}, which pool {first!r} reviews too ({key}{_at(key)})")
