"""The outcomes: one home for their names, their order in the tables, and what each means.

Every replication measures the same named numbers (``sim.metrics.collect`` and each actor's
``record``), so replications stack into one table and scenarios compare column by column. This
module lists them: ``ORDER`` is the order the tables show them in (outcomes not listed, such as one
pool's or one category's, follow in alphabetical order), ``KEY`` the few every command prints,
``GOVERNANCE`` those of the board and the government, and ``ROWS`` what each means, from which the
README's Outcomes table is generated (``python -m sim.outcomes`` prints it; a test checks that the
README holds exactly that table) and the report labels its outcomes.
"""

from __future__ import annotations

import re
import sys

ORDER = (
    "removal_time_median_h", "removal_time_p90_h", "removed_share", "violating_posts", "violating_views",
    "severity_weighted_views", "wrongful_removals", "opposition_wrongful_removals", "false_keeps",
    "newsworthy_keeps", "queue_wait_mean_h", "queue_wait_p90_h", "queue_length_mean", "ticket_arrivals_per_h",
    "queue_wait_mean_h_severity_1", "queue_wait_mean_h_severity_2", "queue_wait_mean_h_severity_3",
    "queue_wait_mean_h_severity_4", "reviewer_utilization", "backlog_max", "reports_filed", "tickets", "reviews",
    "duplicate_reviews", "reports_auto_closed", "cross_check_reviews", "cross_check_wait_mean_h", "strikes_issued",
    "restrictions_issued", "restrictions_waived", "appeals", "appeal_reversals", "board_appeals", "board_cases",
    "board_selection_rate", "board_decision_time_median_d", "board_overturns", "recommendations",
    "recommendations_accepted", "recommendations_answered", "recommendation_answer_days_mean", "suspensions",
    "public_figure_suspensions", "retaliation_events", "threats", "staff_expelled", "board_members_barred",
    "platform_blocks", "throttles", "migrations", "deescalations", "grievance_peak", "grievance_at_horizon",
    "platform_blocked_days", "platform_throttled_days", "users_lost", "off_platform_views", "incitement_views",
    "harm_events", "crisis_designations", "crisis_days", "public_figure_restrictions",
)
GOVERNANCE = (
    "board_appeals", "board_cases", "board_selection_rate", "board_decision_time_median_d", "recommendations_accepted",
    "public_figure_suspensions", "retaliation_events", "platform_blocked_days", "users_lost", "off_platform_views",
    "harm_events", "crisis_designations", "crisis_days", "public_figure_restrictions",
)
KEY = (
    "removal_time_median_h", "removal_time_p90_h", "removed_share", "violating_views", "wrongful_removals",
    "queue_wait_mean_h", "reviewer_utilization", "reports_filed",
)

