"""An estimate of the work a scenario asks for, to refuse absurd runs before they start.

The model draws, per account class and simulated day, only the posts that can enter review
(violating, reported or flagged); each of those carries its report times, and each one that
enters review becomes a ticket with a few SimPy events. ``estimate`` counts these from the
scenario's rates, and ``check_workload`` refuses a run whose estimate is beyond what a run of
this program can sensibly do (``--insist`` overrides), with the estimate in the message.

Some values are refused even with ``--insist``, because the model cannot represent them at all:
account counts beyond what a 64-bit integer holds (numpy would overflow) and estimates that are
not finite numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.errors import ModsimError
from sim.scenario.schema import Scenario

# Per replication: beyond either limit a replication would take hours or more memory than a laptop has.
MAX_EVENTS_PER_REPLICATION = 100_000_000
MAX_MEMORY_PER_REPLICATION = 8e9  # bytes
# Over the whole run (all replications).
MAX_EVENTS_PER_RUN = 5_000_000_000
MAX_HORIZON_HOURS = 50 * 365.25 * 24
# More accounts than people on Earth, or more reviewers than any platform employs, is a typo.
MAX_ACCOUNTS = 10_000_000_000
MAX_REVIEWERS = 10_000_000
# Beyond this the model cannot work at all (numpy draws account ids as int64), --insist or not.
HARD_MAX_COUNT = 2**53

# Rough costs, measured on the baseline scenario.
BYTES_PER_POST = 250  # the post's columns in a PostBatch (kept for the whole replication)
BYTES_PER_REPORT = 32  # report times and the temporaries of sorting them
BYTES_PER_TICKET = 700  # a Ticket object and its queue entry
EVENTS_PER_TICKET = 2  # arrival and review end (appeals and cross-check add a few; python -m bench shows ~2.1)
EVENTS_PER_SECOND = 150_000  # one worker on a busy machine (python -m bench: ~250,000 on a quiet core)


class WorkloadError(ModsimError):
    """The scenario would take absurd time or memory."""


@dataclass(frozen=True)
class Estimate:
    """Expected work of one replication."""

    posts: float  # posts simulated as entities (violating, reported or flagged)
    reports: float  # user reports drawn
    tickets: float  # posts that enter review (at most ``posts``)
    accounts: float
    peak_reviewers: float

    @property
    def events(self) -> float:
        return self.tickets * EVENTS_PER_TICKET + self.reports

    @property
    def memory(self) -> float:
        return self.posts * BYTES_PER_POST + self.reports * BYTES_PER_REPORT + self.tickets * BYTES_PER_TICKET


def _mul(*factors: float) -> float:
    """A product of non-negative factors that is 0 when any factor is 0 (never nan from 0 x inf)."""
    result = 1.0
    for factor in factors:
        factor = float(factor) if not isinstance(factor, int) or abs(factor) < 2**1000 else math.inf
        if factor == 0:
            return 0.0
        result *= factor
    return result


def estimate(scenario: Scenario) -> Estimate:
    """The expected work of one replication of ``scenario``."""
    days = scenario.horizon / 24.0
    fpr = scenario.detection.classifier.false_positive_rate
    posts = _mul(scenario.detection.government.lawful_flags_per_day, days)
    reports = 0.0
    accounts = 0.0
    for account in scenario.accounts.values():
        accounts += _mul(account.count, 1.0)
        written = _mul(account.count, account.posts_per_day, days)
        violating = min(sum(v.probability for v in account.violations), 1.0)
        benign = (1 - violating) * (account.benign_report_rate + fpr)
        posts += _mul(written, violating) + _mul(written, benign)
        reports += _mul(written, violating, account.report_probability, account.reach_mean,
                        1 - account.inauthentic_share)
        reports += _mul(written, 1 - violating, account.benign_report_rate, account.reports_per_benign_post)
    for post in scenario.scripted_posts:
        posts += 1
        probability = post.report_probability
        if probability is None:
            probability = scenario.accounts[post.account].report_probability
        reports += _mul(probability, post.reach)
    review = scenario.review
    reviewers = sum(float(pool.peak_reviewers()) for pool in review.pools.values()) + float(review.cross_check.reviewers)
    return Estimate(posts=posts, reports=reports, tickets=posts, accounts=accounts, peak_reviewers=reviewers)


def check_workload(scenario: Scenario, replications: int, insist: bool = False) -> None:
    """Refuse a run whose work is absurd (with an estimate), unless the user insists.

    Raises ``WorkloadError`` whose message gives the estimate, the limit and ``--insist``.
    Counts the model cannot represent are refused even with ``insist``.
    """
    for name, account in scenario.accounts.items():
        if account.count >= HARD_MAX_COUNT:
            raise WorkloadError(
                f"accounts.{name}.count: {_big(account.count)} accounts is more than modsim can represent "
                f"(at most {_big(HARD_MAX_COUNT)}, and {_big(MAX_ACCOUNTS)} without --insist)")
    work = estimate(scenario)
    if not all(math.isfinite(x) for x in (work.posts, work.reports, work.events, work.memory)):
        raise WorkloadError(
            "the scenario's rates multiply to an infinite amount of work (counts x posts_per_day x horizon "
            "x reach x report_probability overflow); lower them")
    if insist:
        return
    if scenario.horizon > MAX_HORIZON_HOURS:
        raise WorkloadError(
            f"horizon: {_years(scenario.horizon)} is beyond the {MAX_HORIZON_HOURS / 8766:.0f}-year limit of a "
            f"sensible run ({_work_text(work, replications)}); shorten it, or pass --insist")
    if work.accounts > MAX_ACCOUNTS:
        raise WorkloadError(
            f"accounts: {_big(work.accounts)} accounts in all, more than the {_big(MAX_ACCOUNTS)} people on Earth "
            f"({_work_text(work, replications)}); lower the counts, or pass --insist")
    if work.peak_reviewers > MAX_REVIEWERS:
        raise WorkloadError(
            f"review: {_big(work.peak_reviewers)} reviewers on duty, more than the {_big(MAX_REVIEWERS)} a "
            "sensible scenario has (a typo?); lower them, or pass --insist")
    if work.events > MAX_EVENTS_PER_REPLICATION or work.memory > MAX_MEMORY_PER_REPLICATION:
        raise WorkloadError(
            f"absurd work: {_work_text(work, replications)}; the limits are {_big(MAX_EVENTS_PER_REPLICATION)} "
            f"events and {_bytes(MAX_MEMORY_PER_REPLICATION)} per replication. Lower counts, rates, reach, "
            "report_probability or the horizon, or pass --insist")
    total = work.events * replications
    if total > MAX_EVENTS_PER_RUN:
        raise WorkloadError(
            f"absurd work: {_work_text(work, replications)}, {_big(total)} events in all; the limit is "
            f"{_big(MAX_EVENTS_PER_RUN)} events per run. Run fewer replications, or pass --insist")


def expected_seconds(events: float, tasks: int, workers: int) -> float:
    """Wall seconds that ``tasks`` replications of ``events`` estimated events in all should take on ``workers``."""
    return events / EVENTS_PER_SECOND / max(min(workers, tasks), 1)


def say_expected(seconds: float) -> str:
    """The sentence that announces long work before it starts."""
    return f"expected to take about {_duration(seconds)} (from the workload estimate)"


def _work_text(work: Estimate, replications: int) -> str:
    seconds = work.events / EVENTS_PER_SECOND
    return (f"about {_big(work.posts)} posts, {_big(work.reports)} reports and {_big(work.events)} events per "
            f"replication, ~{_bytes(work.memory)} of memory and ~{_duration(seconds)} each, "
            f"{replications} replication{'s' if replications != 1 else ''}")


def _big(x: float) -> str:
    """1234 -> '1,234'; 3.2e9 -> '3.2 billion'; 1e30 -> '1e+30'."""
    x = float(x) if not isinstance(x, int) or x < 2**1000 else math.inf
    if not math.isfinite(x):
        return "infinitely many"
    for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if x >= size:
            if x >= 1000 * 1e12:
                return f"{x:.1e}"
            return f"{x / size:.3g} {word}"
    return f"{x:,.0f}"


def _bytes(n: float) -> str:
    for size, unit in ((1e15, "PB"), (1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if n >= size:
            if n >= 1000 * 1e15:
                return f"{n / 1e15:.1e} PB"
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} bytes"


def _duration(seconds: float) -> str:
    for size, unit in ((365.25 * 86400, "years"), (86400, "days"), (3600, "hours"), (60, "minutes")):
        if seconds >= size:
            value = seconds / size
            return f"{value:.1e} {unit}" if value >= 1e6 else f"{value:.3g} {unit}"
    return f"{seconds:.0f} seconds"


def _years(hours: float) -> str:
    years = hours / 8766.0
    return f"{years:.1e} years" if years >= 1e6 else f"{years:,.0f} years"
