"""Topical selection (issue 17 item 4): importance by category and by dated contexts, and escalation to the
experts while a context is in force. Uses tests/scenarios/mini_case.yaml (start 2023-01-01)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from sim import load_scenario
from sim.errors import ScenarioError
from sim.metrics import collect
from sim.model.streams import Streams, replication_seed
from sim.model.world import World

MINI = Path(__file__).parent / "scenarios" / "mini_case.yaml"
ELECTION = ("contexts=[{name: election, kind: election, start: 2023-01-10, end: 2023-01-20, "
            "categories: [violence_incitement], board_importance: 3}]")


def world_of(*sets: str, seed: int = 1) -> World:
    return World(load_scenario(MINI, sets), Streams(replication_seed(seed, 0)))


def ticket(world: World, category: str, day: float, klass: str = "ordinary"):
    """What the board's importance reads of a ticket: its class, severity, category and publication time."""
    return SimpleNamespace(klass=world.class_index[klass], severity=3, category=world.categories[category],
                           created=day * 24.0)


def test_category_and_context_weights_multiply_the_importance():
    plain = world_of()
    weighted = world_of("board.category_importance={violence_incitement: 5}", ELECTION)
    base = plain.board.importance(ticket(plain, "violence_incitement", 2), referral=False)
    assert base == pytest.approx(2.0 ** 2)  # severity 3, an ordinary account
    assert weighted.board.importance(ticket(weighted, "violence_incitement", 2), False) == pytest.approx(base * 5)
    # published on 15 January, inside the election (its last day, the 20th, included; the 21st not)
    assert weighted.board.importance(ticket(weighted, "violence_incitement", 14), False) == pytest.approx(base * 15)
    assert weighted.board.importance(ticket(weighted, "violence_incitement", 19.9), False) == pytest.approx(base * 15)
    assert weighted.board.importance(ticket(weighted, "violence_incitement", 20), False) == pytest.approx(base * 5)
    assert weighted.board.importance(ticket(weighted, "none", 14), False) == pytest.approx(base)


def test_a_context_weight_raises_the_selection_chance_of_an_appeal():
    """With a docket of 50 a year among a million appeals, the leader's referred speech is selected with chance
    5e-5 x 8 (severity 4) x 1 (public figure) x 20 (referral) = 0.008; an election context weighting it by 125
    makes it certain."""
    sets = ("board.background_appeals_per_year=1000000", "board.importance_public_figure=1")
    context = ("contexts=[{name: election, kind: election, start: 2023-01-01, end: 2023-01-31, "
               "board_importance: 125}]")
    selected = {False: 0, True: 0}
    for seed in range(20):
        for with_context in (False, True):
            record = collect(world_of(*sets, *((context,) if with_context else ()), seed=seed).run())
            selected[with_context] += any(row.subject == "speech" and row.event == "board_selected"
                                          for row in record.timeline)
    assert selected[True] == 20 and selected[False] <= 3, selected


def test_escalation_sends_first_line_decisions_to_the_experts_while_in_force():
    without = collect(world_of().run()).outcomes
    during = collect(world_of("contexts=[{name: unrest, kind: unrest, start: 2023-01-01, end: 2023-12-31, "
                              "categories: [violence_incitement], escalate: true}]").run()).outcomes
    outside = collect(world_of("contexts=[{name: later, kind: high_risk, start: 2024-01-01, end: 2024-12-31, "
                               "escalate: true}]").run()).outcomes
    # Ordinary accounts' incitement (about 0.002 x 10,000 posts a day) now goes to the one expert as well.
    assert during["cross_check_reviews"] > 10 * max(without["cross_check_reviews"], 1)
    assert outside == pytest.approx(without, nan_ok=True)


def test_context_periods_are_checked():
    with pytest.raises(ScenarioError, match="contexts.0.end: expected a day on or after the period's start"):
        load_scenario(MINI, ["contexts=[{name: e, kind: election, start: 2023-02-01, end: 2023-01-01}]"])
    with pytest.raises(ScenarioError, match="contexts.0.kind"):
        load_scenario(MINI, ["contexts=[{name: e, kind: riot, start: 2023-01-01, end: 2023-01-02}]"])
