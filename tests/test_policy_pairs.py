"""Policies restricted to pairs of category and account class (newsworthiness, cross-check exceptions)."""

from __future__ import annotations

from sim import run

LEADER_INCITEMENT = "[{category: violence_incitement, account: head_of_government}]"


def _events(tables) -> list[set[str]]:
    video = tables.tracked[tables.tracked.post == "bat_speech"]
    return [set(video[video.replication == r].event) for r in sorted(tables.replications.replication)]


def test_newsworthiness_exception_covers_only_that_pair(load):
    base = run(load("cambodia_2023.yaml", "horizon=30d"), replications=3, seed=4, workers=1)
    counterfactual = run(load("counterfactuals/no_newsworthiness_for_leader_incitement.yaml", "horizon=30d"),
                         replications=3, seed=4, workers=1)
    assert any("newsworthy_keep" in events for events in _events(base))
    assert not any("newsworthy_keep" in events for events in _events(counterfactual))
    # The allowance still keeps other eligible posts (opposition politicians, other categories).
    assert (counterfactual.replications.newsworthy_keeps > 0).all()
    up, up_before = counterfactual.replications.tracked_bat_speech_up_d, base.replications.tracked_bat_speech_up_d
    assert (up <= up_before).all() and (up < up_before).any()  # common random numbers: never later, sometimes sooner


def test_cross_check_exception_sends_that_pair_straight_to_removal(load):
    tables = run(load("cambodia_2023.yaml", "horizon=30d", f"review.cross_check.exceptions={LEADER_INCITEMENT}"),
                 replications=2, seed=4, workers=1)
    for events in _events(tables):
        assert "cross_check_queued" not in events and "removed" in events
    assert (tables.replications.cross_check_reviews > 0).all()  # opposition politicians are still cross-checked
