"""An estimate of the work a scenario asks for, to refuse absurd runs before they start."""

from __future__ import annotations

from sim.errors import ModsimError
from sim.scenario.schema import Scenario

MAX_POSTS_PER_REPLICATION = 20_000_000
MAX_HORIZON_HOURS = 50 * 365.25 * 24
BYTES_PER_POST = 160


class WorkloadError(ModsimError):
    """The scenario would take absurd time or memory."""


def expected_posts(scenario: Scenario) -> float:
    """Expected posts simulated as entities in one replication (violating, reported or flagged)."""
    days = scenario.horizon / 24.0
    fpr = scenario.detection.classifier.false_positive_rate
    total = scenario.detection.government.lawful_flags_per_day * days
    for account in scenario.accounts.values():
        posts = account.count * account.posts_per_day * days
        violating = min(sum(v.probability for v in account.violations), 1.0)
        total += posts * (violating + (1 - violating) * (account.benign_report_rate + fpr))
    return total


def check_workload(scenario: Scenario, replications: int, insist: bool = False) -> None:
    """Refuse a run whose work is absurd (with an estimate), unless the user insists."""
    if insist:
        return
    posts = expected_posts(scenario)
    if scenario.horizon > MAX_HORIZON_HOURS:
        raise WorkloadError(
            f"horizon: {scenario.horizon / 24 / 365.25:,.0f} years is beyond the {MAX_HORIZON_HOURS / 8766:.0f}-year "
            "limit of a sensible run; shorten it, or pass --insist")
    if posts > MAX_POSTS_PER_REPLICATION:
        memory_gb = posts * BYTES_PER_POST / 1e9
        raise WorkloadError(
            f"this scenario would simulate about {posts:.2g} posts per replication "
            f"(~{memory_gb:,.1f} GB of memory each, {replications} replications); the limit is "
            f"{MAX_POSTS_PER_REPLICATION:.0e}. Lower counts, rates or the horizon, or pass --insist")
