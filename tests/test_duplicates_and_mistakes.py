"""Duplicate reports as a policy, shared mistakes, and scripted posts' own probabilities.

``review.duplicates`` says what a later report of a post does (boost its waiting ticket, or open a
review of its own: review_each, {review_until: N}); ``review.agreement`` gives each post a
Beta-distributed error probability that all its reviews share; a scripted post may set its own
error, appeal and board-appeal probabilities and its number of distinct reporters. With none of
them, tables are those of before (tests/test_golden.py); these tests check each feature, and the
statistical ones compare rates with binomial intervals (four standard errors).
"""

from __future__ import annotations

import gc
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from sim import load_scenario, run
from sim.errors import ScenarioError
from sim.model.first_line import FirstLine
from sim.model.tickets import beta_error
from sim.model.streams import Streams, replication_seed
from sim.model.world import World

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
CAMBODIA = ROOT / "scenarios" / "cambodia_2023.yaml"
SHORT = "horizon=10d"
Z = 4.0  # binomial intervals of four standard errors: deterministic seeds, and no flaky failure by chance

# Every violating post is reported (about ten reports each) and nothing else enters review; first-line
# reviewers keep a violating post with chance 0.2, appeal reviewers with 0.1; every keep is appealed.
AGREEMENT = """
name: agreement
horizon: 40d
accounts:
  users:
    count: 100000
    language: xx
    posts_per_day: 0.5
    reach_mean: 1000
    reach_cv: 0.3
    view_decay: 12h
    report_probability: 0.01
    violations:
      - {category: hate_speech, severity: 2, probability: 0.01}
review:
  policy: fifo
  pools:
    xx:
      languages: [xx]
      reviewers: 60
      handling_time: {distribution: exponential, mean: 1min}
      false_keep: 0.2
      false_removal: 0.0
  cross_check:
    reviewers: 60
    handling_time: {distribution: exponential, mean: 1min}
    false_keep: 0.2
appeals:
  reporter_probability: 1.0
  delay: 1h
  false_keep: 0.1
"""


def world_of(path: Path, *sets: str, seed: int = 1, index: int = 0) -> World:
    return World(load_scenario(path, sets), Streams(replication_seed(seed, index))).run()


def within(successes: int, trials: int, p: float) -> bool:
    """Whether successes/trials lies within Z binomial standard errors of p."""
    return abs(successes / trials - p) <= Z * math.sqrt(p * (1 - p) / trials)


def tracked_events(tables, post: str, event: str) -> pd.Series:
    """How many `event`s the tracked post had in each replication."""
    rows = tables.tracked[(tables.tracked.post == post) & (tables.tracked.event == event)]
    return rows.groupby("replication").size().reindex(tables.replications.replication, fill_value=0)


# --- the schema ----------------------------------------------------------------------------------


@pytest.mark.parametrize("expr, expected", [
    ("review.duplicates=review_all", ("review.duplicates: expected one of 'boost' or 'review_each'; found "
                                      "'review_all'; did you mean 'review_each'?")),
    ("review.duplicates=3", "review.duplicates: expected boost, review_each or {review_until: N}; found 3"),
    ("review.duplicates=[review_each]", "review.duplicates: expected boost, review_each or {review_until: N}"),
    ("review.duplicates={review_until: 0}", ("review.duplicates.review_until: expected a number greater than or "
                                             "equal to 1; found 0")),
    ("review.duplicates={review_until: true}", ("review.duplicates.review_until: expected a whole number; found "
                                                "true (a boolean)")),
    ("review.duplicates={review_until: 2.5}", "review.duplicates.review_until: expected a whole number; found 2.5"),
    ("review.duplicates={review_untill: 2}", ("review.duplicates.review_untill: unknown key 'review_untill'; "
                                              "did you mean 'review_until'?")),
    ("review.agreement=0", "review.agreement: expected a number greater than 0; found 0"),
    ("review.agreement=.nan", "review.agreement: expected a number greater than 0, or .inf (not .nan)"),
    ("review.agreement=true", "review.agreement: expected a number; found true (a boolean)"),
    ("review.agreement='3'", "review.agreement: expected a number; found '3' (a text"),
    ("scripted_posts.0.reporters=0", "scripted_posts.0.reporters: expected a number greater than or equal to 1"),
    ("scripted_posts.0.reporters=2.5", "scripted_posts.0.reporters: expected a whole number; found 2.5"),
    ("scripted_posts.0.false_keep=1.5", "scripted_posts.0.false_keep: expected a number less than or equal to 1"),
    ("scripted_posts.0.false_removal=-0.1", ("scripted_posts.0.false_removal: expected a number greater than or "
                                             "equal to 0")),
    ("scripted_posts.0.appeal_probability=true", ("scripted_posts.0.appeal_probability: expected a number; found "
                                                  "true (a boolean)")),
    ("scripted_posts.0.board_appeal_probability='1'", ("scripted_posts.0.board_appeal_probability: expected a "
                                                       "number; found '1' (a text")),
])
def test_the_new_keys_are_strict(expr, expected):
    with pytest.raises(ScenarioError) as info:
        load_scenario(CAMBODIA, [expr])
    assert str(info.value).startswith(f"--set: {expected}"), str(info.value)


