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

from pydantic import Field, model_validator

from sim.scenario.durations import format_duration
from sim.scenario.moderation import *  # noqa: F403  (the parts of a scenario, re-exported)
from sim.scenario.moderation import (
    AccountClass, Appeals, Detection, Enforcement, Review, ScriptedPost,
)
from sim.scenario.oversight import *  # noqa: F403
from sim.scenario.oversight import Board, Context, CrisisProtocol, Government, Harm, Outcomes
from sim.scenario.types import *  # noqa: F403
from sim.scenario.types import Frozen, Hours, Name, Replications, Seed


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
    contexts: tuple[Context, ...] = Field(
        (), description="Dated contexts (elections, unrest, high-risk periods) for the board's selection and review.")
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
                      _one_pool_per_language, _shortlist_for_concession):
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
    periods = [(f"harm.unrest.{i}", p) for i, p in enumerate(scenario.harm.unrest)]
    periods += [(f"contexts.{i}", p) for i, p in enumerate(scenario.contexts)]
    for key, period in periods:
        if period.end < period.start:
            raise ValueError(
                f"{key}.end: expected a day on or after the period's start; found {period.end.isoformat()} "
                f"({key}.start is {period.start.isoformat()}{_at(f'{key}.start')})")


def _shortlist_for_concession(scenario: Scenario) -> None:
    concede = scenario.board.platform.concede_on_shortlist.probability
    if concede > 0 and scenario.board.shortlist is None:
        raise ValueError(
            "board.platform.concede_on_shortlist.probability: expected 0 without board.shortlist (the platform "
            f"re-reviews a post when the board shortlists it); found {concede}")


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
