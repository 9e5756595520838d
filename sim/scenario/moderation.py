"""The scenario's platform side: account classes and their posts, detection, review, enforcement, appeals."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Strict, Tag, model_validator
from pydantic_core import PydanticCustomError

from sim.model.policies import POLICIES, PriorityPolicy
from sim.scenario.kinds import kinds
from sim.scenario.types import (
    Count, Frozen, Hours, Name, NonNegative, Number, PositiveHours, Probability, Severity, Strikes, whole,
)


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


# The priority policies the schema knows: each kind's class is its implementation (sim.model.policies).
Policy = kinds(PriorityPolicy, POLICIES, shorthand=True)


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

    policy: Policy = Field("severity", description="Queue order: fifo, severity, predicted_views or expected_harm (a "
                                                   "name, or {kind: NAME} with the kind's own settings).")
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