def test_the_new_keys_default_to_todays_behaviour_and_round_trip():
    scenario = load_scenario(CAMBODIA)
    assert scenario.review.duplicates == "boost" and scenario.review.agreement is None
    post = scenario.scripted_posts[0]
    assert (post.reporters, post.false_keep, post.false_removal, post.appeal_probability,
            post.board_appeal_probability) == (None, None, None, None, None)
    assert load_scenario(CAMBODIA, ["review.agreement=.inf"]).review.agreement is None  # .inf: independent
    changed = load_scenario(CAMBODIA, ["review.duplicates={review_until: 3}", "review.agreement=2",
                                       "scripted_posts.0.reporters=3", "scripted_posts.0.false_keep=0.5"])
    data = changed.model_dump(mode="json")
    assert data["review"]["duplicates"] == {"review_until": 3} and data["review"]["agreement"] == 2.0
    again = type(changed).model_validate(data)
    assert again.review == changed.review and again.scripted_posts[0].reporters == 3
    assert load_scenario(CAMBODIA, ["review.duplicates=review_each"]).review.duplicates == "review_each"


def test_with_the_features_off_the_first_line_decision_is_the_plain_one():
    """Nothing is added per ticket when the features are off: the world keeps the plain decision and paths."""
    world = World(load_scenario(BASELINE, [SHORT]), Streams(replication_seed(1, 0)))
    assert all(pool.decide.__func__ is FirstLine._decide for pool in world.pools)
    assert world.first_line._follow_reports.__func__ is FirstLine._schedule_next_report
    assert world.first_line.remove == world.take_down.remove
    assert not world.per_post_errors and world.first_line._first_line is None
    on = World(load_scenario(BASELINE, [SHORT, "review.duplicates=review_each"]), Streams(replication_seed(1, 0)))
    assert all(pool.decide.__func__ is FirstLine._decide_general for pool in on.pools)


# --- duplicate reports ---------------------------------------------------------------------------


def test_review_until_one_is_boost():
    """{review_until: 1}: no report after the first ticket opens a review, and every one raises the priority of
    the waiting ticket, as under boost: the same tables, with duplicate_reviews 0."""
    boost = run(load_scenario(BASELINE, [SHORT]), replications=2, seed=3, workers=1).replications
    once = run(load_scenario(BASELINE, [SHORT, "review.duplicates={review_until: 1}"]), replications=2, seed=3,
               workers=1).replications
    assert (once.pop("duplicate_reviews") == 0).all()
    assert "duplicate_reviews" not in boost
    pd.testing.assert_frame_equal(once, boost)


@pytest.mark.parametrize("policy", ["severity", "fifo"])
def test_review_each_reviews_every_report_until_the_removal(policy):
    boost = world_of(BASELINE, SHORT, f"review.policy={policy}")
    each = world_of(BASELINE, SHORT, f"review.policy={policy}", "review.duplicates=review_each")
    opened = each.first_line.counts["tickets"] - boost.first_line.counts["tickets"]  # the first tickets are the same posts'
    assert opened > 50 and 0 < each.first_line.counts["duplicate_reviews"] <= opened
    assert sum(p.work for p in each.pools) > sum(p.work for p in boost.pools)  # each review takes a handling time
    assert sum(len(p.waits) for p in each.pools) > sum(len(p.waits) for p in boost.pools)
    for post, tickets in each.first_line._first_line.items():
        removed = each.removed_at[post]
        assert not tickets[0].duplicate and all(t.duplicate for t in tickets[1:])
        assert all(t.entered <= removed for t in tickets)  # no report opens a review once the post is down
        if removed < each.horizon:
            assert not any(t.state == 0 for t in tickets), "a removal closes the post's waiting tickets"


def test_review_until_caps_the_first_line_tickets_of_a_post():
    world = world_of(BASELINE, SHORT, "review.duplicates={review_until: 3}")
    sizes = [len(tickets) for tickets in world.first_line._first_line.values()]
    assert max(sizes) == 3 and world.first_line.counts["duplicate_reviews"] > 0
    each = world_of(BASELINE, SHORT, "review.duplicates=review_each")
    assert max(len(tickets) for tickets in each.first_line._first_line.values()) > 3
    assert world.first_line.counts["duplicate_reviews"] < each.first_line.counts["duplicate_reviews"]


