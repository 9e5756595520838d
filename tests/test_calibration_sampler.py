"""The streaming sampler of ``modsim calibrate``: its population is the same whatever arrives when.

Results may come back in any order and recording may run any distance ahead of replay; the sampler
replays proposals in order and stops at the n-th accepted one, so the generation's population must be
exactly that of a serial sampler. Here a stand-in stream delivers the results of a cheap model (a
deterministic function of the proposal and its index) in shuffled orders with windows of 1 to 8.
"""

from __future__ import annotations

import math
import random
from concurrent.futures import Future

import numpy as np
import pyabc

from sim.calibration.priors import parse_priors, prior_draw
from sim.calibration.sampler import IndexedPrior, ProposalModel, StreamingSampler
from sim.experiment.executors import Prefetching

PRIORS = parse_priors(["a.b=0..10", "c.d=log:1..100"])
OBSERVED = {"y": 4.0, "z": 1.5}


def result(t: int, k: int, values: dict) -> dict:
    """The stand-in model: its noise depends only on the generation and the proposal's index."""
    noise = random.Random(f"{t}-{k}").gauss(0, 0.5)
    return {"y": values["p0"] + noise, "z": values["p1"] - noise / 4}


def stream_in_order(order_seed: int | None):
    """A stream that delivers the results in flight in a shuffled order (None: in order)."""

    def stream(t, propose, arrived, enough) -> None:
        shuffle = random.Random(order_seed)
        flight = list(propose())
        while flight and not enough():
            k, values = flight.pop(shuffle.randrange(len(flight)) if order_seed is not None else 0)
            arrived(k, result(t, k, values))
            flight += propose()

    return stream


def population(tmp_path, order_seed: int | None, window: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Two generations of ABC-SMC with the streaming sampler: the last population's parameters and weights, and
    the proposals each generation evaluated."""
    db = f"sqlite:///{tmp_path / f'abc-{order_seed}-{window}.db'}"
    evaluated = []
    for t in range(2):
        np.random.seed(100 + t)
        model = ProposalModel(["p0", "p1"], OBSERVED)
        prior = IndexedPrior(PRIORS, seed=7)
        sampler = StreamingSampler(model, prior, stream_in_order(order_seed), lambda n, a, tried: window)
        sampler.show_progress = False

        def distance(x, x0):
            return math.hypot(x["y"] - x0["y"], x["z"] - x0["z"])

        abc = pyabc.ABCSMC(model, prior, distance, population_size=12, sampler=sampler)
        if t == 0:
            abc.new(db, OBSERVED)
        else:
            abc.load(db, 1)
        t0 = abc.initialize_components_before_run(minimum_epsilon=0.0, max_nr_populations=1, min_acceptance_rate=0.0,
                                                  max_total_nr_simulations=np.inf, max_walltime=None, min_eps_diff=0.0)
        abc.run_generation(t0)
        evaluated.append(sampler.nr_evaluations_)
    frame, weights = pyabc.History(db).get_distribution(0)
    return frame.sort_index(axis=1).to_numpy(), np.asarray(weights), evaluated


def test_the_population_is_the_same_whatever_the_order_of_results_and_the_window(tmp_path):
    reference, weights, evaluated = population(tmp_path, None, 1)
    assert evaluated[1] > 12  # some proposals were rejected: the order of acceptance matters
    for order_seed, window in [(None, 8), (1, 2), (2, 5), (3, 8)]:
        values, w, e = population(tmp_path, order_seed, window)
        np.testing.assert_array_equal(values, reference)
        np.testing.assert_array_equal(w, weights)
        assert e == evaluated


def test_prior_draws_depend_on_seed_generation_and_index_only():
    a = prior_draw(PRIORS, 7, 0, 3)
    assert a == prior_draw(PRIORS, 7, 0, 3)
    assert a != prior_draw(PRIORS, 7, 0, 4) and a != prior_draw(PRIORS, 7, -1, 3) and a != prior_draw(PRIORS, 8, 0, 3)
    draws = np.array([[d["p0"], d["p1"]] for d in (prior_draw(PRIORS, 7, 0, k) for k in range(2000))])
    assert draws[:, 0].min() >= 0 and draws[:, 0].max() <= 10 and 0 <= draws[:, 1].min() and draws[:, 1].max() <= 2
    # uniform on each scale: the mean of 2000 draws is within 4 standard errors of the middle
    for column, (low, high) in zip(draws.T, [(0, 10), (0, 2)]):
        assert abs(column.mean() - (low + high) / 2) < 4 * (high - low) / math.sqrt(12 * 2000)


class Recorder:
    """An executor that records what is submitted to it."""

    def __init__(self) -> None:
        self.calls, self.restarts = [], 0

    def submit(self, fn, *args):
        self.calls.append(args)
        future = Future()
        future.set_result(len(self.calls))
        return future

    def restart(self) -> None:
        self.restarts += 1


def test_prefetched_work_is_not_run_again():
    inner = Recorder()
    ahead = Prefetching(inner)
    ahead.prefetch(dict, {"x": 1}, 5, 0)
    ahead.prefetch(dict, {"x": 2}, 5, 1)
    assert ahead.submit(dict, {"x": 1}, 5, 0).result() == 1  # the prefetched future
    assert ahead.submit(dict, {"x": 1}, 5, 0).result() == 3  # asked again: run again
    assert ahead.submit(dict, {"x": 9}, 5, 1).result() == 4  # other data under the same number: run
    ahead.prefetch(dict, {"x": 3}, 5, 2)
    ahead.restart()  # what was prefetched died with the pool
    assert inner.restarts == 1 and ahead.submit(dict, {"x": 3}, 5, 2).result() == 6
    assert not hasattr(Prefetching(object()), "restart")