# (the names, as the README's first column writes them; what they mean). A name with <...> stands for a family
# (``days_at_rung_<kind>``); one starting with _ continues the name before it (``tracked_<post>_up_d``, ``_views``).
ROWS = (
    ('`removal_time_median_h`, `removal_time_p90_h`',
     'Kaplan-Meier quantiles of time from publication to removal of violating posts, posts still up at the horizon counted as censored: the time at which the estimated share still up falls to 50% (10%); undefined (`-`) when the estimated curve does not reach that level before the horizon'),
    ('`removed_share`',
     'share of violating posts removed before the horizon'),
    ('`violating_posts`',
     'violating posts published'),
    ('`violating_views`, `severity_weighted_views`',
     'views of violating posts while up (weighted by severity 1-4)'),
    ('`incitement_views`',
     'the same for the harm categories (violence and incitement)'),
    ('`wrongful_removals`, `opposition_wrongful_removals`',
     'lawful posts removed (of opposition accounts)'),
    ('`false_keeps`, `newsworthy_keeps`',
     'violating posts kept by mistake (each wrong first-line or cross-check decision: a post kept by three reviews counts three times), or kept as newsworthy'),
    ('`queue_wait_mean_h`',
     'mean wait from ticket to review in first-line queues, over the tickets reviewed (after `warmup`): a lower bound when `queue_waits_censored` > 0'),
    ('`queue_wait_median_h`, `queue_wait_p90_h`',
     'Kaplan-Meier quantiles of that wait, every ticket counted: one still waiting at the horizon or closed unreviewed is censored there (never decided), not dropped; `-` when the curve does not reach the level'),
    ('`decided_within_<deadline>`',
     "share of tickets decided within each of the scenario's `outcomes.deadlines` (default 1h, 24h, 7d), from the same censored curve: `decided_within_24h`"),
    ('`..._pool_<pool>`, `..._severity_<k>`, `..._<category>`',
     '`decided_within_*`, `queue_wait_median_h` and `queue_wait_p90_h` by reviewer pool (language), severity and category (a reported lawful post counts under the category it was reported for): `decided_within_24h_violence_incitement`, `queue_wait_p90_h_pool_khmer`'),
    ('`queue_waits_censored`',
     'tickets (after `warmup`) never decided: still waiting at the horizon or closed unreviewed'),
    ('`queue_wait_mean_h_severity_<k>`',
     'the same for tickets of severity k'),
    ('`queue_length_mean`, `ticket_arrivals_per_h`',
     "time-average tickets waiting, and ticket arrival rate. Little's law, L = lambda x `queue_wait_mean_h`, holds only when no ticket is auto-closed: an auto-closed ticket waits (it counts in L) but is never reviewed, so it has no wait in `queue_wait_mean_h`, and L is then larger"),
    ('`reviewer_utilization`, `reviewer_utilization_<pool>`',
     'reviewer busy time over on-duty time, all pools and each pool'),
    ('`backlog_max`, `backlog_max_<pool>`',
     'the most tickets waiting at once, all pools and each pool'),
    ('`reports_filed`, `tickets`, `reviews`',
     "user reports filed (duplicates included), tickets opened, first-line reviews (appeals' included)"),
    ('`duplicate_reviews`',
     'first-line reviews of tickets that later reports opened (included in `reviews`); only when `review.duplicates` is `review_each` or `review_until`'),
    ('`reports_auto_closed`',
     'report tickets closed unreviewed after `auto_close_after`'),
    ('`cross_check_reviews`, `cross_check_wait_mean_h`',
     'secondary reviews and their wait'),
    ('`strikes_issued`, `restrictions_issued`, `restrictions_waived`',
     'strikes, restrictions applied, restrictions waived for public figures (no crisis designated)'),
    ('`appeals`, `appeal_reversals`',
     "internal appeals and the decisions they reversed (a reporter's appeal that the experts decide to remove included)"),
    ('`board_appeals`, `board_cases`, `board_selection_rate`',
     "appeals reaching the board (with the rest of the world's), cases selected, their ratio"),
    ('`board_decision_time_median_d`, `board_overturns`',
     'selection-to-decision days; decisions against the platform'),
    ('`recommendations`, `recommendations_answered`, `recommendations_accepted`',
     'suspension recommendations, those the platform answered before the horizon, and those it accepted'),
    ('`recommendation_answer_days_mean`',
     "days from a recommendation to the platform's answer"),
    ('`suspensions`, `public_figure_suspensions`',
     'account suspensions (all; of public figures)'),
    ('`retaliation_events` and `threats`, `staff_expelled`, `board_members_barred`, `platform_blocks`, `throttles`, `migrations`',
     "the government's steps (all, and by kind; `board_members_barred` counts members)"),
    ('`deescalations`',
     'times the government stepped back when the platform yielded (declined a recommendation)'),
    ('`grievance_peak`, `grievance_at_horizon`',
     "the government's grievance at its highest and at the end of the run"),
    ('`days_at_rung_<kind>`',
     'days during which that step (`threat`, `expel_staff`, `bar_board`, `block`, `throttle`, `migrate`) was the highest the government had taken since it last stepped back'),
    ('`platform_blocked_days`, `platform_throttled_days`, `users_lost`',
     'days the platform was blocked; days it was throttled; users who left for good'),
    ('`off_platform_views`',
     "views of the leader's posts on other channels after he left"),
    ('`harm_events`',
     "offline harm events (attacks on critics), drawn each day from that day's live incitement views and unrest"),
    ('`crisis_designations`, `crisis_days`',
     'crises the platform designated under its civil-unrest protocol, and days in crisis before the horizon'),
    ('`public_figure_restrictions`',
     "restrictions of public figures' accounts on a removal during a crisis (the protocol's `tiers`, or the ladder without them); the board's accepted suspensions are `public_figure_suspensions`"),
    ('`board_shortlisted`, `board_summary_decisions`, `shortlist_reversals`, `shortlist_reversal_days_mean`',
     "only with `board.shortlist`: cases shortlisted, cases closed as summary decisions (not in `board_cases`, which counts announced cases), the platform's reversals on shortlisting, and the mean days from shortlisting to a reversal"),
    ('`indefinite_restrictions`, `account_review_restrictions`, `restriction_referrals`, `restrictions_lifted`, `restriction_terms_fixed`, `restriction_term_days_mean`',
     "only with `crisis_protocol.account_review`, `crisis_protocol.indefinite` or `board.restriction_referral_probability` > 0: open-ended restrictions by the tiers, restrictions on a review of the account at a designation, restrictions the platform referred to the board, those the board lifted, open-ended ones given a term in answer to the board, and those terms' mean length in days (which may exceed the horizon)"),
    ('`tracked_<post>_up_d`, `_removed`, `_views`',
     'each scripted post: days up (to the horizon if never removed), whether removed, views'),
)


def _patterns(label: str, text: str) -> list[str]:
    """The names a row's label covers, as regular expressions: a family's <...> is one or more characters, and a
    leading ... is any of the outcomes the row's meaning names (``decided_within_*``, ``queue_wait_p90_h``)."""
    named = [re.escape(name).replace(r"\*", ".+") for name in re.findall(r"`([^`]+)`", text)]
    any_named = "(?:" + "|".join(named) + ")" if named else ".*"
    patterns, stem = [], ""
    for name in re.findall(r"`([^`]+)`", label):
        if name.startswith("_") and stem:
            name = stem + name
        elif "<" in name:
            stem = name[:name.rindex(">") + 1]
        parts = re.split(r"(<[^>]*>|\.\.\.)", name)
        patterns.append("".join(".+" if part.startswith("<") else any_named if part == "..." else re.escape(part)
                                for part in parts) + "$")
    return patterns


# Exact names first, then families, then the families of families (``..._pool_<pool>``), each row in its order.
_BY_SPECIFICITY = sorted(((pattern.count("(?:") * 2 + pattern.count(".+"), k, re.compile(pattern), text)
                          for k, (label, text) in enumerate(ROWS) for pattern in _patterns(label, text)),
                         key=lambda entry: entry[:2])


def meaning(name: str) -> str | None:
    """What an outcome means (the README's words), or None for a name no row covers."""
    for *_, pattern, text in _BY_SPECIFICITY:
        if pattern.match(name):
            return text
    return None


def markdown_table() -> str:
    """The README's Outcomes table."""
    return "\n".join(["| outcome | meaning |", "|---|---|", *(f"| {label} | {text} |" for label, text in ROWS)])


if __name__ == "__main__":
    sys.stdout.write(markdown_table() + "\n")