LAWFUL = ("scripted_posts=[{name: rumour, account: ordinary, at: 2023-01-02, category: hate_speech, violating: false, "
          "reach: 100000, view_decay: 1d, report_probability: 0.0001, false_removal: 0.0%s}]")


@pytest.mark.parametrize("duplicates, reporters, expected", [
    ("boost", None, lambda reports: 1),
    ("boost", 3, lambda reports: 1),  # no effect under boost
    ("review_each", None, lambda reports: reports),
    ("review_each", 3, lambda reports: min(reports, 3)),
    ("{review_until: 2}", None, lambda reports: min(reports, 2)),
    ("{review_until: 5}", 3, lambda reports: min(reports, 3)),
])
def test_only_distinct_reporters_open_reviews(duplicates, reporters, expected):
    """A lawful scripted post that reviews never remove: each of its filed reports is a first-line ticket under
    review_each, up to its distinct reporters (and the cap of review_until)."""
    extra = "" if reporters is None else f", reporters: {reporters}"
    tables = run(load_scenario(BASELINE, [SHORT, LAWFUL % extra, f"review.duplicates={duplicates}"]),
                 replications=3, seed=2, workers=1)
    reports = tracked_events(tables, "rumour", "report")
    tickets = tracked_events(tables, "rumour", "ticket_opened")
    assert (reports >= 4).all()
    assert tickets.tolist() == [expected(r) for r in reports]
    assert (tables.replications["tracked_rumour_removed"] == 0).all()


def test_a_scripted_posts_own_error_probabilities_apply_at_every_tier():
    speech = "scripted_posts.0.false_keep=1.0"  # and the board, which is no review, may not remove it
    kept = run(load_scenario(CAMBODIA, ["horizon=100d", speech, "review.duplicates=review_each", "board.enabled=false"]),
               replications=3, seed=1, workers=1)
    assert (kept.replications["tracked_bat_speech_removed"] == 0).all()
    reviewed = kept.tracked[(kept.tracked.post == "bat_speech") & (kept.tracked.event == "reviewed")]
    assert len(reviewed) >= 3 and (reviewed.detail == "not violating").all()
    removed = run(load_scenario(CAMBODIA, ["horizon=100d", "scripted_posts.0.false_keep=0.0",
                                           "review.newsworthiness.probability=0", "review.cross_check.false_keep=0.5"]),
                  replications=3, seed=1, workers=1)
    assert (removed.replications["tracked_bat_speech_removed"] == 1).all()  # cross-check's 0.5 is replaced by 0


def test_a_scripted_posts_own_appeal_and_board_probabilities():
    post = LAWFUL.replace("false_removal: 0.0", "false_removal: 1.0")  # removed wrongly at every review
    common = [SHORT, "board.enabled=true", "board.appeal_window=1h", "appeals.author_probability=0"]
    never = run(load_scenario(BASELINE, [*common, post % ", appeal_probability: 0.0"]), replications=2, seed=1,
                workers=1)
    assert (tracked_events(never, "rumour", "appeal") == 0).all()
    both = run(load_scenario(BASELINE, [*common, post % ", appeal_probability: 1.0, board_appeal_probability: 1.0"]),
               replications=2, seed=1, workers=1)
    assert (tracked_events(both, "rumour", "appeal") == 1).all()
    assert (tracked_events(both, "rumour", "board_appeal") == 1).all()  # the appeal upheld the removal (p = 1)
    no_board = run(load_scenario(BASELINE, [*common, post % ", appeal_probability: 1.0, board_appeal_probability: 0"]),
                   replications=2, seed=1, workers=1)
    assert (tracked_events(no_board, "rumour", "board_appeal") == 0).all()


# --- shared mistakes -----------------------------------------------------------------------------


def agreement_world(tmp_path, *sets: str, seed: int = 1):
    """Run the agreement scenario, recording each internal appeal's decision: (kept again, was it a removal)."""
    path = tmp_path / "agreement.yaml"
    path.write_text(AGREEMENT)
    world = World(load_scenario(path, sets), Streams(replication_seed(seed, 0)))
    decisions = []
    decided = world.appeals.decided

    def record(ticket, reversed_):
        decisions.append(not reversed_)
        decided(ticket, reversed_)

    world.appeals.decided = record
    world.run()
    return world, decisions


def repeat_share(m0: float, m1: float, k: float) -> float:
    """P(a review with mean error m1 errs | one with mean m0 erred on the same post), shared difficulty."""
    joint, _ = integrate.quad(lambda v: beta_error(m0, k, v) * beta_error(m1, k, v), 0, 1, limit=200)
    return joint / m0


@pytest.mark.parametrize("agreement", [1e6, 1.0])
def test_the_false_keep_rate_is_the_pools_whatever_the_agreement(tmp_path, agreement):
    world, decisions = agreement_world(tmp_path, f"review.agreement={agreement}")
    first_line = world.first_line.counts["reviews"] - len(decisions)
    assert first_line > 10_000
    assert within(world.first_line.counts["false_keeps"], first_line, 0.2)


def test_a_large_concentration_is_independent_errors(tmp_path):
    """Concentration 1e6: a wrong first decision is repeated on appeal at the appeal tier's own rate (0.1), as with
    independent errors, and the tables match independent errors' within binomial intervals."""
    _, decisions = agreement_world(tmp_path, "review.agreement=1e6")
    _, independent_decisions = agreement_world(tmp_path)
    assert len(decisions) > 2000
    assert within(sum(decisions), len(decisions), 0.1)
    assert within(sum(independent_decisions), len(independent_decisions), 0.1)
    assert abs(sum(decisions) / len(decisions) - sum(independent_decisions) / len(independent_decisions)) <= \
        Z * math.sqrt(0.1 * 0.9 * (1 / len(decisions) + 1 / len(independent_decisions)))


def test_a_small_concentration_makes_a_posts_reviews_agree(tmp_path):
    _, decisions = agreement_world(tmp_path, "review.agreement=1")
    expected = repeat_share(0.2, 0.1, 1.0)
    assert expected > 0.3  # against 0.1 with independent errors
    assert len(decisions) > 2000
    assert within(sum(decisions), len(decisions), expected)
    assert sum(decisions) / len(decisions) > 3 * 0.1


@pytest.mark.parametrize("agreement", [1e6, 1.0])
def test_cross_check_uses_the_posts_difficulty_too(tmp_path, agreement):
    """Cross-check reviews the posts first-line reviewers got right: with shared difficulty those are the easier
    ones, so experts keep fewer of them than their own rate (0.2) says; with a large concentration, exactly it."""
    world, _ = agreement_world(tmp_path, f"review.agreement={agreement}", "review.cross_check.accounts=[users]",
                               "appeals.reporter_probability=0")
    reviews = world.cross_check.reviews
    kept = reviews - sum(1 for at in world.removed_at if at != math.inf)
    joint, _ = integrate.quad(lambda v: (1 - beta_error(0.2, agreement, v)) * beta_error(0.2, agreement, v), 0, 1,
                              limit=200)
    expected = joint / 0.8
    assert reviews > 10_000
    assert within(kept, reviews, expected)
    if agreement == 1.0:
        assert kept / reviews < 0.15


def test_the_difficulty_has_its_own_stream():
    """Drawing the difficulty leaves the other streams alone: the same posts, reports and tickets."""
    plain = run(load_scenario(BASELINE, [SHORT]), replications=2, seed=5, workers=1).replications
    shared = run(load_scenario(BASELINE, [SHORT, "review.agreement=0.5"]), replications=2, seed=5,
                 workers=1).replications
    for outcome in ("violating_posts", "tickets"):
        assert (plain[outcome] == shared[outcome]).all()
    assert (plain["false_keeps"] != shared["false_keeps"]).any()


def test_beta_error_quantiles():
    quantiles = np.linspace(0.001, 0.999, 999)
    mean = beta_error(0.2, 3.0, quantiles).mean()
    assert mean == pytest.approx(0.2, abs=2e-3)
    assert np.allclose(beta_error(0.2, 1e7, quantiles), 0.2, atol=1e-3)
    assert beta_error(0.0, 2.0, 0.7) == 0.0 and beta_error(1.0, 2.0, 0.1) == 1.0
    assert (np.diff(beta_error(0.3, 0.5, quantiles)) >= 0).all()


def test_the_new_paths_leave_no_cyclic_garbage():
    world = World(load_scenario(CAMBODIA, ["horizon=30d", "review.duplicates=review_each", "review.agreement=1",
                                           "scripted_posts.0.reporters=3", "scripted_posts.0.appeal_probability=1"]),
                  Streams(replication_seed(1, 0)))
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        world.run()
        found = gc.collect()
        kinds = sorted({type(o).__name__ for o in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert world.first_line.counts["duplicate_reviews"] > 0
    assert found == 0, f"the run made cyclic garbage: {kinds}"
